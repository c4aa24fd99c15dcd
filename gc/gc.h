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
//                          they allocate (mark.h, gcwork.h; small objects
//                          queue their spans, span-based marking). The write
//                          barrier (include/gcheap/ref.h) shades the old and
//                          new value of every pointer store into the heap
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
//
// Beside the cycle, what the collector reports: gctrace.h (Go's gctrace
// and gcpacertrace lines), event_trace.h (Chrome trace-event JSON),
// mem_profile.h (sampled allocations; a sample's free is counted by its
// special record when swept), pprof.h with symbolize.h (those samples as a
// pprof heap profile).

// The collector does not know about threads, handles or stacks: the runtime
// (runtime/) implements CollectorEnv to stop and start the world and to
// grey the roots. Dependencies point down: runtime -> gc -> alloc -> base.
#ifndef GCHEAP_GC_GC_H_
#define GCHEAP_GC_GC_H_

#include <stdio.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/functional/function_ref.h"
#include "alloc/mcache.h"
#include "alloc/mheap.h"
#include "base/mutex.h"
#include "gc/assist.h"
#include "gc/event_trace.h"
#include "gc/gcwork.h"
#include "gc/limiter.h"
#include "gc/mark.h"
#include "gc/mark_workers.h"
#include "gc/pacer.h"
#include "gc/step_gate.h"
#include "gc/sweeper.h"

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
  // flushed for them. Returns once every P has flushed. The threads a
  // signal stopped for the flush stay stopped (held), for the stop that
  // normally follows: ReleaseHeld lets them go if marking goes on instead.
  virtual void RaggedFlush() = 0;
  virtual void ReleaseHeld() = 0;
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
  // victim caches (include/gcheap/pool.h).
  virtual void OnSweepTermination() {}
  // With the world stopped, once the mark is complete (checkmark included)
  // and before the cycle ends: mark bits say what survives. The runtime
  // runs the program's weak callbacks (Heap::AddWeakCallback).
  virtual void ProcessWeak() {}
  // Ephemerons (gcheap/weak.h): greys the value of every entry whose key
  // m finds marked and returns whether it greyed anything. The collector
  // calls it when the rest of the mark is done, until it returns false,
  // the last time with the world stopped.
  virtual bool MarkEphemerons(Marker& m) {
    (void)m;
    return false;
  }
  // In the child of a fork(), at the start of its first cycle (cycle lock
  // held, no P): the runtime starts again the threads of its own that the
  // fork left behind (the finalizer thread).
  virtual void RestartAfterFork() {}
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
  size_t heap_minimum = 0;       // the goal's floor at GOGC=100; 0: 4 MB
  // Goals at most this many bytes: heap-triggered cycles stop the world
  // and mark on the triggering thread (Options::small_heap); 0: never.
  size_t small_heap = 0;
  int mark_workers = 0;      // extra marking threads; <0: auto
  bool idle_mark = true;     // mark on CPUs no running P uses
  bool span_marking = true;  // grey small objects queue their spans (mark.h)
  bool gctrace = false;
  bool gcpacertrace = false;  // the pacer's line per cycle (gctrace.h)
  // The event trace (gc/event_trace.h) goes here; null: none.
  FILE* event_trace_out = nullptr;
  FILE* trace_out = nullptr;  // default stderr
  // Debug: log the words each concurrent mark reads and every write
  // barrier's slot, and abort at mark termination on a pointer word that
  // changed without a barrier (gc/barrier_check.h).
  bool barrier_check = false;
  // How values encode heap pointers: markers decode the words they read
  // without a map (include/gcheap/type.h).
  ValueEncoding values;
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
  uint32_t small_cycles = 0;        // small-heap cycles (stop-the-world)
};

