// Pool<T>: a per-P cache of free objects, as Go's sync.Pool. Public API:
// "gcheap/pool.h".
//
//   gcheap::Pool<Buffer> pool(heap, gcheap::kPlainObjects,
//                             [] { return new Buffer; });
//   Buffer* b = pool.Get(m);   // a cached object, or a new one
//   ...
//   pool.Put(m, b);            // for someone else to reuse
//
// Layout, per P: a private slot, then a shared chain of lock-free ring
// buffers (8 slots, then twice the size of the last each time one fills).
// The P's own thread pushes and pops at the chain's head; other Ps steal
// from its tail with a CAS. Get looks at: the private slot, its own chain's
// head, other Ps' tails, then the victim cache (its private slot, then
// every tail), then calls New. Put fills the private slot if empty, else
// pushes on the head. The fast path (private slot) is a P id and a load
// and store; no lock is ever taken.
//
// Generations: at every collection's sweep termination (world stopped) the
// victim cache is dropped and the current contents become the victim, so an
// object nobody takes survives at most two collections in the pool, and a
// steady user finds its objects in the victim cache after a collection.
//
// Two kinds of contents:
//   heap objects   (Pool(heap, new_fn)) objects of this heap. The pool's
//                  contents are roots until dropped: unlike Go, where the
//                  pool's memory is ordinary heap memory the collector
//                  traces, a gcheap Pool lives off the heap, so it reports
//                  its contents to the collector itself; a dropped object
//                  is garbage like any other. new_fn(m) allocates one.
//   plain objects  (Pool(heap, kPlainObjects, new_fn, deleter)) C++
//                  objects the heap does not manage. Dropped ones are
//                  passed to the deleter (default: delete), never during
//                  the collection itself: they are queued and deleted where
//                  finalizers run (Options::finalizer_mode: the heap's
//                  finalizer thread, or Heap::RunFinalizers).
//
// Threads: Get and Put must be called by an attached mutator of the pool's
// heap holding its P (a clear error otherwise); they never stop for a
// collection except inside New. A Pool must be destroyed before its heap;
// its destructor deletes the plain objects it still holds.
#ifndef GCHEAP_POOL_H_
#define GCHEAP_POOL_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "gcheap/heap.h"
#include "gcheap/internal/config.h"
#include "gcheap/mutator.h"

namespace gcheap {

// Selects the plain-object Pool constructor.
struct PlainObjectsTag {};
inline constexpr PlainObjectsTag kPlainObjects{};

namespace internal {

class HeapImpl;
class Marker;
struct PoolRing;

// A chain of rings: the owner P pushes and pops at head, others pop at tail.
struct PoolChain {
  PoolRing* head = nullptr;              // newest ring; the owner's
  std::atomic<PoolRing*> tail{nullptr};  // oldest ring still in the chain
  PoolRing* all = nullptr;  // every ring ever made, freed when dropped
};

// The type-erased part of Pool<T> (pool.cc).
class GCHEAP_EXPORT PoolBase {
 public:
  PoolBase(const PoolBase&) = delete;
  PoolBase& operator=(const PoolBase&) = delete;

 protected:
  struct alignas(64) Local {
    void* private_obj = nullptr;  // only the owning P
    PoolChain shared;
  };

  PoolBase(Heap& heap, bool heap_objects,
           std::function<void(void*)> plain_deleter);
  ~PoolBase();

  // The calling mutator's P id times two, plus one if this is a heap pool
  // and the collector is marking (then Get and Put call Barrier). Checks
  // that m is attached to this pool's heap and holds its P.
  unsigned Pin(const Mutator& m) const;
  Mutator& CurrentMutator() const;
  // The rest of Get after an empty private slot: own head, steal, victim.
  void* GetSlow(int pid);
  void PushShared(int pid, void* x);
  // Heap pools, while marking: shades x (see Collector::Shade), as the
  // write barrier would for a pointer slot of the heap.
  void Barrier(void* x) const;

