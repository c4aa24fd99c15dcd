// Futex words: waiting on an int and waking its waiters, the one blocking
// primitive a signal handler may use (an atomic and a system call, both
// async-signal-safe). Process-private (FUTEX_*_PRIVATE).
#ifndef GCHEAP_BASE_FUTEX_H_
#define GCHEAP_BASE_FUTEX_H_

#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

namespace gcheap::internal {

// Sleeps while *word holds value: until a FutexWake, a signal, or
// timeout_ns (negative: no limit). Returns at once if it holds another.
inline void FutexWait(std::atomic<int>* word, int value,
                      int64_t timeout_ns = -1) {
  struct timespec ts;
  struct timespec* limit = nullptr;
  if (timeout_ns >= 0) {
    ts.tv_sec = static_cast<time_t>(timeout_ns / 1'000'000'000);
    ts.tv_nsec = static_cast<long>(timeout_ns % 1'000'000'000);
    limit = &ts;
  }
  syscall(SYS_futex, reinterpret_cast<int*>(word), FUTEX_WAIT_PRIVATE, value,
          limit, nullptr, 0);
}

// Wakes up to n threads sleeping on word.
inline void FutexWake(std::atomic<int>* word, int n = 1) {
  syscall(SYS_futex, reinterpret_cast<int*>(word), FUTEX_WAKE_PRIVATE, n,
          nullptr, nullptr, 0);
}

inline void FutexWakeAll(std::atomic<int>* word) { FutexWake(word, INT_MAX); }

}  // namespace gcheap::internal

#endif  // GCHEAP_BASE_FUTEX_H_
