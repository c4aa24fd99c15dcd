// Tests of the gc layer alone: a CollectorEnv with no threads and no
// runtime, and object allocation straight from an MCache, so the marker,
// the cycle driver, specials and assists can be tested without
// runtime/ (the way alloc/ tests each tier through the one below it).
//
// The "world" is the test's own thread: stopping it does nothing but
// count. Roots are a list of slots the test owns; hooks let a test play
// the mutators' part at a ragged flush or a stop (shading what a barrier
// would have shaded).
#ifndef GCHEAP_GC_FAKE_ENV_H_
#define GCHEAP_GC_FAKE_ENV_H_

#include <cstdint>
#include <functional>
#include <vector>

#include "alloc/mcache.h"
#include "alloc/mheap.h"
#include "gc/gc.h"
#include "gc/object.h"
#include "gc/specials.h"

namespace gcheap::internal::testing {

class FakeEnv : public CollectorEnv {
 public:
  explicit FakeEnv(MHeap* heap) : heap_(heap), cache_(heap->NewMCache()) {}
  ~FakeEnv() override { heap_->FreeMCache(cache_); }
  FakeEnv(const FakeEnv&) = delete;
  FakeEnv& operator=(const FakeEnv&) = delete;

  void StopTheWorld() override { stops++; }
  void StartTheWorld() override { starts++; }
  void ForEachMCache(absl::FunctionRef<void(MCache*)> fn) override {
    fn(cache_);
  }
  RootBytes MarkRoots(Marker& m) override {
    RootBytes rb;
    for (void** slot : roots) m.Grey(reinterpret_cast<uintptr_t>(*slot));
    rb.globals = roots.size() * sizeof(void*);
    if (specials != nullptr) specials->MarkRoots(m);
    return rb;
  }
  void FlushPWork() override {
    if (on_stop_flush) on_stop_flush();
  }
  void RaggedFlush() override {
    ragged_flushes++;
    if (on_ragged_flush) on_ragged_flush();
  }
  void ReleaseHeld() override {}
  bool PreemptRequested() const override { return false; }
  uint64_t PMarkedBytes() override { return 0; }
  int procs() const override { return 1; }
  int HeldPs() const override { return 0; }

  MCache* cache() { return cache_; }

  std::vector<void**> roots;
  Specials* specials = nullptr;  // its records' roots, when set
  std::function<void()> on_ragged_flush;
  std::function<void()> on_stop_flush;
  int stops = 0, starts = 0, ragged_flushes = 0;

 private:
  MHeap* const heap_;
  MCache* const cache_;
};

// Allocates an object of type t (count elements: an array when count > 1)
// with a header, as the runtime's general path does, and returns its
// payload. Zeroed.
inline void* AllocWithHeader(MHeap& heap, MCache* c, const Type& t,
                             size_t count = 1) {
  c->PrepareForSweep();
  const bool array = count > 1;
  const size_t header = array ? kArrayHeaderBytes : kObjectHeaderBytes;
  void* p = c->Alloc(header + t.size() * count, /*noscan=*/false);
  auto slot = reinterpret_cast<uintptr_t>(p);
  MSpan* s = heap.SpanOf(slot);
  if (s->small_scan) c->SetTypeBits(s, s->ObjIndex(slot), true, 0);
  if (t.destructor() != nullptr) s->has_destructors = true;
  if (array) reinterpret_cast<size_t*>(slot)[1] = count;
  HeaderOf(slot) =
      reinterpret_cast<uintptr_t>(&t) | (array ? kHeaderArrayBit : 0);
  return reinterpret_cast<void*>(slot + header);
}

// Allocates a small pointer-map object described by type bits (no header),
// as the runtime's inline path does.
inline void* AllocWithTypeBits(MHeap& heap, MCache* c, const Type& t) {
  c->PrepareForSweep();
  void* p = c->Alloc(t.size(), /*noscan=*/false);
  auto slot = reinterpret_cast<uintptr_t>(p);
  MSpan* s = heap.SpanOf(slot);
  c->SetTypeBits(s, s->ObjIndex(slot), false, t.pointer_mask(), &t);
  return p;
}

// The object containing p is allocated / marked (p: any address in it).
inline bool IsAllocated(MHeap& heap, const void* p) {
  auto a = reinterpret_cast<uintptr_t>(p);
  MSpan* s = heap.SpanOf(a);
  return s != nullptr && s->IsAllocated(s->ObjIndex(a));
}
inline bool IsMarked(MHeap& heap, const void* p) {
  auto a = reinterpret_cast<uintptr_t>(p);
  MSpan* s = heap.SpanOf(a);
  return s != nullptr && s->IsMarked(s->ObjIndex(a));
}

}  // namespace gcheap::internal::testing

#endif  // GCHEAP_GC_FAKE_ENV_H_
