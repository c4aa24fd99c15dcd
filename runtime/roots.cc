// Roots: registered slots, ranges and callbacks, Persistent handles, and
// each mutator's stack (conservative) or handle stack (precise). See
// runtime/heap_impl.h.
#include <link.h>

#include <algorithm>

#include "base/check.h"
#include "runtime/handles.h"
#include "runtime/heap_impl.h"

namespace gcheap::internal {
namespace {
constexpr size_t kPersistentChunk = 1024;
// A free Persistent slot holds the next free slot's address with the top
// bit set: no user-space pointer has it, while any low bit may be set in a
// valid pointer (tiny objects start at odd addresses).
constexpr uintptr_t kFreeSlotBit = uintptr_t{1} << 63;
}  // namespace

void HeapImpl::AddRootSlot(void** slot) {
  NoPreempt no_preempt;
  GCHEAP_CHECK(slot != nullptr, "AddRoot(nullptr)");
  MutexLock l(&roots_mu_);
  GCHEAP_CHECK(std::find(root_slots_.begin(), root_slots_.end(), slot) ==
                   root_slots_.end(),
               "AddRoot(%p): slot already registered",
               static_cast<void*>(slot));
  root_slots_.push_back(slot);
}

void HeapImpl::RemoveRootSlot(void** slot) {
  NoPreempt no_preempt;
  MutexLock l(&roots_mu_);
  auto it = std::find(root_slots_.begin(), root_slots_.end(), slot);
  GCHEAP_CHECK(it != root_slots_.end(), "RemoveRoot(%p): slot not registered",
               static_cast<void*>(slot));
  root_slots_.erase(it);
}

void HeapImpl::AddRootRange(const void* b, const void* e) {
  NoPreempt no_preempt;
  GCHEAP_CHECK(b <= e, "AddRootRange: begin %p after end %p", b, e);
  MutexLock l(&roots_mu_);
  for (const Range& r : root_ranges_) {
    GCHEAP_CHECK(r.begin != b || r.end != e,
                 "AddRootRange(%p, %p): range already registered", b, e);
  }
  root_ranges_.push_back(Range{b, e});
}

void HeapImpl::RemoveRootRange(const void* b, const void* e) {
  NoPreempt no_preempt;
  MutexLock l(&roots_mu_);
  for (size_t i = 0; i < root_ranges_.size(); i++) {
    if (root_ranges_[i].begin == b && root_ranges_[i].end == e) {
      root_ranges_.erase(root_ranges_.begin() + i);
      return;
    }
  }
  GCHEAP_FATAL("RemoveRootRange(%p, %p): range not registered", b, e);
}

void HeapImpl::AddRootCallback(Heap::RootCallback cb, void* arg) {
  NoPreempt no_preempt;
  GCHEAP_CHECK(cb != nullptr, "AddRootCallback(nullptr)");
  MutexLock l(&roots_mu_);
  for (const Callback& c : root_callbacks_) {
    GCHEAP_CHECK(c.fn != cb || c.arg != arg,
                 "AddRootCallback: callback already registered with this arg");
  }
  root_callbacks_.push_back(Callback{cb, arg});
}

void HeapImpl::RemoveRootCallback(Heap::RootCallback cb, void* arg) {
  NoPreempt no_preempt;
  MutexLock l(&roots_mu_);
  for (size_t i = 0; i < root_callbacks_.size(); i++) {
    if (root_callbacks_[i].fn == cb && root_callbacks_[i].arg == arg) {
      root_callbacks_.erase(root_callbacks_.begin() + i);
      return;
    }
  }
  GCHEAP_FATAL("RemoveRootCallback: callback not registered");
}

void** HeapImpl::NewPersistent(void* value) {
  NoPreempt no_preempt;
  SpinLockHolder h(&persistent_lock_);
  if (persistent_free_ == 0) {
    auto** chunk = new void*[kPersistentChunk];
    // Thread the new slots onto the free list (odd values mark free).
    for (size_t i = 0; i < kPersistentChunk; i++) {
      uintptr_t next = i + 1 < kPersistentChunk
                           ? reinterpret_cast<uintptr_t>(&chunk[i + 1])
                           : 0;
      chunk[i] = reinterpret_cast<void*>(next | kFreeSlotBit);
    }
    persistent_chunks_.push_back(chunk);
    persistent_free_ = reinterpret_cast<uintptr_t>(&chunk[0]);
  }
  void** slot = reinterpret_cast<void**>(persistent_free_);
  persistent_free_ = reinterpret_cast<uintptr_t>(*slot) & ~kFreeSlotBit;
  *slot = value;
  persistent_live_++;
  return slot;
}

void HeapImpl::FreePersistent(void** slot) {
  NoPreempt no_preempt;
  SpinLockHolder h(&persistent_lock_);
  *slot = reinterpret_cast<void*>(persistent_free_ | kFreeSlotBit);
  persistent_free_ = reinterpret_cast<uintptr_t>(slot);
  persistent_live_--;
}

namespace {

int CollectWritableSegments(dl_phdr_info* info, size_t, void* arg) {
  auto* out = static_cast<std::vector<std::pair<uintptr_t, uintptr_t>>*>(arg);
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_W) || ph.p_memsz == 0) {
      continue;
    }
    uintptr_t b = info->dlpi_addr + ph.p_vaddr;
    out->emplace_back(b, b + ph.p_memsz);
  }
  return 0;
}

}  // namespace

