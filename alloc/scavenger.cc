#include "alloc/scavenger.h"

#include <chrono>

#include "alloc/mheap.h"

namespace gcheap::internal {

Scavenger::Scavenger(MHeap* heap, double cpu_fraction)
    : heap_(heap),
      fraction_(cpu_fraction > 0 && cpu_fraction <= 1 ? cpu_fraction : 0.01) {}

Scavenger::~Scavenger() { Stop(); }

void Scavenger::Start() {
  thread_ = std::thread([this] { Loop(); });
  NameThread(&thread_, "gcheap scav");
}

void Scavenger::Stop() {
  {
    MutexLock l(&mu_);
    stop_ = true;
  }
  cv_.SignalAll();
  if (thread_.joinable()) thread_.join();
}

void Scavenger::Wake() {
  {
    MutexLock l(&mu_);
    woken_ = true;
  }
  cv_.SignalAll();
}

void Scavenger::ForkChild() {
  cv_.ResetAfterFork();
  if (ForgetThreadAfterFork(&thread_)) lost_ = true;
  mu_.UnlockForFork();
}

void Scavenger::RestartAfterFork() {
  {
    MutexLock l(&mu_);
    if (!lost_ || stop_) return;
    lost_ = false;
  }
  Start();
}

void Scavenger::Loop() {
  using Clock = std::chrono::steady_clock;
  std::chrono::nanoseconds sleep = std::chrono::milliseconds(50);
  while (true) {
    {
      MutexLock l(&mu_);
      if (!stop_ && !woken_) cv_.WaitFor(&mu_, sleep.count());
      if (stop_) return;
      woken_ = false;
    }
    auto t0 = Clock::now();
    size_t released = heap_->ScavengeStep(kStepBytes);
    auto work = Clock::now() - t0;
    if (released == 0) {
      sleep = std::chrono::milliseconds(50);
      continue;
    }
    released_.fetch_add(released, std::memory_order_relaxed);
    {
      MutexLock l(&mu_);
      if (hook_ != nullptr) {
        hook_(hook_arg_,
              static_cast<uint64_t>(
                  std::chrono::duration_cast<std::chrono::nanoseconds>(
                      t0.time_since_epoch())
                      .count()),
              static_cast<uint64_t>(
                  std::chrono::duration_cast<std::chrono::nanoseconds>(
                      (t0 + work).time_since_epoch())
                      .count()),
              released);
      }
    }
    work_ns_.fetch_add(
        std::chrono::duration_cast<std::chrono::nanoseconds>(work).count(),
        std::memory_order_relaxed);
    steps_.fetch_add(1, std::memory_order_relaxed);
    sleep = std::chrono::duration_cast<std::chrono::nanoseconds>(
        work * ((1 - fraction_) / fraction_));
    if (sleep < std::chrono::microseconds(100)) {
      sleep = std::chrono::microseconds(100);
    }
  }
}

}  // namespace gcheap::internal
