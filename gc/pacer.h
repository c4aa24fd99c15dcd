// The pacer: when to start the next cycle. See gc/gc.h for the map.
//
// After each cycle, with M bytes marked (live) and GOGC = gc_percent:
//
//   goal    = M + (M + stacks + globals) * GOGC / 100, at least
//             4 MiB * GOGC / 100 (the heap minimum)
//   goal    = min(goal, what the soft memory limit leaves), never below
//             M + 1 MiB
//   trigger = M + 0.7 * (goal - M)            (stop-the-world marking)
//   trigger = goal    (a small heap: goal <= Options::small_heap; its
//                      cycles stop the world and mark at once)
//   trigger = goal - runway, clamped to 65%..95% of the way from M to the
//             goal (concurrent marking), where, as in Go's pacer,
//
//     runway    = cons/mark x (1 - u) / u x M, u = kBackgroundUtilization
//                 the bytes the program allocates while background marking
//                 at u = 25% of the CPU scans the M bytes expected live;
//     cons/mark = (bytes allocated per mutator CPU-second)
//                 / (bytes scanned per collector CPU-second),
//                 measured during each mark (ObserveMark), the largest of
//                 the last 4 cycles.
//
//   The floor is 65%, where Go's is 70%: a mark that starts there and
//   uses its whole growth budget (below) reaches the goal itself, a
//   tenth of the way past it at worst, and every object it allocates
//   black inflates the next goal twice over. The lower floor costs about
//   5% more cycles (docs/performance.md, "The trigger floor").
//
//   A measured allocation rate alone would mislead: while assists make the
//   program mark, it allocates little, the runway looks short, the next
//   cycle starts late and needs more assists. Rates per CPU-second do not
//   depend on who did the marking. (With stop-the-world marking the heap
//   does not grow during the mark, so starting at 70% keeps the peak heap
//   near Go's for the same GOGC.)
//
// While a concurrent mark runs, assists pace the program (gc/assist.h)
// toward two goals that ForMark sets when the mark begins at heap size H0:
//
//   soft = min(goal, H0 + 40% of (goal - M))   the mark's growth budget
//   hard = min(goal + 10% of goal, soft + 25% of that budget)
//
// Go's assists aim at the goal itself. Every object allocated during a mark
// is black and counts as marked, so the next goal doubles it: a program
// that allocates faster than the collector marks (cons/mark high, the
// trigger at its floor) inflates every goal, and its peak heap, by what
// it allocates while marking (a quarter of the live heap per mark in
// binary-trees before the budget; docs/performance.md, "The mark's
// growth budget"). The budget binds only then: marking that keeps up (a trigger
// past 60% of the way) has the goal as its soft goal, as in Go. It was
// 20%: with several mutators and no idle CPU that made assists do nearly
// all the marking, at twice the CPU a background worker spends on it.
//
// Two rules keep the heap bounded whatever the number of mutators:
//   - the GC CPU limiter (limiter.h) lets assists stop only while the heap
//     is below the goal; past it they pay as usual;
//   - the next goal never inherits an overshoot: black allocation past the
//     cycle's goal is not counted in the marked bytes the goal is computed
//     from (Collector::FinishConcurrentMark; gctrace prints
//     "(over goal N MB)").
//
// A cycle starts when heap_live (bytes in spans handed to mcaches plus large
// objects, counted pessimistically at refill) reaches the trigger.
// gc_percent < 0 turns automatic collection off.
#ifndef GCHEAP_GC_PACER_H_
#define GCHEAP_GC_PACER_H_

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>

#include "base/spinlock.h"

namespace gcheap::internal {

class Pacer {
 public:
  // The default heap minimum (Go's heapMinimum): the goal is never below
  // this times GOGC/100, so a small heap does not collect constantly.
  static constexpr uint64_t kHeapMinimum = 4 << 20;
  // Stop-the-world marking: the trigger, as a share of the way from the
  // marked bytes to the goal. Concurrent marking: its lowest value.
  static constexpr uint64_t kTriggerPercent = 70;
  static constexpr uint64_t kMinConcurrentTriggerPercent = 65;
  static constexpr uint64_t kMaxTriggerPercent = 95;

