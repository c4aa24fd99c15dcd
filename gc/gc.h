// The gcheap collector: a map.
//
// gcheap collects garbage with a tricolor mark-sweep over the spans of its
// allocator (alloc/malloc.h), in cycles shaped like Go's:
//
//   1. sweep termination   finish the last cycle's sweeping; every P hands
//      (world stopped)     its cached spans back (mcache ReleaseAll), so
//                          no span is half-owned while marking; rotate the
//                          pools; raise the marking flag (write barrier on,
//                          allocation black); grey every root, thread
//                          stacks included (scanned once per cycle)
//   2. mark                drain grey objects until none is left: heap-
//      (program running)   owned background workers at 25% of the Ps, and
//                          mutators paying assists in proportion to what
//                          they allocate (mark.h, gcwork.h). The write
//                          barrier (runtime/ref.h) shades the old and new
//                          value of every pointer store into the heap
//   3. mark termination    flush every P's barrier buffer and grey objects;
//      (world stopped)     if that found work, back to 2; checkmark if on;
//                          heap_live := marked bytes; next heap goal
//                          (pacer.h); the GC CPU limiter's bucket
//                          (limiter.h); sweepgen += 2: every span is now
//                          unswept; record the pause; gctrace line
//   4. sweep               concurrent with the program: a background
//      (world running)     sweeper thread and allocation itself (mcentral's
//                          lazy sweep) free the unmarked objects, running
//                          destructors and special records (finalizers,
//                          weak handles, cleanups; specials.h) first; empty
//                          spans go back to the page heap, and from there
//                          to the OS (scavenger)
//
// With CollectorOptions::concurrent = false (Options::concurrent_mark),
// phase 2 runs with the world stopped too, on the collecting thread and
// every worker: one pause per cycle, no barrier work (RunCycleStw).
// Heap-triggered cycles run on the collector's own thread
// (RequestCycle); Heap::Collect runs one on the calling thread.

// The collector does not know about threads, handles or stacks: the runtime
// (runtime/) implements CollectorEnv to stop and start the world and to
// grey the roots. Dependencies point down: runtime -> gc -> alloc -> base.
#ifndef GCHEAP_GC_GC_H_
#define GCHEAP_GC_GC_H_

#include <stdio.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/functional/function_ref.h"
#include "alloc/mcache.h"
#include "alloc/mheap.h"
#include "gc/gcwork.h"
#include "gc/limiter.h"
#include "gc/mark.h"
#include "gc/pacer.h"

