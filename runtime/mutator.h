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
#ifndef GCHEAP_RUNTIME_MUTATOR_H_
#define GCHEAP_RUNTIME_MUTATOR_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "alloc/mcache.h"
#include "alloc/size_classes.h"
#include "gc/object.h"
#include "gc/type.h"

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
void** NewLocalSlot(Mutator& m, void* value);
}  // namespace internal

class Mutator {
 public:
  Mutator(const Mutator&) = delete;
  Mutator& operator=(const Mutator&) = delete;

  // Allocates a zeroed object of `type` (type.size() bytes) and returns it
  // as T*. Never null: when memory is exhausted even after a collection,
  // the heap's out-of-memory callback runs, then the program aborts with a
  // message naming the request. Use TryNew to get null instead.
  template <class T>
  T* New(const Type& type) {
    return static_cast<T*>(Allocate(type));
  }
  template <class T>
  T* TryNew(const Type& type) {
    return static_cast<T*>(TryAllocate(type));
  }

  ABSL_ATTRIBUTE_ALWAYS_INLINE void* Allocate(const Type& type) {
    void* p = FastAllocate(type);
    if (ABSL_PREDICT_TRUE(p != nullptr)) return p;
    return AllocateSlow(type, 0, /*array=*/false, /*or_null=*/false);
  }
  void* TryAllocate(const Type& type) {
    void* p = FastAllocate(type);
    if (ABSL_PREDICT_TRUE(p != nullptr)) return p;
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
  ABSL_ATTRIBUTE_ALWAYS_INLINE void* AllocateNoscan(size_t bytes) {
    void* p = FastAllocateNoscan(bytes);
    if (ABSL_PREDICT_TRUE(p != nullptr)) return p;
    return AllocateNoscanSlow(bytes, /*or_null=*/false);
  }
  void* TryAllocateNoscan(size_t bytes) {
    void* p = FastAllocateNoscan(bytes);
    if (ABSL_PREDICT_TRUE(p != nullptr)) return p;
    return AllocateNoscanSlow(bytes, /*or_null=*/true);
  }

  // `bytes` zeroed bytes with no layout: every word may be a heap pointer
  // (Boehm's GC_MALLOC). Objects up to 512 bytes carry no header: their
  // span records them as conservative (gc/object.h). Stores of heap
  // pointers into the object go through the write barrier as into any
  // other; other stores need nothing.
  ABSL_ATTRIBUTE_ALWAYS_INLINE void* AllocateConservative(size_t bytes) {
    void* p = FastAllocateConservative(bytes);
    if (ABSL_PREDICT_TRUE(p != nullptr)) return p;
    return AllocateConservativeSlow(bytes, /*or_null=*/false);
  }
  void* TryAllocateConservative(size_t bytes) {
    void* p = FastAllocateConservative(bytes);
    if (ABSL_PREDICT_TRUE(p != nullptr)) return p;
    return AllocateConservativeSlow(bytes, /*or_null=*/true);
  }

  // Polls for a pending stop-the-world: call in long loops that do not
  // allocate. One load and a predictable branch.
  ABSL_ATTRIBUTE_ALWAYS_INLINE void Safepoint() {
    if (ABSL_PREDICT_FALSE(poll_->load(std::memory_order_relaxed))) {
      SafepointSlow();
    }
  }

  // The read side of the barrier, for an object found through something
  // that does not keep it alive (a weak table: WeakSet, or the program's
  // own table under a weak callback): while a concurrent mark runs, marks
  // p's object, so that this cycle does not free it now that the program
  // holds it. Call it on every object such a table returns, before using
  // it. One load and a branch while the collector is idle.
  ABSL_ATTRIBUTE_ALWAYS_INLINE void Shade(const void* p) {
    if (ABSL_PREDICT_FALSE(marking())) ShadeSlow(p);
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

  Mutator() = default;

  // The inline fast paths, each inside a FastPathScope (below).
  ABSL_ATTRIBUTE_ALWAYS_INLINE void* FastAllocate(const Type& t);
  ABSL_ATTRIBUTE_ALWAYS_INLINE void* FastAllocateNoscan(size_t bytes);
  ABSL_ATTRIBUTE_ALWAYS_INLINE void* FastAllocateConservative(size_t bytes);

  // The inline part of allocation: the P's cache, no locks, no calls.
  // Null when the slow path must run.
  ABSL_ATTRIBUTE_ALWAYS_INLINE void* AllocateFast(const Type& t) {
    using internal::MSpan;
    using internal::SpanClass;
    const size_t size = t.size();
    internal::MSpan* s;
    uintptr_t idx;
    if (t.kind() == Type::Kind::kNoscan && t.destructor() == nullptr) {
      return AllocateNoscanFast(size);
    }
    if (t.kind() == Type::Kind::kPointerMap && t.destructor() == nullptr &&
        size != 0 && size <= MSpan::kMaxHeapBitsObject) {
      // Small pointer-map object: no header, type bits.
      void* p = mcache_->TryAllocSmall(
          SpanClass::Make(internal::SizeToClass(size), false), &s, &idx);
      if (ABSL_PREDICT_FALSE(p == nullptr)) return nullptr;
      mcache_->SetTypeBits(s, idx, false, t.pointer_mask(), &t);
      return p;
    }
    if (t.kind() == Type::Kind::kConservative && t.destructor() == nullptr) {
      return AllocateConservativeFast(size);
    }
    const size_t total = size + internal::kObjectHeaderBytes;
    if (total > internal::kMaxSmallSize) return nullptr;
    void* p = mcache_->TryAllocSmall(
        SpanClass::Make(internal::SizeToClass(total), false), &s, &idx);
    if (ABSL_PREDICT_FALSE(p == nullptr)) return nullptr;
    *static_cast<const Type**>(p) = &t;  // the header: see gc/object.h
    if (s->small_scan) mcache_->SetTypeBits(s, idx, true, 0);
    if (t.destructor() != nullptr) s->has_destructors = true;
    return static_cast<char*>(p) + internal::kObjectHeaderBytes;
  }
  // The inline part for `size` pointer-free bytes (no header). Allocate
  // black needs no work here: while the collector marks, every cached
  // span's free slots are marked already (MSpan::MarkFreeSlots), and the
  // tiny block was taken during the mark (sweep termination empties the
  // mcache).
  ABSL_ATTRIBUTE_ALWAYS_INLINE void* AllocateNoscanFast(size_t size) {
    if (size == 0 || size > internal::kMaxSmallSize) return nullptr;
    if (size < internal::kTinySize) {
      return mcache_->TryAllocTinyOrBlock(size);
    }
    internal::MSpan* s;
    uintptr_t idx;
    return mcache_->TryAllocSmall(
        internal::SpanClass::Make(internal::SizeToClass(size), true), &s, &idx);
  }
  // The inline part for a conservative object of `size` bytes without a
  // header (MCache::SetConservativeBits).
  ABSL_ATTRIBUTE_ALWAYS_INLINE void* AllocateConservativeFast(size_t size) {
    if (size == 0 || size > internal::MSpan::kMaxHeapBitsObject) {
      return nullptr;
    }
    internal::MSpan* s;
    uintptr_t idx;
    void* p = mcache_->TryAllocSmall(
        internal::SpanClass::Make(internal::SizeToClass(size), false), &s,
        &idx);
    if (ABSL_PREDICT_FALSE(p == nullptr)) return nullptr;
    mcache_->SetConservativeBits(s, idx);
    return p;
  }
  void* AllocateNoscanSlow(size_t bytes, bool or_null);
  void* AllocateConservativeSlow(size_t bytes, bool or_null);
  bool marking() const { return marking_->load(std::memory_order_relaxed); }

  // The runtime's entries from the inline paths: each saves the program's
  // registers in its frame and calls the work below it (RuntimeFrames in
  // runtime/heap_impl.h).
  void* AllocateSlow(const Type& type, size_t count, bool array, bool or_null);
  void* AllocateSlowWork(const Type& type, size_t count, bool array,
                         bool or_null);
  void SafepointSlow();
  void ShadeSlow(const void* p);

  internal::MCache* mcache_ = nullptr;  // the held P's cache
  // Nonzero while the thread runs an inline fast path (FastPathScope).
  uint8_t in_fast_path_ = 0;
  const std::atomic<bool>* poll_ = nullptr;
  const std::atomic<bool>* marking_ = nullptr;  // the collector's flag
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
  ABSL_ATTRIBUTE_ALWAYS_INLINE explicit FastPathScope(Mutator& m) : m_(m) {
    m_.in_fast_path_ = 1;
    std::atomic_signal_fence(std::memory_order_seq_cst);
  }
  ABSL_ATTRIBUTE_ALWAYS_INLINE ~FastPathScope() {
    std::atomic_signal_fence(std::memory_order_seq_cst);
    m_.in_fast_path_ = 0;
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
class BlockingScope {
 public:
  explicit BlockingScope(Mutator& m);
  ~BlockingScope();
  BlockingScope(const BlockingScope&) = delete;
  BlockingScope& operator=(const BlockingScope&) = delete;

 private:
  Mutator& m_;
};

}  // namespace gcheap

#endif  // GCHEAP_RUNTIME_MUTATOR_H_
