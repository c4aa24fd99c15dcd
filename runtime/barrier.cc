// The write barrier's slow path, allocation black and mark assists: what a
// mutator does for the collector while marking runs concurrently. See
// include/gcheap/ref.h and gc/gc.h.
#include <stdio.h>

#include <chrono>
#if defined(__x86_64__)
#include <cpuid.h>
#endif
#include <thread>

#include "base/check.h"
#include "base/clock.h"
#include "gc/object.h"
#include "gcheap/ref.h"
#include "runtime/heap_impl.h"

namespace gcheap::internal {
namespace {
constexpr bool kBarrierOff = false;
// The collector's flags are atomic<bool>s; the inline paths read them as
// bools, with atomic loads.
static_assert(sizeof(std::atomic<bool>) == sizeof(bool) &&
              std::atomic<bool>::is_always_lock_free);
}  // namespace
}  // namespace gcheap::internal

// The inline barrier's flag (gcheap/internal/fast_path.h): the flag of the
// heap the thread is attached to, a flag that is always false otherwise.
constinit thread_local const bool* gch_internal_tls_write_barrier =
    &gcheap::internal::kBarrierOff;
// Set by the inline barrier around its test and store (fast_path.h).
constinit thread_local uint8_t gch_internal_tls_in_barrier = 0;

namespace gcheap::internal {

void SetThreadBarrierFlag(const std::atomic<bool>* flag) {
  gch_internal_tls_write_barrier =
      flag != nullptr ? reinterpret_cast<const bool*>(flag) : &kBarrierOff;
}

namespace {

// Moves the P's buffered values into its marker (greying them).
void FlushWbuf(P* p) {
  p->marker->GreyBatch(p->wbuf->data, p->wbuf->n);
  p->wbuf->n = 0;
}

void Buffer(P* p, uintptr_t v) {
  if (v < kMinHeapAddress) return;  // null and small tagged integers
  if (p->wbuf->n == WriteBuffer::kEntries) FlushWbuf(p);
  p->wbuf->data[p->wbuf->n++] = v;
}

P* RunningP(Mutator* m, const char* what) {
  GCHEAP_CHECK(m != nullptr,
               "%s from a thread that is not attached to the heap", what);
  P* p = HeapImpl::HeldP(*m);
  GCHEAP_CHECK(p != nullptr,
               "%s inside a BlockingScope: the thread must not touch the heap",
               what);
  return p;
}

}  // namespace

void HeapImpl::FlushP(P* p) {
  if (p->marker == nullptr) return;  // never held: nothing buffered
  FlushWbuf(p);
  p->marker->work().Flush();
}

void HeapImpl::FlushPWork() {
  for (P& p : ps_) FlushP(&p);
}

uint64_t HeapImpl::PMarkedBytes() {
  uint64_t n = 0;
  for (P& p : ps_) {
    if (p.marker == nullptr) continue;  // never held
    n += p.marker->marked_bytes();
    p.marker->ResetCounters();
    p.assist_debt = 0;
  }
  return n;
}

void HeapImpl::AssistAlloc(Mutator& m, size_t bytes) {
  P* p = HeldP(m);
  FlushWbuf(p);  // shaded values become grey objects the assist can scan
  collector_->Assist(*p->marker, &p->assist_debt, bytes);
  // Still in debt with the heap past its goal, and no grey object to pay
  // with (the mark is down to a few long chains): wait for the background
  // workers to earn credit, as Go's assists queue, so the heap does not
  // run away from a slow mark. Safepoints are polled meanwhile; the wait
  // is bounded (10 ms by the clock).
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(10);
  // (Past the goal the GC CPU limiter does not excuse assists either.)
  while (p->assist_debt > 0 && collector_->marking() &&
         mheap_->heap_live().load(std::memory_order_relaxed) >
             static_cast<int64_t>(collector_->pacer().goal()) &&
         std::chrono::steady_clock::now() < deadline) {
    // Without the P meanwhile: a stop does not wait for a sleeping thread.
    ReleaseP(m);
    std::this_thread::sleep_for(std::chrono::microseconds(20));
    AcquireP(m);
    p = HeldP(m);
    collector_->Assist(*p->marker, &p->assist_debt, 0);
  }
}

}  // namespace gcheap::internal

void gch_internal_write_barrier_slow(void** slot, const void* value) {
  using namespace gcheap;
  using namespace gcheap::internal;
  NoPreempt no_preempt;
  Mutator* m = CurrentMutator();
  P* p = RunningP(m, "a write barrier");
  if (BarrierCheck* bc = HeapImpl::ImplOf(*m)->collector().barrier_check()) {
    bc->Barriered(reinterpret_cast<uintptr_t>(slot));
  }
  if (StepperImpl* st = HeapImpl::ImplOf(*m)->stepper()) {
    StepperLogStore(st, m, slot, value);
  }
  if (p->wbuf->n + 2 > WriteBuffer::kEntries) {
    if (EventTrace* ev = HeapImpl::ImplOf(*m)->collector().events()) {
      const uint64_t t0 = MonoNs();
      char args[48];
      snprintf(args, sizeof args, "\"entries\":%d",
               static_cast<int>(p->wbuf->n));
      FlushWbuf(p);
      ev->NameThreadFromSystem("mutator");
      ev->Complete("barrier buffer flush", t0, MonoNs(), args);
    }
  }
  Buffer(p, reinterpret_cast<uintptr_t>(*slot));  // the value overwritten
  Buffer(p, reinterpret_cast<uintptr_t>(value));  // the value stored
}

// What the register-preserving entry (barrier_stub_x86_64.S) uses when its
// own append cannot be done. Hidden: the stub, in this library, reaches
// them directly.
extern "C" {

// Whether the stub may save the extended state with XSAVE: the OS has
// enabled it (CPUID.1:ECX.OSXSAVE). Otherwise FXSAVE (x87 and SSE).
__attribute__((visibility("hidden"))) int gcheap_internal_wb_xsave = [] {
#if defined(__x86_64__)
  unsigned a, b, c, d;
  return __get_cpuid(1, &a, &b, &c, &d) && (c & (1u << 27)) != 0 ? 1 : 0;
#else
  return 0;
#endif
}();

__attribute__((visibility("hidden"))) void gcheap_internal_wb_slow(
    void** slot, const void* value) {
  gch_internal_write_barrier_slow(slot, value);
  // Tests (//runtime:testing): runs C++ code here, as any slow path may.
  if (auto hook = gcheap::internal::barrier_slow_test_hook.load(
          std::memory_order_relaxed)) {
    hook();
  }
}

}  // extern "C"

void gch_internal_copy_pointers_slow(void** dst, void* const* src, size_t n) {
  using namespace gcheap;
  using namespace gcheap::internal;
  NoPreempt no_preempt;
  Mutator* m = CurrentMutator();
  P* p = RunningP(m, "CopyPointers");
  if (BarrierCheck* bc = HeapImpl::ImplOf(*m)->collector().barrier_check()) {
    for (size_t i = 0; i < n; i++) {
      bc->Barriered(reinterpret_cast<uintptr_t>(&dst[i]));
    }
  }
  for (size_t i = 0; i < n; i++) {
    Buffer(p, reinterpret_cast<uintptr_t>(dst[i]));
    Buffer(p, reinterpret_cast<uintptr_t>(src[i]));
  }
}

namespace gcheap::internal {
std::atomic<void (*)()> barrier_slow_test_hook{nullptr};
}  // namespace gcheap::internal
