// HeapImpl: everything behind a gcheap::Heap. See include/gcheap/gcheap.h for
// the public API and gc/gc.h for the collector.
//
//   HeapImpl
//   ├── MHeap            the allocator (alloc/)
//   ├── Collector        the cycle, mark workers, sweeper (gc/)
//   ├── Ps[max_procs]    each: an MCache, a status, the Mutator holding it
//   ├── mutators         attached threads: stack bounds, saved registers,
//   │                    handle stack
//   ├── roots_           registered roots: slots, ranges, static data,
//   │                    callbacks, Persistent<T> slots (root_set.h);
//   │                    stacks and handle stacks are scanned in roots.cc
//   ├── specials         finalizers, weak handles, cleanups (gc/specials.h)
//   │                    and the thread that runs finalizers (finalizers.cc)
//   └── pools_           every Pool of the heap (pool_registry.h)
//
// fork() (fork.cc): pthread_atfork handlers quiesce every live heap before
// the fork (no cycle, the world stopped, every lock held by the forking
// thread) and, in the child, drop the other threads' mutators and let the
// collector's threads start again when next needed.
//
// Scheduling (sched.cc): a mutator runs heap code only while it holds a P.
// A thread still running when a stop begins (or preempt_after_us later)
// is stopped by a signal (preempt.cc), outside gcheap's own code.
// Every Safepoint() polls one flag, poll_, raised while a stop or a ragged
// flush is pending. Stop-the-world raises stop_requested_ (and poll_) and
// waits until no P is running: a mutator that sees the flag parks, saving
// its registers and stack pointer for the stack scan; one in a
// BlockingScope has already released its P. A ragged flush (mark
// termination, Go's forEachP) stops nobody: each running P moves its
// write-barrier buffer and grey objects to the shared pool at its next
// safepoint (or when it releases the P), and the collector does it for
// the Ps no mutator holds. P states:
//
//   kIdle     no mutator holds it
//   kRunning  a mutator holds it and may touch the heap
//   kParked   its mutator is stopped at a safepoint
//
// Locking (docs/locking.md has every lock in rank order): sched_mu_
// guards P ownership, the mutator list and the STW state. The collector's
// cycle lock is taken before sched_mu_ (StopTheWorld is called with it
// held), never after.
#ifndef GCHEAP_RUNTIME_HEAP_IMPL_H_
#define GCHEAP_RUNTIME_HEAP_IMPL_H_

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "alloc/mcache.h"
#include "alloc/mheap.h"
#include "base/mutex.h"
#include "base/spinlock.h"
#include "gc/gc.h"
#include "gc/heap_walk.h"
#include "gc/mem_profile.h"
#include "gc/specials.h"
#include "gcheap/heap.h"
#include "runtime/pool_registry.h"
#include "runtime/root_set.h"
#include "runtime/wbuf_layout.h"

