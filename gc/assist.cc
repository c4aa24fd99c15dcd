// Mark assists. See gc/assist.h.
#include "gc/assist.h"

#include <sched.h>
#include <stdio.h>

#include <algorithm>

#include "base/clock.h"
#include "gc/gc.h"

namespace gcheap::internal {

void Assists::BeginMark(uint64_t h0, uint64_t expected_scan,
                        uint64_t cycle_goal, const Pacer::MarkGoals& goals) {
  h0_.store(static_cast<int64_t>(h0), std::memory_order_relaxed);
  scan_expected_.store(static_cast<int64_t>(expected_scan),
                       std::memory_order_relaxed);
  scan_done_.store(0, std::memory_order_relaxed);
  credit_.store(0, std::memory_order_relaxed);
  cycle_goal_.store(cycle_goal, std::memory_order_relaxed);
  soft_goal_.store(goals.soft, std::memory_order_relaxed);
  hard_goal_.store(goals.hard, std::memory_order_relaxed);
}

void Assists::AddDebt(int64_t* debt, size_t bytes) const {
  int64_t expected = scan_expected_.load(std::memory_order_relaxed);
  int64_t goal = static_cast<int64_t>(std::min<uint64_t>(
      soft_goal_.load(std::memory_order_relaxed), INT64_MAX / 2));
  const int64_t done = scan_done_.load(std::memory_order_relaxed);
  const int64_t live = heap_->heap_live().load(std::memory_order_relaxed);
  if (done >= expected || live >= goal) {
    expected = std::max(expected, h0_.load(std::memory_order_relaxed));
    goal = static_cast<int64_t>(std::min<uint64_t>(
        hard_goal_.load(std::memory_order_relaxed), INT64_MAX / 2));
  }
  int64_t remaining_scan = std::max<int64_t>(expected - done, 64 << 10);
  // Past the hard goal the ratio is the work left over a small runway, so
  // the program allocates little until the mark is done: about half a
  // percent of the goal each time the work left halves (a fixed 1 MiB let
  // a young heap pass its goal by a third while a big structure grew).
  int64_t remaining_heap =
      std::max<int64_t>(goal - live, std::max<int64_t>(goal / 128, 64 << 10));
  *debt += static_cast<int64_t>(static_cast<double>(bytes) *
                                static_cast<double>(remaining_scan) /
                                static_cast<double>(remaining_heap));
}

void Assists::Assist(Marker& m, int64_t* debt, size_t bytes) {
  if (limiter_->limiting() && !PastGoal()) {
    *debt = 0;
    return;
  }
  AddDebt(debt, bytes);
  if (*debt <= 0) return;
  // Steal background credit first.
  int64_t credit = credit_.load(std::memory_order_relaxed);
  while (credit > 0) {
    int64_t take = std::min(credit, *debt);
    if (credit_.compare_exchange_weak(credit, credit - take,
                                      std::memory_order_relaxed)) {
      *debt -= take;
      break;
    }
  }
  if (*debt <= 0) return;
  // Then mark, in bounded steps. Timed by the monotonic clock, as Go times
  // assists: the thread runs throughout, and reading a thread's CPU clock
  // is a system call (vDSO does not serve it), two per assist.
  uint64_t t0 = MonoNs();
  // At least 64 KiB (assists are not worth starting for less) and at most
  // 256 KiB per call, so a mutator reaches its next safepoint soon.
  int64_t step = std::clamp<int64_t>(*debt, 64 << 10, 256 << 10);
  m.ResetScanned();
  active_.fetch_add(1, std::memory_order_acq_rel);
  for (int tries = 0; static_cast<int64_t>(m.scanned_bytes()) < step;) {
    // A stop or a ragged flush is waiting for this thread's safepoint.
    if (env_->PreemptRequested()) break;
    if (m.Drain(64) == 0) {
      // No grey object here or in the pool: the workers will share theirs
      // (they balance while assists wait); look again a few times. This
      // assist holds no work meanwhile.
      if (++tries > 64) break;
      active_.fetch_sub(1, std::memory_order_release);
      waiting_.fetch_add(1, std::memory_order_relaxed);
      sched_yield();
      waiting_.fetch_sub(1, std::memory_order_relaxed);
      active_.fetch_add(1, std::memory_order_acq_rel);
    }
  }
  m.work().Flush();  // what this assist greyed goes where workers see it
  active_.fetch_sub(1, std::memory_order_release);
  // Scanning more than owed (steps are at least 64 KiB) leaves credit for
  // the next allocations.
  *debt -= static_cast<int64_t>(m.scanned_bytes());
  scan_done_.fetch_add(static_cast<int64_t>(m.scanned_bytes()),
                       std::memory_order_relaxed);
  const uint64_t scanned = m.scanned_bytes();
  m.ResetScanned();
  const uint64_t t1 = MonoNs();
  cpu_ns_.fetch_add(t1 - t0, std::memory_order_relaxed);
  if (events_ != nullptr) {
    char args[48];
    snprintf(args, sizeof args, "\"scanned bytes\":%llu",
             static_cast<unsigned long long>(scanned));
    events_->NameThreadFromSystem("mutator");
    events_->Complete("assist", t0, t1, args);
  }
}

}  // namespace gcheap::internal
