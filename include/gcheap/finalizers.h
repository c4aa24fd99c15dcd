// Finalizers and cleanups: functions the heap runs after an object dies.
// Public API: "gcheap/finalizers.h"; the calls are on Heap (heap.h).
//
//   heap.SetFinalizer(obj, fn, arg)   fn(obj, arg) runs once obj is found
//                                     unreachable; obj and everything it
//                                     reaches survive until fn has run (fn
//                                     may resurrect obj by storing it in a
//                                     root). One per object; nullptr clears.
//   heap.AddCleanup(obj, fn, arg)     fn(arg) runs after obj is freed; no
//                                     access to obj, so no resurrection.
//                                     Any number per object; the returned
//                                     CleanupHandle cancels one.
//   heap.RunFinalizers()              runs the queued ones on the calling
//                                     (attached) thread
//
// Where they run: Options::finalizer_mode. kBackgroundThread (the default):
// a heap-owned thread, attached to the heap (it takes a P while it runs
// them). kEmbedderDrains: only inside Heap::RunFinalizers, on the
// embedder's thread, for single-threaded VMs.
//
// The rules are Go's (runtime.SetFinalizer, runtime.AddCleanup): a
// finalizer runs at the earliest one cycle after the object became
// unreachable, in no particular order except that an object reachable from
// another finalizable object is finalized after it (a chain A -> B runs A
// first, B a cycle later). Objects in a cycle that holds a finalizable
// object are never collected. Weak references (weak.h) to an object are
// cleared before its finalizer can run. Pending finalizers and cleanups
// still queued when the heap is destroyed do not run. docs/finalizers.md
// has the details.
#ifndef GCHEAP_FINALIZERS_H_
#define GCHEAP_FINALIZERS_H_

#include <cstdint>

#include "gcheap/internal/config.h"

namespace gcheap {

class Heap;

namespace internal {
struct MSpan;
}  // namespace internal

// fn(object, arg): object is the object the finalizer was set on.
using FinalizerFn = void (*)(void* object, void* arg);
// fn(arg), after the object is gone.
using CleanupFn = void (*)(void* arg);

// Names one cleanup added by Heap::AddCleanup. Copyable; a default one
// names nothing.
class GCHEAP_EXPORT CleanupHandle {
 public:
  CleanupHandle() = default;
  // Detaches the cleanup so it never runs. True if it was still attached;
  // false if it was cancelled before, or has been queued to run (or ran)
  // because its object died. Any thread; the heap must still exist.
  bool Cancel();

 private:
  friend class Heap;
  CleanupHandle(Heap* heap, internal::MSpan* span, uintptr_t slot, uint64_t id)
      : heap_(heap), span_(span), slot_(slot), id_(id) {}
  Heap* heap_ = nullptr;
  internal::MSpan* span_ = nullptr;
  uintptr_t slot_ = 0;
  uint64_t id_ = 0;
};

}  // namespace gcheap

#endif  // GCHEAP_FINALIZERS_H_
