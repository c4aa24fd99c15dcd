// Roots at mark start: the program's registered roots (runtime/root_set.h),
// finalizer queues, Pools, and each mutator's stack (conservative) or
// handle stack (precise). See runtime/heap_impl.h.
#include <pthread.h>

#include <algorithm>
#include <string>

#include "base/check.h"
#include "gcheap/handles.h"
#include "runtime/heap_impl.h"

namespace gcheap::internal {

std::string ThreadDetail(const MutatorState* st) {
  char name[32] = "";
  pthread_getname_np(st->thread, name, sizeof name);
  std::string out = "thread " + std::to_string(st->tid);
  if (name[0] != 0) out += std::string(" (") + name + ")";
  return out;
}

void HeapImpl::ScanMutator(Marker& m, MutatorState* st, RootBytes* rb) {
  const bool label = m.labeling();
  if (opts_.stack_scanning == StackScanning::kPrecise) {
    if (label) m.LabelRoots("thread handles", 0, ThreadDetail(st));
    for (size_t i = 0; i < st->handle_top; i++) {
      void* v =
          st->handle_chunks[i / MutatorState::kChunk][i % MutatorState::kChunk];
      m.Grey(reinterpret_cast<uintptr_t>(v));
    }
    return;
  }
  m.SetConservativeRoots(true);
  // A thread stopped by a signal (preempt.cc): its registers and stack
  // pointer as the signal found them. Otherwise what it saved when it
  // parked, released its P or entered the runtime.
  const bool sig = st->sig_parked;
  if (label) m.LabelRoots("thread registers", 0, ThreadDetail(st));
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
    if (label) m.LabelRoots("thread stack", st->stack_hi, ThreadDetail(st));
    m.ScanRangeUnsafe(reinterpret_cast<const void*>(lo),
                      reinterpret_cast<const void*>(st->stack_hi));
    rb->stacks += st->stack_hi - lo;
  }
  m.SetConservativeRoots(false);
  // Handles work in conservative mode too.
  if (label) m.LabelRoots("thread handles", 0, ThreadDetail(st));
  for (size_t i = 0; i < st->handle_top; i++) {
    void* v =
        st->handle_chunks[i / MutatorState::kChunk][i % MutatorState::kChunk];
    m.Grey(reinterpret_cast<uintptr_t>(v));
  }
}

CollectorEnv::RootBytes HeapImpl::MarkRoots(Marker& m) {
  RootBytes rb;
  roots_.Mark(m, &rb);
  // Finalizers' referents and queued calls; heap objects held by Pools.
  specials_->MarkRoots(m);
  pools_.Mark(m);
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
  return h->roots().NewPersistent(value);
}

void FreePersistentSlot(Heap& heap, void** slot) {
  HeapAccess::Of(heap)->roots().FreePersistent(slot);
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
