#include "gc/barrier_check.h"

#include "base/check.h"
#include "gc/mark.h"
#include "gc/object.h"

namespace gcheap::internal {

void BarrierCheck::Scanned(uintptr_t slot, uintptr_t value) {
  MutexLock l(&mu_);
  // The first read is the snapshot; a second read of the same word (an
  // object greyed again by the signal-stop path) changes nothing.
  scanned_.emplace(slot, value);
}

void BarrierCheck::Barriered(uintptr_t slot) {
  MutexLock l(&mu_);
  barriered_.insert(slot);
}

void BarrierCheck::Reset() {
  MutexLock l(&mu_);
  scanned_.clear();
  barriered_.clear();
}

bool BarrierCheck::IsObject(uintptr_t v) const {
  auto is_object = [this](uintptr_t p) {
    return p >= kMinHeapAddress &&
           heap_->FindObject(reinterpret_cast<void*>(p)) != nullptr;
  };
  return is_object(v) || (values_ != nullptr && is_object(values_->Decode(v)));
}

void BarrierCheck::Verify() {
  MutexLock l(&mu_);
  for (const auto& [slot, before] : scanned_) {
    uintptr_t now = *reinterpret_cast<const uintptr_t*>(slot);
    if (now == before || barriered_.count(slot) != 0) continue;
    if (!IsObject(before) && !IsObject(now)) continue;  // not a pointer store
    // The slot was scanned as part of an object that is still allocated
    // (nothing is freed while marking runs).
    MSpan* s = heap_->SpanOf(slot);
    uintptr_t start = 0;
    const char* type = DescribeObject(s, s->ObjIndex(slot), &start);
    GCHEAP_FATAL(
        "barrier check: the pointer word at %#lx (byte %lu of object %#lx, "
        "%s) changed from %#lx to %#lx during the concurrent mark without "
        "the write barrier: store heap pointers and values into heap "
        "objects through Ref<T>, WriteBarrier or CopyPointers",
        static_cast<unsigned long>(slot),
        static_cast<unsigned long>(slot - start),
        static_cast<unsigned long>(start), type,
        static_cast<unsigned long>(before), static_cast<unsigned long>(now));
  }
  scanned_.clear();
  barriered_.clear();
}

}  // namespace gcheap::internal