namespace gcheap::internal {

class PoolBase;
class StepperImpl;

// A P's write-barrier buffer: values to shade, appended by the barrier
// (the stub's assembly too, at the offsets in runtime/wbuf_layout.h) and
// flushed into the P's marker when full, at assists and at mark
// termination.
struct WriteBuffer {
  static constexpr size_t kEntries = GCHEAP_WBUF_ENTRIES;
  size_t n = 0;
  uintptr_t data[kEntries];
};
static_assert(offsetof(WriteBuffer, n) == GCHEAP_WBUF_N_OFFSET);
static_assert(offsetof(WriteBuffer, data) == GCHEAP_WBUF_DATA_OFFSET);

struct P {
  enum class Status : uint8_t { kIdle, kRunning, kParked };
  int id = 0;
  MCache* mcache = nullptr;
  // While marking: the P's grey objects (write barrier, assists) and the
  // write-barrier buffer of values to shade, flushed into the marker when
  // full and at mark termination. Owned by the thread holding the P. Made
  // when the P is first acquired (AcquireP): a P no thread ever held, as
  // most are in a one-thread program on a many-core machine, costs no
  // memory for them (about 8 KiB a P). Null until then.
  std::unique_ptr<Marker> marker;
  std::unique_ptr<WriteBuffer> wbuf;
  int64_t assist_debt = 0;  // bytes of scan work owed
  // Set (under sched_mu_) when a ragged flush asks this running P to flush
  // its marking work; cleared by the P's owner once it has.
  std::atomic<bool> flush_requested{false};
  Status status = Status::kIdle;  // guarded by sched_mu_
  Mutator* owner = nullptr;       // guarded by sched_mu_
};

struct MutatorState {
  Heap* heap = nullptr;
  P* p = nullptr;   // the P held, or null
  int last_p = -1;  // preferred P when reacquiring
  pthread_t thread;
  int tid = 0;                   // for diagnostics
  uintptr_t stack_hi = 0;        // stack base (highest address)
  uintptr_t saved_sp = 0;        // valid while not running
  uintptr_t saved_regs[8] = {};  // callee-saved registers, idem
  // While the thread is inside the runtime (an allocation slow path or a
  // safepoint): the lowest address of the program's frames. The
  // conservative stack scan starts here instead of at saved_sp, leaving out
  // the runtime's own frames (RuntimeFrames). 0: scan from saved_sp.
  uintptr_t runtime_frames = 0;
  // The deepest frame address an allocation slow path has seen since it
  // last cleared the stack below it (ClearStaleStack; conservative stack
  // scanning only).
  uintptr_t stack_low = UINTPTR_MAX;
  // Inside an allocation entry point: the return address into the
  // program's code, where a heap profile's call stack starts
  // (ProgramReturn). Null elsewhere.
  const void* program_return = nullptr;
  bool blocking = false;  // inside a BlockingScope
  // Runtime code the thread is running outside RuntimeFrames scopes (lock
  // holders, barrier and pool slow paths: NoPreempt); the thread's own.
  int nopreempt = 0;
  // Signal stops (runtime/preempt.cc). preempt_req: a stop or a ragged
  // flush asked this thread's signal handler to stop the thread.
  // sig_state: 1 while the thread waits in its handler, stopped, with its
  // registers in sig_regs and its stack pointer (less the red zone) in
  // sig_sp; the collector stores 0 and wakes it (a futex word).
  std::atomic<bool> preempt_req{false};
  std::atomic<int> sig_state{0};
  uintptr_t sig_regs[16] = {};
  uintptr_t sig_sp = 0;
  // The heap's safepoint_seq_, which the handler bumps once stopped.
  std::atomic<int>* safepoint_seq = nullptr;
  bool sig_parked = false;  // guarded by sched_mu_: parked by a signal
  // Guarded by sched_mu_: stopped by a ragged flush's signal and kept
  // stopped (its P still running) for the stop that follows the flush.
  bool sig_held = false;
  // Times the handler stopped the thread (for tests).
  std::atomic<uint32_t> sig_stops{0};
  uint64_t preempt_sent_ns = 0;  // guarded by sched_mu_: last signal sent
  // Times the handler ran on a request (stopped or refused), and its value
  // when the last signal went out (guarded by sched_mu_): equal while that
  // signal is still pending (the thread has not run since), when a resend
  // would change nothing for a standard signal, which is pending at most
  // once. sig_sent (guarded by sched_mu_): signals sent, for tests.
  std::atomic<uint32_t> sig_handled{0};
  uint32_t sig_handled_at_send = 0;
  uint64_t sig_sent = 0;
  // Precise mode: the handle stack, in chunks so slots never move.
  static constexpr size_t kChunk = 256;
  std::vector<void**> handle_chunks;
  size_t handle_top = 0;           // slots in use
  size_t scope_depth = 0;          // open HandleScopes
  uint64_t stress_count = 0;       // allocations, under GC stress
  uint64_t mark_stress_count = 0;  // allocations, under mark stress
};

class HeapImpl : public CollectorEnv {
 public:
  HeapImpl(Heap* heap, const Options& opts);
  ~HeapImpl() override;

  // --- scheduling (sched.cc)
  Mutator& Attach();
  void Detach();
  // The calling mutator gives up / takes back its P (BlockingScope, and
  // around a collection started by a mutator).
  void ReleaseP(Mutator& m);
  void AcquireP(Mutator& m);
  void Park(Mutator& m);  // at a safepoint while stop is requested
  void StopTheWorld() override;
  void StartTheWorld() override;

