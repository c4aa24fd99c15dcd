// The barrier check: a debug mode that catches pointer stores that skip
// the write barrier while the collector marks (Options::barrier_check,
// GCHEAP_DEBUG=gcbarriercheck=1; docs/debugging.md).
//
// A store that skips the barrier loses an object only in an unlucky
// interleaving, and checkmark (gc/collector.cc) only fails when one was
// lost. This check fails on the store itself, lost object or not:
//
//   1. While marking, every heap pointer word a marker reads from a heap
//      object (pointer-map words, conservative words, arrays) is logged
//      with the value it read: the snapshot the mark relies on.
//   2. Every write barrier logs the slot it guards (the runtime sends all
//      barriers through the slow path in this mode).
//   3. At mark termination, with the world stopped, every logged word is
//      read again. A word that changed, whose old or new value is a heap
//      object, and whose slot no barrier guarded, was written without one:
//      the collector aborts, naming the slot, its object and both values.
//
// Trace callbacks report values, not slots, so the words they read are not
// checked; nor are objects allocated during the mark (black, never
// scanned). Costs a lock per logged word: for test suites, not production.
#ifndef GCHEAP_GC_BARRIER_CHECK_H_
#define GCHEAP_GC_BARRIER_CHECK_H_

#include <cstdint>
#include <unordered_map>
#include <unordered_set>

#include "alloc/mheap.h"
#include "base/mutex.h"
#include "gcheap/type.h"

namespace gcheap::internal {

class BarrierCheck {
 public:
  // values: the heap's value encoding (include/gcheap/type.h), or null: a word
  // that decodes to an object is a pointer word too.
  explicit BarrierCheck(MHeap* heap, const ValueEncoding* values = nullptr)
      : heap_(heap), values_(values) {}

  // A marker read `value` from the heap word at `slot` (step 1).
  void Scanned(uintptr_t slot, uintptr_t value);
  // A write barrier ran for `slot` (step 2).
  void Barriered(uintptr_t slot);
  // Step 3, with the world stopped at mark termination; then forgets the
  // cycle. Aborts on the first word that changed without a barrier.
  void Verify();
  // Forgets everything logged (a new mark begins).
  void Reset();
  // fork() (Collector::ForkLock): holds mu_ across the fork.
  void ForkLock() ABSL_EXCLUSIVE_LOCK_FUNCTION(mu_) { mu_.LockForFork(); }
  void ForkUnlock() ABSL_UNLOCK_FUNCTION(mu_) { mu_.UnlockForFork(); }

 private:
  bool IsObject(uintptr_t v) const;

  MHeap* const heap_;
  const ValueEncoding* const values_;
  Mutex mu_{LockRank::kBarrierCheck};
  // slot -> value read
  std::unordered_map<uintptr_t, uintptr_t> scanned_ ABSL_GUARDED_BY(mu_);
  std::unordered_set<uintptr_t> barriered_ ABSL_GUARDED_BY(mu_);  // slots
};

}  // namespace gcheap::internal

#endif  // GCHEAP_GC_BARRIER_CHECK_H_
