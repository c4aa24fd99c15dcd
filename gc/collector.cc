// The cycle driver: a cycle's phases, the coordinator thread, the end of
// a cycle (pacer, statistics, gctrace). See gc/gc.h for the map.
#include <algorithm>
#include <chrono>
#include <unordered_set>

#include "alloc/scavenger.h"
#include "base/check.h"
#include "base/clock.h"
#include "base/cpus.h"
#include "gc/gc.h"
#include "gc/gctrace.h"

namespace gcheap::internal {
namespace {

// Mark termination: ragged flushes that found work send marking back to
// the workers; after kMaxRaggedRounds of them, or kMaxTerminationRestarts
// stops that found work, the mark finishes inside the stop.
constexpr int kMaxRaggedRounds = 100;
constexpr int kMaxTerminationRestarts = 3;

}  // namespace

namespace {

int WorkerCount(const CollectorOptions& opts, CollectorEnv* env) {
  if (opts.mark_workers >= 0) return opts.mark_workers;
  return std::min(env->procs(), NumCpus()) - 1;
}

}  // namespace

Collector::Collector(MHeap* heap, CollectorEnv* env,
                     const CollectorOptions& opts)
    : heap_(heap),
      env_(env),
      opts_(opts),
      start_ns_(MonoNs()),
      // Small heaps change only how concurrent marking is driven: with
      // stop-the-world marking every cycle is one stop already.
      pacer_(opts.gc_percent, opts.soft_memory_limit, opts.heap_minimum,
             opts.concurrent ? opts.small_heap : 0),
      limiter_(env->procs()),
      barrier_check_(opts.barrier_check
                         ? std::make_unique<BarrierCheck>(heap, &opts_.values)
                         : nullptr),
      events_(opts.event_trace_out != nullptr
                  ? std::make_unique<EventTrace>(opts.event_trace_out)
                  : nullptr),
      limiter_last_ns_(start_ns_),
      assists_(heap, env, &limiter_),
      sweeper_(heap),
      workers_(&pool_, env, &assists_,
               MarkWorkers::Options{.workers = WorkerCount(opts, env),
                                    .concurrent = opts.concurrent,
                                    .idle_mark = opts.idle_mark,
                                    .events = events_.get()},
               [this] { return NewMarker(); }) {
  assists_.SetEventTrace(events_.get());
  sweeper_.SetEventTrace(events_.get());
  if (events_ != nullptr) {
    events_->NameThreadFromSystem("mutator");
    if (Scavenger* s = heap_->scavenger()) {
      s->SetStepHook(
          [](void* arg, uint64_t t0, uint64_t t1, size_t released) {
            auto* ev = static_cast<EventTrace*>(arg);
            char args[40];
            snprintf(args, sizeof args, "\"released bytes\":%zu", released);
            ev->NameThread("gcheap scavenger");
            ev->Complete("scavenge", t0, t1, args);
          },
          events_.get());
    }
  }
  {
    MutexLock l(&stats_mu_);
    stats_.next_gc = pacer_.goal();
  }
  // The collector's threads start when first needed, as after a fork: the
  // coordinator with the first cycle request, the workers, the sweeper and
  // the scavenger with the first cycle. A program that never collects
  // (a small script) starts none of them.
  {
    MutexLock l(&request_mu_);
    coordinator_lost_ = true;
  }
  {
    MutexLock l(&cycle_mu_);
    restart_threads_ = true;
  }
}

void Collector::StopCoordinator() {
  {
    MutexLock l(&request_mu_);
    coordinator_stop_ = true;
  }
  request_cv_.SignalAll();
  if (coordinator_.joinable()) coordinator_.join();
  // A mark a mutator began that the coordinator did not take up.
  MutexLock cycle(&cycle_mu_);
  FinishPendingMark();
}

// The members stop the workers, then the sweeper.
Collector::~Collector() {
  StopCoordinator();
  if (events_ != nullptr) {
    if (Scavenger* s = heap_->scavenger()) s->SetStepHook(nullptr, nullptr);
  }
}

void Collector::ForkLockCycle() {
  cycle_mu_.LockForFork();
  // Not a fork halfway through a cycle: a pending mark ends first (the
  // forking thread holds no P, as the stops need).
  FinishPendingMark();
  sweeper_.ForkLockSweeping();
}

void Collector::ForkLock() {
  workers_.ForkLock();
  sweeper_.ForkLock();
  stats_mu_.LockForFork();
  if (Scavenger* s = heap_->scavenger()) s->ForkLock();
  if (barrier_check_ != nullptr) barrier_check_->ForkLock();
  pool_.ForkLock();
}

void Collector::ForkUnlock() {
  pool_.ForkUnlock();
  if (barrier_check_ != nullptr) barrier_check_->ForkUnlock();
  if (Scavenger* s = heap_->scavenger()) s->ForkUnlock();
  stats_mu_.UnlockForFork();
  sweeper_.ForkUnlock();
  workers_.ForkUnlock();
}

void Collector::ForkUnlockCycle() {
  sweeper_.ForkUnlockSweeping();
  cycle_mu_.UnlockForFork();
}

void Collector::ForkChild() {
  pool_.ForkUnlock();
  if (barrier_check_ != nullptr) barrier_check_->ForkUnlock();
  if (Scavenger* s = heap_->scavenger()) s->ForkChild();
  stats_mu_.UnlockForFork();
  sweeper_.ForkChild();
  workers_.ForkChild();
  // The cycle lock is held (ForkLockCycle) until ForkUnlockCycle.
  restart_threads_ = true;
}

void Collector::ForkChildRequests() {
  request_cv_.ResetAfterFork();
  if (ForgetThreadAfterFork(&coordinator_)) coordinator_lost_ = true;
  request_mu_.UnlockForFork();
}

void Collector::RestartThreadsAfterFork() {
  if (!restart_threads_) return;
  restart_threads_ = false;
  workers_.RestartAfterFork();
  sweeper_.RestartAfterFork();
  if (Scavenger* s = heap_->scavenger()) s->RestartAfterFork();
  env_->RestartAfterFork();
}

void Collector::RestartCoordinatorAfterFork() {
  if (!coordinator_lost_) return;
  coordinator_lost_ = false;
  coordinator_ = std::thread([this] { CoordinatorMain(); });
  NameThread(&coordinator_, "gcheap gc");
}

void Collector::RequestCycle(uint32_t seen_cycles) {
  {
    MutexLock l(&request_mu_);
    RestartCoordinatorAfterFork();
    // A pending request for an earlier cycle count was answered by a cycle
    // since (RunCycle would drop it): this one replaces it.
    if (requested_ && static_cast<int32_t>(seen_cycles - request_seen_) <= 0) {
      return;
    }
    requested_ = true;
    request_seen_ = seen_cycles;
  }
  request_cv_.SignalAll();
}

void Collector::RequestStressCycle() {
  {
    MutexLock l(&request_mu_);
    RestartCoordinatorAfterFork();
    if (stress_requested_ || marking()) return;
    stress_requested_ = true;
  }
  request_cv_.SignalAll();
}

void Collector::CoordinatorMain() {
  if (events_ != nullptr) events_->NameThread("gcheap collector");
  MutexLock l(&request_mu_);
  while (true) {
    while (!coordinator_stop_ && !requested_ && !stress_requested_) {
      request_cv_.Wait(&request_mu_);
    }
    if (coordinator_stop_) return;
    if (stress_requested_ && !requested_) {
      stress_requested_ = false;
      request_mu_.Unlock();
      RunCycle(GcReason::kStress);
      request_mu_.Lock();
      continue;
    }
    stress_requested_ = false;
    // Take the request before running it: one made while the cycle runs
    // (the heap reached the next trigger as this cycle ended) must not be
    // lost, or its thread waits at the goal for a cycle nobody starts.
    // RunCycle drops a request that a finished cycle already answered.
    uint32_t seen = request_seen_;
    requested_ = false;
    std::function<void()> hook = cycle_end_hook_;
    request_mu_.Unlock();
    RunCycle(GcReason::kHeapTrigger, seen);
    if (hook) hook();
    request_mu_.Lock();
  }
}

void Collector::RunCycle(GcReason why, uint32_t seen_cycles) {
  MutexLock cycle(&cycle_mu_);
  // A mark a mutator began ends first (for a heap-triggered request, it is
  // normally the cycle asked for: the check below then drops the request).
  FinishPendingMark();
  // A small heap's cycle marks in one stop, on this thread (the one that
  // triggered it, or the collector's if it was asked to). It needs none of
  // the collector's threads: the program sweeps its few spans as it
  // allocates, and its memory is too little to scavenge.
  const bool small = why == GcReason::kHeapTrigger && SmallCycle();
  if (small) {
    env_->RestartAfterFork();  // the runtime's own (finalizers)
  } else {
    RestartThreadsAfterFork();
  }
  if (why == GcReason::kHeapTrigger &&
      (cycles() != seen_cycles || !ShouldTrigger())) {
    return;  // someone else already collected
  }
  uint64_t t_start = MonoNs();
  cycle_goal_.store(pacer_.goal(), std::memory_order_relaxed);
  FinishSweep();  // most of it concurrently, before stopping anyone
  if (opts_.concurrent && !small) {
    std::unique_ptr<MarkStart> start =
        BeginConcurrentMark(why, t_start, /*on_mutator=*/false);
    FinishConcurrentMark(*start);
  } else {
    RunCycleStw(why, t_start, small);
  }
  ResumeSweeper();
}

bool Collector::StartCycleHere(uint32_t seen_cycles) {
  if (!cycle_mu_.TryLock()) return false;
  FinishPendingMark();  // (normally none: the caller saw marking off)
  bool started = false;
  if (cycles() == seen_cycles && ShouldTrigger() && !SmallCycle()) {
    RestartThreadsAfterFork();
    const uint64_t t_start = MonoNs();
    cycle_goal_.store(pacer_.goal(), std::memory_order_relaxed);
    FinishSweep();  // resumed by FinishPendingMark
    pending_mark_ = BeginConcurrentMark(GcReason::kHeapTrigger, t_start,
                                        /*on_mutator=*/true);
    started = true;
  }
  cycle_mu_.Unlock();
  // The collector's thread marks from here, and ends the cycle.
  if (started) RequestCycle(seen_cycles);
  return true;
}

void Collector::FinishPendingMark() {
  if (pending_mark_ == nullptr) return;
  std::unique_ptr<MarkStart> start = std::move(pending_mark_);
  FinishConcurrentMark(*start);
  ResumeSweeper();
}

uint64_t Collector::SweepTermination() {
  env_->StopTheWorld();
  phase_.store(GcPhase::kSweepTermination, std::memory_order_release);
  env_->ForEachMCache([](MCache* c) { c->ReleaseAll(); });
  env_->OnSweepTermination();
  heap_->SweepAll();
  return heap_->heap_live().load(std::memory_order_relaxed);
}

void Collector::RunCycleStw(GcReason why, uint64_t t_start, bool small) {
  uint64_t t_stw = MonoNs();  // pauses include the wait for safepoints
  uint64_t h0 = SweepTermination();

  phase_.store(GcPhase::kMark, std::memory_order_release);
  uint64_t t_mark = MonoNs();
  uint64_t cpu0 = ThreadCpuNs();
  uint64_t wcpu0 = workers_.background_cpu_ns();
  workers_.ResetCounters();
  Marker self(heap_, &pool_);  // the world is stopped: no barrier check
  self.SetValueEncoding(&opts_.values);
  self.SetSpanMarking(&span_marking_);
  CollectorEnv::RootBytes rb = env_->MarkRoots(self);
  if (small) {
    // This thread alone: waking the workers would cost more than the mark.
    while (self.Drain(SIZE_MAX) != 0 || MarkEphemerons(self)) {
    }
  } else {
    MarkAllWithEphemerons(self);
  }
  uint64_t mark_cpu =
      ThreadCpuNs() - cpu0 + workers_.background_cpu_ns() - wcpu0;

  phase_.store(GcPhase::kMarkTermination, std::memory_order_release);
  uint64_t t_term = MonoNs();
  if (opts_.checkmark) Checkmark();
  env_->ProcessWeak();
  uint64_t marked = self.marked_bytes() + workers_.MarkedBytes();
  CycleRecord r;
  r.why = why;
  r.t_start = t_start;
  r.t_stw = t_stw;
  r.pause = t_term - t_stw;
  r.t_mark = t_mark;
  r.t_term = t_term;
  r.h0 = h0;
  r.h1 = heap_->heap_live().load(std::memory_order_relaxed);
  r.marked = r.pace_marked = marked;
  r.rb = rb;
  r.mark_cpu = mark_cpu;
  r.small = small;
  FinishCycle(r);
}

std::unique_ptr<Collector::MarkStart> Collector::BeginConcurrentMark(
    GcReason why, uint64_t t_start, bool on_mutator) {
  // 1. Sweep termination, with the world stopped: hand back the cached
  // spans, finish sweeping, turn the barrier on, grey every root. Stacks
  // are scanned here, once: the write barrier keeps them valid after.
  auto start = std::make_unique<MarkStart>();
  start->why = why;
  start->t_start = t_start;
  const uint64_t t_stw = MonoNs();
  const uint64_t h0 = SweepTermination();
  // Assists: the scan work expected (the last cycle's marked heap), to be
  // done by the mark's soft goal (gc/assist.h).
  assists_.BeginMark(h0, std::max<uint64_t>(pacer_.marked(), 1 << 20),
                     cycle_goal_.load(std::memory_order_relaxed),
                     pacer_.ForMark(h0));
  workers_.ResetCounters();
  marking_.store(true, std::memory_order_seq_cst);
  // Allocate black: every span an mcache takes from now on has its free
  // slots marked (the mcaches are empty: SweepTermination emptied them).
  heap_->SetAllocateBlack(true);
  phase_.store(GcPhase::kMark, std::memory_order_release);
  if (barrier_check_ != nullptr) barrier_check_->Reset();
  start->self = NewMarker();
  start->rb = env_->MarkRoots(*start->self);
  start->self->work().Flush();
  start->t_stw = t_stw;
  start->h0 = h0;
  start->t_mark = MonoNs();
  start->held_at_mark =
      std::min(env_->HeldPs() + (on_mutator ? 1 : 0), env_->procs());
  // The mark's CPU counts from here: assists start with the world.
  start->wcpu0 = workers_.background_cpu_ns();
  start->acpu0 = assists_.cpu_ns();
  start->icpu0 = workers_.idle_cpu_ns();
  env_->StartTheWorld();
  return start;
}

void Collector::FinishConcurrentMark(MarkStart& start) {
  const GcReason why = start.why;
  const uint64_t t_mark = start.t_mark;
  const uint64_t h0 = start.h0;
  Marker& self = *start.self;
  uint64_t pause = t_mark - start.t_stw;
  if (mark_hook_) mark_hook_();

  // 2. Concurrent mark: background workers at 25% of the Ps (fractional
  // when that is not a whole number of threads), plus assists.
  double share = Pacer::kBackgroundUtilization * env_->procs();
  int nbg = std::max(1, static_cast<int>(share + 0.5));
  double u = std::min(1.0, share / nbg);
  uint64_t t_term;
  for (int round = 0, restarts = 0;; round++) {
    // With no worker threads, the collecting thread marks.
    workers_.Run(nbg, u, workers_.size() == 0 ? &self : nullptr,
                 opts_.idle_mark ? workers_.size() : 0);
    if (round == 0 && why == GcReason::kStress) HoldMark();
    // 3. Mark termination. First a ragged flush: every P hands its
    // barrier buffer and grey objects to the pool at its next safepoint,
    // with nobody stopped. If that produced work, mark it concurrently and
    // flush again (each round finds less: the barrier shades only what the
    // program touched meanwhile).
    env_->RaggedFlush();
    // Ephemerons whose key the mark reached: their values, concurrently.
    const bool ephemerons = MarkEphemerons(self);
    if ((pool_.HasFull() || assists_.active() > 0 || ephemerons) &&
        round < kMaxRaggedRounds) {
      env_->ReleaseHeld();
      continue;
    }
    // Then stop the world and flush once more, to catch what the barrier
    // buffered since. Normally nothing: the mark is done. If something
    // turned up, restart the world and go on marking; after
    // kMaxTerminationRestarts such stops, or kMaxRaggedRounds rounds,
    // finish in this stop.
    t_term = MonoNs();
    env_->StopTheWorld();
    phase_.store(GcPhase::kMarkTermination, std::memory_order_release);
    env_->FlushPWork();
    MarkEphemerons(self);
    if (!pool_.HasFull()) break;
    if (restarts >= kMaxTerminationRestarts || round >= kMaxRaggedRounds) {
      MarkAllWithEphemerons(self);
      break;
    }
    restarts++;
    phase_.store(GcPhase::kMark, std::memory_order_release);
    uint64_t t_restart = MonoNs();
    env_->StartTheWorld();
    pause += t_restart - t_term;
  }
  // The world is stopped and the mark complete: every word the markers
  // read must still hold what they read, unless a barrier guarded it.
  if (barrier_check_ != nullptr) barrier_check_->Verify();
  marking_.store(false, std::memory_order_seq_cst);
  heap_->SetAllocateBlack(false);
  // Hand back the spans cached during the mark: their slots taken since
  // are black, and the sweep that follows must see them as allocated; the
  // free slots their mcaches marked in advance are cleared again.
  env_->ForEachMCache([](MCache* c) { c->ReleaseAll(); });
  if (opts_.checkmark) Checkmark();
  env_->ProcessWeak();
  uint64_t mark_cpu = workers_.background_cpu_ns() - start.wcpu0;
  uint64_t assist_cpu = assists_.cpu_ns() - start.acpu0;
  uint64_t idle_cpu = workers_.idle_cpu_ns() - start.icpu0;
  // Objects allocated black count as marked: everything the heap grew by
  // while marking ran.
  uint64_t h1 = heap_->heap_live().load(std::memory_order_relaxed);
  uint64_t marked =
      self.marked_bytes() + workers_.MarkedBytes() + env_->PMarkedBytes();
  const uint64_t scanned = marked;  // greyed and scanned, not allocated black
  if (h1 > h0) marked += h1 - h0;
  // The pacer's cons/mark: the program's allocation per CPU-second of its
  // own (its Ps' wall time during the mark, less assists) over the
  // collector's scanning per CPU-second.
  {
    uint64_t mark_wall = t_term > t_mark ? t_term - t_mark : 1;
    uint64_t held = static_cast<uint64_t>(std::max(start.held_at_mark, 1));
    uint64_t mutator_cpu = mark_wall * held;
    mutator_cpu = mutator_cpu > assist_cpu + mark_wall / 10
                      ? mutator_cpu - assist_cpu
                      : mark_wall / 10;
    pacer_.ObserveMark(h1 > h0 ? h1 - h0 : 0, scanned, mutator_cpu,
                       mark_cpu + assist_cpu + idle_cpu);
  }
  CycleRecord r;
  r.why = why;
  r.t_start = start.t_start;
  r.t_stw = start.t_stw;
  r.pause = pause;
  r.t_mark = t_mark;
  r.t_term = t_term;
  r.h0 = h0;
  r.h1 = h1;
  r.marked = marked;
  // The next goal does not inherit an overshoot: black allocation past
  // this cycle's goal is left out of the live bytes it is computed from
  // (it stays in heap_live, so the next cycle starts that much sooner).
  const uint64_t goal = cycle_goal_.load(std::memory_order_relaxed);
  const uint64_t black = h1 > h0 ? h1 - h0 : 0;
  const uint64_t over = goal != UINT64_MAX && h1 > goal ? h1 - goal : 0;
  r.pace_marked = marked - std::min(black, over);
  r.rb = start.rb;
  r.mark_cpu = mark_cpu;
  r.assist_cpu = assist_cpu;
  r.idle_cpu = idle_cpu;
  FinishCycle(r);
}

bool Collector::MarkEphemerons(Marker& self) {
  const bool greyed = env_->MarkEphemerons(self);
  self.work().Flush();
  return greyed;
}

void Collector::MarkAllWithEphemerons(Marker& self) {
  do {
    workers_.MarkAll(self);
  } while (MarkEphemerons(self));
}

void Collector::HoldMark() {
  // Until the program has allocated mark_hold more times, or stopped
  // allocating for 20 ms (it may be waiting for this very cycle, or gone).
  const uint64_t target =
      allocations_.load(std::memory_order_relaxed) + opts_.mark_hold;
  uint64_t last = allocations_.load(std::memory_order_relaxed);
  uint64_t last_ns = MonoNs();
  while (true) {
    uint64_t now = allocations_.load(std::memory_order_relaxed);
    if (now >= target) return;
    if (now != last) {
      last = now;
      last_ns = MonoNs();
    } else if (MonoNs() - last_ns > 20'000'000) {
      return;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
}

void Collector::Checkmark() {
  // Mark everything reachable again, with the world stopped, into a side
  // set, failing on the first object the real mark did not mark.
  std::unordered_set<uintptr_t> visited;
  Marker check(heap_, &pool_);
  check.SetValueEncoding(&opts_.values);
  check.EnableCheckmark(&visited);
  env_->MarkRoots(check);
  check.SetReferrer(0);
  check.Drain(SIZE_MAX);
}

void Collector::FinishCycle(const CycleRecord& r) {
  heap_->heap_live().store(static_cast<int64_t>(r.marked),
                           std::memory_order_relaxed);
  pacer_.Commit(r.pace_marked, r.rb.stacks + r.rb.globals);
  const uint64_t goal = pacer_.goal();
  heap_->SetScavengeGoal(goal == UINT64_MAX ? 0 : goal + goal / 10);
  heap_->BeginSweepCycle();
  phase_.store(GcPhase::kOff, std::memory_order_release);
  const uint64_t t_end = MonoNs();
  const uint64_t pause = r.pause + (t_end - r.t_term);  // restarts below
  const uint64_t procs = static_cast<uint64_t>(env_->procs());
  {
    MutexLock l(&stats_mu_);
    uint32_t i = stats_.num_gc % 256;
    stats_.pause_ns[i] = pause;
    stats_.last_gc = UnixNs();
    stats_.pause_end[i] = stats_.last_gc;
    stats_.pause_total_ns += pause;
    stats_.num_gc++;
    if (r.why == GcReason::kForced) stats_.num_forced_gc++;
    stats_.next_gc = goal;
    stats_.last_marked = r.marked;
    if (r.small) stats_.small_cycles++;
    uint64_t stw_cpu = opts_.concurrent && !r.small
                           ? pause * procs
                           : (pause - (r.t_term - r.t_mark)) * procs;
    stats_.gc_cpu_ns += stw_cpu + r.mark_cpu + r.assist_cpu + r.idle_cpu;
    // The limiter counts the collector's CPU since its last update against
    // the Ps' time; idle-time marking used CPU no one else wanted.
    if (limiter_.Update(stw_cpu + r.mark_cpu + r.assist_cpu,
                        (t_end - limiter_last_ns_) * procs)) {
      stats_.cpu_limited_cycles++;
    }
    limiter_last_ns_ = t_end;
    stats_.assist_cpu_ns += r.assist_cpu;
    stats_.background_cpu_ns += r.mark_cpu;
    stats_.idle_cpu_ns += r.idle_cpu;
  }
  cycles_.fetch_add(1, std::memory_order_release);
  env_->StartTheWorld();
  if (opts_.gctrace) PrintTrace(r, pause, t_end);
  if (opts_.gcpacertrace) PrintPacerTrace(r);
  if (events_ != nullptr) TraceCycle(r, t_end);
}

void Collector::TraceCycle(const CycleRecord& r, uint64_t t_end) {
  EventTrace* ev = events_.get();
  const char* why = r.why == GcReason::kForced        ? "forced"
                    : r.why == GcReason::kHeapTrigger ? "heap trigger"
                                                      : "stress";
  uint32_t n;
  uint64_t gc_cpu;
  {
    MutexLock l(&stats_mu_);
    n = stats_.num_gc;
    gc_cpu = stats_.gc_cpu_ns;
  }
  ev->NameThreadFromSystem("mutator");  // the coordinator named itself
  char name[48], args[256];
  snprintf(name, sizeof name, "GC %u", n);
  snprintf(args, sizeof args,
           "\"reason\":\"%s\",\"heap0 MB\":%.2f,\"heap1 MB\":%.2f,"
           "\"marked MB\":%.2f",
           why, static_cast<double>(r.h0) / (1 << 20),
           static_cast<double>(r.h1) / (1 << 20),
           static_cast<double>(r.marked) / (1 << 20));
  ev->Complete(name, r.t_start, t_end, args);
  ev->Complete("STW sweep termination", r.t_stw, r.t_mark);
  ev->Complete(opts_.concurrent ? "mark (concurrent)" : "STW mark", r.t_mark,
               r.t_term);
  ev->Complete("STW mark termination", r.t_term, t_end);
  const uint64_t goal = pacer_.goal(), trigger = pacer_.trigger();
  snprintf(
      args, sizeof args,
      "\"live MB\":%.2f,\"goal MB\":%.2f,\"trigger MB\":%.2f",
      static_cast<double>(r.marked) / (1 << 20),
      goal == UINT64_MAX ? 0.0 : static_cast<double>(goal) / (1 << 20),
      trigger == UINT64_MAX ? 0.0 : static_cast<double>(trigger) / (1 << 20));
  ev->Counter("heap", t_end, args);
  const uint64_t wall =
      (t_end - start_ns_) * static_cast<uint64_t>(env_->procs());
  snprintf(args, sizeof args, "\"percent\":%.1f",
           wall == 0 ? 0.0 : 100.0 * static_cast<double>(gc_cpu) / wall);
  ev->Counter("GC CPU", t_end, args);
  ev->Flush();
}

void Collector::PrintPacerTrace(const CycleRecord& r) {
  PacerTraceLine line;
  {
    MutexLock l(&stats_mu_);
    line.num_gc = stats_.num_gc;
  }
  line.gc_percent = pacer_.gc_percent();
  line.soft_limit = pacer_.soft_limit();
  line.marked = r.marked;
  line.black = r.h1 > r.h0 ? r.h1 - r.h0 : 0;
  line.over_goal = r.marked - r.pace_marked;
  line.roots = r.rb.stacks + r.rb.globals;
  line.heap0 = r.h0;
  line.heap1 = r.h1;
  const uint64_t cycle_goal = cycle_goal_.load(std::memory_order_relaxed);
  line.goal = cycle_goal == UINT64_MAX ? 0 : cycle_goal;
  line.cons_mark = pacer_.cons_mark();
  line.assist_cpu_ns = r.assist_cpu;
  line.background_cpu_ns = r.mark_cpu;
  line.idle_cpu_ns = r.idle_cpu;
  line.next_marked = pacer_.marked();
  const uint64_t goal = pacer_.goal();
  line.next_goal = goal == UINT64_MAX ? 0 : goal;
  line.next_trigger = pacer_.trigger() == UINT64_MAX ? 0 : pacer_.trigger();
  line.runway = pacer_.runway();
  char buf[640];
  size_t n = FormatPacerTrace(line, buf, sizeof(buf));
  FILE* out = opts_.trace_out != nullptr ? opts_.trace_out : stderr;
  fwrite(buf, 1, n, out);
  fflush(out);
}

void Collector::PrintTrace(const CycleRecord& r, uint64_t pause,
                           uint64_t t_end) {
  const uint64_t procs = static_cast<uint64_t>(env_->procs());
  GcTraceLine line;
  {
    MutexLock l(&stats_mu_);
    line.num_gc = stats_.num_gc;
    uint64_t wall = t_end - start_ns_;
    line.cpu_percent =
        wall == 0 ? 0
                  : static_cast<int>(stats_.gc_cpu_ns * 100 / (wall * procs));
  }
  line.since_start_ns = r.t_start - start_ns_;
  line.sweep_term_ns = pause - (t_end - r.t_term);
  if (!opts_.concurrent) line.sweep_term_ns -= r.t_term - r.t_mark;
  line.mark_ns = r.t_term - r.t_mark;
  line.mark_term_ns = t_end - r.t_term;
  line.sweep_term_cpu_ns = line.sweep_term_ns * procs;
  line.assist_cpu_ns = r.assist_cpu;
  line.background_cpu_ns = r.mark_cpu;
  line.idle_cpu_ns = r.idle_cpu;
  line.mark_term_cpu_ns = line.mark_term_ns * procs;
  line.heap0 = r.h0;
  line.heap1 = r.h1;
  line.heap2 = r.marked;
  line.overshoot = r.marked - r.pace_marked;
  line.limited = limiter_.limiting();
  uint64_t cycle_goal = cycle_goal_.load(std::memory_order_relaxed);
  line.goal = cycle_goal == UINT64_MAX ? 0 : cycle_goal;
  line.stacks = r.rb.stacks;
  line.globals = r.rb.globals;
  line.procs = static_cast<int>(procs);
  line.forced = r.why == GcReason::kForced;
  char buf[512];
  size_t n = FormatGcTrace(line, buf, sizeof(buf));
  FILE* out = opts_.trace_out != nullptr ? opts_.trace_out : stderr;
  fwrite(buf, 1, n, out);
  fflush(out);
}

GcStats Collector::ReadStats() {
  MutexLock l(&stats_mu_);
  GcStats s = stats_;
  s.next_gc = pacer_.goal();  // follows SetGCPercent at once
  return s;
}

}  // namespace gcheap::internal
