// Marking: greying objects and scanning them. See gc/gc.h for the map.
//
// Tricolor: an object is white (mark bit clear), grey (mark bit set, in a
// work buffer waiting to be scanned) or black (mark bit set, scanned).
// Grey(p) resolves p through the address map (interior pointers find their
// object; anything else is ignored), sets the mark bit atomically and, if
// the object can hold pointers, queues it; noscan objects turn black at
// once. Scan(obj) reads the span's type bits or the object's header
// (gc/object.h) and greys what they say are pointers. Objects over 128 KiB
// whose pointers are found by map or conservatively are scanned in 128 KiB
// pieces ("oblets") queued separately, so one huge array does not keep one
// marker busy while the others idle.
//
// A Marker is one marking thread's state: its GcWork and its counters. Any
// number of Markers may run at once over one heap.
#ifndef GCHEAP_GC_MARK_H_
#define GCHEAP_GC_MARK_H_

#include <cstddef>
#include <cstdint>

#include "absl/base/attributes.h"
#include "alloc/mheap.h"
#include "gc/gcwork.h"
#include "gc/type.h"

namespace gcheap::internal {

constexpr size_t kObletBytes = 128 << 10;

class Marker {
 public:
  Marker(MHeap* heap, WorkPool* pool)
      : heap_(heap), work_(pool), visitor_(this, &VisitThunk, &RangeThunk) {}

  // Marks the object containing p (if any) and queues it for scanning.
  void Grey(uintptr_t p);
  // Greys every word in [begin, end) that points into the heap.
  void ScanRange(const void* begin, const void* end);
  // The same for memory the marker does not own and that may be changing:
  // thread stacks and saved registers. Not instrumented by the sanitizers.
  void ScanRangeUnsafe(const void* begin, const void* end);
  // Scans queued objects until this marker and the pool run out of work.
  void DrainLocal();
  uintptr_t TryGet() { return work_.TryGet(); }
  void Scan(uintptr_t addr);

  GcWork& work() { return work_; }
  Visitor& visitor() { return visitor_; }
  uint64_t marked_bytes() const { return marked_bytes_; }
  uint64_t scanned_bytes() const { return scanned_bytes_; }
  void ResetCounters() { marked_bytes_ = scanned_bytes_ = 0; }

 private:
  static void VisitThunk(void* ctx, const void* p) {
    static_cast<Marker*>(ctx)->Grey(reinterpret_cast<uintptr_t>(p));
  }
  static void RangeThunk(void* ctx, const void* b, const void* e) {
    static_cast<Marker*>(ctx)->ScanRange(b, e);
  }
  void ScanWords(uintptr_t from, uintptr_t to);
  void ScanMapped(const Type* t, uintptr_t payload, size_t count,
                  uintptr_t from, uintptr_t to);

  MHeap* heap_;
  GcWork work_;
  Visitor visitor_;
  uint64_t marked_bytes_ = 0;
  uint64_t scanned_bytes_ = 0;
};

}  // namespace gcheap::internal

#endif  // GCHEAP_GC_MARK_H_
