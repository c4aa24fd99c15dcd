// The cycle driver: phases, parallel marking, the background sweeper and
// destructors at sweep. See gc/gc.h for the map.
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <unordered_set>

#include "base/check.h"
#include "base/cpus.h"
#include "gc/gc.h"
#include "gc/gctrace.h"
#include "gc/object.h"

namespace gcheap::internal {
namespace {

// Mark termination: ragged flushes that found work send marking back to
// the workers; after kMaxRaggedRounds of them, or kMaxTerminationRestarts
// stops that found work, the mark finishes inside the stop.
constexpr int kMaxRaggedRounds = 100;
constexpr int kMaxTerminationRestarts = 3;

uint64_t MonoNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
uint64_t UnixNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
uint64_t ThreadCpuNs() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

}  // namespace

Collector::Collector(MHeap* heap, CollectorEnv* env,
                     const CollectorOptions& opts)
    : heap_(heap),
      env_(env),
      opts_(opts),
      start_ns_(MonoNs()),
      ncpu_(NumCpus()),
      pacer_(opts.gc_percent, opts.soft_memory_limit),
      limiter_(env->procs()),
      limiter_last_ns_(start_ns_) {
  heap_->SetSweepHook(this);
  if (opts.barrier_check) barrier_check_ = std::make_unique<BarrierCheck>(heap);
  int workers = opts.mark_workers;
  if (workers < 0) workers = std::min(env_->procs(), ncpu_) - 1;
  nmarkers_ = workers + 1;
  for (int i = 0; i < workers; i++) {
    worker_markers_.push_back(NewMarker().release());
  }
  for (int i = 0; i < workers; i++) {
    workers_.emplace_back([this, i] { WorkerMain(i); });
  }
  sweeper_ = std::thread([this] { SweeperMain(); });
  coordinator_ = std::thread([this] { CoordinatorMain(); });
  std::lock_guard<std::mutex> l(stats_mu_);
  stats_.next_gc = pacer_.goal();
}

void Collector::StopCoordinator() {
  {
    std::lock_guard<std::mutex> l(request_mu_);
    coordinator_stop_ = true;
  }
  request_cv_.notify_all();
  if (coordinator_.joinable()) coordinator_.join();
}

Collector::~Collector() {
  StopCoordinator();
  {
    std::lock_guard<std::mutex> l(work_mu_);
    shutdown_ = true;
  }
  work_cv_.notify_all();
  for (auto& t : workers_) t.join();
  for (Marker* m : worker_markers_) delete m;
  {
    std::lock_guard<std::mutex> l(sweep_mu_);
    sweep_shutdown_ = true;
  }
  sweep_cv_.notify_all();
  sweeper_.join();
  heap_->SetSweepHook(nullptr);
}

void Collector::PauseSweeper() {
  std::unique_lock<std::mutex> l(sweep_mu_);
  sweep_paused_++;
  sweep_cv_.wait(l, [this] { return !sweep_active_; });
}

void Collector::ResumeSweeper() {
  {
    std::lock_guard<std::mutex> l(sweep_mu_);
    GCHEAP_CHECK(sweep_paused_ > 0, "sweeper resumed more than paused");
    sweep_paused_--;
    sweep_wake_ = true;
  }
  sweep_cv_.notify_all();
}

void Collector::FinishSweep() {
  PauseSweeper();
  std::lock_guard<std::mutex> l(finish_mu_);
  heap_->SweepAll();
}

void Collector::LockSweeping() {
  PauseSweeper();
  finish_mu_.lock();
}

void Collector::UnlockSweeping() {
  finish_mu_.unlock();
  ResumeSweeper();
}

void Collector::SweeperMain() {
  std::unique_lock<std::mutex> l(sweep_mu_);
  while (true) {
    sweep_cv_.wait(l, [this] {
      return sweep_shutdown_ || (sweep_paused_ == 0 && sweep_wake_);
    });
    if (sweep_shutdown_) return;
    sweep_wake_ = false;
    sweep_active_ = true;
    while (sweep_paused_ == 0 && !sweep_shutdown_) {
      l.unlock();
      size_t swept = heap_->SweepOne();
      l.lock();
      if (swept == 0) break;
    }
    sweep_active_ = false;
    sweep_cv_.notify_all();
  }
}

void Collector::BeforeSweep(MSpan* s) {
  for (uint32_t idx = 0; idx < s->nelems; idx++) {
    if (!s->IsAllocated(idx) || s->IsMarked(idx)) continue;
    // An object described by type bits has no header (and no destructor):
    // its first word is its own data.
    if (s->small_scan && s->SlotUsesTypeBits(idx)) continue;
    uintptr_t slot = s->ObjBase(idx);
    uintptr_t header = HeaderOf(slot);
    if (header == 0) continue;
    const Type* t = HeaderType(header);
    DestructorFn dtor = t->destructor();
    if (dtor == nullptr) continue;
    uintptr_t payload = PayloadOf(slot, header);
    size_t count = ElementCount(slot, header);
    for (size_t i = 0; i < count; i++) {
      dtor(reinterpret_cast<void*>(payload + i * t->size()));
    }
  }
}

void Collector::WorkerMain(int id) {
  uint64_t seen = 0;
  std::unique_lock<std::mutex> l(work_mu_);
  while (true) {
    work_cv_.wait(l, [&] { return shutdown_ || mark_epoch_ != seen; });
    if (shutdown_) return;
    seen = mark_epoch_;
    if (id >= participants_ + idle_participants_) continue;  // not needed
    const bool idle = id >= participants_;
    double u = idle ? 1.0 : utilization_;
    l.unlock();
    uint64_t cpu0 = ThreadCpuNs();
    Marker& m = *worker_markers_[id];
    active_workers_.fetch_add(1, std::memory_order_relaxed);
    uint64_t extra = MarkLoop(m, u, idle);
    active_workers_.fetch_sub(1, std::memory_order_relaxed);
    // An idle worker's CPU is all idle-time marking; a fractional worker's
    // is where it marked instead of sleeping.
    uint64_t cpu = ThreadCpuNs() - cpu0;
    extra = idle ? cpu : std::min(extra, cpu);
    worker_cpu_ns_.fetch_add(cpu - extra, std::memory_order_relaxed);
    idle_cpu_ns_.fetch_add(extra, std::memory_order_relaxed);
    l.lock();
    if (--workers_running_ == 0) work_cv_.notify_all();
  }
}

uint64_t Collector::MarkLoop(Marker& m, double utilization, bool idle) {
  // With utilization < 1 (a fractional background worker), the marker
  // works in ~1 ms slices and sleeps between them to keep its share of
  // one CPU, unless idle-time marking is on and a CPU is idle. An idle-time
  // worker (idle) marks only while a CPU is idle: when there is none, it
  // hands its work to the pool and leaves the phase.
  const bool paced = utilization < 0.999;
  // The duty cycle is kept in CPU time, not in wall time: on a machine
  // where every CPU runs a mutator the OS shares the CPUs among more
  // threads than there are, and a worker that slept in proportion to its
  // wall time would get a fraction of its share (a quarter of 2 Ps came
  // to about a tenth of the CPU, and assists did the rest of the marking
  // at about twice the cost).
  const uint64_t wall0 = paced ? MonoNs() : 0;
  const uint64_t cpu0 = paced ? ThreadCpuNs() : 0;
  uint64_t slice_start = wall0;
  uint64_t extra_ns = 0;  // slices run instead of sleeping
  int n = 0;
  auto leave = [&] {
    m.work().Flush();
    nmarkers_.fetch_sub(1, std::memory_order_acq_rel);
    return extra_ns;
  };
  if (idle && !CpuIdle()) return leave();
  while (true) {
    while (m.Drain(64) == 64) {
      if (idle && (++n & 15) == 0 && !CpuIdle()) return leave();
      // Share work when other markers or assists are idle and the pool is
      // dry.
      if ((idle_.load(std::memory_order_relaxed) > 0 ||
           assists_waiting_.load(std::memory_order_relaxed) > 0) &&
          !pool_.HasFull()) {
        m.work().Balance();
      }
      if (concurrent()) {
        // Scanned bytes become credit that assists can claim.
        bg_credit_.fetch_add(static_cast<int64_t>(m.scanned_bytes()),
                             std::memory_order_relaxed);
        scan_done_.fetch_add(static_cast<int64_t>(m.scanned_bytes()),
                             std::memory_order_relaxed);
        m.ResetScanned();
      }
      if (paced) {
        const uint64_t now = MonoNs();
        const uint64_t worked = now - slice_start;
        if (worked >= 1'000'000) {
          // Sleep until this worker's CPU time is `utilization` of the
          // wall time since it started: cpu = u * (wall + sleep).
          const double cpu = static_cast<double>(ThreadCpuNs() - cpu0);
          const double wall = static_cast<double>(now - wall0);
          const double ahead = cpu / utilization - wall;
          const uint64_t sleep_ns =
              ahead > 0 ? static_cast<uint64_t>(ahead) : uint64_t{0};
          if (sleep_ns == 0) {
            // Behind its share (the OS gave it less): no sleep.
          } else if (opts_.idle_mark && CpuIdle()) {
            extra_ns += std::min(sleep_ns, worked);  // a CPU is spare
          } else {
            active_workers_.fetch_sub(1, std::memory_order_relaxed);
            std::this_thread::sleep_for(std::chrono::nanoseconds(sleep_ns));
            active_workers_.fetch_add(1, std::memory_order_relaxed);
          }
          slice_start = MonoNs();
        }
      }
    }
    // Out of work: wait until some appears or every marker is idle.
    idle_.fetch_add(1, std::memory_order_acq_rel);
    for (int spins = 0;; spins++) {
      if (pool_.HasFull()) {
        idle_.fetch_sub(1, std::memory_order_acq_rel);
        break;
      }
      if (idle_.load(std::memory_order_acquire) ==
              nmarkers_.load(std::memory_order_acquire) &&
          assists_active_.load(std::memory_order_acquire) == 0 &&
          !pool_.HasFull()) {
        return extra_ns;
      }
      SpinPause(spins);
    }
  }
}

void Collector::RunMarkers(int participants, double utilization, Marker* self,
                           int idle) {
  const int nworkers = static_cast<int>(workers_.size());
  participants = std::min(participants, nworkers);
  idle = std::clamp(idle, 0, nworkers - participants);
  idle_.store(0, std::memory_order_relaxed);
  nmarkers_.store(participants + idle + (self != nullptr ? 1 : 0),
                  std::memory_order_relaxed);
  if (participants + idle > 0) {
    std::lock_guard<std::mutex> l(work_mu_);
    participants_ = participants;
    idle_participants_ = idle;
    utilization_ = utilization;
    workers_running_ = participants + idle;
    mark_epoch_++;
  }
  work_cv_.notify_all();
  if (self != nullptr) {
    // The collecting thread's marking is background marking too.
    uint64_t cpu0 = ThreadCpuNs();
    MarkLoop(*self, 1.0);
    worker_cpu_ns_.fetch_add(ThreadCpuNs() - cpu0, std::memory_order_relaxed);
  }
  std::unique_lock<std::mutex> l(work_mu_);
  work_cv_.wait(l, [this] { return workers_running_ == 0; });
}

void Collector::MarkParallel(Marker& self) {
  self.work().Flush();  // publish the roots so every marker can start
  RunMarkers(static_cast<int>(workers_.size()), 1.0, &self);
}

void Collector::Assist(Marker& m, int64_t* debt, size_t bytes) {
  if (limiter_.limiting() && !PastGoal()) {
    // The collector has had more than half the CPU for a while: the
    // program runs without assisting while the heap is below its goal
    // (limiter.h). Past the goal, assists pay as usual whatever the
    // limiter says: the limiter caps the collector's share of the CPU, it
    // never lets the heap grow without bound.
    *debt = 0;
    return;
  }
  // The assist ratio, revised at each call as Go revises it: the scan work
  // still expected over the bytes left before the mark's soft goal (the
  // heap goal, or sooner when the mark's growth budget runs out first: see
  // gc/pacer.h). When background marking is ahead, the ratio falls and
  // assists stop. Once the scanning passes the estimate, or the heap the
  // soft goal, assume the worst as Go does: everything in the heap when
  // marking began may need scanning (what was allocated since is black),
  // by the hard goal.
  int64_t expected = scan_expected_.load(std::memory_order_relaxed);
  int64_t goal = static_cast<int64_t>(std::min<uint64_t>(
      assist_goal_.load(std::memory_order_relaxed), INT64_MAX / 2));
  const int64_t done = scan_done_.load(std::memory_order_relaxed);
  const int64_t live = heap_->heap_live().load(std::memory_order_relaxed);
  if (done >= expected || live >= goal) {
    expected = std::max(expected, mark_h0_.load(std::memory_order_relaxed));
    goal = static_cast<int64_t>(std::min<uint64_t>(
        assist_hard_goal_.load(std::memory_order_relaxed), INT64_MAX / 2));
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
  if (*debt <= 0) return;
  // Steal background credit first.
  int64_t credit = bg_credit_.load(std::memory_order_relaxed);
  while (credit > 0) {
    int64_t take = std::min(credit, *debt);
    if (bg_credit_.compare_exchange_weak(credit, credit - take,
                                         std::memory_order_relaxed)) {
      *debt -= take;
      break;
    }
  }
  if (*debt <= 0) return;
  // Then mark, in bounded steps (at least 64 KiB of scanning). Timed by
  // the monotonic clock, as Go times assists: the thread runs throughout,
  // and reading a thread's CPU clock is a system call (vDSO does not serve
  // it), two per assist.
  uint64_t t0 = MonoNs();
  // At least 64 KiB (assists are not worth starting for less) and at most
  // 256 KiB per call, so a mutator reaches its next safepoint soon.
  int64_t step = std::clamp<int64_t>(*debt, 64 << 10, 256 << 10);
  m.ResetScanned();
  assists_active_.fetch_add(1, std::memory_order_acq_rel);
  for (int tries = 0; static_cast<int64_t>(m.scanned_bytes()) < step;) {
    // A stop or a ragged flush is waiting for this thread's safepoint.
    if (env_->PreemptRequested()) break;
    if (m.Drain(64) == 0) {
      // No grey object here or in the pool: the workers will share theirs
      // (they balance while assists wait); look again a few times. This
      // assist holds no work meanwhile.
      if (++tries > 64) break;
      assists_active_.fetch_sub(1, std::memory_order_release);
      assists_waiting_.fetch_add(1, std::memory_order_relaxed);
      sched_yield();
      assists_waiting_.fetch_sub(1, std::memory_order_relaxed);
      assists_active_.fetch_add(1, std::memory_order_acq_rel);
    }
  }
  m.work().Flush();  // what this assist greyed goes where workers see it
  assists_active_.fetch_sub(1, std::memory_order_release);
  // Scanning more than owed (steps are at least 64 KiB) leaves credit for
  // the next allocations.
  *debt -= static_cast<int64_t>(m.scanned_bytes());
  scan_done_.fetch_add(static_cast<int64_t>(m.scanned_bytes()),
                       std::memory_order_relaxed);
  m.ResetScanned();
  assist_cpu_ns_.fetch_add(MonoNs() - t0, std::memory_order_relaxed);
}

void Collector::RequestCycle(uint32_t seen_cycles) {
  {
    std::lock_guard<std::mutex> l(request_mu_);
    // A pending request for an earlier cycle count was answered by a cycle
    // since (RunCycle would drop it): this one replaces it.
    if (requested_ && static_cast<int32_t>(seen_cycles - request_seen_) <= 0) {
      return;
    }
    requested_ = true;
    request_seen_ = seen_cycles;
  }
  request_cv_.notify_all();
}

void Collector::RequestStressCycle() {
  {
    std::lock_guard<std::mutex> l(request_mu_);
    if (stress_requested_ || marking()) return;
    stress_requested_ = true;
  }
  request_cv_.notify_all();
}

void Collector::CoordinatorMain() {
  std::unique_lock<std::mutex> l(request_mu_);
  while (true) {
    request_cv_.wait(l, [this] {
      return coordinator_stop_ || requested_ || stress_requested_;
    });
    if (coordinator_stop_) return;
    if (stress_requested_ && !requested_) {
      stress_requested_ = false;
      l.unlock();
      RunCycle(GcReason::kStress);
      l.lock();
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
    l.unlock();
    RunCycle(GcReason::kHeapTrigger, seen);
    if (hook) hook();
    l.lock();
  }
}

void Collector::RunCycle(GcReason why, uint32_t seen_cycles) {
  std::lock_guard<std::mutex> cycle(cycle_mu_);
  if (why == GcReason::kHeapTrigger &&
      (cycles() != seen_cycles || !ShouldTrigger())) {
    return;  // someone else already collected
  }
  uint64_t t_start = MonoNs();
  cycle_goal_.store(pacer_.goal(), std::memory_order_relaxed);
  FinishSweep();  // most of it concurrently, before stopping anyone
  if (opts_.concurrent) {
    RunCycleConcurrent(why, t_start);
  } else {
    RunCycleStw(why, t_start);
  }
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

void Collector::RunCycleStw(GcReason why, uint64_t t_start) {
  uint64_t t_stw = MonoNs();  // pauses include the wait for safepoints
  uint64_t h0 = SweepTermination();

  phase_.store(GcPhase::kMark, std::memory_order_release);
  uint64_t t_mark = MonoNs();
  uint64_t cpu0 = ThreadCpuNs();
  uint64_t wcpu0 = worker_cpu_ns_.load(std::memory_order_relaxed);
  for (Marker* m : worker_markers_) m->ResetCounters();
  Marker self(heap_, &pool_);  // the world is stopped: no barrier check
  CollectorEnv::RootBytes rb = env_->MarkRoots(self);
  MarkParallel(self);
  uint64_t mark_cpu = ThreadCpuNs() - cpu0 +
                      worker_cpu_ns_.load(std::memory_order_relaxed) - wcpu0;

  phase_.store(GcPhase::kMarkTermination, std::memory_order_release);
  uint64_t t_term = MonoNs();
  if (opts_.checkmark) Checkmark();
  uint64_t marked = self.marked_bytes();
  for (Marker* m : worker_markers_) marked += m->marked_bytes();
  CycleRecord r;
  r.why = why;
  r.t_start = t_start;
  r.pause = t_term - t_stw;
  r.t_mark = t_mark;
  r.t_term = t_term;
  r.h0 = h0;
  r.h1 = heap_->heap_live().load(std::memory_order_relaxed);
  r.marked = r.pace_marked = marked;
  r.rb = rb;
  r.mark_cpu = mark_cpu;
  FinishCycle(r);
}

void Collector::RunCycleConcurrent(GcReason why, uint64_t t_start) {
  // 1. Sweep termination, with the world stopped: hand back the cached
  // spans, finish sweeping, turn the barrier on, grey every root. Stacks
  // are scanned here, once: the write barrier keeps them valid after.
  uint64_t t_stw = MonoNs();
  uint64_t h0 = SweepTermination();
  mark_h0_.store(static_cast<int64_t>(h0), std::memory_order_relaxed);
  // Assists: the scan work expected (the last cycle's marked heap), to be
  // done by the mark's soft goal (see Assist).
  scan_expected_.store(
      static_cast<int64_t>(std::max<uint64_t>(pacer_.marked(), 1 << 20)),
      std::memory_order_relaxed);
  scan_done_.store(0, std::memory_order_relaxed);
  bg_credit_.store(0, std::memory_order_relaxed);
  const Pacer::MarkGoals mg = pacer_.ForMark(h0);
  assist_goal_.store(mg.soft, std::memory_order_relaxed);
  assist_hard_goal_.store(mg.hard, std::memory_order_relaxed);
  for (Marker* m : worker_markers_) m->ResetCounters();
  marking_.store(true, std::memory_order_seq_cst);
  // Allocate black: every span an mcache takes from now on has its free
  // slots marked (the mcaches are empty: SweepTermination emptied them).
  heap_->SetAllocateBlack(true);
  phase_.store(GcPhase::kMark, std::memory_order_release);
  if (barrier_check_ != nullptr) barrier_check_->Reset();
  std::unique_ptr<Marker> self_marker = NewMarker();
  Marker& self = *self_marker;
  CollectorEnv::RootBytes rb = env_->MarkRoots(self);
  self.work().Flush();
  uint64_t t_mark = MonoNs();
  const int held_at_mark = env_->HeldPs();
  // The mark's CPU counts from here: assists start with the world.
  const uint64_t wcpu0 = worker_cpu_ns_.load(std::memory_order_relaxed);
  const uint64_t acpu0 = assist_cpu_ns_.load(std::memory_order_relaxed);
  const uint64_t icpu0 = idle_cpu_ns_.load(std::memory_order_relaxed);
  env_->StartTheWorld();
  uint64_t pause = t_mark - t_stw;
  if (mark_hook_) mark_hook_();

  // 2. Concurrent mark: background workers at 25% of the Ps (fractional
  // when that is not a whole number of threads), plus assists.
  double share = Pacer::kBackgroundUtilization * env_->procs();
  int nbg = std::max(1, static_cast<int>(share + 0.5));
  double u = std::min(1.0, share / nbg);
  uint64_t t_term;
  for (int round = 0, restarts = 0;; round++) {
    // With no worker threads, the collecting thread marks.
    RunMarkers(nbg, u, workers_.empty() ? &self : nullptr,
               opts_.idle_mark ? static_cast<int>(workers_.size()) : 0);
    if (round == 0 && why == GcReason::kStress) HoldMark();
    // 3. Mark termination. First a ragged flush: every P hands its
    // barrier buffer and grey objects to the pool at its next safepoint,
    // with nobody stopped. If that produced work, mark it concurrently and
    // flush again (each round finds less: the barrier shades only what the
    // program touched meanwhile).
    env_->RaggedFlush();
    if ((pool_.HasFull() ||
         assists_active_.load(std::memory_order_acquire) > 0) &&
        round < kMaxRaggedRounds) {
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
    if (!pool_.HasFull()) break;
    if (restarts >= kMaxTerminationRestarts || round >= kMaxRaggedRounds) {
      MarkParallel(self);
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
  uint64_t mark_cpu = worker_cpu_ns_.load(std::memory_order_relaxed) - wcpu0;
  uint64_t assist_cpu = assist_cpu_ns_.load(std::memory_order_relaxed) - acpu0;
  uint64_t idle_cpu = idle_cpu_ns_.load(std::memory_order_relaxed) - icpu0;
  // Objects allocated black count as marked: everything the heap grew by
  // while marking ran.
  uint64_t h1 = heap_->heap_live().load(std::memory_order_relaxed);
  uint64_t marked = self.marked_bytes();
  for (Marker* m : worker_markers_) marked += m->marked_bytes();
  marked += env_->PMarkedBytes();
  const uint64_t scanned = marked;  // greyed and scanned, not allocated black
  if (h1 > h0) marked += h1 - h0;
  // The pacer's cons/mark: the program's allocation per CPU-second of its
  // own (its Ps' wall time during the mark, less assists) over the
  // collector's scanning per CPU-second.
  {
    uint64_t mark_wall = t_term > t_mark ? t_term - t_mark : 1;
    uint64_t held = static_cast<uint64_t>(std::max(held_at_mark, 1));
    uint64_t mutator_cpu = mark_wall * held;
    mutator_cpu = mutator_cpu > assist_cpu + mark_wall / 10
                      ? mutator_cpu - assist_cpu
                      : mark_wall / 10;
    pacer_.ObserveMark(h1 > h0 ? h1 - h0 : 0, scanned, mutator_cpu,
                       mark_cpu + assist_cpu + idle_cpu);
  }
  CycleRecord r;
  r.why = why;
  r.t_start = t_start;
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
  r.rb = rb;
  r.mark_cpu = mark_cpu;
  r.assist_cpu = assist_cpu;
  r.idle_cpu = idle_cpu;
  FinishCycle(r);
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
  check.EnableCheckmark(&visited);
  env_->MarkRoots(check);
  check.SetReferrer(0);
  check.Drain(SIZE_MAX);
}

void Collector::FinishCycle(const CycleRecord& r) {
  const GcReason why = r.why;
  const uint64_t t_start = r.t_start, t_mark = r.t_mark, t_term = r.t_term;
  const uint64_t marked = r.marked;
  const uint64_t mark_cpu = r.mark_cpu, assist_cpu = r.assist_cpu,
                 idle_cpu = r.idle_cpu;
  uint64_t pause = r.pause;
  heap_->heap_live().store(static_cast<int64_t>(marked),
                           std::memory_order_relaxed);
  pacer_.Commit(r.pace_marked, r.rb.stacks + r.rb.globals);
  uint64_t goal = pacer_.goal();
  heap_->SetScavengeGoal(goal == UINT64_MAX ? 0 : goal + goal / 10);
  heap_->BeginSweepCycle();
  phase_.store(GcPhase::kOff, std::memory_order_release);
  uint64_t t_end = MonoNs();
  pause += t_end - t_term;  // the world restarts just below
  int procs = env_->procs();
  {
    std::lock_guard<std::mutex> l(stats_mu_);
    uint32_t i = stats_.num_gc % 256;
    stats_.pause_ns[i] = pause;
    stats_.last_gc = UnixNs();
    stats_.pause_end[i] = stats_.last_gc;
    stats_.pause_total_ns += pause;
    stats_.num_gc++;
    if (why == GcReason::kForced) stats_.num_forced_gc++;
    stats_.next_gc = goal;
    stats_.last_marked = marked;
    uint64_t stw_cpu =
        opts_.concurrent ? pause * procs : (pause - (t_term - t_mark)) * procs;
    stats_.gc_cpu_ns += stw_cpu + mark_cpu + assist_cpu + idle_cpu;
    // The limiter counts the collector's CPU since its last update against
    // the Ps' time; idle-time marking used CPU no one else wanted.
    if (limiter_.Update(stw_cpu + mark_cpu + assist_cpu,
                        (t_end - limiter_last_ns_) * procs)) {
      stats_.cpu_limited_cycles++;
    }
    limiter_last_ns_ = t_end;
    stats_.assist_cpu_ns += assist_cpu;
    stats_.background_cpu_ns += mark_cpu;
    stats_.idle_cpu_ns += idle_cpu;
  }
  cycles_.fetch_add(1, std::memory_order_release);
  env_->StartTheWorld();
  if (opts_.gctrace) {
    GcTraceLine line;
    {
      std::lock_guard<std::mutex> l(stats_mu_);
      line.num_gc = stats_.num_gc;
      uint64_t wall = t_end - start_ns_;
      line.cpu_percent =
          wall == 0 ? 0
                    : static_cast<int>(stats_.gc_cpu_ns * 100 /
                                       (wall * static_cast<uint64_t>(procs)));
    }
    line.since_start_ns = t_start - start_ns_;
    line.sweep_term_ns = pause - (t_end - t_term);
    if (!opts_.concurrent) line.sweep_term_ns -= t_term - t_mark;
    line.mark_ns = t_term - t_mark;
    line.mark_term_ns = t_end - t_term;
    line.sweep_term_cpu_ns = line.sweep_term_ns * procs;
    line.assist_cpu_ns = assist_cpu;
    line.background_cpu_ns = mark_cpu;
    line.idle_cpu_ns = idle_cpu;
    line.mark_term_cpu_ns = line.mark_term_ns * procs;
    line.heap0 = r.h0;
    line.heap1 = r.h1;
    line.heap2 = marked;
    line.overshoot = marked - r.pace_marked;
    line.limited = limiter_.limiting();
    uint64_t cycle_goal = cycle_goal_.load(std::memory_order_relaxed);
    line.goal = cycle_goal == UINT64_MAX ? 0 : cycle_goal;
    line.stacks = r.rb.stacks;
    line.globals = r.rb.globals;
    line.procs = procs;
    line.forced = why == GcReason::kForced;
    char buf[512];
    size_t n = FormatGcTrace(line, buf, sizeof(buf));
    FILE* out = opts_.trace_out != nullptr ? opts_.trace_out : stderr;
    fwrite(buf, 1, n, out);
    fflush(out);
  }
}

GcStats Collector::ReadStats() {
  std::lock_guard<std::mutex> l(stats_mu_);
  GcStats s = stats_;
  s.next_gc = pacer_.goal();  // follows SetGCPercent at once
  return s;
}

}  // namespace gcheap::internal