// The cycle driver (collector.cc): runs each cycle's phases, on the
// caller's thread (Collect) or, for heap-triggered cycles, on two: the
// allocating thread that finds the trigger runs the first stop
// (StartCycleHere, as Go's gcStart), and the collector's own thread (the
// coordinator) the mark and its end. A small heap's cycles (goal at most
// Options::small_heap) run on the allocating thread, stop-the-world, marked by
// it alone. Its parts, one concept per file:
//   gc/mark_workers.h  background mark workers and the marking loop
//   gc/assist.h        mark assists: mutators pay for allocation
//   gc/sweeper.h       the background sweeper, destructors at sweep
//   gc/pacer.h         the heap goal and trigger; gc/limiter.h the CPU cap
//   gc/shade.cc        greying from outside the markers
//
// Locks, in rank order (docs/locking.md): cycle_mu_ serializes cycles and
// is held across the world's stops; request_mu_ guards the coordinator's
// requests; stats_mu_ guards the counters behind MemStats.
//
// The collector's threads (coordinator, mark workers, sweeper, and the
// heap's scavenger) start when first needed, not with the heap: the
// coordinator with the first cycle request, the rest with the first cycle
// (the same path that starts them again after a fork).
//
// fork() (runtime/fork.cc) happens between cycles, with every lock of the
// collector held by the forking thread. In the child the collector's
// threads (coordinator, mark workers, sweeper, and the heap's scavenger)
// are gone: they start again lazily, the coordinator with the next cycle
// request, the others with the next cycle.
class Collector {
 public:
  Collector(MHeap* heap, CollectorEnv* env, const CollectorOptions& opts);
  ~Collector();  // stops the coordinator, worker and sweeper threads
  Collector(const Collector&) = delete;
  Collector& operator=(const Collector&) = delete;
  // Waits for a cycle in progress on the collector's thread and stops it
  // (the first step of tearing a heap down).
  void StopCoordinator() ABSL_LOCKS_EXCLUDED(request_mu_);

  // Runs one full cycle and returns when marking has finished and sweeping
  // has begun. The caller must not hold a P (the runtime releases it): the
  // world is stopped inside. Cycles are serialized.
  // A heap-triggered cycle is skipped if one completed since the caller
  // saw `seen_cycles` (several threads may trigger at once).
  void RunCycle(GcReason why, uint32_t seen_cycles = UINT32_MAX)
      ABSL_LOCKS_EXCLUDED(cycle_mu_);
  // Starts a heap-triggered concurrent cycle on the calling thread, as
  // Go's allocating goroutine runs gcStart: finishes the sweep, stops the
  // world, greys the roots and restarts it, then hands the mark to the
  // collector's thread and returns. The caller must not hold a P. Stopping
  // from the thread that found the trigger, which already has a CPU, takes
  // no wake-up of the collector's thread before the stop and leaves one
  // fewer thread to stop. False if the cycle lock is busy (a cycle is
  // ending, or a stepped cycle runs): the caller asks with RequestCycle.
  bool StartCycleHere(uint32_t seen_cycles) ABSL_LOCKS_EXCLUDED(cycle_mu_);
  // Asks the collector's own thread to run a cycle and returns at once
  // (the heap trigger in concurrent mode: the program keeps running).
  void RequestCycle(uint32_t seen_cycles) ABSL_LOCKS_EXCLUDED(request_mu_);
  // Runs one cycle in steps (gc/step_gate.h, the teaching mode): on the
  // calling thread, which must not hold a P, waiting at `gate` after each
  // step until the program lets it go on. Returns once the cycle has
  // ended and every span is swept.
  void RunSteppedCycle(StepGate* gate) ABSL_LOCKS_EXCLUDED(cycle_mu_);
  // While a stepped cycle runs: its one marker does all the marking
  // (allocation pays no assist).
  bool stepped() const { return stepped_.load(std::memory_order_relaxed); }
  // Asks the collector's own thread for a stress cycle (GcReason::kStress)
  // unless one is marking or requested; returns at once.
  void RequestStressCycle() ABSL_LOCKS_EXCLUDED(request_mu_);
  // The allocation count a stress cycle's hold waits on (mark_hold).
  void CountAllocation() {
    allocations_.fetch_add(1, std::memory_order_relaxed);
  }
  // The barrier check, or null when it is off.
  BarrierCheck* barrier_check() { return barrier_check_.get(); }
  // The event trace (gc/event_trace.h), or null when off.
  EventTrace* events() const { return events_.get(); }
  bool concurrent() const { return opts_.concurrent; }
  // A heap-triggered cycle now would be a small-heap one: stop the world
  // and mark on the calling thread alone (the pacer's goal is at most
  // Options::small_heap; docs/collector.md, "Small heaps").
  bool SmallCycle() const { return pacer_.small(); }