  // --- fork() (fork.cc)
  // Before the fork, with no P held by the calling thread: waits for a
  // cycle in progress, stops the world and takes every lock of the heap.
  void ForkPrepare() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // After it, in the parent: releases them and restarts the world.
  void ForkParent() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // In the child: drops every mutator but the calling thread's, forgets the
  // collector's threads (they restart when next needed) and releases the
  // locks.
  void ForkChild() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // CollectorEnv: the first cycle after a fork restarts the finalizer
  // thread, if the parent had one.
  void RestartAfterFork() override;
  void ForEachMCache(absl::FunctionRef<void(MCache*)> fn) override;
  RootBytes MarkRoots(Marker& m) override;
  void FlushPWork() override;
  void RaggedFlush() override;
  void ReleaseHeld() override;
  bool PreemptRequested() const override {
    return poll_.load(std::memory_order_relaxed);
  }
  // Safepoint() saw poll_: flush for a ragged flush, park for a stop.
  void SafepointSlow(Mutator& m);
  // Signal stops of the attached threads so far (MutatorState::sig_stops).
  uint64_t SignalStopsForTesting() {
    return SumOverMutators(
        [](const MutatorState& st) -> uint64_t { return st.sig_stops.load(); });
  }
  // Stop signals sent to the attached threads (MutatorState::sig_sent).
  uint64_t SignalsSentForTesting() {
    return SumOverMutators([](const MutatorState& st) { return st.sig_sent; });
  }
  // fn(state) summed over the attached threads, sched_mu_ held.
  template <class Fn>
  uint64_t SumOverMutators(Fn fn) {
    MutexLock l(&sched_mu_);
    uint64_t n = 0;
    for (Mutator* mu : mutators_) n += fn(*mu->state_);
    return n;
  }
  void SetStackScanHookForTesting(
      std::function<void(uintptr_t, uintptr_t, uintptr_t)> hook) {
    MutexLock l(&sched_mu_);
    stack_scan_hook_ = std::move(hook);
  }
  uint64_t PMarkedBytes() override;
  int procs() const override { return static_cast<int>(ps_.size()); }
  int HeldPs() const override {
    return held_ps_.load(std::memory_order_relaxed);
  }
  // The write barrier's slow path and the assist hook of the allocation
  // slow path (barrier.cc).
  void BarrierShade(Mutator& m, uintptr_t old_value, uintptr_t new_value);
  void BulkBarrier(Mutator& m, void* const* dst, void* const* src, size_t n);
  static P* HeldP(const Mutator& m) { return m.state_->p; }
  static MutatorState* StateOf(const Mutator& m) { return m.state_; }
  // m's thread is inside an inline fast path (FastPathScope).
  static bool InFastPath(const Mutator& m) {
    return *static_cast<const volatile uint8_t*>(&m.fast_.in_fast_path) != 0;
  }
  static HeapImpl* ImplOf(const Mutator& m) { return m.heap_; }
  // AddressSanitizer builds: explains a reported address (asan_report.cc).
  static void DescribeAddress(const Mutator& m, uintptr_t addr);
  void AssistAlloc(Mutator& m, size_t bytes);

  // --- collection
  // Runs a cycle from any thread; a mutator releases its P meanwhile.
  void CollectFrom(Mutator* m, GcReason why);
  void MaybeTrigger(Mutator& m);
  // GC stress: counts an allocation and collects every gc_stress of them;
  // mark stress: requests a concurrent cycle every mark_stress of them.
  void StressTick(Mutator& m);
  // Without the P, until a mark has begun or a cycle has ended since the
  // caller saw `seen` cycles (at most 100 ms): a requested cycle starts
  // before the program goes on.
  void WaitForMarkStart(Mutator& m, uint32_t seen);
  // The held P's allocation cache (the Mutator's own pointer is an empty
  // cache under GC stress).
  static MCache* RealCache(const Mutator& m) { return m.state_->p->mcache; }

  // --- roots the program registers (root_set.h)
  RootSet& roots() { return roots_; }

