// Mutator: a thread attached to a Heap, bound to one of its Ps. Public API:
// "gcheap/mutator.h".
//
// Every thread that touches the heap attaches first (Heap::
// AttachCurrentThread) and gets its Mutator. The Mutator allocates from its
// P's cache without locks, and cooperates with the collector: it stops at
// safepoints (allocation slow paths and Safepoint()) when the collector
// asks, and releases its P around blocking calls (BlockingScope) so the
// collector never waits on a sleeping thread.
//
//   gcheap::Mutator& m = heap.AttachCurrentThread();
//   Pair* p = m.New<Pair>(kPairType);   // zeroed, typed
//   m.Safepoint();                      // in long loops that do not allocate
//   { gcheap::BlockingScope b(m); read(fd, buf, n); }   // no heap use inside
//   heap.DetachCurrentThread();
//
// A Mutator is used only by its own thread.
#ifndef GCHEAP_MUTATOR_H_
#define GCHEAP_MUTATOR_H_

#include <cstddef>
#include <cstdint>

#include "gcheap/internal/config.h"
#include "gcheap/internal/fast_path.h"
#include "gcheap/type.h"

namespace gcheap {

class Heap;
class Mutator;
class BlockingScope;
class HandleScope;
template <class T>
class Local;

namespace internal {
class HeapImpl;
class FastPathScope;
struct MutatorState;
struct MutatorAccess;
GCHEAP_EXPORT void** NewLocalSlot(Mutator& m, void* value);
}  // namespace internal

class GCHEAP_EXPORT Mutator {
 public:
  Mutator(const Mutator&) = delete;
  Mutator& operator=(const Mutator&) = delete;

  // Allocates a zeroed object of `type` (type.size() bytes) and returns it
  // as T*. Never null: when memory is exhausted even after a collection,
  // the heap's out-of-memory callback runs, then the program aborts with a
  // message naming the request. Use TryNew to get null instead.
  template <class T>
  GCHEAP_ALWAYS_INLINE T* New(const Type& type) {
    return static_cast<T*>(Allocate(type));
  }
  template <class T>
  GCHEAP_ALWAYS_INLINE T* TryNew(const Type& type) {
    return static_cast<T*>(TryAllocate(type));
  }

  GCHEAP_ALWAYS_INLINE void* Allocate(const Type& type) {
    void* p = FastAllocate(type);
    if (GCHEAP_LIKELY(p != nullptr)) return p;
    return AllocateSlow(type, 0, /*array=*/false, /*or_null=*/false);
  }
  GCHEAP_ALWAYS_INLINE void* TryAllocate(const Type& type) {
    void* p = FastAllocate(type);
    if (GCHEAP_LIKELY(p != nullptr)) return p;
    return AllocateSlow(type, 0, /*array=*/false, /*or_null=*/true);
  }
  // `count` zeroed elements of `element`, laid out back to back. Sizes that
  // overflow fail like exhausted memory (abort, or null for TryAllocate*).
  void* AllocateArray(const Type& element, size_t count) {
    return AllocateSlow(element, count, /*array=*/true, /*or_null=*/false);
  }
  void* TryAllocateArray(const Type& element, size_t count) {
    return AllocateSlow(element, count, /*array=*/true, /*or_null=*/true);
  }
  // `bytes` zeroed bytes that will never hold heap pointers (strings,
  // numbers). Requests under 16 bytes share blocks (the tiny allocator).
  GCHEAP_ALWAYS_INLINE void* AllocateNoscan(size_t bytes) {
    void* p = FastAllocateNoscan(bytes);
    if (GCHEAP_LIKELY(p != nullptr)) return p;
    return AllocateNoscanSlow(bytes, /*or_null=*/false);
  }
  GCHEAP_ALWAYS_INLINE void* TryAllocateNoscan(size_t bytes) {
    void* p = FastAllocateNoscan(bytes);
    if (GCHEAP_LIKELY(p != nullptr)) return p;
    return AllocateNoscanSlow(bytes, /*or_null=*/true);
  }

  // `bytes` zeroed bytes with no layout: every word may be a heap pointer
  // (Boehm's GC_MALLOC). Objects up to 512 bytes carry no header: their
  // span records them as conservative (gc/object.h). Stores of heap
  // pointers into the object go through the write barrier as into any
  // other; other stores need nothing.
  GCHEAP_ALWAYS_INLINE void* AllocateConservative(size_t bytes) {
    void* p = FastAllocateConservative(bytes);
    if (GCHEAP_LIKELY(p != nullptr)) return p;
    return AllocateConservativeSlow(bytes, /*or_null=*/false);
  }
  GCHEAP_ALWAYS_INLINE void* TryAllocateConservative(size_t bytes) {
    void* p = FastAllocateConservative(bytes);
    if (GCHEAP_LIKELY(p != nullptr)) return p;
    return AllocateConservativeSlow(bytes, /*or_null=*/true);
  }

