// The background scavenger: returns free pages to the OS. See
// alloc/malloc.h for the map and alloc/mheap.h for the goal.
//
// One thread per heap wakes up, asks the mheap to release up to 64 KiB of
// free pages if retained memory is above the goal (MHeap::ScavengeStep),
// measures how long that took, and sleeps long enough that its work stays
// within its CPU budget (1% of one CPU by default): after t of work it
// sleeps t * (1 - f) / f. With nothing to release it sleeps 50 ms or until
// woken. Released pages are reused by the page allocator like any other
// free page, and come back zero.
//
// fork() (runtime/fork.cc): in the child the thread is gone; the collector
// starts it again with the child's first cycle (RestartAfterFork).
#ifndef GCHEAP_ALLOC_SCAVENGER_H_
#define GCHEAP_ALLOC_SCAVENGER_H_

#include <atomic>
#include <cstdint>
#include <thread>

#include "base/mutex.h"

namespace gcheap::internal {

class MHeap;

class Scavenger {
 public:
  static constexpr size_t kStepBytes = 64 << 10;

  Scavenger(MHeap* heap, double cpu_fraction);
  ~Scavenger();  // stops the thread
  // Starts the thread when RestartAfterFork is next called (the
  // collector's first cycle) instead of now.
  void StartLater() ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock l(&mu_);
    lost_ = true;
  }
  void Start();
  void Stop();
  // Wakes the thread early (e.g. after a collection frees many spans).
  void Wake();

  // fork(): ForkLock takes mu_ and ForkUnlock releases it (the parent);
  // ForkChild, in the child, forgets the thread and releases mu_;
  // RestartAfterFork starts it again after a ForkChild, if it was running.
  void ForkLock() ABSL_EXCLUSIVE_LOCK_FUNCTION(mu_) { mu_.LockForFork(); }
  void ForkUnlock() ABSL_UNLOCK_FUNCTION(mu_) { mu_.UnlockForFork(); }
  void ForkChild() ABSL_UNLOCK_FUNCTION(mu_);
  void RestartAfterFork() ABSL_LOCKS_EXCLUDED(mu_);

  uint64_t released_bytes() const {
    return released_.load(std::memory_order_relaxed);
  }
  uint64_t work_ns() const { return work_ns_.load(std::memory_order_relaxed); }
  uint64_t steps() const { return steps_.load(std::memory_order_relaxed); }

  // Called after each step that released memory, with its start and end
  // (MonoNs) and the bytes released, under mu_ (so a hook removed is not
  // running): the collector's event trace. Null removes it.
  using StepHook = void (*)(void* arg, uint64_t t0_ns, uint64_t t1_ns,
                            size_t released);
  void SetStepHook(StepHook hook, void* arg) ABSL_LOCKS_EXCLUDED(mu_) {
    MutexLock l(&mu_);
    hook_ = hook;
    hook_arg_ = arg;
  }

 private:
  void Loop();

  MHeap* const heap_;
  const double fraction_;
  std::thread thread_;
  Mutex mu_{LockRank::kScavenger};
  CondVar cv_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  bool woken_ ABSL_GUARDED_BY(mu_) = false;
  // The thread gone with a fork, or not started yet (StartLater).
  bool lost_ ABSL_GUARDED_BY(mu_) = false;
  StepHook hook_ ABSL_GUARDED_BY(mu_) = nullptr;
  void* hook_arg_ ABSL_GUARDED_BY(mu_) = nullptr;
  std::atomic<uint64_t> released_{0};
  std::atomic<uint64_t> work_ns_{0};
  std::atomic<uint64_t> steps_{0};
};

}  // namespace gcheap::internal

#endif  // GCHEAP_ALLOC_SCAVENGER_H_
