// Ref<T>: a heap pointer stored inside a heap object. Public API:
// "gcheap/ref.h".
//
// Declare pointer fields of heap objects as Ref<T> so every store goes
// through the write barrier the concurrent collector needs (a no-op while
// the collector is idle). For tagged values and C code, WriteBarrier(slot,
// value) is the raw form.
#ifndef GCHEAP_RUNTIME_REF_H_
#define GCHEAP_RUNTIME_REF_H_

#include <cstddef>

namespace gcheap {

// Stores `value` into the pointer slot `*slot` of a heap object. With the
// stop-the-world collector the store needs no barrier; the call keeps code
// ready for concurrent marking.
inline void WriteBarrier(void** slot, void* value) { *slot = value; }

template <class T>
class Ref {
 public:
  Ref() = default;
  Ref(const Ref&) = delete;  // copy the pointer with Get() / assignment
  Ref& operator=(const Ref& o) { return *this = o.Get(); }
  Ref& operator=(T* value) {
    WriteBarrier(reinterpret_cast<void**>(&ptr_), value);
    return *this;
  }
  Ref& operator=(std::nullptr_t) {
    WriteBarrier(reinterpret_cast<void**>(&ptr_), nullptr);
    return *this;
  }
  T* Get() const { return ptr_; }
  operator T*() const { return ptr_; }
  T* operator->() const { return ptr_; }
  T& operator*() const { return *ptr_; }

 private:
  T* ptr_ = nullptr;
};

static_assert(sizeof(Ref<int>) == sizeof(void*), "Ref is one word");

}  // namespace gcheap

#endif  // GCHEAP_RUNTIME_REF_H_
