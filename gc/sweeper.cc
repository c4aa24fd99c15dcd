// The background sweeper and destructors at sweep. See gc/sweeper.h.
#include "gc/sweeper.h"

#include "base/check.h"
#include "base/clock.h"
#include "gc/object.h"

namespace gcheap::internal {

Sweeper::Sweeper(MHeap* heap) : heap_(heap) {
  heap_->SetSweepHook(this);
  // The thread starts with the first cycle (RestartAfterFork): before it
  // there is nothing to sweep.
  MutexLock l(&mu_);
  lost_ = true;
}

Sweeper::~Sweeper() {
  {
    MutexLock l(&mu_);
    shutdown_ = true;
  }
  cv_.SignalAll();
  if (thread_.joinable()) thread_.join();  // not after a fork left it behind
  heap_->SetSweepHook(nullptr);
}

void Sweeper::Pause() {
  MutexLock l(&mu_);
  paused_++;
  while (active_) cv_.Wait(&mu_);
}

void Sweeper::Resume() {
  {
    MutexLock l(&mu_);
    GCHEAP_CHECK(paused_ > 0, "sweeper resumed more than paused");
    paused_--;
    wake_ = true;
  }
  cv_.SignalAll();
}

void Sweeper::FinishSweep() {
  Pause();
  MutexLock l(&finish_mu_);
  heap_->SweepAll();
}

void Sweeper::Lock() {
  Pause();
  finish_mu_.Lock();
}

void Sweeper::Unlock() {
  finish_mu_.Unlock();
  Resume();
}

void Sweeper::ForkLockSweeping() {
  Pause();
  finish_mu_.LockForFork();
}

void Sweeper::ForkUnlockSweeping() {
  finish_mu_.UnlockForFork();
  Resume();
}

void Sweeper::ForkChild() {
  cv_.ResetAfterFork();
  // (Not running already if this process is itself a fork's child that
  // has not restarted it.)
  if (ForgetThreadAfterFork(&thread_)) lost_ = true;
  // The threads that paused it (a collection between its FinishSweep and
  // ResumeSweeper) are gone: only the fork's own pause is left.
  paused_ = 1;
  active_ = false;
  mu_.UnlockForFork();
}

void Sweeper::RestartAfterFork() {
  {
    MutexLock l(&mu_);
    if (!lost_) return;
    lost_ = false;
    wake_ = true;  // the sweep the parent left
  }
  thread_ = std::thread([this] { Main(); });
  NameThread(&thread_, "gcheap sweeper");
}

void Sweeper::Main() {
  MutexLock l(&mu_);
  while (true) {
    while (!shutdown_ && !(paused_ == 0 && wake_)) cv_.Wait(&mu_);
    if (shutdown_) return;
    wake_ = false;
    active_ = true;
    EventTrace* const ev = events_.load(std::memory_order_acquire);
    const uint64_t t0 = ev != nullptr ? MonoNs() : 0;
    size_t spans = 0;
    while (paused_ == 0 && !shutdown_) {
      mu_.Unlock();
      size_t swept = heap_->SweepOne();
      mu_.Lock();
      if (swept == 0) break;
      spans++;
    }
    active_ = false;
    if (ev != nullptr) {
      char args[40];
      snprintf(args, sizeof args, "\"spans\":%zu", spans);
      ev->NameThread("gcheap sweeper");
      ev->Complete("background sweep", t0, MonoNs(), args);
    }
    cv_.SignalAll();
  }
}

void Sweeper::BeforeSweep(MSpan* s) {
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

}  // namespace gcheap::internal
