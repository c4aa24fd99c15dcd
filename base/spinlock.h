// A small test-and-test-and-set spin lock for short critical sections
// (mcentral span sets, fixed-size allocators). It yields after a bounded
// spin so a preempted holder does not stall waiters on a busy machine.
// Annotated for abseil's thread-safety analysis.
#ifndef GCHEAP_BASE_SPINLOCK_H_
#define GCHEAP_BASE_SPINLOCK_H_

#include <sched.h>

#include <atomic>

#include "absl/base/thread_annotations.h"

namespace gcheap::internal {

// One step of a spin-then-yield wait, the n-th (from 0): a CPU pause for
// the first 64 steps, then sched_yield, so a waiter whose holder was
// descheduled gives it the CPU.
inline void SpinPause(int n) {
  if (n < 64) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  } else {
    sched_yield();
  }
}

class ABSL_LOCKABLE SpinLock {
 public:
  SpinLock() = default;
  SpinLock(const SpinLock&) = delete;
  SpinLock& operator=(const SpinLock&) = delete;

  void Lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    if (!locked_.exchange(true, std::memory_order_acquire)) return;
    SlowLock();
  }
  void Unlock() ABSL_UNLOCK_FUNCTION() {
    locked_.store(false, std::memory_order_release);
  }
  bool IsHeld() const { return locked_.load(std::memory_order_relaxed); }

 private:
  void SlowLock() {
    for (int spins = 0;; spins++) {
      if (!locked_.load(std::memory_order_relaxed) &&
          !locked_.exchange(true, std::memory_order_acquire)) {
        return;
      }
      SpinPause(spins);
    }
  }
  std::atomic<bool> locked_{false};
};

class ABSL_SCOPED_LOCKABLE SpinLockHolder {
 public:
  explicit SpinLockHolder(SpinLock* l) ABSL_EXCLUSIVE_LOCK_FUNCTION(l) : l_(l) {
    l_->Lock();
  }
  ~SpinLockHolder() ABSL_UNLOCK_FUNCTION() { l_->Unlock(); }
  SpinLockHolder(const SpinLockHolder&) = delete;
  SpinLockHolder& operator=(const SpinLockHolder&) = delete;

 private:
  SpinLock* l_;
};

}  // namespace gcheap::internal

#endif  // GCHEAP_BASE_SPINLOCK_H_
