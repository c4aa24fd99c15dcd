// Handles: roots that live outside the heap. Public API: "gcheap/handles.h".
//
// Persistent<T>   a strong root owned by C++ code: a global, a field of a
//                 C++ object, a cache. Any attached thread may create,
//                 read, write and destroy one (making one that holds a
//                 pointer on an unattached thread aborts; dropping one is
//                 safe anywhere).
// HandleScope,    for heaps with precise stack scanning: a Local<T> is a
//   Local<T>      slot on the mutator's handle stack, valid until the
//                 innermost HandleScope that was open when it was made
//                 closes. In conservative mode they work too (and cost a
//                 slot), but are not needed.
#ifndef GCHEAP_HANDLES_H_
#define GCHEAP_HANDLES_H_

#include <cstddef>
#include <utility>

#include "gcheap/heap.h"
#include "gcheap/internal/config.h"
#include "gcheap/mutator.h"

namespace gcheap {

namespace internal {
GCHEAP_EXPORT void** NewPersistentSlot(Heap& heap, void* value);
GCHEAP_EXPORT void FreePersistentSlot(Heap& heap, void** slot);
GCHEAP_EXPORT void** NewLocalSlot(Mutator& m, void* value);
}  // namespace internal

template <class T>
class Persistent {
 public:
  Persistent() = default;
  Persistent(Heap& heap, T* value)
      : heap_(&heap), slot_(internal::NewPersistentSlot(heap, value)) {}
  ~Persistent() { Reset(); }
  Persistent(const Persistent& o)
      : heap_(o.heap_),
        slot_(o.heap_ ? internal::NewPersistentSlot(*o.heap_, o.Get())
                      : nullptr) {}
  Persistent& operator=(const Persistent& o) {
    if (this != &o) {
      Reset();
      heap_ = o.heap_;
      slot_ = heap_ ? internal::NewPersistentSlot(*heap_, o.Get()) : nullptr;
    }
    return *this;
  }
  Persistent(Persistent&& o) noexcept
      : heap_(std::exchange(o.heap_, nullptr)),
        slot_(std::exchange(o.slot_, nullptr)) {}
  Persistent& operator=(Persistent&& o) noexcept {
    if (this != &o) {
      Reset();
      heap_ = std::exchange(o.heap_, nullptr);
      slot_ = std::exchange(o.slot_, nullptr);
    }
    return *this;
  }

  T* Get() const { return slot_ ? static_cast<T*>(*slot_) : nullptr; }
  void Set(T* value) { *slot_ = value; }
  // Through the slot itself: an empty handle (default-constructed or moved
  // from) has none to go through.
  T* operator->() const { return static_cast<T*>(*slot_); }
  T& operator*() const { return *static_cast<T*>(*slot_); }
  explicit operator bool() const { return Get() != nullptr; }
  // Drops the root.
  void Reset() {
    if (slot_ != nullptr) internal::FreePersistentSlot(*heap_, slot_);
    slot_ = nullptr;
    heap_ = nullptr;
  }

 private:
  Heap* heap_ = nullptr;
  void** slot_ = nullptr;
};

class GCHEAP_EXPORT HandleScope {
 public:
  explicit HandleScope(Mutator& m);
  ~HandleScope();
  HandleScope(const HandleScope&) = delete;
  HandleScope& operator=(const HandleScope&) = delete;

 private:
  Mutator& m_;
  size_t saved_top_;
  size_t saved_depth_;
};

template <class T>
class Local {
 public:
  Local() = default;
  // Needs an open HandleScope on m (a clear error otherwise).
  Local(Mutator& m, T* value) : slot_(internal::NewLocalSlot(m, value)) {}
  T* Get() const { return slot_ ? static_cast<T*>(*slot_) : nullptr; }
  void Set(T* value) { *slot_ = value; }
  // Through the slot itself: an empty handle (default-constructed or moved
  // from) has none to go through.
  T* operator->() const { return static_cast<T*>(*slot_); }
  T& operator*() const { return *static_cast<T*>(*slot_); }
  explicit operator bool() const { return Get() != nullptr; }

 private:
  void** slot_ = nullptr;
};

}  // namespace gcheap

#endif  // GCHEAP_HANDLES_H_