namespace gcheap::internal {

enum class GcPhase : uint8_t {
  kOff,
  kSweepTermination,
  kMark,
  kMarkTermination
};

// kStress: the concurrent mark stress mode started it (Options::mark_stress).
enum class GcReason : uint8_t { kHeapTrigger, kForced, kReadStats, kStress };

// What the collector needs from the layer above.
class CollectorEnv {
 public:
  virtual ~CollectorEnv() = default;
  // Brings every running mutator to a safepoint and keeps it there. The
  // calling thread, if it is a mutator, counts as stopped.
  virtual void StopTheWorld() = 0;
  virtual void StartTheWorld() = 0;
  // With the world stopped: every P's mcache.
  virtual void ForEachMCache(absl::FunctionRef<void(MCache*)> fn) = 0;
  // With the world stopped: grey every root through m. Returns the bytes of
  // stacks and of global ranges scanned (for gctrace).
  struct RootBytes {
    uint64_t stacks = 0;
    uint64_t globals = 0;
  };
  virtual RootBytes MarkRoots(Marker& m) = 0;
  // With the world stopped, during concurrent marking: move every P's
  // write-barrier buffer and grey objects into the shared pool.
  virtual void FlushPWork() = 0;
  // The same without stopping the world (Go's forEachP): each running P
  // flushes its own at its next safepoint, and the Ps nobody holds are
  // flushed for them. Returns once every P has flushed.
  virtual void RaggedFlush() = 0;
  // True while a stop or a ragged flush waits for the mutators: an assist
  // cuts its step short so its thread reaches its safepoint.
  virtual bool PreemptRequested() const = 0;
  // Bytes marked by the Ps' markers (assists, barrier) this cycle; resets
  // them. With the world stopped.
  virtual uint64_t PMarkedBytes() = 0;
  virtual int procs() const = 0;
  // Ps held by mutators now, parked ones included (a racy snapshot, for
  // idle marking and the pacer).
  virtual int HeldPs() const = 0;
  // With the world stopped, at sweep termination, right after every mcache
  // was released and before marking: the runtime rotates its Pools'
  // victim caches (runtime/pool.h).
  virtual void OnSweepTermination() {}
};

struct CollectorOptions {
  // Mark concurrently with the program (the default), or with the world
  // stopped for the whole mark (for teaching and comparison).
  bool concurrent = true;
  // After a concurrent mark, mark again with the world stopped and fail
  // loudly if the concurrent mark missed a reachable object.
  bool checkmark = false;
  int gc_percent = 100;
  size_t soft_memory_limit = 0;  // 0: none
  int mark_workers = 0;          // extra marking threads; <0: auto
  bool idle_mark = true;         // mark on CPUs no running P uses
  bool gctrace = false;
  FILE* trace_out = nullptr;  // default stderr
  // Debug: log the words each concurrent mark reads and every write
  // barrier's slot, and abort at mark termination on a pointer word that
  // changed without a barrier (gc/barrier_check.h).
  bool barrier_check = false;
  // Debug: a stress cycle (GcReason::kStress) keeps its mark open until the
  // program has made this many more allocations (CountAllocation), or made
  // none for 20 ms, before terminating it.
  int mark_hold = 0;
};

// Counters behind MemStats' GC fields; read under stats_mu_.
struct GcStats {
  uint32_t num_gc = 0;
  uint32_t num_forced_gc = 0;
  uint64_t pause_total_ns = 0;
  uint64_t pause_ns[256] = {};
  uint64_t pause_end[256] = {};    // Unix ns
  uint64_t last_gc = 0;            // Unix ns
  uint64_t next_gc = 0;            // heap goal
  uint64_t gc_cpu_ns = 0;          // CPU time spent collecting (all procs)
  uint64_t assist_cpu_ns = 0;      // of which mutator assists
  uint64_t background_cpu_ns = 0;  // of which background mark workers
  uint64_t idle_cpu_ns = 0;        // of which idle-time marking
  uint64_t last_marked = 0;
  uint32_t cpu_limited_cycles = 0;  // cycles that ended with the limiter on
};

class Collector : public SweepHook {
 public:
  Collector(MHeap* heap, CollectorEnv* env, const CollectorOptions& opts);
  ~Collector() override;  // stops the worker and sweeper threads
  // Waits for a cycle in progress on the collector's thread and stops it
  // (the first step of tearing a heap down).
  void StopCoordinator();

  // Runs one full cycle and returns when marking has finished and sweeping
  // has begun. The caller must not hold a P (the runtime releases it): the
  // world is stopped inside. Cycles are serialized.
  // A heap-triggered cycle is skipped if one completed since the caller
  // saw `seen_cycles` (several threads may trigger at once).
  void RunCycle(GcReason why, uint32_t seen_cycles = UINT32_MAX);
  // Asks the collector's own thread to run a cycle and returns at once
  // (the heap trigger in concurrent mode: the program keeps running).
  void RequestCycle(uint32_t seen_cycles);
  // Asks the collector's own thread for a stress cycle (GcReason::kStress)
  // unless one is marking or requested; returns at once.
  void RequestStressCycle();
  // The allocation count a stress cycle's hold waits on (mark_hold).
  void CountAllocation() {
    allocations_.fetch_add(1, std::memory_order_relaxed);
  }
  // The barrier check, or null when it is off.
  BarrierCheck* barrier_check() { return barrier_check_.get(); }
  bool concurrent() const { return opts_.concurrent; }

  // The flag every allocation and write barrier reads: true while marking
  // runs concurrently (barrier on, allocate black).
  const std::atomic<bool>* marking_flag() const { return &marking_; }
  bool marking() const { return marking_.load(std::memory_order_relaxed); }
  // A Marker over this collector's work pool, for a P (assists and
  // write-barrier flushes).
  std::unique_ptr<Marker> NewMarker() {
    auto m = std::make_unique<Marker>(heap_, &pool_);
    if (barrier_check_ != nullptr) m->EnableBarrierCheck(barrier_check_.get());
    return m;
  }
  // Mark assist: a mutator that allocated `bytes` while marking pays for
  // them with scan work on its P's marker, first from the credit the
  // background workers built up.
  void Assist(Marker& m, int64_t* debt, size_t bytes);
  // Tests: runs after the roots are greyed and the world restarted, before
  // the concurrent mark proceeds.
  void SetMarkHookForTesting(std::function<void()> hook) {
    mark_hook_ = std::move(hook);
  }
  // Tests: runs on the collector's own thread after each cycle it ran
  // (heap-triggered), before it looks for the next request.
  void SetCycleEndHookForTesting(std::function<void()> hook) {
    std::lock_guard<std::mutex> l(request_mu_);
    cycle_end_hook_ = std::move(hook);
  }