  static constexpr double kBackgroundUtilization = 0.25;
  // The heap may grow by this share of (goal - marked) during a mark
  // before assists pace the program hard (ForMark).
  static constexpr uint64_t kMarkGrowthPercent = 40;

  // Concurrent marking: what the last mark measured. `allocated` bytes
  // were allocated by the program while `scanned` bytes were marked by
  // scanning, using `mutator_cpu_ns` and `gc_cpu_ns` of CPU time. Takes
  // effect at the next Commit. Never called (stop-the-world marking):
  // trigger at 70%.
  void ObserveMark(uint64_t allocated, uint64_t scanned,
                   uint64_t mutator_cpu_ns, uint64_t gc_cpu_ns) {
    if (scanned == 0 || gc_cpu_ns == 0) return;
    SpinLockHolder l(&mu_);
    double alloc_rate =
        static_cast<double>(allocated) / std::max<uint64_t>(mutator_cpu_ns, 1);
    double scan_rate = static_cast<double>(scanned) / gc_cpu_ns;
    cons_mark_[cons_mark_next_++ % 4] = alloc_rate / scan_rate;
  }
  double cons_mark() const {
    SpinLockHolder l(&mu_);
    return ConsMarkLocked();
  }
  double ConsMarkLocked() const
      GCHEAP_THREAD_ANNOTATION(exclusive_locks_required(mu_)) {
    return std::max(std::max(cons_mark_[0], cons_mark_[1]),
                    std::max(cons_mark_[2], cons_mark_[3]));
  }

  // heap_minimum: the goal's floor at GOGC=100 (0: kHeapMinimum).
  // small_heap: goals at most this are small (small(); 0: none).
  Pacer(int gc_percent, size_t soft_limit, uint64_t heap_minimum = 0,
        uint64_t small_heap = 0)
      : gc_percent_(gc_percent),
        soft_limit_(soft_limit),
        heap_minimum_(heap_minimum != 0 ? heap_minimum : kHeapMinimum),
        small_heap_(small_heap) {
    Commit(0, 0);
  }

  // Sets the goal from a cycle's marked bytes and root sizes.
  void Commit(uint64_t marked, uint64_t roots) {
    SpinLockHolder l(&mu_);
    marked_.store(marked, std::memory_order_relaxed);
    roots_.store(roots, std::memory_order_relaxed);
    CommitLocked();
  }
  // The goal again from the last cycle's figures (a new GOGC or limit).
  void Recommit() {
    SpinLockHolder l(&mu_);
    CommitLocked();
  }

 private:
  void CommitLocked() GCHEAP_THREAD_ANNOTATION(exclusive_locks_required(mu_)) {
    const uint64_t marked = marked_.load(std::memory_order_relaxed);
    const uint64_t roots = roots_.load(std::memory_order_relaxed);
    int pct = gc_percent_.load(std::memory_order_relaxed);
    uint64_t goal;
    if (pct < 0) {
      goal = UINT64_MAX;
    } else {
      goal = marked + (marked + roots) * static_cast<uint64_t>(pct) / 100;
      uint64_t floor = heap_minimum_ * static_cast<uint64_t>(pct) / 100;
      if (goal < floor) goal = floor;
    }
    const size_t soft_limit = soft_limit_.load(std::memory_order_relaxed);
    if (soft_limit != 0) {
      uint64_t limit_goal = soft_limit - soft_limit / 32;
      uint64_t min_goal = marked + (1 << 20);
      if (limit_goal < min_goal) limit_goal = min_goal;
      if (goal > limit_goal) goal = limit_goal;
    }
    goal_.store(goal, std::memory_order_relaxed);
    // A small goal: the cycle will stop the world at the trigger and mark
    // at once, so nothing is allocated while it marks; it starts at the
    // goal itself.
    const bool small = goal <= small_heap_;
    small_.store(small, std::memory_order_relaxed);
    uint64_t trigger = goal;
    if (!small && goal != UINT64_MAX && goal > marked) {
      uint64_t span = goal - marked;
      const bool concurrent = cons_mark_next_ > 0;
      trigger =
          marked +
          span * (concurrent ? kMinConcurrentTriggerPercent : kTriggerPercent) /
              100;
      if (concurrent) {
        // Concurrent marking: start early enough that the program's
        // allocation during the mark (the runway) ends near the goal;
        // between 65% and 95% of the way.
        double runway_d = ConsMarkLocked() * (1 - kBackgroundUtilization) /
                          kBackgroundUtilization * static_cast<double>(marked);
        uint64_t runway = runway_d >= static_cast<double>(span)
                              ? span
                              : static_cast<uint64_t>(runway_d);
        uint64_t latest = marked + span * kMaxTriggerPercent / 100;
        trigger = std::clamp(goal - runway, trigger, latest);
        runway_.store(runway, std::memory_order_relaxed);
      }
    }
    trigger_.store(trigger, std::memory_order_relaxed);
  }

