// Mark assists: a mutator that allocates while marking runs pays for its
// allocation with scan work, so the heap cannot outrun the mark (Go's
// gcAssistAlloc, mgcmark.go).
//
//   debt += bytes * (scan work left) / (heap left before the goal)
//
// Each allocation slow path adds to its P's debt at this ratio, revised at
// every call: when the background workers are ahead the ratio falls and
// assists stop; once the scanning passes the estimate, or the heap passes
// the soft goal, it assumes the worst (everything in the heap at mark
// start may need scanning) by the hard goal (gc/pacer.h, MarkGoals). A
// positive debt is paid first from the background workers' credit (what
// they scanned beyond the assists' share), then by marking on the P's own
// marker in bounded steps, 64-256 KiB of scanning, leaving early when a
// stop or a ragged flush waits for the thread.
//
// While the GC CPU limiter is on (gc/limiter.h) and the heap is below this
// cycle's goal, assists are waived: the limiter caps the collector's share
// of the CPU, but never lets the heap pass its goal unpaced.
//
// All state is atomic: assists run on every mutator at once, lock-free.
#ifndef GCHEAP_GC_ASSIST_H_
#define GCHEAP_GC_ASSIST_H_

#include <atomic>
#include <cstdint>

#include "alloc/mheap.h"
#include "gc/event_trace.h"
#include "gc/limiter.h"
#include "gc/mark.h"
#include "gc/pacer.h"

namespace gcheap::internal {

class CollectorEnv;

class Assists {
 public:
  Assists(MHeap* heap, CollectorEnv* env, const GcCpuLimiter* limiter)
      : heap_(heap), env_(env), limiter_(limiter) {}

  // At mark start, the world stopped: heap_live then (h0), the scan work
  // expected, this cycle's heap goal and the goals assists pace by.
  void BeginMark(uint64_t h0, uint64_t expected_scan, uint64_t cycle_goal,
                 const Pacer::MarkGoals& goals);
  // A mutator that allocated `bytes` while marking: adds to *debt (bytes
  // of scan work owed) and pays what it can, on m.
  void Assist(Marker& m, int64_t* debt, size_t bytes);
  // Background marking scanned `bytes`: credit assists may claim.
  void AddBackgroundWork(uint64_t bytes) {
    const auto b = static_cast<int64_t>(bytes);
    credit_.fetch_add(b, std::memory_order_relaxed);
    scan_done_.fetch_add(b, std::memory_order_relaxed);
  }

  // Assists between taking work and handing back what is left: they may
  // hold grey objects no one else sees, so marking is not done until this
  // is 0 with the pool empty (as assists count in Go's nwait).
  int active() const { return active_.load(std::memory_order_acquire); }
  // Assists looking for work: the workers share theirs.
  int waiting() const { return waiting_.load(std::memory_order_relaxed); }
  // Wall time spent assisting, all cycles (ns).
  uint64_t cpu_ns() const { return cpu_ns_.load(std::memory_order_relaxed); }
  // Records each assist (gc/event_trace.h); set before any allocation.
  void SetEventTrace(EventTrace* events) { events_ = events; }
  // Background credit not yet claimed (bytes of scan work).
  int64_t credit() const { return credit_.load(std::memory_order_relaxed); }

 private:
  // The heap has passed this cycle's goal.
  bool PastGoal() const {
    return static_cast<uint64_t>(
               heap_->heap_live().load(std::memory_order_relaxed)) >=
           cycle_goal_.load(std::memory_order_relaxed);
  }
  // Adds the debt for `bytes` of allocation at the current ratio.
  void AddDebt(int64_t* debt, size_t bytes) const;

  MHeap* const heap_;
  CollectorEnv* const env_;
  const GcCpuLimiter* const limiter_;
  EventTrace* events_ = nullptr;
  std::atomic<int64_t> credit_{0};
  std::atomic<int64_t> scan_expected_{0};
  std::atomic<int64_t> scan_done_{0};
  std::atomic<uint64_t> cpu_ns_{0};
  std::atomic<int> active_{0};
  std::atomic<int> waiting_{0};
  // heap_live when marking began: what was allocated since is black, so
  // this bounds the cycle's scanning.
  std::atomic<int64_t> h0_{0};
  std::atomic<uint64_t> cycle_goal_{UINT64_MAX};
  std::atomic<uint64_t> soft_goal_{UINT64_MAX};
  std::atomic<uint64_t> hard_goal_{UINT64_MAX};
};

}  // namespace gcheap::internal

#endif  // GCHEAP_GC_ASSIST_H_
