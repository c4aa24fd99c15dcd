// Object layout: where an object's type lives. See gc/gc.h for the map.
//
// Objects in noscan spans have no header: the slot is the payload. Small
// objects (up to 512 bytes) whose Type is a pointer map have no header
// either: their span says which words to scan, with one mask while all its
// objects share a layout (MSpan::uniform_mask), else with type bits
// (MSpan::heap_bits, one bit per word, as Go's heap bits). Small
// conservative objects (Type::Conservative without a destructor, arrays of
// one, Mutator::AllocateConservative) are recorded the same way, with every
// word of the slot named, and their span flagged conservative
// (MSpan::kLayoutConservative): markers check each of its words against the
// address map and the allocation bits. All other objects in scan spans
// (trace callbacks, destructors, arrays, objects over 512 bytes, larger
// conservative objects, whose words are checked one by one) start with a header
// word holding their Type (types are at least 8-byte aligned, so the low bits
// are free for flags); the span's header_bits mark which small slots have one:
//
//   plain object   [ Type* | 0 ][ payload ............ ]
//   array          [ Type* | 1 ][ count ][ elem 0 ][ elem 1 ] ...
//
// The collector reads the header to scan an object (pointer map, trace
// callback or conservative words) and the sweeper reads it to run
// destructors. A header of 0 means the slot is being initialized; it is
// written before the allocating thread reaches any safepoint.
//
// Why both: a header serves every kind of Type (trace callbacks and
// destructors need the Type itself, which bits cannot give) but costs 8
// bytes per object: a 16-byte pair would take a 24-byte slot. Type bits
// keep small pointer-map objects (a language's pairs, boxes, closures) in
// their own size class. docs/collector.md ("Where an object's type
// lives") has the measurement.
#ifndef GCHEAP_GC_OBJECT_H_
#define GCHEAP_GC_OBJECT_H_

#include <cstddef>
#include <cstdint>

#include "gcheap/type.h"

namespace gcheap::internal {

constexpr uintptr_t kHeaderArrayBit = 1;
constexpr size_t kObjectHeaderBytes = 8;
// Words below this are null or small tagged integers, never heap
// addresses (the first page is never mapped): markers, the write barrier
// and the barrier check skip them without a lookup.
constexpr uintptr_t kMinHeapAddress = 4096;
constexpr size_t kArrayHeaderBytes = 16;

inline uintptr_t& HeaderOf(uintptr_t slot) {
  return *reinterpret_cast<uintptr_t*>(slot);
}
inline const Type* HeaderType(uintptr_t header) {
  return reinterpret_cast<const Type*>(header & ~uintptr_t{7});
}
inline bool HeaderIsArray(uintptr_t header) { return header & kHeaderArrayBit; }
// The payload (what the user holds) of a scan-span object.
inline uintptr_t PayloadOf(uintptr_t slot, uintptr_t header) {
  return slot +
         (HeaderIsArray(header) ? kArrayHeaderBytes : kObjectHeaderBytes);
}
inline size_t ElementCount(uintptr_t slot, uintptr_t header) {
  return HeaderIsArray(header) ? reinterpret_cast<const size_t*>(slot)[1] : 1;
}

}  // namespace gcheap::internal

#endif  // GCHEAP_GC_OBJECT_H_