  // Cheap check for the allocation slow path.
  bool ShouldTrigger() const {
    return pacer_.enabled() &&
           heap_->heap_live().load(std::memory_order_relaxed) >=
               static_cast<int64_t>(pacer_.trigger());
  }
  // Completed cycles, for callers that wait for "a cycle after now".
  uint32_t cycles() const { return cycles_.load(std::memory_order_acquire); }

  int SetGCPercent(int percent) { return pacer_.SetGCPercent(percent); }
  GcPhase phase() const { return phase_.load(std::memory_order_acquire); }
  Pacer& pacer() { return pacer_; }
  GcStats ReadStats();
  uint64_t work_sys_bytes() const { return pool_.sys_bytes(); }
  // Pauses the background sweeper (nested calls count), sweeps everything
  // left; ResumeSweeper undoes one pause.
  void FinishSweep();
  void PauseSweeper();
  void ResumeSweeper();
  // Keeps every sweeper that runs without a P (the background sweeper,
  // FinishSweep) out until UnlockSweeping: for consistent statistics.
  void LockSweeping();
  void UnlockSweeping();

  // SweepHook: runs destructors of unmarked objects.
  void BeforeSweep(MSpan* s) override;

  // Greys p (any value; non-heap pointers are ignored) for a thread that is
  // not marking: a weak reference made strong, a finalizer's argument, an
  // object taken from a Pool. A no-op unless marking is on. See gc/shade.cc.
  void Shade(const void* p);

 private:
  // While marking: the heap has passed this cycle's goal, where assists
  // pace the program even with the limiter on.
  bool PastGoal() const {
    return static_cast<uint64_t>(
               heap_->heap_live().load(std::memory_order_relaxed)) >=
           cycle_goal_.load(std::memory_order_relaxed);
  }
  void MarkParallel(Marker& self);
  // Marks until every marker is out of work. utilization < 1: a fractional
  // worker, which sleeps between slices (unless a CPU is idle). idle: an
  // idle-time worker, which leaves as soon as no CPU is idle. Returns the
  // CPU time (ns) spent beyond the worker's share, as idle-time marking.
  uint64_t MarkLoop(Marker& m, double utilization, bool idle = false);
  // Runs `participants` workers at `utilization`, then up to `idle` more as
  // idle-time workers (and, if no worker runs, the calling thread) over the
  // pool until all are out of work.
  void RunMarkers(int participants, double utilization, Marker* self,
                  int idle = 0);
  // True if a marking thread that is running now has a CPU of its own.
  bool CpuIdle() const {
    return env_->HeldPs() + active_workers_.load(std::memory_order_relaxed) <=
           ncpu_;
  }
  void RunCycleConcurrent(GcReason why, uint64_t t_start);
  // Stops the world, hands back every cached span and finishes sweeping
  // (the world stays stopped); returns heap_live at that point.
  uint64_t SweepTermination();
  void RunCycleStw(GcReason why, uint64_t t_start);
  void Checkmark();
  // A stress cycle's hold (CollectorOptions::mark_hold), with the mark on.
  void HoldMark();
  // What one cycle measured, for FinishCycle.
  struct CycleRecord {
    GcReason why = GcReason::kForced;
    uint64_t t_start = 0;     // the cycle began (monotonic ns)
    uint64_t pause = 0;       // stopped time before t_term
    uint64_t t_mark = 0;      // marking began
    uint64_t t_term = 0;      // the world stopped for the last time
    uint64_t h0 = 0, h1 = 0;  // heap_live at mark start and at its end
    uint64_t marked = 0;      // marked bytes, black allocation included
    // The live bytes the next goal is computed from: `marked` less what
    // the heap grew past this cycle's goal while marking (an overshoot
    // is not live data the program needs; see gc/pacer.h).
    uint64_t pace_marked = 0;
    CollectorEnv::RootBytes rb;
    uint64_t mark_cpu = 0, assist_cpu = 0, idle_cpu = 0;
  };
  // Ends a cycle with the world stopped since r.t_term.
  void FinishCycle(const CycleRecord& r);
  void CoordinatorMain();
  void WorkerMain(int id);
  void SweeperMain();