  // Polls for a pending stop-the-world: call in long loops that do not
  // allocate. One load and a predictable branch.
  GCHEAP_ALWAYS_INLINE void Safepoint() {
    if (GCHEAP_UNLIKELY(gch_internal_load_flag(fast_.poll))) {
      SafepointSlow();
    }
  }

  // The read side of the barrier, for an object found through something
  // that does not keep it alive (a weak table: WeakSet, or the program's
  // own table under a weak callback): while a concurrent mark runs, marks
  // p's object, so that this cycle does not free it now that the program
  // holds it. Call it on every object such a table returns, before using
  // it. One load and a branch while the collector is idle.
  GCHEAP_ALWAYS_INLINE void Shade(const void* p) {
    if (GCHEAP_UNLIKELY(marking())) ShadeSlow(p);
  }

  Heap& heap() const;

 private:
  friend class internal::HeapImpl;
  friend class internal::FastPathScope;
  friend class Heap;
  friend class BlockingScope;
  friend class HandleScope;
  template <class T>
  friend class Local;
  friend void** internal::NewLocalSlot(Mutator& m, void* value);
  friend struct internal::MutatorAccess;

  Mutator() = default;

  // The inline fast paths, each inside a FastPathScope (below).
  GCHEAP_ALWAYS_INLINE void* FastAllocate(const Type& t);
  GCHEAP_ALWAYS_INLINE void* FastAllocateNoscan(size_t bytes);
  GCHEAP_ALWAYS_INLINE void* FastAllocateConservative(size_t bytes);

  // The inline parts (gcheap/internal/fast_path.h, shared with the C
  // API): the P's cache, no locks, no calls. Null when the slow path must
  // run.
  GCHEAP_ALWAYS_INLINE void* AllocateFast(const Type& t) {
    return gch_internal_alloc_fast(fast_.mcache, t.internal());
  }
  GCHEAP_ALWAYS_INLINE void* AllocateNoscanFast(size_t size) {
    return gch_internal_alloc_noscan_fast(fast_.mcache, size);
  }
  GCHEAP_ALWAYS_INLINE void* AllocateConservativeFast(size_t size) {
    return gch_internal_alloc_conservative_fast(fast_.mcache, size);
  }
  void* AllocateNoscanSlow(size_t bytes, bool or_null);
  void* AllocateConservativeSlow(size_t bytes, bool or_null);
  bool marking() const { return gch_internal_load_flag(fast_.marking); }

  // The runtime's entries from the inline paths: each saves the program's
  // registers in its frame and calls the work below it (RuntimeFrames in
  // runtime/heap_impl.h).
  void* AllocateSlow(const Type& type, size_t count, bool array, bool or_null);
  void* AllocateSlowWork(const Type& type, size_t count, bool array,
                         bool or_null);
  void SafepointSlow();
  void ShadeSlow(const void* p);

  // What the inline paths read: the held P's cache, the poll flag, the
  // collector's marking flag, and the byte FastPathScope sets. The first
  // member: a gch_mutator* (the C API) points to it.
  gch_internal_mutator fast_{};
  internal::HeapImpl* heap_ = nullptr;
  internal::MutatorState* state_ = nullptr;
};

namespace internal {

// Brackets an inline fast path that changes the P's state in several steps
// (the allocation cache, a Pool's per-P slot). A stop that interrupts the
// thread with a signal (runtime/preempt.cc) does not stop it inside one: it
// asks again a few microseconds later. The signal fences keep the fast
// path's memory operations between the two stores as the signal handler,
// on the same thread, sees them; they cost no instruction.
class FastPathScope {
 public:
  GCHEAP_ALWAYS_INLINE explicit FastPathScope(Mutator& m) : m_(m) {
    gch_internal_enter_fast_path(&m_.fast_);
  }
  GCHEAP_ALWAYS_INLINE ~FastPathScope() {
    gch_internal_leave_fast_path(&m_.fast_);
  }
  FastPathScope(const FastPathScope&) = delete;
  FastPathScope& operator=(const FastPathScope&) = delete;

 private:
  Mutator& m_;
};

}  // namespace internal

inline void* Mutator::FastAllocate(const Type& t) {
  internal::FastPathScope fast(*this);
  return AllocateFast(t);
}
inline void* Mutator::FastAllocateNoscan(size_t bytes) {
  internal::FastPathScope fast(*this);
  return AllocateNoscanFast(bytes);
}
inline void* Mutator::FastAllocateConservative(size_t bytes) {
  internal::FastPathScope fast(*this);
  return AllocateConservativeFast(bytes);
}

// Releases the mutator's P for the scope's lifetime: the collector will not
// wait for this thread. The thread must not touch the heap (allocate, read
// or write heap objects) inside the scope; pointers it holds stay roots.
class GCHEAP_EXPORT BlockingScope {
 public:
  explicit BlockingScope(Mutator& m);
  ~BlockingScope();
  BlockingScope(const BlockingScope&) = delete;
  BlockingScope& operator=(const BlockingScope&) = delete;

 private:
  Mutator& m_;
};

}  // namespace gcheap

#endif  // GCHEAP_MUTATOR_H_