  // The flag every allocation and write barrier reads: true while marking
  // runs concurrently (barrier on, allocate black).
  const std::atomic<bool>* marking_flag() const { return &marking_; }
  bool marking() const { return marking_.load(std::memory_order_relaxed); }
  // A Marker over this collector's work pool, for a P (assists and
  // write-barrier flushes).
  std::unique_ptr<Marker> NewMarker() {
    auto m = std::make_unique<Marker>(heap_, &pool_);
    m->SetValueEncoding(&opts_.values);
    m->SetSpanMarking(&span_marking_);
    if (barrier_check_ != nullptr) m->EnableBarrierCheck(barrier_check_.get());
    return m;
  }
  // Mark assist: a mutator that allocated `bytes` while marking pays for
  // them with scan work on its P's marker (gc/assist.h).
  void Assist(Marker& m, int64_t* debt, size_t bytes) {
    if (stepped()) return;
    assists_.Assist(m, debt, bytes);
  }
  // Tests: runs after the roots are greyed and the world restarted, before
  // the concurrent mark proceeds.
  void SetMarkHookForTesting(std::function<void()> hook) {
    mark_hook_ = std::move(hook);
  }
  // Tests: runs on the collector's own thread after each cycle it ran
  // (heap-triggered), before it looks for the next request.
  void SetCycleEndHookForTesting(std::function<void()> hook)
      ABSL_LOCKS_EXCLUDED(request_mu_) {
    MutexLock l(&request_mu_);
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
  size_t SetMemoryLimit(size_t bytes) { return pacer_.SetSoftLimit(bytes); }
  GcPhase phase() const { return phase_.load(std::memory_order_acquire); }
  Pacer& pacer() { return pacer_; }
  GcStats ReadStats() ABSL_LOCKS_EXCLUDED(stats_mu_);
  // Runs f with the statistics lock held, which the end of each cycle takes
  // with the world stopped (tests: a program thread inside a call that
  // holds a runtime lock).
  void WithStatsLocked(absl::FunctionRef<void()> f)
      ABSL_LOCKS_EXCLUDED(stats_mu_) {
    MutexLock l(&stats_mu_);
    f();
  }
  uint64_t work_sys_bytes() const { return pool_.sys_bytes(); }
  // The background sweeper (gc/sweeper.h): FinishSweep pauses it and
  // sweeps everything left; ResumeSweeper undoes one pause. LockSweeping
  // keeps every sweeper that runs without a P out until UnlockSweeping.
  void FinishSweep() { sweeper_.FinishSweep(); }
  void PauseSweeper() { sweeper_.Pause(); }
  void ResumeSweeper() { sweeper_.Resume(); }
  void LockSweeping() ABSL_EXCLUSIVE_LOCK_FUNCTION(sweeper_.finish_lock()) {
    sweeper_.Lock();
  }
  void UnlockSweeping() ABSL_UNLOCK_FUNCTION(sweeper_.finish_lock()) {
    sweeper_.Unlock();
  }

  // fork(), in the order the runtime calls them (runtime/fork.cc):
  // ForkLockCycle, before the world stops, waits for a cycle in progress
  // and takes the cycle lock, then pauses the sweeper and keeps the P-less
  // sweepers out; ForkLockRequests and ForkLock, with the world stopped,
  // take the coordinator's lock, then the workers', the sweeper's, the
  // counters', the scavenger's, the barrier check's and the work pool's.
  // The parent undoes them in reverse (ForkUnlock, ForkUnlockRequests,
  // ForkUnlockCycle). The child calls ForkChild, ForkChildRequests and
  // ForkUnlockCycle: the threads are forgotten, condition variables start
  // afresh, and the threads start again with the next request or cycle.
  void ForkLockCycle() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  void ForkLockRequests() ABSL_EXCLUSIVE_LOCK_FUNCTION(request_mu_) {
    request_mu_.LockForFork();
  }
  void ForkLock() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  void ForkUnlock() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  void ForkUnlockRequests() ABSL_UNLOCK_FUNCTION(request_mu_) {
    request_mu_.UnlockForFork();
  }
  void ForkUnlockCycle() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  void ForkChild() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  void ForkChildRequests() ABSL_UNLOCK_FUNCTION(request_mu_);

  // Greys p (any value; non-heap pointers are ignored) for a thread that is
  // not marking: a weak reference made strong, a finalizer's argument, an
  // object taken from a Pool. A no-op unless marking is on. See gc/shade.cc.
  void Shade(const void* p);

 private:
  // A concurrent cycle is the two halves below. BeginConcurrentMark runs
  // sweep termination (the first stop) and returns with the world running
  // and the barrier on; FinishConcurrentMark drives the mark to its end
  // and finishes the cycle. Between them the cycle lock may be dropped
  // (StartCycleHere): the mark is then pending_mark_, finished by the next
  // holder of the lock (FinishPendingMark), normally the collector's thread.
  struct MarkStart {
    GcReason why = GcReason::kHeapTrigger;
    uint64_t t_start = 0, t_stw = 0, t_mark = 0;
    uint64_t h0 = 0;
    int held_at_mark = 0;  // Ps held by the program as marking began
    uint64_t wcpu0 = 0, acpu0 = 0, icpu0 = 0;  // CPU counters then
    std::unique_ptr<Marker> self;              // greyed the roots
    CollectorEnv::RootBytes rb;
  };
  // on_mutator: the caller released its P to run it, and takes it back
  // after (counted as held by the program).
  std::unique_ptr<MarkStart> BeginConcurrentMark(GcReason why, uint64_t t_start,
                                                 bool on_mutator)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(cycle_mu_);
  void FinishConcurrentMark(MarkStart& start)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(cycle_mu_);
  // Finishes the mark StartCycleHere began, if one is pending, and
  // resumes the sweeper it paused.
  void FinishPendingMark() ABSL_EXCLUSIVE_LOCKS_REQUIRED(cycle_mu_);
  // Stops the world, hands back every cached span and finishes sweeping
  // (the world stays stopped); returns heap_live at that point.
  uint64_t SweepTermination() ABSL_EXCLUSIVE_LOCKS_REQUIRED(cycle_mu_);
  void RunCycleStw(GcReason why, uint64_t t_start, bool small = false)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(cycle_mu_);
  // A stepped cycle's mark or mark termination (gc/stepped_cycle.cc): a
  // step for the phase, then one per grey object until none is left.
  void StepThroughGrey(StepGate* gate, Marker& self, StepPhase phase,
                       bool world_stopped)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(cycle_mu_);
  void Checkmark() ABSL_EXCLUSIVE_LOCKS_REQUIRED(cycle_mu_);
  // A stress cycle's hold (CollectorOptions::mark_hold), with the mark on.
  // Ephemerons: greys the values of entries whose key is marked, into the
  // pool (true if any); with the world stopped, marks to the fixpoint.
  bool MarkEphemerons(Marker& self);
  void MarkAllWithEphemerons(Marker& self);
  void HoldMark();
  // What one cycle measured, for FinishCycle.
  struct CycleRecord {
    GcReason why = GcReason::kForced;
    uint64_t t_start = 0;     // the cycle began (monotonic ns)
    uint64_t t_stw = 0;       // the first stop began
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
    bool small = false;  // a small-heap cycle: marked in its one stop
  };
  // Ends a cycle with the world stopped since r.t_term.
  void FinishCycle(const CycleRecord& r)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(cycle_mu_) ABSL_LOCKS_EXCLUDED(stats_mu_);
  void PrintTrace(const CycleRecord& r, uint64_t pause, uint64_t t_end)
      ABSL_LOCKS_EXCLUDED(stats_mu_);
  void PrintPacerTrace(const CycleRecord& r) ABSL_LOCKS_EXCLUDED(stats_mu_);
  void TraceCycle(const CycleRecord& r, uint64_t t_end)
      ABSL_LOCKS_EXCLUDED(stats_mu_);
  void CoordinatorMain() ABSL_LOCKS_EXCLUDED(request_mu_);
  // After a fork: the threads the cycle needs, started again before the
  // child's first cycle.
  void RestartThreadsAfterFork() ABSL_EXCLUSIVE_LOCKS_REQUIRED(cycle_mu_);
  // After a fork: the coordinator, started again for the child's first
  // request.
  void RestartCoordinatorAfterFork() ABSL_EXCLUSIVE_LOCKS_REQUIRED(request_mu_);

  MHeap* const heap_;
  CollectorEnv* const env_;
  const CollectorOptions opts_;
  const uint64_t start_ns_;
  Pacer pacer_;
  GcCpuLimiter limiter_;
  WorkPool pool_;
  std::atomic<GcPhase> phase_{GcPhase::kOff};
  std::atomic<bool> marking_{false};
  std::atomic<bool> stepped_{false};  // RunSteppedCycle
  // What NewMarker's markers do with small objects (gc/mark.h): queue
  // their spans (Options::span_marking) except during a stepped cycle.
  std::atomic<bool> span_marking_{opts_.span_marking};
  std::function<void()> mark_hook_;
  // The heap goal when this cycle started (gctrace prints it).
  std::atomic<uint64_t> cycle_goal_{0};
  std::atomic<uint32_t> cycles_{0};
  std::atomic<uint64_t> allocations_{0};         // CountAllocation
  std::unique_ptr<BarrierCheck> barrier_check_;  // null unless enabled
  // Before the threads below, which read it: null unless enabled.
  std::unique_ptr<EventTrace> events_;
  Mutex cycle_mu_{LockRank::kCycle};  // serializes RunCycle
  // A fork left the workers, the sweeper and the scavenger behind.
  bool restart_threads_ ABSL_GUARDED_BY(cycle_mu_) = false;
  // A mark StartCycleHere began, waiting for the collector's thread.
  std::unique_ptr<MarkStart> pending_mark_ ABSL_GUARDED_BY(cycle_mu_);

  Mutex stats_mu_{LockRank::kStats};
  GcStats stats_ ABSL_GUARDED_BY(stats_mu_);
  // End of the limiter's last update.
  uint64_t limiter_last_ns_ ABSL_GUARDED_BY(stats_mu_);

  Assists assists_;
  Sweeper sweeper_;
  MarkWorkers workers_;

  // The coordinator: the collector's own thread, which runs heap-triggered
  // and stress cycles.
  Mutex request_mu_{LockRank::kRequest};
  CondVar request_cv_;
  bool requested_ ABSL_GUARDED_BY(request_mu_) = false;
  bool stress_requested_ ABSL_GUARDED_BY(request_mu_) = false;
  uint32_t request_seen_ ABSL_GUARDED_BY(request_mu_) = 0;
  bool coordinator_stop_ ABSL_GUARDED_BY(request_mu_) = false;
  // A fork left the coordinator behind.
  bool coordinator_lost_ ABSL_GUARDED_BY(request_mu_) = false;
  std::function<void()> cycle_end_hook_ ABSL_GUARDED_BY(request_mu_);
  std::thread coordinator_;  // last: started once the rest is built
};

}  // namespace gcheap::internal

#endif  // GCHEAP_GC_GC_H_