  MHeap* const heap_;
  CollectorEnv* const env_;
  const CollectorOptions opts_;
  const uint64_t start_ns_;
  const int ncpu_;  // CPUs this process may run on
  Pacer pacer_;
  GcCpuLimiter limiter_;
  uint64_t limiter_last_ns_;  // end of the last update (collecting thread)
  WorkPool pool_;
  std::atomic<GcPhase> phase_{GcPhase::kOff};
  std::atomic<bool> marking_{false};
  std::function<void()> mark_hook_;
  std::function<void()> cycle_end_hook_;  // guarded by request_mu_
  // Assists: scan work done by background workers, in bytes, that assists
  // may claim; the scanning expected this cycle and done so far.
  std::atomic<int64_t> bg_credit_{0};
  std::atomic<int64_t> scan_expected_{0};
  std::atomic<int64_t> scan_done_{0};
  std::atomic<uint64_t> assist_cpu_ns_{0};
  // Assists between taking work and handing back what is left: they may
  // hold grey objects no one else sees, so marking is not done until
  // this is 0 with the pool empty (as assists count in Go's nwait).
  std::atomic<int> assists_active_{0};
  std::atomic<int> assists_waiting_{0};  // assists looking for work
  // heap_live when concurrent marking began: what was allocated since is
  // black, so this bounds the cycle's scanning.
  std::atomic<int64_t> mark_h0_{0};
  // The heap goal when this cycle started (gctrace prints it), and the
  // soft and hard goals assists pace this mark by (Pacer::ForMark).
  std::atomic<uint64_t> cycle_goal_{0};
  std::atomic<uint64_t> assist_goal_{UINT64_MAX};
  std::atomic<uint64_t> assist_hard_goal_{UINT64_MAX};

  // The collector's own thread: runs heap-triggered cycles.
  std::thread coordinator_;
  std::mutex request_mu_;
  std::condition_variable request_cv_;
  bool requested_ = false;         // guarded by request_mu_
  bool stress_requested_ = false;  // guarded by request_mu_
  uint32_t request_seen_ = 0;      // guarded by request_mu_
  bool coordinator_stop_ = false;  // guarded by request_mu_
  std::atomic<uint32_t> cycles_{0};
  std::atomic<uint64_t> allocations_{0};         // CountAllocation
  std::unique_ptr<BarrierCheck> barrier_check_;  // null unless enabled
  std::mutex cycle_mu_;                          // serializes RunCycle

  // Mark workers: heap-owned threads that join each mark phase.
  std::vector<std::thread> workers_;
  std::vector<Marker*> worker_markers_;
  std::mutex work_mu_;
  std::condition_variable work_cv_;
  uint64_t mark_epoch_ = 0;   // guarded by work_mu_; bumped per mark phase
  int workers_running_ = 0;   // guarded by work_mu_
  bool shutdown_ = false;     // guarded by work_mu_
  std::atomic<int> idle_{0};  // markers out of work in this phase
  // Threads marking in the current phase (an idle worker that leaves early
  // takes itself out).
  std::atomic<int> nmarkers_{1};
  int participants_ = 0;       // guarded by work_mu_: workers in the phase
  int idle_participants_ = 0;  // guarded by work_mu_: of which idle-time
  std::atomic<int> active_workers_{0};  // workers marking, not sleeping
  std::atomic<uint64_t> idle_cpu_ns_{0};
  double utilization_ = 1.0;  // guarded by work_mu_: workers' duty cycle
  std::atomic<uint64_t> worker_cpu_ns_{0};

  // Background sweeper.
  std::thread sweeper_;
  std::mutex sweep_mu_;
  std::condition_variable sweep_cv_;
  int sweep_paused_ = 0;         // guarded by sweep_mu_; nested pauses
  bool sweep_wake_ = false;      // guarded by sweep_mu_
  bool sweep_shutdown_ = false;  // guarded by sweep_mu_
  bool sweep_active_ = false;    // guarded by sweep_mu_

  std::mutex finish_mu_;  // held while FinishSweep or a stats reader runs
  std::mutex stats_mu_;
  GcStats stats_;  // guarded by stats_mu_
};

}  // namespace gcheap::internal

#endif  // GCHEAP_GC_GC_H_
