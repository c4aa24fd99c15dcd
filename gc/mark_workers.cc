// Mark workers and the marking loop. See gc/mark_workers.h.
#include "gc/mark_workers.h"

#include <stdio.h>

#include <algorithm>
#include <chrono>

#include "base/clock.h"
#include "base/cpus.h"
#include "base/spinlock.h"
#include "gc/gc.h"

namespace gcheap::internal {

MarkWorkers::MarkWorkers(
    WorkPool* pool, CollectorEnv* env, Assists* assists, const Options& opts,
    const std::function<std::unique_ptr<Marker>()>& new_marker)
    : pool_(pool),
      env_(env),
      assists_(assists),
      opts_(opts),
      ncpu_(NumCpus()),
      nmarkers_(opts.workers + 1) {
  for (int i = 0; i < opts.workers; i++) markers_.push_back(new_marker());
  // The threads start with the first cycle (RestartAfterFork): a program
  // that never collects never starts them.
  threads_.resize(static_cast<size_t>(opts.workers));
  MutexLock l(&mu_);
  lost_ = opts.workers > 0;
}

MarkWorkers::~MarkWorkers() {
  {
    MutexLock l(&mu_);
    shutdown_ = true;
  }
  cv_.SignalAll();
  for (auto& t : threads_) {
    if (t.joinable()) t.join();  // not after a fork that left them behind
  }
}

void MarkWorkers::ForkChild() {
  cv_.ResetAfterFork();
  for (auto& t : threads_) {
    if (ForgetThreadAfterFork(&t)) lost_ = true;
  }
  mu_.UnlockForFork();
}

void MarkWorkers::RestartAfterFork() {
  uint64_t seen;
  {
    MutexLock l(&mu_);
    if (!lost_) return;
    lost_ = false;
    seen = epoch_;  // the phases before the fork are over
  }
  for (int i = 0; i < opts_.workers; i++) {
    threads_[i] = std::thread([this, i, seen] { Main(i, seen); });
    char name[32];  // (the OS keeps 15 characters: up to "gcheap mark 99")
    snprintf(name, sizeof name, "gcheap mark %d", i);
    NameThread(&threads_[i], name);
  }
}

void MarkWorkers::ResetCounters() {
  for (auto& m : markers_) m->ResetCounters();
}

uint64_t MarkWorkers::MarkedBytes() const {
  uint64_t n = 0;
  for (const auto& m : markers_) n += m->marked_bytes();
  return n;
}

bool MarkWorkers::CpuIdle() const {
  return env_->HeldPs() + active_.load(std::memory_order_relaxed) <= ncpu_;
}

void MarkWorkers::Main(int id, uint64_t seen) {
  MutexLock l(&mu_);
  while (true) {
    while (!shutdown_ && epoch_ == seen) cv_.Wait(&mu_);
    if (shutdown_) return;
    seen = epoch_;
    if (id >= participants_ + idle_participants_) continue;  // not needed
    const bool idle = id >= participants_;
    const double u = idle ? 1.0 : utilization_;
    mu_.Unlock();
    uint64_t cpu0 = ThreadCpuNs();
    const uint64_t t0 = opts_.events != nullptr ? MonoNs() : 0;
    active_.fetch_add(1, std::memory_order_relaxed);
    uint64_t extra = MarkLoop(*markers_[id], u, idle);
    active_.fetch_sub(1, std::memory_order_relaxed);
    if (opts_.events != nullptr) {
      char name[40];
      snprintf(name, sizeof name, "gcheap mark worker %d", id + 1);
      opts_.events->NameThread(name);
      opts_.events->Complete(idle        ? "mark (idle)"
                             : u < 0.999 ? "mark (fractional)"
                                         : "mark (dedicated)",
                             t0, MonoNs());
    }
    // An idle worker's CPU is all idle-time marking; a fractional worker's
    // is where it marked instead of sleeping.
    uint64_t cpu = ThreadCpuNs() - cpu0;
    extra = idle ? cpu : std::min(extra, cpu);
    background_cpu_ns_.fetch_add(cpu - extra, std::memory_order_relaxed);
    idle_cpu_ns_.fetch_add(extra, std::memory_order_relaxed);
    mu_.Lock();
    if (--running_ == 0) cv_.SignalAll();
  }
}

uint64_t MarkWorkers::MarkLoop(Marker& m, double utilization, bool idle) {
  // The duty cycle is kept in CPU time, not in wall time: on a machine
  // where every CPU runs a mutator the OS shares the CPUs among more
  // threads than there are, and a worker that slept in proportion to its
  // wall time would get a fraction of its share (a quarter of 2 Ps came
  // to about a tenth of the CPU, and assists did the rest of the marking
  // at about twice the cost).
  const bool paced = utilization < 0.999;
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
    while (m.Drain(64) >= 64) {
      if (idle && (++n & 15) == 0 && !CpuIdle()) return leave();
      // Share work when other markers or assists are idle and the pool is
      // dry.
      if ((idle_.load(std::memory_order_relaxed) > 0 ||
           assists_->waiting() > 0) &&
          !pool_->HasFull()) {
        m.work().Balance();
      }
      if (opts_.concurrent) {
        // Scanned bytes become credit that assists can claim.
        assists_->AddBackgroundWork(m.scanned_bytes());
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
            active_.fetch_sub(1, std::memory_order_relaxed);
            std::this_thread::sleep_for(std::chrono::nanoseconds(sleep_ns));
            active_.fetch_add(1, std::memory_order_relaxed);
          }
          slice_start = MonoNs();
        }
      }
    }
    // Out of work: wait until some appears or every marker is idle.
    idle_.fetch_add(1, std::memory_order_acq_rel);
    for (int spins = 0;; spins++) {
      if (pool_->HasFull()) {
        idle_.fetch_sub(1, std::memory_order_acq_rel);
        break;
      }
      if (idle_.load(std::memory_order_acquire) ==
              nmarkers_.load(std::memory_order_acquire) &&
          assists_->active() == 0 && !pool_->HasFull()) {
        return extra_ns;
      }
      SpinPause(spins);
    }
  }
}

void MarkWorkers::Run(int participants, double utilization, Marker* self,
                      int idle) {
  const int nworkers = size();
  participants = std::min(participants, nworkers);
  idle = std::clamp(idle, 0, nworkers - participants);
  idle_.store(0, std::memory_order_relaxed);
  nmarkers_.store(participants + idle + (self != nullptr ? 1 : 0),
                  std::memory_order_relaxed);
  if (participants + idle > 0) {
    MutexLock l(&mu_);
    participants_ = participants;
    idle_participants_ = idle;
    utilization_ = utilization;
    running_ = participants + idle;
    epoch_++;
  }
  cv_.SignalAll();
  if (self != nullptr) {
    // The calling thread's marking is background marking too.
    uint64_t cpu0 = ThreadCpuNs();
    MarkLoop(*self, 1.0);
    background_cpu_ns_.fetch_add(ThreadCpuNs() - cpu0,
                                 std::memory_order_relaxed);
  }
  MutexLock l(&mu_);
  while (running_ != 0) cv_.Wait(&mu_);
}

}  // namespace gcheap::internal
