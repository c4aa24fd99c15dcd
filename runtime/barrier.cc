// The write barrier's slow path, allocation black and mark assists: what a
// mutator does for the collector while marking runs concurrently. See
// runtime/ref.h and gc/gc.h.
#include <chrono>
#include <thread>

#include "base/check.h"
#include "runtime/heap_impl.h"
#include "runtime/ref.h"

namespace gcheap::internal {
namespace {
constinit std::atomic<bool> kBarrierOff{false};
}  // namespace

constinit thread_local const std::atomic<bool>* tls_write_barrier =
    &kBarrierOff;

void SetThreadBarrierFlag(const std::atomic<bool>* flag) {
  tls_write_barrier = flag != nullptr ? flag : &kBarrierOff;
}

namespace {

// Moves the P's buffered values into its marker (greying them).
void FlushWbuf(P* p) {
  p->marker->GreyBatch(p->wbuf, p->wbuf_n);
  p->wbuf_n = 0;
}

void Buffer(P* p, uintptr_t v) {
  if (v < 4096) return;  // null and small tagged integers
  if (p->wbuf_n == P::kWbufEntries) FlushWbuf(p);
  p->wbuf[p->wbuf_n++] = v;
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
  FlushWbuf(p);
  p->marker->work().Flush();
}

void HeapImpl::FlushPWork() {
  for (P& p : ps_) FlushP(&p);
}

uint64_t HeapImpl::PMarkedBytes() {
  uint64_t n = 0;
  for (P& p : ps_) {
    n += p.marker->marked_bytes();
    p.marker->ResetCounters();
    p.assist_debt = 0;
  }
  return n;
}

void HeapImpl::MarkNewObject(void* obj) {
  MSpan* s = mheap_->SpanOf(reinterpret_cast<uintptr_t>(obj));
  s->TryMark(s->ObjIndex(reinterpret_cast<uintptr_t>(obj)));
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
  while (p->assist_debt > 0 && collector_->marking() &&
         !collector_->cpu_limited() &&
         mheap_->heap_live().load(std::memory_order_relaxed) >
             static_cast<int64_t>(collector_->pacer().goal()) &&
         std::chrono::steady_clock::now() < deadline) {
    m.Safepoint();
    std::this_thread::sleep_for(std::chrono::microseconds(20));
    p = HeldP(m);
    collector_->Assist(*p->marker, &p->assist_debt, 0);
  }
}

void WriteBarrierSlow(void** slot, const void* value) {
  Mutator* m = CurrentMutator();
  P* p = RunningP(m, "a write barrier");
  Buffer(p, reinterpret_cast<uintptr_t>(*slot));  // the value overwritten
  Buffer(p, reinterpret_cast<uintptr_t>(value));  // the value stored
}

void CopyPointersSlow(void** dst, void* const* src, size_t n) {
  Mutator* m = CurrentMutator();
  P* p = RunningP(m, "CopyPointers");
  for (size_t i = 0; i < n; i++) {
    Buffer(p, reinterpret_cast<uintptr_t>(dst[i]));
    Buffer(p, reinterpret_cast<uintptr_t>(src[i]));
  }
}

}  // namespace gcheap::internal