 public:
  // The goals a concurrent mark that begins with h0 bytes in the heap
  // paces assists by (see the map comment). UINT64_MAX when unlimited.
  struct MarkGoals {
    uint64_t soft;
    uint64_t hard;
  };
  MarkGoals ForMark(uint64_t h0) const {
    const uint64_t goal = this->goal();
    const uint64_t marked = this->marked();
    if (goal == UINT64_MAX) return {goal, goal};
    MarkGoals g{goal, goal + goal / 10};
    if (goal > marked) {
      uint64_t budget = std::max<uint64_t>(
          (goal - marked) * kMarkGrowthPercent / 100, uint64_t{1} << 20);
      if (h0 < goal && budget < goal - h0) {
        g.soft = h0 + budget;
        g.hard = std::min(g.hard, g.soft + budget / 4);
      }
    }
    return g;
  }
  int SetGCPercent(int pct) {
    int old = gc_percent_.exchange(pct, std::memory_order_relaxed);
    Recommit();
    return old;
  }
  // Sets the soft memory limit (0: none) and returns the previous one; the
  // goal follows at once, as for SetGCPercent.
  size_t SetSoftLimit(size_t bytes) {
    size_t old = soft_limit_.exchange(bytes, std::memory_order_relaxed);
    Recommit();
    return old;
  }
  int gc_percent() const { return gc_percent_.load(std::memory_order_relaxed); }
  size_t soft_limit() const {
    return soft_limit_.load(std::memory_order_relaxed);
  }
  bool enabled() const { return gc_percent() >= 0 || soft_limit() != 0; }
  uint64_t goal() const { return goal_.load(std::memory_order_relaxed); }
  uint64_t marked() const { return marked_.load(std::memory_order_relaxed); }
  uint64_t trigger() const { return trigger_.load(std::memory_order_relaxed); }
  // The goal is at most the small-heap size: the next heap-triggered cycle
  // stops the world at the goal and marks at once (Options::small_heap).
  bool small() const { return small_.load(std::memory_order_relaxed); }
  // The runway of the last Commit with concurrent marking (0 before).
  uint64_t runway() const { return runway_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int> gc_percent_;
  std::atomic<size_t> soft_limit_;
  const uint64_t heap_minimum_;
  const uint64_t small_heap_;
  std::atomic<bool> small_{false};
  std::atomic<uint64_t> marked_{0};
  std::atomic<uint64_t> roots_{0};
  std::atomic<uint64_t> goal_{0};
  std::atomic<uint64_t> trigger_{0};
  std::atomic<uint64_t> runway_{0};
  // Commits come from the collecting thread (end of cycle) and from any
  // thread that sets GOGC or the memory limit: one at a time, so a goal
  // is always computed from one cycle's figures.
  mutable SpinLock mu_;
  // cons/mark samples of the last 4 marks.
  double cons_mark_[4] GCHEAP_THREAD_ANNOTATION(guarded_by(mu_)) = {0, 0, 0, 0};
  uint64_t cons_mark_next_ GCHEAP_THREAD_ANNOTATION(guarded_by(mu_)) = 0;
};

}  // namespace gcheap::internal

#endif  // GCHEAP_GC_PACER_H_
