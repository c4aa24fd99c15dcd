// The cycle driver: phases, parallel marking, the background sweeper and
// destructors at sweep. See gc/gc.h for the map.
#include <sched.h>
#include <time.h>

#include <algorithm>

#include "base/check.h"
#include "gc/gc.h"
#include "gc/gctrace.h"
#include "gc/object.h"

namespace gcheap::internal {
namespace {

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
      pacer_(opts.gc_percent, opts.soft_memory_limit) {
  heap_->SetSweepHook(this);
  int workers = opts.mark_workers;
  if (workers < 0) {
    int cpus = static_cast<int>(std::thread::hardware_concurrency());
    workers = std::min(env_->procs(), std::max(cpus, 1)) - 1;
  }
  nmarkers_ = workers + 1;
  for (int i = 0; i < workers; i++) {
    worker_markers_.push_back(new Marker(heap_, &pool_));
  }
  for (int i = 0; i < workers; i++) {
    workers_.emplace_back([this, i] { WorkerMain(i); });
  }
  sweeper_ = std::thread([this] { SweeperMain(); });
  std::lock_guard<std::mutex> l(stats_mu_);
  stats_.next_gc = pacer_.goal();
}

Collector::~Collector() {
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
    l.unlock();
    uint64_t cpu0 = ThreadCpuNs();
    Marker& m = *worker_markers_[id];
    MarkLoop(m);
    worker_cpu_ns_.fetch_add(ThreadCpuNs() - cpu0, std::memory_order_relaxed);
    l.lock();
    if (--workers_running_ == 0) work_cv_.notify_all();
  }
}

void Collector::MarkLoop(Marker& m) {
  int n = 0;
  while (true) {
    for (uintptr_t obj; (obj = m.Next()) != 0;) {
      m.Scan(obj);
      // Share work when others are idle and the pool is dry.
      if ((++n & 63) == 0 && idle_.load(std::memory_order_relaxed) > 0 &&
          !pool_.HasFull()) {
        m.work().Balance();
      }
    }
    // Out of work: wait until some appears or every marker is idle.
    idle_.fetch_add(1, std::memory_order_acq_rel);
    for (int spins = 0;; spins++) {
      if (pool_.HasFull()) {
        idle_.fetch_sub(1, std::memory_order_acq_rel);
        break;
      }
      if (idle_.load(std::memory_order_acquire) == nmarkers_ &&
          !pool_.HasFull()) {
        return;
      }
      if (spins < 50) {
#if defined(__x86_64__) || defined(__i386__)
        __builtin_ia32_pause();
#endif
      } else {
        sched_yield();
      }
    }
  }
}

void Collector::MarkParallel(Marker& self) {
  self.work().Flush();  // publish the roots so every marker can start
  idle_.store(0, std::memory_order_relaxed);
  if (!workers_.empty()) {
    std::lock_guard<std::mutex> l(work_mu_);
    for (Marker* m : worker_markers_) m->ResetCounters();
    workers_running_ = static_cast<int>(workers_.size());
    mark_epoch_++;
  }
  work_cv_.notify_all();
  MarkLoop(self);
  std::unique_lock<std::mutex> l(work_mu_);
  work_cv_.wait(l, [this] { return workers_running_ == 0; });
}

void Collector::RunCycle(GcReason why, uint32_t seen_cycles) {
  std::lock_guard<std::mutex> cycle(cycle_mu_);
  if (why == GcReason::kHeapTrigger &&
      (cycles() != seen_cycles || !ShouldTrigger())) {
    return;  // someone else already collected
  }
  uint64_t t_start = MonoNs();
  FinishSweep();              // most of it concurrently, before stopping anyone
  uint64_t t_stw = MonoNs();  // pauses include the wait for safepoints
  env_->StopTheWorld();
  phase_.store(GcPhase::kSweepTermination, std::memory_order_release);
  env_->ForEachMCache([](MCache* c) { c->ReleaseAll(); });
  env_->OnSweepTermination();
  heap_->SweepAll();
  uint64_t h0 = heap_->heap_live().load(std::memory_order_relaxed);

  phase_.store(GcPhase::kMark, std::memory_order_release);
  uint64_t t_mark = MonoNs();
  uint64_t cpu0 = ThreadCpuNs();
  uint64_t wcpu0 = worker_cpu_ns_.load(std::memory_order_relaxed);
  Marker self(heap_, &pool_);
  CollectorEnv::RootBytes rb = env_->MarkRoots(self);
  MarkParallel(self);
  uint64_t mark_cpu = ThreadCpuNs() - cpu0 +
                      worker_cpu_ns_.load(std::memory_order_relaxed) - wcpu0;

  phase_.store(GcPhase::kMarkTermination, std::memory_order_release);
  uint64_t t_term = MonoNs();
  uint64_t marked = self.marked_bytes();
  for (Marker* m : worker_markers_) marked += m->marked_bytes();
  uint64_t h1 = heap_->heap_live().load(std::memory_order_relaxed);
  heap_->heap_live().store(static_cast<int64_t>(marked),
                           std::memory_order_relaxed);
  pacer_.Commit(marked, rb.stacks + rb.globals);
  uint64_t goal = pacer_.goal();
  heap_->SetScavengeGoal(goal == UINT64_MAX ? 0 : goal + goal / 10);
  heap_->BeginSweepCycle();
  phase_.store(GcPhase::kOff, std::memory_order_release);
  uint64_t t_end = MonoNs();
  int procs = env_->procs();
  {
    std::lock_guard<std::mutex> l(stats_mu_);
    uint64_t pause = t_end - t_stw;
    uint32_t i = stats_.num_gc % 256;
    stats_.pause_ns[i] = pause;
    stats_.last_gc = UnixNs();
    stats_.pause_end[i] = stats_.last_gc;
    stats_.pause_total_ns += pause;
    stats_.num_gc++;
    if (why == GcReason::kForced) stats_.num_forced_gc++;
    stats_.next_gc = goal;
    stats_.last_marked = marked;
    stats_.gc_cpu_ns +=
        (t_mark - t_stw) * procs + mark_cpu + (t_end - t_term) * procs;
  }
  cycles_.fetch_add(1, std::memory_order_release);
  env_->StartTheWorld();
  ResumeSweeper();
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
    line.sweep_term_ns = t_mark - t_stw;
    line.mark_ns = t_term - t_mark;
    line.mark_term_ns = t_end - t_term;
    line.sweep_term_cpu_ns = line.sweep_term_ns * procs;
    line.background_cpu_ns = mark_cpu;
    line.mark_term_cpu_ns = line.mark_term_ns * procs;
    line.heap0 = h0;
    line.heap1 = h1;
    line.heap2 = marked;
    line.goal = goal == UINT64_MAX ? 0 : goal;
    line.stacks = rb.stacks;
    line.globals = rb.globals;
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
