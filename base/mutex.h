// Mutex, MutexLock and CondVar: std::mutex and std::condition_variable with
// abseil's thread-safety attributes, so that clang's -Wthread-safety
// (--config=clang) checks every GUARDED_BY field and REQUIRES function of
// the project at compile time. (libstdc++'s std::mutex carries no
// attributes: the analysis cannot see a lock_guard.)
//
// Each Mutex has a rank (docs/locking.md lists them in order): a thread
// takes locks in increasing rank only. Builds with GCHEAP_DEBUG_CHECKS
// (the debug, asan and tsan configs) check this at every Lock, as Go's
// lock ranking does, and abort naming both locks; other builds compile
// the check away.
//
// Each thread counts the runtime locks it holds (tls_locks_held, as Go's
// m.locks): a signal stop (runtime/preempt.cc) must not park a thread that
// holds one, or the collector, which takes them while the world is
// stopped, would wait for it forever. A thread blocked waiting for a lock,
// or on a CondVar, does not hold it yet (tls_lock_waits): it may be
// stopped while it sleeps in the kernel, not once it has the lock.
//
// CondVar waits are written as loops at the call site,
//   while (!ready_) cv_.Wait(&mu_);
// not as predicates: the analysis does not look inside lambdas, and the
// loop keeps the guarded reads where it checks them.
#ifndef GCHEAP_BASE_MUTEX_H_
#define GCHEAP_BASE_MUTEX_H_

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <new>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "base/check.h"

namespace gcheap::internal {

// Lock ranks, lowest first: a thread holding a lock may take only locks of
// a higher rank. Leaf locks (kLeaf) take nothing else.
enum class LockRank : uint8_t {
  kFork = 5,            // runtime/fork.cc: heaps made or destroyed, fork()
  kCycle = 10,          // Collector::cycle_mu_: one cycle at a time
  kFinishSweep = 20,    // Sweeper::finish_mu_: statistics and FinishSweep
  kRequest = 30,        // Collector::request_mu_: cycle requests
  kSched = 40,          // HeapImpl::sched_mu_: Ps, mutators, the world
  kPools = 50,          // PoolRegistry::mu_
  kRoots = 60,          // RootSet::mu_
  kCallQueue = 70,      // CallQueue::mu_: queued finalizers and cleanups
  kMarkWorkers = 90,    // MarkWorkers::mu_
  kSweeper = 100,       // Sweeper::mu_
  kStats = 110,         // Collector::stats_mu_
  kScavenger = 120,     // Scavenger::mu_
  kBarrierCheck = 130,  // BarrierCheck::mu_
  kLeaf = 250,          // registries and reporters that call nothing
};

// Runtime locks (Mutex) the calling thread holds or waits for, and of
// those, how many it is blocked waiting for (Lock's sleep, CondVar::Wait).
// Read by the stop signal's handler on the same thread: initial-exec, no
// call to reach them.
extern constinit thread_local int tls_locks_held
    __attribute__((tls_model("initial-exec")));
extern constinit thread_local int tls_lock_waits
    __attribute__((tls_model("initial-exec")));

// Debug builds: the rank check (base/mutex.cc).
void NoteLockAcquire(const void* mu, LockRank rank);
void NoteLockRelease(const void* mu);

class ABSL_LOCKABLE Mutex {
 public:
  explicit Mutex(LockRank rank) : rank_(rank) {}
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
#if GCHEAP_DCHECK_IS_ON
    NoteLockAcquire(this, rank_);
#endif
    // Counted before it is taken: no instant holds it uncounted.
    CountHeld(1);
    if (!TrySpin()) {
      CountWait(1);
      mu_.lock();
      CountWait(-1);
    }
  }
  // Takes the lock if nobody holds it; false if somebody does.
  bool TryLock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) {
    CountHeld(1);
    if (!mu_.try_lock()) {
      CountHeld(-1);
      return false;
    }
#if GCHEAP_DCHECK_IS_ON
    NoteLockAcquire(this, rank_);
#endif
    return true;
  }
  void Unlock() ABSL_UNLOCK_FUNCTION() {
    mu_.unlock();
    CountHeld(-1);
#if GCHEAP_DCHECK_IS_ON
    NoteLockRelease(this);
#endif
  }
  // The fork handlers (runtime/fork.cc) take every lock of every heap
  // before fork() and release them after it, heap after heap: locks of
  // one rank are held several at once, more than the rank check keeps
  // track of. They lock with these, which leave the check out
  // (docs/locking.md, "fork()").
  void LockForFork() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    CountHeld(1);
    CountWait(1);
    mu_.lock();
    CountWait(-1);
  }
  void UnlockForFork() ABSL_UNLOCK_FUNCTION() {
    mu_.unlock();
    CountHeld(-1);
  }
  // For code the analysis cannot follow (a lock taken in one function and
  // released in another, or held by the caller of a callback).
  void AssertHeld() const ABSL_ASSERT_EXCLUSIVE_LOCK() {}
  LockRank rank() const { return rank_; }

 private:
  friend class CondVar;
  // The counts change in program order as the signal handler sees it.
  static void CountHeld(int d) {
    std::atomic_signal_fence(std::memory_order_seq_cst);
    tls_locks_held += d;
    std::atomic_signal_fence(std::memory_order_seq_cst);
  }
  static void CountWait(int d) {
    std::atomic_signal_fence(std::memory_order_seq_cst);
    tls_lock_waits += d;
    std::atomic_signal_fence(std::memory_order_seq_cst);
  }
  // Tries for the lock a few microseconds before Lock sleeps on it, as Go's
  // runtime locks spin: the runtime's locks are held briefly, and a thread
  // that sleeps leaves its CPU idle, to be woken tens of microseconds later
  // (a stop of the world waits that long for it).
  bool TrySpin() {
    if (mu_.try_lock()) return true;
    for (int i = 0; i < kPauses; i++) {
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
      if (mu_.try_lock()) return true;
    }
    return false;
  }
  static constexpr int kPauses = 100;
  std::mutex mu_;
  const LockRank rank_;
};