  // --- heap profiles (runtime/mem_profile.cc)
  // Records the object in `slot` (its user pointer `object`, `size` bytes
  // of slot) as an allocation sample of m's current call stack.
  void RecordAllocSample(const Mutator& m, void* slot, void* object,
                         size_t size);
  MemProfile& mem_profile() { return mem_profile_; }
  // Calls fn with the heap's graph (gc/heap_walk.h), the world stopped and
  // the sweepers kept out; self: the calling thread's mutator, if it is
  // one of this heap's (the runtime's frames left out of its stack scan).
  // runtime/retention.cc.
  void WalkHeap(const std::function<void(HeapWalk&, Mutator*)>& fn);
  void WalkHeapStopped(const std::function<void(HeapWalk&, Mutator*)>& fn,
                       Mutator* self, uintptr_t boundary);
  // Writes the heap profile (gc/pprof.h) to path; on failure prints why to
  // stderr and returns false.
  bool WriteHeapProfileFile(const std::string& path);

  // --- finalizers, cleanups and weak references (finalizers.cc, weak.cc)
  Specials& specials() { return *specials_; }
  // Fails loudly ("what: ...") unless p is the start of an object of this
  // heap; returns its span and slot.
  void ResolveObjectStart(const void* p, const char* what, MSpan** span,
                          uintptr_t* slot) const;
  // The calling thread's mutator; fails loudly unless it is attached to
  // this heap and holds its P.
  Mutator& RequireRunning(const char* what) const;
  // Runs queued calls on m's thread until the queue is empty; returns how
  // many finalizers and cleanups ran.
  size_t RunQueuedCalls(Mutator& m);
  // Starts the finalizer thread if the mode wants one (once).
  void EnsureFinalizerThread();

  // --- pools (pool_registry.h)
  PoolRegistry& pools() { return pools_; }
  // The P id of m, which must be attached to this heap and hold its P.
  static int ProcIdOf(const Mutator& m, const HeapImpl* heap);
  // With the world stopped: drop every pool's victim cache, make its
  // current contents the victim.
  void OnSweepTermination() override { pools_.Rotate(&specials_->queue()); }
  // Mark complete, world stopped: the program's weak callbacks.
  void ProcessWeak() override {
    WeakProcessor weak(this);
    roots_.RunWeakCallbacks(weak);
  }
  bool MarkEphemerons(Marker& m) override { return roots_.MarkEphemerons(m); }
  // WeakProcessor::IsLive.
  bool IsLive(const void* p) const;

  // With the allocator's counters in *snap, if given.
  MemStats ReadMemStats(AllocStatsSnapshot* snap = nullptr);
  void* ObjectStart(const void* p) const;
  // Fails loudly unless the calling thread is m's thread and holds a P.
  void CheckRunning(const Mutator& m, const char* what) const;

  Heap* heap() const { return heap_; }
  MHeap& mheap() { return *mheap_; }
  const MHeap& mheap() const { return *mheap_; }
  Collector& collector() { return *collector_; }
  const Options& options() const { return opts_; }
  const std::atomic<bool>* poll_flag() const { return &poll_; }
  MCache* no_p_cache() { return no_p_cache_; }
  // The heap's CycleStepper while it runs one (runtime/stepper.cc), or
  // null.
  StepperImpl* stepper() const {
    return stepper_.load(std::memory_order_acquire);
  }

