#include "alloc/mcentral.h"

#include <string.h>

#include "absl/base/attributes.h"
#include "alloc/mheap.h"
#include "base/os_mem.h"
#include "base/sanitizers.h"

namespace gcheap::internal {

namespace {
// How many unswept partial spans CacheSpan sweeps before it gives up and
// grows the heap, bounding the latency of one refill.
constexpr int kSweepBudget = 100;

// Writes a zero word to each OS page of [start, start + bytes), which must
// read as zero and be owned by the caller (its slots may be poisoned).
ABSL_ATTRIBUTE_NO_SANITIZE_ADDRESS void TouchPages(uintptr_t start,
                                                   size_t bytes) {
  for (uintptr_t a = start; a < start + bytes; a += kOsPageSize) {
    *reinterpret_cast<volatile uint64_t*>(a) = 0;
  }
}
}  // namespace

MSpan* MCentral::CacheSpan() {
  uint32_t sg = heap_->sweepgen();
  MSpan* s = nullptr;
  {
    SpinLockHolder h(&lock_);
    s = PartialSwept(sg)->Pop();
  }
  if (s == nullptr) {
    for (int budget = 0; budget < kSweepBudget; budget++) {
      {
        SpinLockHolder h(&lock_);
        s = PartialUnswept(sg)->Pop();
        if (s == nullptr) s = FullUnswept(sg)->Pop();
      }
      if (s == nullptr) break;
      uint32_t want = sg - 2;
      if (!s->sweepgen.compare_exchange_strong(want, sg - 1,
                                               std::memory_order_acq_rel)) {
        // Someone else owns it (cannot happen for a span popped from a
        // set, but stay safe): leave it alone.
        s = nullptr;
        continue;
      }
      heap_->SweepSpan(s, /*preserve=*/true);
      if (AllocPathCounters* pc = heap_->path_counters()) {
        pc->central_sweeps[spc_.sizeclass()].fetch_add(
            1, std::memory_order_relaxed);
      }
      if (s->alloc_count < s->nelems) break;  // has room: use it
      // Still full: file it as swept and keep looking.
      s->sweepgen.store(sg, std::memory_order_release);
      {
        SpinLockHolder h(&lock_);
        FullSwept(sg)->Push(s);
      }
      s = nullptr;
    }
  }
  if (s == nullptr) {
    s = Grow();
    if (s == nullptr) return nullptr;
  } else if (s->needzero && s->alloc_count == 0) {
    // Swept empty (a short-lived heap's usual span): clear it at once, as
    // Grow clears a recycled span, rather than slot by slot as the inline
    // path hands them out.
    ClearSpan(s);
  }
  // The span is ours: mark it cached and swept.
  s->sweepgen.store(sg + 3, std::memory_order_release);
  s->NoteCached();
  heap_->heap_live().fetch_add(
      static_cast<int64_t>(s->nelems - s->alloc_count) * s->elemsize,
      std::memory_order_relaxed);
  return s;
}

void MCentral::ClearSpan(MSpan* s) {
  UnpoisonMemory(reinterpret_cast<void*>(s->start_addr), s->bytes());
  memset(reinterpret_cast<void*>(s->start_addr), 0, s->bytes());
  PoisonMemory(reinterpret_cast<void*>(s->start_addr), s->bytes());
  s->needzero = false;
}

MSpan* MCentral::Grow() {
  int sizeclass = spc_.sizeclass();
  AllocPathCounters* pc = heap_->path_counters();
  const uint64_t commits = pc != nullptr ? heap_->os_commits() : 0;
  MSpan* s = heap_->AllocSpan(kClassToAllocNPages[sizeclass], spc_);
  if (s == nullptr) return nullptr;
  if (pc != nullptr) {
    pc->grows[sizeclass].fetch_add(1, std::memory_order_relaxed);
    // (Another thread's commit in between would be counted here too.)
    if (heap_->os_commits() != commits) {
      pc->os_commits[sizeclass].fetch_add(1, std::memory_order_relaxed);
    }
  }
  if (s->needzero) {
    // Every slot is free: clear the whole span once instead of each object
    // at allocation.
    ClearSpan(s);
  } else {
    // Fresh pages (from the OS, or released by the scavenger) read as
    // zero, but the kernel maps them only on first touch. If that touch is
    // a read (the write barrier loads the old value of a field before the
    // program's first store) the kernel maps its shared zero page, and the
    // store then faults a second time to copy it, flushing the TLBs of
    // every CPU running the program. Writing a zero word to each page now
    // takes the one fault the page needs anyway.
    TouchPages(s->start_addr, s->bytes());
  }
  return s;
}

void MCentral::UncacheSpan(MSpan* s) {
  uint32_t sg = heap_->sweepgen();
  uint32_t have = s->sweepgen.load(std::memory_order_relaxed);
  bool stale = have == sg + 1;
  GCHEAP_DCHECK(stale || have == sg + 3, "uncaching a span not cached");
  // Unused slots were counted in heap_live when the span was cached.
  heap_->heap_live().fetch_sub(
      static_cast<int64_t>(s->nelems - s->alloc_count) * s->elemsize,
      std::memory_order_relaxed);
  if (stale) {
    // Cached before the current sweep began: sweeping it is our job.
    s->sweepgen.store(sg - 1, std::memory_order_release);
    heap_->SweepSpan(s, /*preserve=*/false);
    return;
  }
  s->sweepgen.store(sg, std::memory_order_release);
  PushSwept(s);
}

void MCentral::PushSwept(MSpan* s) {
  uint32_t sg = heap_->sweepgen();
  SpinLockHolder h(&lock_);
  if (s->alloc_count < s->nelems) {
    PartialSwept(sg)->Push(s);
  } else {
    FullSwept(sg)->Push(s);
  }
}

MSpan* MCentral::PopUnsweptClaimed() {
  uint32_t sg = heap_->sweepgen();
  while (true) {
    MSpan* s;
    {
      SpinLockHolder h(&lock_);
      s = PartialUnswept(sg)->Pop();
      if (s == nullptr) s = FullUnswept(sg)->Pop();
    }
    if (s == nullptr) return nullptr;
    uint32_t want = sg - 2;
    if (s->sweepgen.compare_exchange_strong(want, sg - 1,
                                            std::memory_order_acq_rel)) {
      return s;
    }
  }
}

bool MCentral::TryClaimUnswept(MSpan* s) {
  uint32_t sg = heap_->sweepgen();
  SpinLockHolder h(&lock_);
  MSpanList* list = s->list;
  if (list != PartialUnswept(sg) && list != FullUnswept(sg)) return false;
  uint32_t want = sg - 2;
  if (!s->sweepgen.compare_exchange_strong(want, sg - 1,
                                           std::memory_order_acq_rel)) {
    return false;
  }
  list->Remove(s);
  return true;
}

MCentral::Counts MCentral::CountSpans() {
  uint32_t sg = heap_->sweepgen();
  SpinLockHolder h(&lock_);
  return Counts{PartialSwept(sg)->size(), PartialUnswept(sg)->size(),
                FullSwept(sg)->size(), FullUnswept(sg)->size()};
}

MCentral::Sets MCentral::ListSpans() {
  uint32_t sg = heap_->sweepgen();
  auto list = [](MSpanList* l, std::vector<MSpan*>* out) {
    for (MSpan* s = l->first(); s != nullptr; s = s->next) out->push_back(s);
  };
  Sets sets;
  SpinLockHolder h(&lock_);
  list(PartialSwept(sg), &sets.partial_swept);
  list(PartialUnswept(sg), &sets.partial_unswept);
  list(FullSwept(sg), &sets.full_swept);
  list(FullUnswept(sg), &sets.full_unswept);
  return sets;
}

}  // namespace gcheap::internal
