// fork(): the pthread_atfork handlers that keep every heap usable across a
// fork, in the parent and in the child. See docs/embedding.md ("fork()")
// for what a program may do, and docs/locking.md for the lock order.
//
// Installed once, when the first heap is made (RegisterHeap):
//
//   prepare  the forking thread gives up its P, if it holds one (the
//            stops below must not wait for it), and takes the fork lock;
//            then, heap after heap (HeapImpl::ForkPrepare): waits for a
//            cycle in progress and takes the cycle lock, pauses the
//            sweepers, stops the world as a collection does (mutators
//            parked at safepoints or stopped by signal), and takes every
//            other lock of the heap: mutexes in rank order, then the spin
//            locks. When fork() copies the process, no other thread holds
//            a gcheap lock, sweeps a span or runs a cycle.
//   parent   releases all of it, restarts the world, and gives the forking
//            thread its P back.
//   child    only the forking thread exists. Heap after heap
//            (HeapImpl::ForkChild): every other thread's mutator is
//            dropped (its P idle again, its stack and handles no longer
//            roots), condition variables start afresh (they counted
//            waiters that are gone), the collector's threads are forgotten
//            and start again when next needed (the coordinator with the
//            next cycle request; workers, sweeper, scavenger and finalizer
//            thread with the next cycle), and the locks are released. The
//            forking thread gets its P back and goes on.
//
// A fork+exec child pays for the handlers only: no thread starts in it.
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include "base/check.h"
#include "runtime/heap_impl.h"

namespace gcheap::internal {
namespace {

// The mutator whose P the forking thread gave up for the fork.
thread_local Mutator* released_for_fork = nullptr;

// The heaps the running fork quiesced, in order (ForkMutex held).
std::vector<HeapImpl*>& ForkHeaps() {
  static auto* heaps = new std::vector<HeapImpl*>;
  return *heaps;
}

void TakePBack() {
  Mutator* m = released_for_fork;
  if (m == nullptr) return;
  released_for_fork = nullptr;
  HeapImpl::ImplOf(*m)->AcquireP(*m);
}

void Prepare() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  Mutator* m = CurrentMutator();
  if (m != nullptr && HeapImpl::HeldP(*m) != nullptr) {
    ClearStackBelow();
    HeapImpl::ImplOf(*m)->ReleaseP(*m);
    released_for_fork = m;
  }
  ForkMutex().Lock();
  ForkHeaps() = LiveHeaps();
  for (HeapImpl* h : ForkHeaps()) h->ForkPrepare();
  // The leaves last: their holders take nothing else.
  HeapListMutex().LockForFork();
  PreemptInstallMutex().LockForFork();
}

void Parent() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  PreemptInstallMutex().UnlockForFork();
  HeapListMutex().UnlockForFork();
  std::vector<HeapImpl*>& heaps = ForkHeaps();
  for (size_t i = heaps.size(); i-- > 0;) heaps[i]->ForkParent();
  heaps.clear();
  ForkMutex().Unlock();
  TakePBack();
}

void Child() ABSL_NO_THREAD_SAFETY_ANALYSIS {
  PreemptInstallMutex().UnlockForFork();
  HeapListMutex().UnlockForFork();
  std::vector<HeapImpl*>& heaps = ForkHeaps();
  for (size_t i = heaps.size(); i-- > 0;) heaps[i]->ForkChild();
  heaps.clear();
  ForkMutex().Unlock();
  TakePBack();
}

}  // namespace

Mutex& ForkMutex() {
  static Mutex mu(LockRank::kFork);
  return mu;
}

void InstallForkHandlers() {
  static bool installed = false;  // ForkMutex held
  if (installed) return;
  GCHEAP_CHECK(pthread_atfork(Prepare, Parent, Child) == 0,
               "cannot install the fork handlers");
  installed = true;
}

