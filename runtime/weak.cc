// Weak references: the calls behind WeakRef<T>. The cells and their
// clearing are in gc/specials.cc. See include/gcheap/weak.h.
#include "gcheap/weak.h"

#include "base/check.h"
#include "runtime/heap_impl.h"

namespace gcheap::internal {

WeakCell* NewWeakRef(Heap& heap, const void* object) {
  NoPreempt no_preempt;
  HeapImpl* impl = HeapAccess::Of(heap);
  impl->RequireRunning("WeakRef");
  MSpan* s;
  uintptr_t slot;
  impl->ResolveObjectStart(object, "WeakRef", &s, &slot);
  return impl->specials().WeakCellFor(s, slot, const_cast<void*>(object));
}

void RetainWeakRef(WeakCell* c) {
  NoPreempt no_preempt;
  Specials::RetainWeakCell(c);
}

void ReleaseWeakRef(WeakCell* c) {
  NoPreempt no_preempt;
  Specials::ReleaseWeakCell(c);
}

void* GetWeakRef(Heap& heap, WeakCell* c) {
  NoPreempt no_preempt;
  HeapImpl* impl = HeapAccess::Of(heap);
  Mutator* m = CurrentMutator();
  GCHEAP_CHECK(m != nullptr && &m->heap() == &heap,
               "WeakRef::Get: the calling thread is not attached to this "
               "heap (call Heap::AttachCurrentThread first)");
  GCHEAP_DCHECK((impl->CheckRunning(*m, "WeakRef::Get"), true));
  void* p = impl->specials().WeakGet(c);
  // A strong pointer made during marking must be marked (the read side of
  // the barrier): the collector may have scanned this thread already.
  if (p != nullptr) impl->collector().Shade(p);
  return p;
}

}  // namespace gcheap::internal