void HeapImpl::AddStaticDataRoots() {
  NoPreempt no_preempt;
  std::vector<std::pair<uintptr_t, uintptr_t>> segs;
  dl_iterate_phdr(CollectWritableSegments, &segs);
  std::vector<Range> ranges;
  for (const auto& [b, e] : segs) {
    ranges.push_back(Range{reinterpret_cast<const void*>(b),
                           reinterpret_cast<const void*>(e)});
  }
  MutexLock l(&roots_mu_);
  static_ranges_ = std::move(ranges);
}

// A thread stopped by a signal may have been about to make a store without
// the barrier, having seen marking off before the stop: record the old
// values of the slots it may address (objects its registers and the top of
// its stack point into) now, in either stack-scanning mode.
void HeapImpl::ScanPendingStore(Marker& m, MutatorState* st) {
  if (!st->sig_parked) return;
  m.GreyAndScanRangeNowUnsafe(st->sig_regs, st->sig_regs + 16);
  const uintptr_t top = std::min(st->sig_sp + 64 * 8, st->stack_hi);
  m.GreyAndScanRangeNowUnsafe(reinterpret_cast<const void*>(st->sig_sp),
                              reinterpret_cast<const void*>(top));
}

void HeapImpl::ScanMutator(Marker& m, MutatorState* st, RootBytes* rb) {
  if (opts_.stack_scanning == StackScanning::kPrecise) {
    for (size_t i = 0; i < st->handle_top; i++) {
      void* v =
          st->handle_chunks[i / MutatorState::kChunk][i % MutatorState::kChunk];
      m.Grey(reinterpret_cast<uintptr_t>(v));
    }
    ScanPendingStore(m, st);
    return;
  }
  m.SetConservativeRoots(true);
  // A thread stopped by a signal (preempt.cc): its registers and stack
  // pointer as the signal found them. Otherwise what it saved when it
  // parked, released its P or entered the runtime.
  const bool sig = st->sig_parked;
  if (sig) {
    m.ScanRangeUnsafe(st->sig_regs, st->sig_regs + 16);
  } else {
    m.ScanRangeUnsafe(st->saved_regs, st->saved_regs + 8);
  }
  const uintptr_t sp = sig ? st->sig_sp : st->saved_sp;
  // Inside the runtime, its own frames are left out (RuntimeFrames).
  uintptr_t lo = sp;
  if (!sig && st->runtime_frames > lo) lo = st->runtime_frames;
  if (stack_scan_hook_) stack_scan_hook_(lo, st->stack_hi, sp);
  if (sp != 0 && lo < st->stack_hi) {
    m.ScanRangeUnsafe(reinterpret_cast<const void*>(lo),
                      reinterpret_cast<const void*>(st->stack_hi));
    rb->stacks += st->stack_hi - lo;
  }
  ScanPendingStore(m, st);
  m.SetConservativeRoots(false);
  // Handles work in conservative mode too.
  for (size_t i = 0; i < st->handle_top; i++) {
    void* v =
        st->handle_chunks[i / MutatorState::kChunk][i % MutatorState::kChunk];
    m.Grey(reinterpret_cast<uintptr_t>(v));
  }
}