 private:
  friend class StepperImpl;
  void SaveContext(MutatorState* st);
  void StartTheWorldLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(sched_mu_);
  // In the child of a fork: drops every mutator but the calling thread's
  // (their threads are gone), frees their Ps, ends the fork's stop.
  void DropOtherMutatorsLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(sched_mu_);
  bool AnyRunningLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(sched_mu_);
  // The owner of p (or the collector, for a P nobody holds) moves p's
  // barrier buffer and grey objects to the shared pool (barrier.cc).
  static void FlushP(P* p);
  // Acknowledges p's pending ragged flush, if any. sched_mu_ held.
  void AckFlushLocked(P* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(sched_mu_);
  // A P the stopping thread may wait for stopped running: bump
  // safepoint_seq_ and wake it.
  void WakeStopperLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(sched_mu_);
  void UpdatePollLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(sched_mu_) {
    poll_.store(
        stop_requested_.load(std::memory_order_relaxed) || flush_pending_ > 0,
        std::memory_order_seq_cst);
  }
  // Signal stops (preempt.cc): asks each running P's thread that has not
  // reached a safepoint (a stop) or flushed (a ragged flush) to stop in its
  // signal handler, and takes over those already stopped there: parks
  // their P (a stop, until StartTheWorld) or flushes it for them and holds
  // them for the stop that follows (a ragged flush; see ReleaseHeld).
  // The threads to signal go to *tids, for SendPreemptSignals to signal
  // once sched_mu_ is dropped: a thread that reached its safepoint
  // meanwhile must not sleep on the lock while the signals go out.
  // tids = null: only the taking over, no signal (a stop's start parks the
  // threads a ragged flush holds). sched_mu_ held.
  void PreemptLocked(bool flush, std::vector<int>* tids = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(sched_mu_);
  void SendPreemptSignals(const std::vector<int>& tids) const
      ABSL_LOCKS_EXCLUDED(sched_mu_);
  // How long after a stop signal a thread whose handler refused it (it was
  // in a fast path, gcheap's own code, the C library, or held a runtime
  // lock) is sent another.
  int64_t PreemptResendNs() const {
    return std::max<int64_t>(int64_t{1000} * opts_.preempt_after_us, 20'000);
  }
  // How long after a stop signal that has not reached its handler another
  // is sent anyway: the program may take the signal itself (sigwaitinfo,
  // signalfd), or sending may have failed (a real-time signal past
  // RLIMIT_SIGPENDING).
  static constexpr uint64_t kPendingResendNs = 10'000'000;
  // Lets every thread stopped in its signal handler go, but those a ragged
  // flush holds if keep_held. sched_mu_ held.
  void ResumeSignaledLocked(bool keep_held = false)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(sched_mu_);
  // Withdraws st's signal request and lets it go if it is stopped in its
  // handler. sched_mu_ held.
  void WithdrawPreemptLocked(MutatorState* st)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(sched_mu_);
  // Waits until every running P has parked (a stop) or flushed (flush =
  // true, a ragged flush), naming the late ones every
  // safepoint_report_ms.
  void WaitForSafepointsLocked(bool flush)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(sched_mu_);
  // Names the threads a stop (or, flush = true, a ragged flush) waits for.
  void ReportSlowSafepoint(int waited_ms, bool flush)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(sched_mu_);
  void ScanMutator(Marker& m, MutatorState* st, RootBytes* rb)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(sched_mu_);
  void FinalizerThreadMain();
  void StopFinalizerThread();

  Heap* const heap_;
  // The event trace's file when GCHEAP_DEBUG=gcevents=PATH opened it
  // (closed after the collector); before opts_, which sets it.
  FILE* owned_events_file_ = nullptr;
  // GCHEAP_DEBUG=heapprofile=PATH: the heap profile written when the heap
  // is destroyed; before opts_, which sets it.
  std::string heap_profile_path_;
  const Options opts_;
  MemProfile mem_profile_;
  std::unique_ptr<MHeap> mheap_;
  std::vector<P> ps_;
  MCache* no_p_cache_ = nullptr;  // all-empty cache used while no P is held

  // Scheduling.
  mutable Mutex sched_mu_{LockRank::kSched};
  // Two conditions, each with its own waiters, so that no change wakes
  // threads that wait for the other (with many threads parked for a stop,
  // one shared condition variable woke every parked thread at each park:
  // a chain of wake-ups that grew with the square of the threads).
  // sched_cv_: the world restarted (stop_requested_ and world_stopped_
  // cleared): Park, RaggedFlush and StopTheWorld wait on it. p_cv_: a P
  // went idle, or the world restarted: AcquireP waits on it.
  CondVar sched_cv_;
  CondVar p_cv_;
  std::atomic<bool> stop_requested_{false};
  std::atomic<bool> poll_{false};  // stop_requested_ || flush_pending_ > 0
  int flush_pending_ ABSL_GUARDED_BY(sched_mu_) = 0;
  // A futex word that the thread stopping the world (or waiting out a
  // ragged flush) sleeps on: bumped, with a wake, whenever a P it waits for
  // stops running (a park, a release, a flush done, a signal handler that
  // stopped its thread). The handler cannot signal sched_cv_.
  std::atomic<int> safepoint_seq_{0};
  // Ps held by a mutator (kRunning or kParked); written under sched_mu_.
  std::atomic<int> held_ps_{0};
  bool world_stopped_ ABSL_GUARDED_BY(sched_mu_) = false;
  std::vector<Mutator*> mutators_ ABSL_GUARDED_BY(sched_mu_);
  // testing_hooks::SetStackScanHook: called for each conservative stack
  // scan with (scan start, stack base, saved stack pointer).
  std::function<void(uintptr_t, uintptr_t, uintptr_t)> stack_scan_hook_
      ABSL_GUARDED_BY(sched_mu_);
  const uint64_t start_unix_ns_;

  RootSet roots_;  // registered roots and Persistent handles

  // Finalizers, weak handles, cleanups; the thread that runs finalizers.
  std::unique_ptr<Specials> specials_;
  std::once_flag finalizer_once_;
  std::thread finalizer_thread_;
  // A fork left the finalizer thread behind: the child's first cycle starts
  // it again (set by ForkChild, read with the collector's cycle lock held).
  bool finalizer_lost_ = false;

  PoolRegistry pools_;
  std::atomic<StepperImpl*> stepper_{nullptr};

  std::unique_ptr<Collector> collector_;  // last: uses everything above
};

// Runtime frames. The allocation slow path and the safepoint are entered
// through a small out-of-line function that saves every callee-saved
// register in its own frame (__builtin_unwind_init) and then calls the
// real work, which opens a RuntimeFrames scope with its own frame address.
// Everything the program's frames hold is then at or above that address:
// their stack slots, and their register values in the entry function's
// frame. The frames below it are the runtime's: the slow path's locals,
// the collector's calls, the park. They hold no pointer the program needs
// (an allocation's result exists only after the last point where the
// slow path can stop), but they are large and each call leaves a
// different pattern of slots unwritten, where a conservative scan would
// find stale pointers left by earlier, deeper calls: a dead tree's root,
// kept alive for a cycle (docs/collector.md, "Thread stacks"). So while the
// scope is open, the stack scan starts at its boundary instead of at the saved
// stack pointer.
//
// Only the outermost scope sets the boundary: a safepoint polled inside
// the allocation slow path is runtime code too. Calls out to program code
// (the out-of-memory callback) close it for their duration (ProgramFrames),
// so a stop inside them scans the whole stack again.
class FramesScope {
 public:
  FramesScope(const FramesScope&) = delete;
  FramesScope& operator=(const FramesScope&) = delete;

 protected:
  // Sets the thread's boundary for the scope, restoring the previous one.
  FramesScope(MutatorState* st, uintptr_t boundary)
      : st_(st), prev_(st->runtime_frames) {
    st_->runtime_frames = boundary;
  }
  ~FramesScope() { st_->runtime_frames = prev_; }

 private:
  MutatorState* const st_;
  const uintptr_t prev_;
};

class RuntimeFrames : FramesScope {
 public:
  RuntimeFrames(MutatorState* st, const void* boundary)
      : FramesScope(st, st->runtime_frames != 0
                            ? st->runtime_frames
                            : reinterpret_cast<uintptr_t>(boundary)) {}
};

// An allocation entry point called by the program: its return address is
// where the allocation's call stack starts for heap profiles (the frames
// below it are the runtime's). Only the outermost scope sets it.
class ProgramReturn {
 public:
  ProgramReturn(MutatorState* st, const void* ret)
      : st_(st != nullptr && st->program_return == nullptr ? st : nullptr) {
    if (st_ != nullptr) st_->program_return = ret;
  }
  ~ProgramReturn() {
    if (st_ != nullptr) st_->program_return = nullptr;
  }
  ProgramReturn(const ProgramReturn&) = delete;
  ProgramReturn& operator=(const ProgramReturn&) = delete;

 private:
  MutatorState* const st_;
};

// Program code called from inside a RuntimeFrames scope: scanned in full.
class ProgramFrames : FramesScope {
 public:
  explicit ProgramFrames(MutatorState* st) : FramesScope(st, 0) {}
};

// A heap walk's own root scan, with the world stopped (so no collection
// scans the thread meanwhile): the walking thread's frames from the walk's
// entry down are left out, registers spilled there included, since they
// hold the query's own arguments (the object asked about is no root of
// the program because the walk was asked about it).
class WalkFrames : FramesScope {
 public:
  WalkFrames(MutatorState* st, uintptr_t boundary)
      : FramesScope(st, boundary) {}
};

// Marks runtime code that a signal stop must not interrupt (it may hold a
// lock the collector takes, or be halfway through a change to its P's
// state): the thread's handler refuses to stop it and is asked again.
// RuntimeFrames scopes count as such code too. A no-op on unattached
// threads.
class NoPreempt {
 public:
  NoPreempt();
  ~NoPreempt();
  NoPreempt(const NoPreempt&) = delete;
  NoPreempt& operator=(const NoPreempt&) = delete;

 private:
  MutatorState* const st_;
};
// The write barrier's slow path, while a CycleStepper runs: logs a store
// the stepper's own thread makes (runtime/stepper.cc).
void StepperLogStore(StepperImpl* s, const Mutator* m, void** slot,
                     const void* value);
// Whether m's thread is the one that started the stepper.
bool StepperOwns(const StepperImpl* s, const Mutator* m);
// Installs the signal handler for signal stops (once per process; Options::
// preempt_signal).
void InstallPreemptHandler(int sig);

// The calling thread's mutator, or null.
Mutator* CurrentMutator();
// The HeapImpl behind a Heap (Heap::impl_ is private).
struct HeapAccess {
  static HeapImpl* Of(const Heap& heap) { return heap.impl_; }
};
// Tests (//runtime:testing): called at the end of the write barrier's slow
// path when set.
extern std::atomic<void (*)()> barrier_slow_test_hook;
// The process-wide list of live heaps (runtime/store_check.cc). A thread
// holding a P gives it up while it waits: a fork may be stopping its
// heap's world.
void RegisterHeap(HeapImpl* h);
void UnregisterHeap(HeapImpl* h);
// For the fork handlers: a copy of the list, and the list's lock.
std::vector<HeapImpl*> LiveHeaps();
Mutex& HeapListMutex();
// fork.cc: held from the fork's prepare handler to its parent or child
// handler, and while a heap is registered or unregistered (rank kFork).
Mutex& ForkMutex();
// Installs the pthread_atfork handlers (once per process; ForkMutex held).
void InstallForkHandlers();
// preempt.cc: the lock InstallPreemptHandler takes (a leaf), held across
// a fork.
Mutex& PreemptInstallMutex();
// Fails loudly ("what: ... points into another Heap") if value is an
// address in a heap other than h.
void CheckNotAnotherHeaps(const HeapImpl* h, const void* value,
                          const char* what);
// The write-barrier buffer of the P the calling thread holds, or null; set
// by AcquireP and ReleaseP. The barrier stub's assembly appends to it.
extern "C" constinit thread_local WriteBuffer* gcheap_internal_held_wbuf
    __attribute__((tls_model("initial-exec"), visibility("hidden")));
// The calling thread's mutator, or null (CurrentMutator without a call,
// for the write barrier's register-preserving path in barrier.cc).
extern constinit thread_local Mutator* tls_current
    __attribute__((tls_model("initial-exec")));
// AddressSanitizer builds: makes ASan reports name the heap slot (once per
// process). A no-op otherwise.
void InstallAsanReporter();
// Clears 8 KiB of stack below the caller (see sched.cc).
void ClearStackBelow();
// Clears the stack that deeper calls left below `frame`, the allocation
// slow path's frame, if it is deeper than st->stack_low says it has been
// (see sched.cc).
void ClearStaleStack(MutatorState* st, uintptr_t frame);

// Runs fn, runtime code entered from the program that gives the calling
// mutator's P up and goes on running (a forced collection, ReadMemStats, a
// heap walk), so that a stop meanwhile still finds every pointer the
// program holds. The program's callee-saved registers are spilled in this
// function's frame (__builtin_unwind_init), and fn runs one frame down,
// under a RuntimeFrames boundary: the stack scan keeps this frame and all
// above it, and leaves out the runtime's frames below, whatever they hold
// by then. Without it the scan began where the P was given up, deep in the
// runtime: the program's registers had been saved by the prologues of the
// frames there, which the runtime's next calls overwrote, and an object
// the program held only in a register was freed. st: the calling
// mutator's state, or null (then fn just runs).
void CallFromProgram(MutatorState* st, absl::FunctionRef<void()> fn);
// "thread 1234 (name)": a mutator's thread, as heap walks name roots.
std::string ThreadDetail(const MutatorState* st);
// Points the calling thread's write barrier at a heap's marking flag (null:
// the thread detached).
void SetThreadBarrierFlag(const std::atomic<bool>* flag);

}  // namespace gcheap::internal

#endif  // GCHEAP_RUNTIME_HEAP_IMPL_H_
