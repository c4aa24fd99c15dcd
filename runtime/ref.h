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
// object; Options::checkmark (GCHEAP_DEBUG=gccheckmark=1) finds such bugs.
#ifndef GCHEAP_RUNTIME_REF_H_
#define GCHEAP_RUNTIME_REF_H_

#include <atomic>
#include <cstddef>

#include "absl/base/optimization.h"

namespace gcheap {

namespace internal {
// The barrier flag of the heap the calling thread is attached to (a flag
// that is always false for unattached threads).
extern constinit thread_local const std::atomic<bool>* tls_write_barrier
    __attribute__((tls_model("initial-exec")));
void WriteBarrierSlow(void** slot, const void* value);
void CopyPointersSlow(void** dst, void* const* src, size_t n);

// On x86-64 the slow path is entered through a stub that preserves every
// register (runtime/barrier_stub_x86_64.S), so the caller spills nothing
// around it. Not in sanitizer builds (their instrumentation expects
// ordinary calls) or with GCHEAP_NO_BARRIER_STUB defined.
#if defined(__x86_64__) && defined(__ELF__) &&                            \
    !defined(GCHEAP_NO_BARRIER_STUB) && !defined(__SANITIZE_ADDRESS__) && \
    !defined(__SANITIZE_THREAD__)
#if defined(__has_feature)
#if !__has_feature(address_sanitizer) && !__has_feature(thread_sanitizer) && \
    !__has_feature(memory_sanitizer)
#define GCHEAP_BARRIER_STUB 1
#endif
#else
#define GCHEAP_BARRIER_STUB 1
#endif
#endif

inline void WriteBarrierCall(void** slot, const void* value) {
#if defined(GCHEAP_BARRIER_STUB)
  // Steps over the caller's red zone (the call pushes a return address),
  // and through the PLT when the stub is in a shared library: r10 and r11
  // are left to the dynamic linker.
  asm volatile(
      "lea -128(%%rsp), %%rsp\n\t"
      "call gcheap_write_barrier_stub@PLT\n\t"
      "lea 128(%%rsp), %%rsp"
      :
      : "D"(slot), "S"(value)
      : "memory", "cc", "r10", "r11");
#else
  WriteBarrierSlow(slot, value);
#endif
}
}  // namespace internal

// Stores `value` (a heap pointer, null, or any tagged word) into `*slot`, a
// word inside a heap object.
inline void WriteBarrier(void** slot, void* value) {
  if (ABSL_PREDICT_FALSE(
          internal::tls_write_barrier->load(std::memory_order_relaxed))) {
    internal::WriteBarrierCall(slot, value);
  }
  // A relaxed atomic store (a plain move on x86-64): markers may be
  // reading the slot at the same moment.
  __atomic_store_n(slot, value, __ATOMIC_RELAXED);
}

// Copies n pointer-sized words from src to dst (memmove semantics), where
// dst lies in a heap object: the bulk form of the barrier.
inline void CopyPointers(void** dst, void* const* src, size_t n) {
  if (ABSL_PREDICT_FALSE(
          internal::tls_write_barrier->load(std::memory_order_relaxed))) {
    internal::CopyPointersSlow(dst, src, n);
  }
  // Word by word (markers may read dst meanwhile), in the direction that
  // is safe for overlapping ranges.
  if (dst < src) {
    for (size_t i = 0; i < n; i++) {
      __atomic_store_n(&dst[i], __atomic_load_n(&src[i], __ATOMIC_RELAXED),
                       __ATOMIC_RELAXED);
    }
  } else {
    for (size_t i = n; i > 0; i--) {
      __atomic_store_n(&dst[i - 1],
                       __atomic_load_n(&src[i - 1], __ATOMIC_RELAXED),
                       __ATOMIC_RELAXED);
    }
  }
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

}  // namespace gcheap

#endif  // GCHEAP_RUNTIME_REF_H_