class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ABSL_EXCLUSIVE_LOCK_FUNCTION(mu) : mu_(mu) {
    mu_->Lock();
  }
  ~MutexLock() ABSL_UNLOCK_FUNCTION() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

class CondVar {
 public:
  // Releases mu while it waits; holds it again on return. Wakeups may be
  // spurious: call in a loop over the condition.
  void Wait(Mutex* mu) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::unique_lock<std::mutex> l(mu->mu_, std::adopt_lock);
    Mutex::CountWait(1);
    cv_.wait(l);
    Mutex::CountWait(-1);
    l.release();
  }
  // The same, for at most `ns` nanoseconds; false if the time ran out.
  bool WaitFor(Mutex* mu, int64_t ns) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) {
    std::unique_lock<std::mutex> l(mu->mu_, std::adopt_lock);
    Mutex::CountWait(1);
    bool woken = cv_.wait_for(l, std::chrono::nanoseconds(ns)) ==
                 std::cv_status::no_timeout;
    Mutex::CountWait(-1);
    l.release();
    return woken;
  }
  void Signal() { cv_.notify_one(); }
  // In the child of a fork(), where only the forking thread runs: the
  // parent's waiters are gone, but the condition variable still counts
  // them (glibc's would wait for them to leave, forever). Starts it
  // afresh, without destroying the old one.
  void ResetAfterFork() { new (&cv_) std::condition_variable(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

// Names a thread the caller just started, as top -H, ps -L, gdb and perf
// show it (at most 15 characters: "gcheap sweeper"). Named by its creator,
// so the name is there once the std::thread is.
inline void NameThread(std::thread* t, const char* name) {
  pthread_setname_np(t->native_handle(), name);
}

// In the child of a fork(): the parent's threads do not exist there, and
// their std::thread objects must be neither joined (nothing would end the
// wait) nor destroyed while joinable (std::terminate). Forgets t's thread
// without touching it; true if it had one.
inline bool ForgetThreadAfterFork(std::thread* t) {
  if (!t->joinable()) return false;
  new (t) std::thread();
  return true;
}

}  // namespace gcheap::internal

#endif  // GCHEAP_BASE_MUTEX_H_
