// The sweeper: the collector's background sweeping thread, and the hook
// that runs destructors of the objects a sweep frees.
//
// After mark termination every span is unswept (sweepgen, alloc/mheap.h).
// Three kinds of thread sweep them, each claiming a span by CAS on its
// sweepgen so none is swept twice:
//   - allocation: mcentral sweeps a span before it hands it out (lazy);
//   - this sweeper's thread, woken after each cycle (Resume), one span at a
//     time, while nobody pauses it;
//   - a collection, which finishes the last cycle's sweep before it stops
//     the world (FinishSweep), and a statistics reader that wants exact
//     counters (Lock/Unlock).
// Before a span's unmarked objects are freed, BeforeSweep runs their
// destructors (Type::destructor); special records (finalizers, weak
// handles) are handled by gc/specials.h from the same sweep.
//
// Locks: mu_ (rank kSweeper) guards the thread's state; finish_mu_ (rank
// kFinishSweep) is held by FinishSweep and by statistics readers between
// Lock and Unlock.
//
// fork() (runtime/fork.cc): the fork pauses the thread and keeps every
// P-less sweeper out, so no span is half swept when it happens; in the
// child the thread is gone, and so are the threads that had paused it:
// RestartAfterFork starts it again, unpaused.
#ifndef GCHEAP_GC_SWEEPER_H_
#define GCHEAP_GC_SWEEPER_H_

#include <thread>

#include "alloc/mheap.h"
#include "base/mutex.h"
#include "gc/event_trace.h"

namespace gcheap::internal {

class Sweeper : public SweepHook {
 public:
  // Installs itself as heap's sweep hook and starts the thread.
  explicit Sweeper(MHeap* heap);
  ~Sweeper() override;  // stops the thread, removes the hook
  Sweeper(const Sweeper&) = delete;
  Sweeper& operator=(const Sweeper&) = delete;

  // Keeps the thread from sweeping (nested calls count) and waits until it
  // is not; Resume undoes one Pause and wakes the thread for new work.
  void Pause() ABSL_LOCKS_EXCLUDED(mu_);
  void Resume() ABSL_LOCKS_EXCLUDED(mu_);
  // Pauses the thread and sweeps everything left on the calling thread.
  // The caller resumes it.
  void FinishSweep() ABSL_LOCKS_EXCLUDED(mu_, finish_mu_);
  // Keeps every sweeper that runs without a P (this thread, FinishSweep)
  // out until Unlock: for consistent statistics.
  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION(finish_mu_);
  void Unlock() ABSL_UNLOCK_FUNCTION(finish_mu_);
  // The lock Lock takes, for callers' annotations.
  const Mutex* finish_lock() const ABSL_LOCK_RETURNED(finish_mu_) {
    return &finish_mu_;
  }

  // fork(): ForkLockSweeping pauses the thread and takes finish_mu_ (as
  // Lock does, outside the rank check); ForkLock takes mu_. The parent
  // undoes them with ForkUnlock and ForkUnlockSweeping. In the child,
  // ForkChild forgets the thread and every pause but the fork's own, and
  // releases mu_; ForkUnlockSweeping then undoes the fork's pause.
  // RestartAfterFork starts the thread again after a ForkChild.
  void ForkLockSweeping() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  void ForkUnlockSweeping() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  void ForkLock() ABSL_EXCLUSIVE_LOCK_FUNCTION(mu_) { mu_.LockForFork(); }
  void ForkUnlock() ABSL_UNLOCK_FUNCTION(mu_) { mu_.UnlockForFork(); }
  void ForkChild() ABSL_UNLOCK_FUNCTION(mu_);
  void RestartAfterFork() ABSL_LOCKS_EXCLUDED(mu_);

  // SweepHook: runs the destructors of s's unmarked objects.
  void BeforeSweep(MSpan* s) override;

  // Records each run of the background sweeper (gc/event_trace.h).
  void SetEventTrace(EventTrace* events) {
    events_.store(events, std::memory_order_release);
  }

 private:
  void Main();

  MHeap* const heap_;
  std::atomic<EventTrace*> events_{nullptr};
  Mutex mu_{LockRank::kSweeper};
  CondVar cv_;
  int paused_ ABSL_GUARDED_BY(mu_) = 0;  // nested pauses
  bool wake_ ABSL_GUARDED_BY(mu_) = false;
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  bool active_ ABSL_GUARDED_BY(mu_) = false;  // sweeping now
  bool lost_ ABSL_GUARDED_BY(mu_) = false;    // the thread gone with a fork
  Mutex finish_mu_{LockRank::kFinishSweep};
  std::thread thread_;  // last: started once the rest is built
};

}  // namespace gcheap::internal

#endif  // GCHEAP_GC_SWEEPER_H_
