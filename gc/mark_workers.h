// Mark workers: the collector's own marking threads (Go's background mark
// workers, mgc.go's gcBgMarkWorker) and the loop every marking thread runs.
//
// The workers are started with the collector and sleep between mark
// phases. Run(participants, utilization, self, idle) opens a phase:
//   - `participants` workers mark at `utilization` of a CPU each (1: a
//     dedicated worker; below 1: a fractional one, which marks in ~1 ms
//     slices and sleeps between them to keep its share of CPU time);
//   - up to `idle` more mark only while a CPU is idle (idle-time marking:
//     Ps held by mutators plus marking workers below the CPU count);
//   - `self`, if given, is the calling thread's marker, which marks too.
// Run returns once every marker in the phase is out of work: each has
// drained its own grey objects, the shared pool is empty and no assist
// holds work (gc/assist.h). Markers share work through the pool
// (gc/gcwork.h): one with work Balances when others wait.
//
// In a concurrent mark, what the workers scan becomes credit for assists.
// CPU time is counted per phase: background (dedicated and fractional
// shares) and idle (beyond a worker's share, on a CPU no one wanted).
//
// Locks: mu_ (rank kMarkWorkers) guards the phase's parameters; the
// counters that markers update while marking are atomics.
//
// fork() (runtime/fork.cc): the workers are idle (no cycle runs); in the
// child they are gone, and RestartAfterFork, at the next cycle, starts
// them again.
#ifndef GCHEAP_GC_MARK_WORKERS_H_
#define GCHEAP_GC_MARK_WORKERS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "base/mutex.h"
#include "gc/assist.h"
#include "gc/event_trace.h"
#include "gc/gcwork.h"
#include "gc/mark.h"

namespace gcheap::internal {

class CollectorEnv;

class MarkWorkers {
 public:
  struct Options {
    int workers = 0;               // threads to start
    bool concurrent = true;        // scanned bytes become assist credit
    bool idle_mark = true;         // fractional workers mark on idle CPUs
    EventTrace* events = nullptr;  // each worker's marking (event_trace.h)
  };
  // Starts the workers; each marks with a marker from new_marker.
  MarkWorkers(WorkPool* pool, CollectorEnv* env, Assists* assists,
              const Options& opts,
              const std::function<std::unique_ptr<Marker>()>& new_marker);
  ~MarkWorkers();  // stops the workers
  MarkWorkers(const MarkWorkers&) = delete;
  MarkWorkers& operator=(const MarkWorkers&) = delete;

  // One mark phase (see the map above). Returns when it is done.
  void Run(int participants, double utilization, Marker* self, int idle = 0)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Every worker and self at full speed (a stop-the-world mark, or the
  // end of one), self's roots published first.
  void MarkAll(Marker& self) {
    self.work().Flush();
    Run(size(), 1.0, &self);
  }

  int size() const { return opts_.workers; }

  // fork(), with no phase running: ForkLock takes mu_, ForkUnlock releases
  // it (the parent). ForkChild, in the child: forgets the threads and
  // releases mu_. RestartAfterFork starts them again (once, and only
  // after a ForkChild), between phases.
  void ForkLock() ABSL_EXCLUSIVE_LOCK_FUNCTION(mu_) { mu_.LockForFork(); }
  void ForkUnlock() ABSL_UNLOCK_FUNCTION(mu_) { mu_.UnlockForFork(); }
  void ForkChild() ABSL_UNLOCK_FUNCTION(mu_);
  void RestartAfterFork() ABSL_LOCKS_EXCLUDED(mu_);
  // Resets the workers' markers' counters (at mark start); their marked
  // bytes since.
  void ResetCounters();
  uint64_t MarkedBytes() const;
  // CPU time, all phases (ns): background marking (a worker's share, and
  // the calling thread's marking in Run) and idle-time marking.
  uint64_t background_cpu_ns() const {
    return background_cpu_ns_.load(std::memory_order_relaxed);
  }
  uint64_t idle_cpu_ns() const {
    return idle_cpu_ns_.load(std::memory_order_relaxed);
  }

 private:
  // Worker id's loop; it starts with phase `seen` already seen.
  void Main(int id, uint64_t seen) ABSL_LOCKS_EXCLUDED(mu_);
  // Marks until every marker is out of work. utilization < 1: a fractional
  // worker, which sleeps between slices (unless a CPU is idle). idle: an
  // idle-time worker, which leaves as soon as no CPU is idle. Returns the
  // CPU time (ns) spent beyond the worker's share, as idle-time marking.
  uint64_t MarkLoop(Marker& m, double utilization, bool idle = false);
  // True if a marking thread that is running now has a CPU of its own.
  bool CpuIdle() const;

  WorkPool* const pool_;
  CollectorEnv* const env_;
  Assists* const assists_;
  const Options opts_;
  const int ncpu_;  // CPUs this process may run on
  std::vector<std::unique_ptr<Marker>> markers_;  // one per worker

  Mutex mu_{LockRank::kMarkWorkers};
  CondVar cv_;
  uint64_t epoch_ ABSL_GUARDED_BY(mu_) = 0;  // bumped per phase
  int running_ ABSL_GUARDED_BY(mu_) = 0;     // workers still in the phase
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
  bool lost_ ABSL_GUARDED_BY(mu_) = false;          // threads gone with a fork
  int participants_ ABSL_GUARDED_BY(mu_) = 0;       // workers in the phase
  int idle_participants_ ABSL_GUARDED_BY(mu_) = 0;  // of which idle-time
  double utilization_ ABSL_GUARDED_BY(mu_) = 1.0;   // their duty cycle

  std::atomic<int> idle_{0};  // markers out of work in this phase
  // Threads marking in this phase (an idle worker that leaves early takes
  // itself out).
  std::atomic<int> nmarkers_{1};
  std::atomic<int> active_{0};  // workers marking, not sleeping
  std::atomic<uint64_t> background_cpu_ns_{0};
  std::atomic<uint64_t> idle_cpu_ns_{0};
  std::vector<std::thread> threads_;  // last: started once the rest is built
};

}  // namespace gcheap::internal

#endif  // GCHEAP_GC_MARK_WORKERS_H_
