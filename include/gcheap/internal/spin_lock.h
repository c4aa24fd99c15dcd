// A small test-and-test-and-set spin lock for short critical sections
// (mcentral span sets, fixed-size allocators, WeakSet). It yields after a
// bounded spin so a preempted holder does not stall waiters on a busy
// machine. In the public headers for WeakSet and WeakValueMap; not API.
// Annotated for clang's thread-safety analysis.
#ifndef GCHEAP_INTERNAL_SPIN_LOCK_H_
#define GCHEAP_INTERNAL_SPIN_LOCK_H_

#include <sched.h>

#include <atomic>

#include "gcheap/internal/config.h"

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

class GCHEAP_THREAD_ANNOTATION(capability("mutex")) SpinLock {
 public:
  SpinLock() = default;
  SpinLock(const SpinLock&) = delete;
  SpinLock& operator=(const SpinLock&) = delete;

  void Lock() GCHEAP_THREAD_ANNOTATION(acquire_capability()) {
    if (!locked_.exchange(true, std::memory_order_acquire)) return;
    SlowLock();
  }
  void Unlock() GCHEAP_THREAD_ANNOTATION(release_capability()) {
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

class GCHEAP_THREAD_ANNOTATION(scoped_lockable) SpinLockHolder {
 public:
  explicit SpinLockHolder(SpinLock* l)
      GCHEAP_THREAD_ANNOTATION(acquire_capability(l))
      : l_(l) {
    l_->Lock();
  }
  ~SpinLockHolder() GCHEAP_THREAD_ANNOTATION(release_capability()) {
    l_->Unlock();
  }
  SpinLockHolder(const SpinLockHolder&) = delete;
  SpinLockHolder& operator=(const SpinLockHolder&) = delete;

 private:
  SpinLock* l_;
};

}  // namespace gcheap::internal

#endif  // GCHEAP_INTERNAL_SPIN_LOCK_H_