  Local* locals_ = nullptr;  // the current generation, one per P
  const bool heap_objects_;

 private:
  friend class HeapImpl;
  friend class PoolRegistry;
  // With the world stopped (HeapImpl::OnSweepTermination): drops the
  // victim generation, appending plain objects to *dropped.
  void Rotate(std::vector<void*>* dropped);
  // With the world stopped: greys the contents of both generations.
  void MarkRoots(Marker& m);
  static void DropLocal(Local* l, std::vector<void*>* out);

  Heap& heap_;
  HeapImpl* const impl_;
  const int procs_;
  Local* victim_ = nullptr;
  std::atomic<bool> victim_empty_{true};
  std::function<void(void*)> plain_deleter_;

 public:
  // For the runtime: the plain-object deleter (empty for heap pools).
  const std::function<void(void*)>& plain_deleter() const {
    return plain_deleter_;
  }
};

}  // namespace internal

template <class T>
class Pool : private internal::PoolBase {
 public:
  // A pool of objects of `heap`. new_fn(m) makes one when the pool is empty
  // (may be null: Get then returns null).
  explicit Pool(Heap& heap, std::function<T*(Mutator&)> new_fn = nullptr)
      : PoolBase(heap, /*heap_objects=*/true, nullptr),
        heap_new_(std::move(new_fn)) {}
  // A pool of plain C++ objects: new_fn() makes one (may be null), deleter
  // frees one the pool drops (default: delete).
  Pool(
      Heap& heap, PlainObjectsTag, std::function<T*()> new_fn = nullptr,
      std::function<void(T*)> deleter = [](T* p) { delete p; })
      : PoolBase(heap, /*heap_objects=*/false,
                 [d = std::move(deleter)](void* p) { d(static_cast<T*>(p)); }),
        plain_new_(std::move(new_fn)) {}

  // An object from the pool, or a new one from New (null if the pool has
  // no New function). The caller owns it until it puts it back.
  GCHEAP_ALWAYS_INLINE T* Get(Mutator& m) {
    unsigned pin = Pin(m);
    int pid = static_cast<int>(pin >> 1);
    void* x;
    {
      internal::FastPathScope fast(m);
      Local& l = locals_[pid];
      x = l.private_obj;
      if (GCHEAP_LIKELY(x != nullptr)) l.private_obj = nullptr;
    }
    if (GCHEAP_UNLIKELY(x == nullptr)) {
      x = GetSlow(pid);
      if (x == nullptr) return New(m);
    }
    if (GCHEAP_UNLIKELY(pin & 1)) Barrier(x);
    return static_cast<T*>(x);
  }
  // Hands x to the pool (null is ignored). x must not be used afterwards.
  GCHEAP_ALWAYS_INLINE void Put(Mutator& m, T* x) {
    if (GCHEAP_UNLIKELY(x == nullptr)) return;
    unsigned pin = Pin(m);
    int pid = static_cast<int>(pin >> 1);
    if (GCHEAP_UNLIKELY(pin & 1)) Barrier(x);
    bool kept;
    {
      internal::FastPathScope fast(m);
      Local& l = locals_[pid];
      kept = l.private_obj == nullptr;
      if (GCHEAP_LIKELY(kept)) l.private_obj = x;
    }
    if (GCHEAP_UNLIKELY(!kept)) PushShared(pid, x);
  }
  // The same, for the calling thread's mutator.
  T* Get() { return Get(CurrentMutator()); }
  void Put(T* x) { Put(CurrentMutator(), x); }

 private:
  T* New(Mutator& m) {
    if (heap_objects_) return heap_new_ ? heap_new_(m) : nullptr;
    return plain_new_ ? plain_new_() : nullptr;
  }

  std::function<T*(Mutator&)> heap_new_;
  std::function<T*()> plain_new_;
};

}  // namespace gcheap

#endif  // GCHEAP_POOL_H_
