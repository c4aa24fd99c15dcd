// The GC CPU limiter: caps the collector's share of the CPU at about half,
// as Go's gcCPULimiter does. See gc/gc.h for the map.
//
// A soft memory limit below the live heap would otherwise make the
// collector run back to back, and its assists would take most of the
// program's time (a death spiral). The limiter is a bucket of CPU time
// that fills with the collector's CPU and drains with the program's:
//
//   fill += gc_cpu - (total_cpu - gc_cpu)       clamped to [0, capacity]
//   capacity = 1 CPU-second per P
//
// so it rises only while the collector takes more than half, and it is
// full after a second of that (per P). While it is full the limiter is on:
// mutators stop assisting and stop waiting for the mark, and the heap may
// grow past the mark's soft goal instead, up to its goal (pacer.h): past
// that, assists pay again whatever the limiter says, so a program whose
// mutators outrun the collector on every CPU keeps a bounded heap (the
// limiter caps CPU, never the heap's bound). A soft memory limit below the
// live heap still cannot be kept: the goal never falls below the marked
// bytes plus 1 MiB, so the program goes on running. Marking by the
// background workers goes on; once the program's CPU has drained the
// bucket below full, assists resume. Idle-time marking uses CPU nobody else
// wanted and is not counted, as in Go.
//
// Updated by the collecting thread at the end of each cycle, over the time
// since the previous update.
#ifndef GCHEAP_GC_LIMITER_H_
#define GCHEAP_GC_LIMITER_H_

#include <atomic>
#include <cstdint>

namespace gcheap::internal {

class GcCpuLimiter {
 public:
  static constexpr uint64_t kCapacityPerProcNs = 1'000'000'000;

  explicit GcCpuLimiter(int procs)
      : capacity_(kCapacityPerProcNs *
                  static_cast<uint64_t>(procs < 1 ? 1 : procs)) {}

  // Accounts an interval in which the collector used gc_ns of CPU out of
  // total_ns (the Ps' wall time: wall time x procs). Returns whether the
  // limiter is on afterwards.
  bool Update(uint64_t gc_ns, uint64_t total_ns) {
    if (gc_ns > total_ns) gc_ns = total_ns;
    int64_t delta =
        static_cast<int64_t>(gc_ns) - static_cast<int64_t>(total_ns - gc_ns);
    int64_t fill = static_cast<int64_t>(fill_) + delta;
    if (fill < 0) fill = 0;
    if (fill >= static_cast<int64_t>(capacity_)) {
      overflow_ns_ += static_cast<uint64_t>(fill) - capacity_;
      fill = static_cast<int64_t>(capacity_);
    }
    fill_ = static_cast<uint64_t>(fill);
    const bool on = fill_ == capacity_;
    limiting_.store(on, std::memory_order_relaxed);
    return on;
  }

  // Read by mutators (assists, waits for the mark).
  bool limiting() const { return limiting_.load(std::memory_order_relaxed); }
  uint64_t fill() const { return fill_; }
  uint64_t capacity() const { return capacity_; }
  // The collector CPU the bucket could not hold: how far over half it went.
  uint64_t overflow_ns() const { return overflow_ns_; }

 private:
  const uint64_t capacity_;
  uint64_t fill_ = 0;  // the collecting thread's
  uint64_t overflow_ns_ = 0;
  std::atomic<bool> limiting_{false};
};

}  // namespace gcheap::internal

#endif  // GCHEAP_GC_LIMITER_H_
