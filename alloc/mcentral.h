// MCentral: the spans of one span class that no mcache holds. See
// alloc/malloc.h for the map.
//
// Four sets, keyed by the heap's sweep generation sg (always even):
//
//   partial_[sg/2 % 2]   swept spans with free slots
//   partial_[1 - ...]    unswept spans with free slots (at last sweep)
//   full_[sg/2 % 2]      swept spans with no free slot
//   full_[1 - ...]       unswept spans with no free slot
//
// When a cycle ends the heap adds 2 to sg, which swaps the roles of the two
// halves for free: every swept span becomes unswept at once.
//
// A span's sweepgen field says where it stands (sg = the heap's):
//
//   sg - 2   needs sweeping          sg + 1   cached before the sweep began;
//   sg - 1   being swept                      still needs sweeping
//   sg       swept, ready            sg + 3   swept, then cached
//
// A sweeper claims an unswept span by CAS sg-2 -> sg-1; only the claimer
// touches its bits. Large objects (size class 0) live here too, in the full
// sets, so the sweepers find them.
//
// Locking: lock_ guards the four lists and is a leaf with respect to the
// heap lock: the mcentral never holds lock_ while calling into the heap.
#ifndef GCHEAP_ALLOC_MCENTRAL_H_
#define GCHEAP_ALLOC_MCENTRAL_H_

#include <cstdint>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "alloc/mspan.h"
#include "alloc/size_classes.h"
#include "base/spinlock.h"

namespace gcheap::internal {

class MHeap;

class MCentral {
 public:
  void Init(MHeap* heap, SpanClass spc) {
    heap_ = heap;
    spc_ = spc;
  }

  // Returns a swept span with at least one free slot for an mcache, marked
  // cached (sweepgen = sg + 3), or null if the heap cannot grow. Sweeps
  // unswept spans of this class on the way (lazy sweeping).
  MSpan* CacheSpan();

  // Takes back a span from an mcache. A span cached before the current
  // sweep began (sweepgen = sg + 1) is swept here.
  void UncacheSpan(MSpan* s);

  // Puts a swept span (just allocated large, or just swept) into the swept
  // set that fits it; frees nothing.
  void PushSwept(MSpan* s);

  // Pops one unswept span and claims it (sweepgen sg-1), or returns null.
  MSpan* PopUnsweptClaimed();
  // Claims a given span if it sits in an unswept set (taking it out).
  bool TryClaimUnswept(MSpan* s);

  // fork() (MHeap::ForkLock): holds the lock across the fork.
  void ForkLock() ABSL_EXCLUSIVE_LOCK_FUNCTION(lock_) { lock_.Lock(); }
  void ForkUnlock() ABSL_UNLOCK_FUNCTION(lock_) { lock_.Unlock(); }

  // Number of spans in each set, for tests and stats.
  struct Counts {
    size_t partial_swept, partial_unswept, full_swept, full_unswept;
  };
  Counts CountSpans();
  // The spans in each set, for the teaching mode's heap state.
  struct Sets {
    std::vector<MSpan*> partial_swept, partial_unswept, full_swept,
        full_unswept;
  };
  Sets ListSpans();

 private:
  MSpanList* PartialSwept(uint32_t sg) { return &partial_[(sg / 2) % 2]; }
  MSpanList* PartialUnswept(uint32_t sg) { return &partial_[1 - (sg / 2) % 2]; }
  MSpanList* FullSwept(uint32_t sg) { return &full_[(sg / 2) % 2]; }
  MSpanList* FullUnswept(uint32_t sg) { return &full_[1 - (sg / 2) % 2]; }
  MSpan* Grow();
  // Zeroes every slot of s (all free) and clears needzero.
  static void ClearSpan(MSpan* s);

  MHeap* heap_ = nullptr;
  SpanClass spc_;
  SpinLock lock_;
  MSpanList partial_[2] ABSL_GUARDED_BY(lock_);
  MSpanList full_[2] ABSL_GUARDED_BY(lock_);
};

}  // namespace gcheap::internal

#endif  // GCHEAP_ALLOC_MCENTRAL_H_
