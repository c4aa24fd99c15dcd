// Ref<T>, the write barrier, and pointer copies. Public API: "gcheap/ref.h".
//
// While the collector marks concurrently, every store of a heap pointer
// into a heap object must go through the write barrier: before the store
// it shades (marks grey) both the value being overwritten and the value
// being stored (Go's hybrid barrier). Declare pointer fields of heap objects
// as Ref<T> and every assignment does it; for tagged values and C code use
// WriteBarrier(slot, value); to copy arrays of pointers use CopyPointers.
//
// While the collector is idle the barrier is one load of a flag and a
// branch that is not taken, then the plain store. Stores into locals,
// globals and other memory outside the heap need no barrier (roots are
// scanned when the cycle starts).
//
// A store that skips the barrier can make the concurrent mark miss a live
// object; Options::barrier_check and checkmark (GCHEAP_DEBUG=gcbarriercheck=1,
// gccheckmark=1) find such bugs (docs/debugging.md).
//
// GCHEAP_TYPE(T, field, ...) (at the end of this file) builds a Type's
// pointer map from the Ref<T> fields themselves, so the map and the fields
// cannot disagree.
#ifndef GCHEAP_REF_H_
#define GCHEAP_REF_H_

#include <atomic>
#include <cstddef>
#include <type_traits>

#include "gcheap/internal/config.h"
#include "gcheap/internal/fast_path.h"
#include "gcheap/type.h"

namespace gcheap {

// Stores `value` (a heap pointer, null, or any tagged word) into `*slot`, a
// word inside a heap object.
inline void WriteBarrier(void** slot, void* value) {
  gch_internal_write_barrier(slot, value);
}

// Copies n pointer-sized words from src to dst (memmove semantics), where
// dst lies in a heap object: the bulk form of the barrier.
inline void CopyPointers(void** dst, void* const* src, size_t n) {
  gch_internal_copy_pointers(dst, src, n);
}

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

// --- GCHEAP_TYPE: the pointer map from the fields themselves.
//
//   struct Node { gcheap::Ref<Node> left, right; long key; };
//   constexpr gcheap::Type kNodeType = GCHEAP_TYPE(Node, left, right);
//
// is Type::Of<Node>("Node").Pointers(offsetof(Node, left), offsetof(Node,
// right)), written once: each listed field must be a pointer slot (a
// Ref<T>, a T*, or a type the program declares one by specializing
// gcheap::IsPointerSlot), or the declaration fails to compile. Up to 16
// fields; for arrays of slots use Pointers() with their offsets.
template <class F>
struct IsPointerSlot : std::is_pointer<F> {};
template <class T>
struct IsPointerSlot<Ref<T>> : std::true_type {};

namespace internal {
template <class F>
constexpr size_t PointerSlotOffset(size_t offset) {
  static_assert(IsPointerSlot<std::remove_cv_t<F>>::value,
                "GCHEAP_TYPE: a listed field is not a pointer slot (Ref<T> or "
                "T*; specialize gcheap::IsPointerSlot for a value type that "
                "holds heap pointers)");
  return offset;
}
}  // namespace internal
}  // namespace gcheap

#define GCHEAP_INTERNAL_FIELD(T, f) \
  ::gcheap::internal::PointerSlotOffset<decltype(T::f)>(offsetof(T, f))
#define GCHEAP_INTERNAL_F1(T, a) GCHEAP_INTERNAL_FIELD(T, a)
#define GCHEAP_INTERNAL_F2(T, a, ...) \
  GCHEAP_INTERNAL_FIELD(T, a), GCHEAP_INTERNAL_F1(T, __VA_ARGS__)
#define GCHEAP_INTERNAL_F3(T, a, ...) \
  GCHEAP_INTERNAL_FIELD(T, a), GCHEAP_INTERNAL_F2(T, __VA_ARGS__)
#define GCHEAP_INTERNAL_F4(T, a, ...) \
  GCHEAP_INTERNAL_FIELD(T, a), GCHEAP_INTERNAL_F3(T, __VA_ARGS__)
#define GCHEAP_INTERNAL_F5(T, a, ...) \
  GCHEAP_INTERNAL_FIELD(T, a), GCHEAP_INTERNAL_F4(T, __VA_ARGS__)
#define GCHEAP_INTERNAL_F6(T, a, ...) \
  GCHEAP_INTERNAL_FIELD(T, a), GCHEAP_INTERNAL_F5(T, __VA_ARGS__)
#define GCHEAP_INTERNAL_F7(T, a, ...) \
  GCHEAP_INTERNAL_FIELD(T, a), GCHEAP_INTERNAL_F6(T, __VA_ARGS__)
#define GCHEAP_INTERNAL_F8(T, a, ...) \
  GCHEAP_INTERNAL_FIELD(T, a), GCHEAP_INTERNAL_F7(T, __VA_ARGS__)
#define GCHEAP_INTERNAL_F9(T, a, ...) \
  GCHEAP_INTERNAL_FIELD(T, a), GCHEAP_INTERNAL_F8(T, __VA_ARGS__)
#define GCHEAP_INTERNAL_F10(T, a, ...) \
  GCHEAP_INTERNAL_FIELD(T, a), GCHEAP_INTERNAL_F9(T, __VA_ARGS__)
#define GCHEAP_INTERNAL_F11(T, a, ...) \
  GCHEAP_INTERNAL_FIELD(T, a), GCHEAP_INTERNAL_F10(T, __VA_ARGS__)
#define GCHEAP_INTERNAL_F12(T, a, ...) \
  GCHEAP_INTERNAL_FIELD(T, a), GCHEAP_INTERNAL_F11(T, __VA_ARGS__)
#define GCHEAP_INTERNAL_F13(T, a, ...) \
  GCHEAP_INTERNAL_FIELD(T, a), GCHEAP_INTERNAL_F12(T, __VA_ARGS__)
#define GCHEAP_INTERNAL_F14(T, a, ...) \
  GCHEAP_INTERNAL_FIELD(T, a), GCHEAP_INTERNAL_F13(T, __VA_ARGS__)
#define GCHEAP_INTERNAL_F15(T, a, ...) \
  GCHEAP_INTERNAL_FIELD(T, a), GCHEAP_INTERNAL_F14(T, __VA_ARGS__)
#define GCHEAP_INTERNAL_F16(T, a, ...) \
  GCHEAP_INTERNAL_FIELD(T, a), GCHEAP_INTERNAL_F15(T, __VA_ARGS__)
#define GCHEAP_INTERNAL_NARGS(...)                                            \
  GCHEAP_INTERNAL_NARGS_(__VA_ARGS__, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, \
                         5, 4, 3, 2, 1, 0)
#define GCHEAP_INTERNAL_NARGS_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, \
                               _12, _13, _14, _15, _16, N, ...)              \
  N
#define GCHEAP_INTERNAL_CAT(a, b) GCHEAP_INTERNAL_CAT_(a, b)
#define GCHEAP_INTERNAL_CAT_(a, b) a##b
// The checked byte offsets of the listed fields of T, for Pointers().
#define GCHEAP_POINTERS(T, ...)                                              \
  GCHEAP_INTERNAL_CAT(GCHEAP_INTERNAL_F, GCHEAP_INTERNAL_NARGS(__VA_ARGS__)) \
  (T, __VA_ARGS__)
// Type::Of<T>("T") with the listed fields as its pointer map.
#define GCHEAP_TYPE(T, ...) \
  ::gcheap::Type::Of<T>(#T).Pointers(GCHEAP_POINTERS(T, __VA_ARGS__))

#endif  // GCHEAP_REF_H_
