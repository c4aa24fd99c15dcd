// Ps, attach/detach, safepoints and stop-the-world. See runtime/heap_impl.h.
#include <alloca.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "base/check.h"
#include "base/futex.h"
#include "base/spinlock.h"
#include "runtime/heap_impl.h"

namespace gcheap::internal {

constinit thread_local Mutator* tls_current = nullptr;

namespace {

uintptr_t StackBase() {
  pthread_attr_t attr;
  void* addr = nullptr;
  size_t size = 0;
  GCHEAP_CHECK(pthread_getattr_np(pthread_self(), &attr) == 0,
               "cannot read the thread's stack bounds");
  pthread_attr_getstack(&attr, &addr, &size);
  pthread_attr_destroy(&attr);
  return reinterpret_cast<uintptr_t>(addr) + size;
}

}  // namespace

Mutator* CurrentMutator() { return tls_current; }

extern "C" {
constinit thread_local WriteBuffer* gcheap_internal_held_wbuf = nullptr;
}

namespace {

// Zeroes `bytes` of stack below the caller's frame.
ABSL_ATTRIBUTE_NOINLINE void ClearStackBytes(size_t bytes) {
  void* p = alloca(bytes);
  memset(p, 0, bytes);
  asm volatile("" : : "r"(p) : "memory");  // keep the stores
}

}  // namespace

// Zeroes the stack just below the caller's frame, where the collection's
// own frames are about to go: stale pointers left there by earlier, deeper
// calls would otherwise look live to the conservative stack scan (the same
// trick as Boehm's GC_clear_stack).
ABSL_ATTRIBUTE_NOINLINE void ClearStackBelow() { ClearStackBytes(8 << 10); }

// A conservative stack scan reads every word of the program's frames,
// including slots a frame never wrote (padding, spill slots of paths not
// taken). Those hold whatever an earlier, deeper call left there. Once the
// program allocates at a shallower depth than any allocation slow path saw
// since the last clearing, the slow path zeroes the stack between (up to
// 64 KiB, as Boehm's GC_clear_stack does): frames pushed later start from
// zeros, so what they leave unwritten is no stale pointer. Slots inside
// frames that are live meanwhile cannot be cleared; only precise stacks
// avoid those. A program that calls no deeper than before pays a compare
// per slow path (binary-trees: 0.24% more instructions).
void ClearStaleStack(MutatorState* st, uintptr_t frame) {
  constexpr uintptr_t kMinBytes = 256;  // a few frames: not worth a call
  constexpr uintptr_t kMaxBytes = 64 << 10;
  if (frame < st->stack_low) {
    st->stack_low = frame;
    return;
  }
  const uintptr_t gap = frame - st->stack_low;
  if (gap < kMinBytes) return;
  ClearStackBytes(gap < kMaxBytes ? gap : kMaxBytes);
  st->stack_low = frame;
}

namespace {

ABSL_ATTRIBUTE_NOINLINE void CallBelowBoundary(MutatorState* st,
                                               absl::FunctionRef<void()> fn) {
  RuntimeFrames frames(st, __builtin_frame_address(0));
  fn();
}

}  // namespace

ABSL_ATTRIBUTE_NOINLINE void CallFromProgram(MutatorState* st,
                                             absl::FunctionRef<void()> fn) {
  if (st == nullptr) {
    fn();
    return;
  }
  __builtin_unwind_init();
  CallBelowBoundary(st, fn);
  asm volatile("" : : : "memory");  // not a tail call: this frame must stay
}

// Saves the callee-saved registers (which may hold the only copy of a
// pointer the caller's frames use) and the stack pointer: the collector
// scans both while the thread is stopped or blocked.
ABSL_ATTRIBUTE_NOINLINE void HeapImpl::SaveContext(MutatorState* st) {
#if defined(__x86_64__)
  asm volatile(
      "movq %%rbx, 0(%0)\n\t"
      "movq %%rbp, 8(%0)\n\t"
      "movq %%r12, 16(%0)\n\t"
      "movq %%r13, 24(%0)\n\t"
      "movq %%r14, 32(%0)\n\t"
      "movq %%r15, 40(%0)\n\t"
      :
      : "r"(st->saved_regs)
      : "memory");
#else
  __builtin_unwind_init();
#endif
  st->saved_sp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
}

Mutator& HeapImpl::Attach() {
  GCHEAP_CHECK(tls_current == nullptr,
               "this thread is already attached to a heap; detach it first");
  Mutator* m = new Mutator();
  auto* st = new MutatorState();
  st->heap = heap_;
  st->thread = pthread_self();
  st->tid = static_cast<int>(syscall(SYS_gettid));
  st->stack_hi = StackBase();
  m->heap_ = this;
  m->state_ = st;
  m->fast_.poll = reinterpret_cast<const bool*>(&poll_);
  m->fast_.marking = reinterpret_cast<const bool*>(collector_->marking_flag());
  m->fast_.mcache = no_p_cache_;
  st->safepoint_seq = &safepoint_seq_;
  {
    MutexLock l(&sched_mu_);
    mutators_.push_back(m);
  }
  tls_current = m;
  SetThreadBarrierFlag(collector_->marking_flag());
  AcquireP(*m);
  return *m;
}

void HeapImpl::Detach() {
  Mutator* m = tls_current;
  GCHEAP_CHECK(m != nullptr && m->heap_ == this,
               "DetachCurrentThread: this thread is not attached to this heap");
  MutatorState* st = m->state_;
  GCHEAP_CHECK(st->scope_depth == 0,
               "DetachCurrentThread with %zu HandleScope(s) still open",
               st->scope_depth);
  GCHEAP_CHECK(!st->blocking, "DetachCurrentThread inside a BlockingScope");
  ReleaseP(*m);
  {
    MutexLock l(&sched_mu_);
    for (size_t i = 0; i < mutators_.size(); i++) {
      if (mutators_[i] == m) {
        mutators_.erase(mutators_.begin() + i);
        break;
      }
    }
  }
  // Before the state goes: a stop signal sent before the thread left the
  // list may still arrive, and its handler must find no mutator here.
  tls_current = nullptr;
  std::atomic_signal_fence(std::memory_order_seq_cst);
  for (void** chunk : st->handle_chunks) delete[] chunk;
  delete st;
  delete m;
  SetThreadBarrierFlag(nullptr);
}

void HeapImpl::AcquireP(Mutator& m) {
  NoPreempt no_preempt;
  MutatorState* st = m.state_;
  P* got = nullptr;
  {
    MutexLock l(&sched_mu_);
    while (true) {
      if (!stop_requested_.load(std::memory_order_relaxed)) {
        if (st->last_p >= 0 && ps_[st->last_p].status == P::Status::kIdle) {
          got = &ps_[st->last_p];
        } else {
          for (P& p : ps_) {
            if (p.status == P::Status::kIdle) {
              got = &p;
              break;
            }
          }
        }
        if (got != nullptr) break;
      }
      p_cv_.Wait(&sched_mu_);
    }
    if (got->marker == nullptr) {  // first held: its marking state
      got->marker = collector_->NewMarker();
      got->wbuf = std::make_unique<WriteBuffer>();
    }
    got->status = P::Status::kRunning;
    held_ps_.fetch_add(1, std::memory_order_relaxed);
    got->owner = &m;
    st->p = got;
    st->last_p = got->id;
  }
  // The barrier check logs every barrier's slot: the barrier stub's own
  // append (which keeps values, not slots) is bypassed.
  gcheap_internal_held_wbuf = opts_.barrier_check ? nullptr : got->wbuf.get();
  // Under GC stress and mark stress the inline fast path sees an empty
  // cache, so every allocation takes the slow path, which counts it.
  m.fast_.mcache =
      opts_.gc_stress > 0 || opts_.mark_stress > 0 ? no_p_cache_ : got->mcache;
  got->mcache->PrepareForSweep();
}

void HeapImpl::ReleaseP(Mutator& m) {
  NoPreempt no_preempt;
  MutatorState* st = m.state_;
  SaveContext(st);
  MutexLock l(&sched_mu_);
  if (st->p == nullptr) return;
  // A flush asked of this P is done now, while this thread still owns it.
  if (st->p->flush_requested.load(std::memory_order_relaxed)) {
    FlushP(st->p);
    AckFlushLocked(st->p);
  }
  st->p->status = P::Status::kIdle;
  held_ps_.fetch_sub(1, std::memory_order_relaxed);
  st->p->owner = nullptr;
  st->p = nullptr;
  gcheap_internal_held_wbuf = nullptr;
  m.fast_.mcache = no_p_cache_;
  p_cv_.Signal();  // one idle P: one waiter can take it
  if (poll_.load(std::memory_order_relaxed)) WakeStopperLocked();
}

void HeapImpl::Park(Mutator& m) {
  MutatorState* st = m.state_;
  SaveContext(st);
  MutexLock l(&sched_mu_);
  if (!stop_requested_.load(std::memory_order_relaxed) || st->p == nullptr) {
    return;
  }
  st->p->status = P::Status::kParked;
  WakeStopperLocked();  // the stopper alone waits for a P to park
  while (stop_requested_.load(std::memory_order_relaxed)) {
    sched_cv_.Wait(&sched_mu_);
  }
  st->p->status = P::Status::kRunning;
}

bool HeapImpl::AnyRunningLocked() const {
  for (const P& p : ps_) {
    if (p.status == P::Status::kRunning) return true;
  }
  return false;
}

void HeapImpl::ReportSlowSafepoint(int waited_ms, bool flush) {
  for (const P& p : ps_) {
    if (p.status != P::Status::kRunning || p.owner == nullptr) continue;
    if (flush && !p.flush_requested.load(std::memory_order_relaxed)) continue;
    RawLog(
        "gcheap: %s has waited %d ms for thread %d (P %d) to "
        "reach a safepoint; call Mutator::Safepoint() in long loops and wrap "
        "blocking calls in a BlockingScope",
        flush ? "mark termination's flush" : "stop-the-world", waited_ms,
        p.owner->state_->tid, p.id);
  }
}

void HeapImpl::AckFlushLocked(P* p) {
  if (!p->flush_requested.exchange(false, std::memory_order_acq_rel)) return;
  if (--flush_pending_ == 0) {
    UpdatePollLocked();
    WakeStopperLocked();  // RaggedFlush's thread waits for this
  }
}

void HeapImpl::WakeStopperLocked() {
  safepoint_seq_.fetch_add(1, std::memory_order_release);
  FutexWakeAll(&safepoint_seq_);
}

ABSL_ATTRIBUTE_NOINLINE void HeapImpl::SafepointSlow(Mutator& m) {
  RuntimeFrames runtime(m.state_, __builtin_frame_address(0));
  P* p = m.state_->p;
  if (p != nullptr && p->flush_requested.load(std::memory_order_acquire)) {
    FlushP(p);  // the P's own buffers: no lock needed
    MutexLock l(&sched_mu_);
    AckFlushLocked(p);
  }
  if (stop_requested_.load(std::memory_order_relaxed)) Park(m);
}

void HeapImpl::RaggedFlush() {
  MutexLock l(&sched_mu_);
  // Not while someone else holds the world stopped (ReadMemStats): parked
  // Ps could not answer.
  while (world_stopped_) sched_cv_.Wait(&sched_mu_);
  int pending = 0;
  for (P& p : ps_) {
    if (p.status == P::Status::kRunning) {
      p.flush_requested.store(true, std::memory_order_release);
      pending++;
    } else {
      FlushP(&p);  // nobody holds it, and nobody can take it: we hold the lock
    }
  }
  flush_pending_ = pending;
  UpdatePollLocked();
  WaitForSafepointsLocked(/*flush=*/true);
  // Requests still in flight are withdrawn; the threads stopped for the
  // flush stay stopped until the stop, or ReleaseHeld. Unless another
  // thread stopped the world while the flush waited (ReadMemStats, a heap
  // walk: they do not wait for the mark): the threads its stop parked must
  // stay parked, and its StartTheWorld lets everyone go.
  if (!world_stopped_) ResumeSignaledLocked(/*keep_held=*/true);
}

void HeapImpl::ReleaseHeld() {
  MutexLock l(&sched_mu_);
  // Not those a stop has parked meanwhile (ReadMemStats, whose
  // StartTheWorld lets them go): parking ended their hold.
  for (Mutator* mu : mutators_) {
    MutatorState* st = mu->state_;
    if (!st->sig_held) continue;
    st->sig_held = false;
    WithdrawPreemptLocked(st);
  }
}

namespace {
constexpr std::chrono::microseconds kMaxStopSpin{50};
}  // namespace

void HeapImpl::WaitForSafepointsLocked(bool flush) {
  auto waiting = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(sched_mu_) {
    return flush ? flush_pending_ > 0 : AnyRunningLocked();
  };
  const int report = opts_.safepoint_report_ms;
  const bool signals = opts_.preempt_signal != 0;
  const auto start = std::chrono::steady_clock::now();
  const auto preempt_after = std::chrono::microseconds(opts_.preempt_after_us);
  int reported_ms = 0;
  std::vector<int> tids;
  while (true) {
    // Read before looking: a P that stops after this wakes the sleep below.
    const int seq = safepoint_seq_.load(std::memory_order_acquire);
    const auto waited = std::chrono::steady_clock::now() - start;
    // Threads that have not polled by now are stopped by a signal
    // (preempt.cc); asked again each round until they are.
    if (signals && waited >= preempt_after) {
      PreemptLocked(flush, &tids);
      if (!tids.empty()) {
        sched_mu_.Unlock();
        SendPreemptSignals(tids);
        tids.clear();
        sched_mu_.Lock();
        continue;
      }
    }
    if (!waiting()) break;
    // Up to preempt_after_us (50 us at most), the threads may reach a
    // safepoint by themselves, where they stop with nothing halfway: this
    // thread spins meanwhile. It keeps its CPU, so it needs no wake-up to
    // send the signals after, which on a machine with every CPU busy can
    // wait for the scheduler's next tick.
    // After the signals too, up to 50 us: a handler answers in a few
    // microseconds, and a thread that sleeps to wait may leave its CPU
    // idle and need a wake-up (tens of microseconds on a virtual machine)
    // to go on. It yields meanwhile, in case what it waits for needs this
    // CPU.
    if (waited < kMaxStopSpin) {
      const auto until = start + kMaxStopSpin;
      sched_mu_.Unlock();
      for (int i = 1; safepoint_seq_.load(std::memory_order_acquire) == seq &&
                      std::chrono::steady_clock::now() < until;
           i++) {
        SpinPause(0);
        if (i % 32 == 0) sched_yield();
      }
      sched_mu_.Lock();
      continue;
    }
    if (report > 0) {
      const int waited_ms = static_cast<int>(
          std::chrono::duration_cast<std::chrono::milliseconds>(waited)
              .count());
      if (waited_ms >= reported_ms + report) {
        reported_ms = waited_ms - waited_ms % report;
        ReportSlowSafepoint(reported_ms, flush);
      }
    }
    // Until a P stops, or it is time to signal again, or to report.
    int64_t timeout_ns = -1;
    if (signals) {
      timeout_ns =
          waited < preempt_after
              ? std::chrono::nanoseconds(preempt_after - waited).count()
              : PreemptResendNs();
    }
    if (report > 0) {
      const int64_t to_report =
          std::max<int64_t>(int64_t{reported_ms + report} * 1'000'000 -
                                std::chrono::nanoseconds(waited).count(),
                            1'000'000);
      timeout_ns = timeout_ns < 0 ? to_report : std::min(timeout_ns, to_report);
    }
    sched_mu_.Unlock();
    FutexWait(&safepoint_seq_, seq, timeout_ns);
    sched_mu_.Lock();
  }
}

void HeapImpl::StopTheWorld() {
  Mutator* self = tls_current;
  GCHEAP_CHECK(
      self == nullptr || self->heap_ != this || self->state_->p == nullptr,
      "StopTheWorld called by a thread holding a P");
  MutexLock l(&sched_mu_);
  while (world_stopped_) sched_cv_.Wait(&sched_mu_);
  world_stopped_ = true;
  stop_requested_.store(true, std::memory_order_seq_cst);
  UpdatePollLocked();
  // The threads a ragged flush holds are stopped already: their Ps park now.
  PreemptLocked(/*flush=*/false);
  WaitForSafepointsLocked(/*flush=*/false);
}

void HeapImpl::StartTheWorld() {
  MutexLock l(&sched_mu_);
  StartTheWorldLocked();
}

void HeapImpl::StartTheWorldLocked() {
  stop_requested_.store(false, std::memory_order_seq_cst);
  UpdatePollLocked();
  ResumeSignaledLocked();
  world_stopped_ = false;
  sched_cv_.SignalAll();
  p_cv_.SignalAll();
}

void HeapImpl::ForEachMCache(absl::FunctionRef<void(MCache*)> fn) {
  for (P& p : ps_) fn(p.mcache);
}

void HeapImpl::CheckRunning(const Mutator& m, const char* what) const {
  GCHEAP_CHECK(tls_current == &m,
               "%s: this Mutator belongs to another thread (each thread "
               "attaches itself with Heap::AttachCurrentThread)",
               what);
  GCHEAP_CHECK(m.state_->p != nullptr,
               "%s inside a BlockingScope: the thread has released its P and "
               "must not touch the heap",
               what);
}

void HeapImpl::CollectFrom(Mutator* m, GcReason why) {
  if (StepperImpl* st = stepper()) {
    GCHEAP_CHECK(m == nullptr || !StepperOwns(st, m),
                 "Collect: this thread's CycleStepper is running a cycle on "
                 "this heap; finish it (CycleStepper::Finish) first");
  }
  if (m != nullptr) ClearStackBelow();
  if (m != nullptr) ReleaseP(*m);
  collector_->RunCycle(why);
  if (why == GcReason::kForced) {
    // Like runtime.GC: the caller sees the cycle's frees, so finish
    // sweeping before returning.
    collector_->FinishSweep();
    collector_->ResumeSweeper();
  }
  if (m != nullptr) AcquireP(*m);
}

void HeapImpl::StressTick(Mutator& m) {
  if (opts_.mark_stress > 0) {
    collector_->CountAllocation();
    if (++m.state_->mark_stress_count % opts_.mark_stress == 0 &&
        !collector_->marking()) {
      // Wait for the mark to begin, so every mark_stress allocations do
      // start one however the threads are scheduled.
      uint32_t seen = collector_->cycles();
      collector_->RequestStressCycle();
      WaitForMarkStart(m, seen);
    }
  }
  if (opts_.gc_stress <= 0) return;
  if (++m.state_->stress_count % opts_.gc_stress == 0) {
    CollectFrom(&m, GcReason::kForced);
  }
}

void HeapImpl::WaitForMarkStart(Mutator& m, uint32_t seen) {
  if (collector_->marking()) return;
  ClearStackBelow();
  ReleaseP(m);
  // At most 100 ms by the clock (a 20 us sleep takes longer than that).
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
  while (!collector_->marking() && collector_->cycles() == seen &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
  AcquireP(m);
}

void HeapImpl::MaybeTrigger(Mutator& m) {
  if (!collector_->ShouldTrigger()) return;
  uint32_t seen = collector_->cycles();
  if (collector_->concurrent() && !collector_->SmallCycle()) {
    // Past the trigger while marking: that cycle is the one this heap
    // needs (a request now would name it, and be dropped when it ends).
    if (collector_->marking()) return;
    // This thread starts the cycle (its first stop, without its P), and
    // the collector's thread marks; this thread goes on, paying assists.
    ClearStackBelow();
    ReleaseP(m);
    const bool started = collector_->StartCycleHere(seen);
    AcquireP(m);
    if (started) return;
    // The cycle lock was busy: the collector's thread runs the cycle.
    collector_->RequestCycle(seen);
    // But not past the goal before marking has even begun (the collector's
    // thread may not have been scheduled yet): wait for it, without the P,
    // as Go's allocating goroutine starts the cycle itself.
    if (mheap_->heap_live().load(std::memory_order_relaxed) >=
        static_cast<int64_t>(collector_->pacer().goal())) {
      WaitForMarkStart(m, seen);
    }
    return;
  }
  ClearStackBelow();
  ReleaseP(m);
  collector_->RunCycle(GcReason::kHeapTrigger, seen);
  AcquireP(m);
}

}  // namespace gcheap::internal

namespace gcheap {

// The entry from the inline Safepoint(), as Mutator::AllocateSlow is for
// allocation (RuntimeFrames in runtime/heap_impl.h).
void Mutator::ShadeSlow(const void* p) {
  internal::NoPreempt no_preempt;
  heap_->collector().Shade(p);
}

ABSL_ATTRIBUTE_NOINLINE void Mutator::SafepointSlow() {
  __builtin_unwind_init();
  heap_->SafepointSlow(*this);
  asm volatile("" : : : "memory");  // not a tail call
}

BlockingScope::BlockingScope(Mutator& m) : m_(m) {
  m_.heap_->CheckRunning(m_, "BlockingScope");
  m_.heap_->ReleaseP(m_);
  m_.state_->blocking = true;
}

BlockingScope::~BlockingScope() {
  m_.state_->blocking = false;
  m_.heap_->AcquireP(m_);
}

}  // namespace gcheap