void HeapImpl::ForkPrepare() {
  // Before the world stops: a cycle in progress ends first (the calling
  // thread holds no P of this heap, so it cannot be what the cycle waits
  // for), and the P-less sweepers stop. Neither lock is waited for by a
  // thread that holds a P.
  collector_->ForkLockCycle();
  StopTheWorld();
  // Then everything else, mutexes in rank order. The mutators hold none
  // of them now (they are stopped at safepoints, or in signal handlers
  // that refuse to stop a thread inside gcheap's code).
  collector_->ForkLockRequests();
  sched_mu_.LockForFork();
  pools_.ForkLock();
  roots_.ForkLock();
  specials_->queue().ForkLock();
  collector_->ForkLock();
  // The spin locks (leaves) last.
  roots_.ForkLockHandles();
  specials_->ForkLock();
  mheap_->ForkLock();
  mem_profile_.ForkLock();
}

void HeapImpl::ForkParent() {
  mem_profile_.ForkUnlock();
  mheap_->ForkUnlock();
  specials_->ForkUnlock();
  roots_.ForkUnlockHandles();
  collector_->ForkUnlock();
  specials_->queue().ForkUnlock();
  roots_.ForkUnlock();
  pools_.ForkUnlock();
  StartTheWorldLocked();
  sched_mu_.UnlockForFork();
  collector_->ForkUnlockRequests();
  collector_->ForkUnlockCycle();
}

void HeapImpl::ForkChild() {
  mem_profile_.ForkUnlock();
  mheap_->ForkUnlock();
  specials_->ForkUnlock();
  roots_.ForkUnlockHandles();
  collector_->ForkChild();
  specials_->queue().ForkChild();
  roots_.ForkUnlock();
  pools_.ForkUnlock();
  sched_cv_.ResetAfterFork();
  p_cv_.ResetAfterFork();
  DropOtherMutatorsLocked();
  if (ForgetThreadAfterFork(&finalizer_thread_)) {
    // Its mutator was dropped with the others; the next cycle starts a new
    // one (RestartAfterFork), as does the next SetFinalizer or AddCleanup.
    new (&finalizer_once_) std::once_flag();
    finalizer_lost_ = true;
  }
  sched_mu_.UnlockForFork();
  collector_->ForkChildRequests();
  collector_->ForkUnlockCycle();
}

void HeapImpl::DropOtherMutatorsLocked() {
  Mutator* self = tls_current;
  if (self != nullptr && self->heap_ != this) self = nullptr;
  std::vector<Mutator*> kept;
  for (Mutator* m : mutators_) {
    if (m == self) {
      kept.push_back(m);
      continue;
    }
    // Its thread does not exist here: its stack and handles are no longer
    // roots, and its P (parked, with a consistent cache) is free for the
    // next thread that attaches.
    MutatorState* st = m->state_;
    if (st->p != nullptr) {
      st->p->status = P::Status::kIdle;
      st->p->owner = nullptr;
    }
    for (void** chunk : st->handle_chunks) delete[] chunk;
    delete st;
    delete m;
  }
  mutators_ = std::move(kept);
  int held = 0;
  for (P& p : ps_) {
    p.flush_requested.store(false, std::memory_order_relaxed);
    if (p.status != P::Status::kIdle) held++;
  }
  held_ps_.store(held, std::memory_order_relaxed);
  flush_pending_ = 0;
  if (self != nullptr) {
    MutatorState* st = self->state_;
    st->thread = pthread_self();
    st->tid = static_cast<int>(syscall(SYS_gettid));
    st->preempt_req.store(false, std::memory_order_relaxed);
    st->sig_state.store(0, std::memory_order_relaxed);
    st->sig_parked = false;
  }
  // The fork's stop of the world ends here: nobody is left to park.
  stop_requested_.store(false, std::memory_order_seq_cst);
  world_stopped_ = false;
  UpdatePollLocked();
}

void HeapImpl::RestartAfterFork() {
  if (!finalizer_lost_) return;
  finalizer_lost_ = false;
  EnsureFinalizerThread();
}

}  // namespace gcheap::internal
