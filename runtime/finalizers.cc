// Finalizers and cleanups: the public calls, argument checks and the
// thread that runs queued calls. The records and the sweep-time logic are
// in gc/specials.cc. See include/gcheap/finalizers.h.
#include "gcheap/finalizers.h"

#include <optional>

#include "base/check.h"
#include "gcheap/handles.h"
#include "runtime/heap_impl.h"

namespace gcheap::internal {

void HeapImpl::ResolveObjectStart(const void* p, const char* what, MSpan** span,
                                  uintptr_t* slot) const {
  MSpan* s = nullptr;
  void* base = mheap_->FindObject(p, &s);
  GCHEAP_CHECK(base != nullptr,
               "%s(%p): not a pointer to an allocated object of this heap",
               what, p);
  void* start = ObjectStart(p);
  GCHEAP_CHECK(start != nullptr, "%s(%p): points into an object's header", what,
               p);
  GCHEAP_CHECK(start == p,
               "%s(%p): an interior pointer; the object starts at %p (pass "
               "the pointer New returned)",
               what, p, start);
  *span = s;
  *slot = reinterpret_cast<uintptr_t>(base);
}

Mutator& HeapImpl::RequireRunning(const char* what) const {
  Mutator* m = CurrentMutator();
  GCHEAP_CHECK(m != nullptr && m->heap_ == this,
               "%s: the calling thread is not attached to this heap (call "
               "Heap::AttachCurrentThread first)",
               what);
  CheckRunning(*m, what);
  return *m;
}

size_t HeapImpl::RunQueuedCalls(Mutator& m) {
  size_t ran = 0;
  while (true) {
    HandleScope scope(m);
    QueuedCall c;
    std::optional<NoPreempt> no_preempt(std::in_place);
    if (!specials_->queue().TryPop(&c)) break;
    // The queue no longer holds them: until the call returns, these
    // handles do. No safepoint, and no signal stop, comes between the pop
    // and here. (Shaded too, for a collector that marks while this thread
    // runs.)
    Local<char> object(m, static_cast<char*>(c.object));
    Local<char> arg(m, static_cast<char*>(c.arg));
    collector_->Shade(c.object);
    collector_->Shade(c.arg);
    no_preempt.reset();  // the call is the program's code
    if (c.finalizer != nullptr) {
      c.finalizer(c.object, c.arg);
    } else {
      c.call(c.arg);
    }
    if (!c.internal) ran++;
    m.Safepoint();
  }
  return ran;
}

void HeapImpl::EnsureFinalizerThread() {
  if (opts_.finalizer_mode != FinalizerMode::kBackgroundThread) return;
  std::call_once(finalizer_once_, [this] {
    finalizer_thread_ = std::thread([this] { FinalizerThreadMain(); });
    NameThread(&finalizer_thread_, "gcheap finalize");
  });
}

void HeapImpl::FinalizerThreadMain() {
  Mutator& m = Attach();
  while (true) {
    RunQueuedCalls(m);
    ClearStackBelow();  // no stale pointers to finalized objects
    bool more;
    {
      BlockingScope b(m);  // the collector never waits for this thread
      more = specials_->queue().Wait();
    }
    if (!more) break;
  }
  Detach();
}

void HeapImpl::StopFinalizerThread() {
  specials_->queue().Shutdown();
  if (finalizer_thread_.joinable()) finalizer_thread_.join();
}

}  // namespace gcheap::internal

namespace gcheap {

void Heap::SetFinalizer(void* object, FinalizerFn fn, void* arg) {
  internal::NoPreempt no_preempt;
  impl_->RequireRunning("SetFinalizer");
  internal::MSpan* s;
  uintptr_t slot;
  impl_->ResolveObjectStart(object, "SetFinalizer", &s, &slot);
  internal::Specials& sp = impl_->specials();
  if (fn == nullptr) {
    sp.ClearFinalizer(s, slot);
    return;
  }
  GCHEAP_CHECK(sp.SetFinalizer(s, slot, object, fn, arg),
               "SetFinalizer(%p): the object already has a finalizer (clear "
               "it with SetFinalizer(object, nullptr) first)",
               object);
  impl_->collector().Shade(arg);
  // Set while a concurrent mark runs, after the roots (and the finalizer
  // records with them) were scanned: shade the object itself, so the
  // things it references are marked this cycle; it survives at least
  // until the next one, and a finalizer never sees a freed referent.
  impl_->collector().Shade(object);
  impl_->EnsureFinalizerThread();
}

CleanupHandle Heap::AddCleanup(void* object, CleanupFn fn, void* arg) {
  internal::NoPreempt no_preempt;
  impl_->RequireRunning("AddCleanup");
  GCHEAP_CHECK(fn != nullptr, "AddCleanup(%p): null function", object);
  internal::MSpan* s;
  uintptr_t slot;
  impl_->ResolveObjectStart(object, "AddCleanup", &s, &slot);
  GCHEAP_CHECK(arg == nullptr || impl_->ObjectStart(arg) != object,
               "AddCleanup(%p): arg points into the object itself, which "
               "would keep it alive forever",
               object);
  uint64_t id = impl_->specials().AddCleanup(s, slot, object, fn, arg);
  impl_->collector().Shade(arg);
  impl_->EnsureFinalizerThread();
  return CleanupHandle(this, s, slot, id);
}

size_t Heap::RunFinalizers() {
  internal::NoPreempt no_preempt;
  Mutator& m = impl_->RequireRunning("RunFinalizers");
  return impl_->RunQueuedCalls(m);
}

bool CleanupHandle::Cancel() {
  internal::NoPreempt no_preempt;
  if (heap_ == nullptr || id_ == 0) return false;
  bool ok = internal::HeapAccess::Of(*heap_)->specials().CancelCleanup(
      span_, slot_, id_);
  id_ = 0;
  return ok;
}

}  // namespace gcheap
