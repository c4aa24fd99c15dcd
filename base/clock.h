// Clocks, in nanoseconds: monotonic (durations, pacing), Unix time
// (MemStats' timestamps) and the calling thread's CPU time.
#ifndef GCHEAP_BASE_CLOCK_H_
#define GCHEAP_BASE_CLOCK_H_

#include <time.h>

#include <cstdint>

namespace gcheap::internal {

inline uint64_t ClockNs(clockid_t clock) {
  timespec ts;
  clock_gettime(clock, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000 +
         static_cast<uint64_t>(ts.tv_nsec);
}
inline uint64_t MonoNs() { return ClockNs(CLOCK_MONOTONIC); }
inline uint64_t UnixNs() { return ClockNs(CLOCK_REALTIME); }
// A system call (the vDSO does not serve it): not for fast paths.
inline uint64_t ThreadCpuNs() { return ClockNs(CLOCK_THREAD_CPUTIME_ID); }

}  // namespace gcheap::internal

#endif  // GCHEAP_BASE_CLOCK_H_
