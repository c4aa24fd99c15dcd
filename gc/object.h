// Object layout: where an object's type lives. See gc/gc.h for the map.
//
// Objects in noscan spans have no header: the slot is the payload. Objects
// in scan spans start with a header word holding their Type (types are at
// least 8-byte aligned, so the low bits are free for flags):
//
//   plain object   [ Type* | 0 ][ payload ............ ]
//   array          [ Type* | 1 ][ count ][ elem 0 ][ elem 1 ] ...
//
// The collector reads the header to scan an object (pointer map, trace
// callback or conservative words) and the sweeper reads it to run
// destructors. A header of 0 means the slot is being initialized; it is
// written before the allocating thread reaches any safepoint.
//
// Why a header and not Go's per-span pointer bitmap: a header word serves
// all four kinds of Type (trace callbacks and destructors need the Type
// itself, which a bitmap cannot give), costs one store per allocation, and
// is trivially safe for concurrent marking. Its cost is 8 bytes per scan
// object: a 16-byte pair becomes a 24-byte slot. docs/collector.md has the
// measurement.
#ifndef GCHEAP_GC_OBJECT_H_
#define GCHEAP_GC_OBJECT_H_

#include <cstddef>
#include <cstdint>

#include "gc/type.h"

namespace gcheap::internal {

constexpr uintptr_t kHeaderArrayBit = 1;
constexpr size_t kObjectHeaderBytes = 8;
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