CollectorEnv::RootBytes HeapImpl::MarkRoots(Marker& m) {
  RootBytes rb;
  {
    MutexLock l(&roots_mu_);
    for (void** slot : root_slots_) m.Grey(reinterpret_cast<uintptr_t>(*slot));
    rb.globals += root_slots_.size() * sizeof(void*);
    for (const Range& r : static_ranges_) {
      // Memory the program does not hand over (sanitizer redzones between
      // globals, other threads' plain stores): read as stacks are.
      m.ScanRangeUnsafe(r.begin, r.end);
      rb.globals +=
          static_cast<const char*>(r.end) - static_cast<const char*>(r.begin);
    }
    for (const Range& r : root_ranges_) {
      m.ScanRange(r.begin, r.end);
      rb.globals +=
          static_cast<const char*>(r.end) - static_cast<const char*>(r.begin);
    }
    for (const Callback& c : root_callbacks_) c.fn(m.visitor(), c.arg);
  }
  {
    SpinLockHolder h(&persistent_lock_);
    for (void** chunk : persistent_chunks_) {
      for (size_t i = 0; i < kPersistentChunk; i++) {
        auto v = reinterpret_cast<uintptr_t>(chunk[i]);
        if ((v & kFreeSlotBit) == 0 && v != 0) m.Grey(v);
      }
    }
  }
  // Finalizers' referents and queued calls; heap objects held by Pools.
  specials_->MarkRoots(m);
  MarkPools(m);
  MutexLock l(&sched_mu_);
  for (Mutator* mu : mutators_) ScanMutator(m, mu->state_, &rb);
  return rb;
}

void** NewPersistentSlot(Heap& heap, void* value) {
  HeapImpl* h = HeapAccess::Of(heap);
  if (value != nullptr) {
    // A thread the heap does not know holds the pointer where no
    // collection looks: the object may already be gone.
    Mutator* m = CurrentMutator();
    GCHEAP_CHECK(m != nullptr && HeapImpl::ImplOf(*m) == h,
                 "Persistent created with %p on a thread not attached to "
                 "this heap: attach the thread first (an unattached thread's "
                 "pointers are invisible to the collector)",
                 value);
    CheckNotAnotherHeaps(h, value, "Persistent");
  }
  return h->NewPersistent(value);
}

void FreePersistentSlot(Heap& heap, void** slot) {
  HeapAccess::Of(heap)->FreePersistent(slot);
}

void** NewLocalSlot(Mutator& m, void* value) {
  NoPreempt no_preempt;
  GCHEAP_CHECK(CurrentMutator() == &m,
               "Local<T> made with another thread's Mutator (each thread uses "
               "the Mutator its own AttachCurrentThread returned)");
  MutatorState* st = m.state_;
  GCHEAP_CHECK(st->scope_depth > 0,
               "Local<T> created with no HandleScope open on this mutator");
  CheckNotAnotherHeaps(HeapImpl::ImplOf(m), value, "Local<T>");
  size_t i = st->handle_top++;
  size_t chunk = i / MutatorState::kChunk;
  if (chunk == st->handle_chunks.size()) {
    st->handle_chunks.push_back(new void*[MutatorState::kChunk]);
  }
  void** slot = &st->handle_chunks[chunk][i % MutatorState::kChunk];
  *slot = value;
  return slot;
}

}  // namespace gcheap::internal

namespace gcheap {

HandleScope::HandleScope(Mutator& m)
    : m_(m),
      saved_top_(m.state_->handle_top),
      saved_depth_(m.state_->scope_depth) {
  GCHEAP_CHECK(internal::CurrentMutator() == &m,
               "HandleScope opened on another thread's Mutator (each thread "
               "uses the Mutator its own AttachCurrentThread returned)");
  m_.state_->scope_depth++;
}

HandleScope::~HandleScope() {
  GCHEAP_CHECK(m_.state_->scope_depth == saved_depth_ + 1,
               "HandleScopes closed out of order");
  m_.state_->handle_top = saved_top_;
  m_.state_->scope_depth = saved_depth_;
}

}  // namespace gcheap
