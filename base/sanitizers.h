// AddressSanitizer hooks for the heap: free memory is poisoned so a use
// after sweep is reported at the faulty access. Compiled to nothing in
// builds without AddressSanitizer.
#ifndef GCHEAP_BASE_SANITIZERS_H_
#define GCHEAP_BASE_SANITIZERS_H_

#include <cstddef>

#if defined(__SANITIZE_ADDRESS__)
#define GCHEAP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GCHEAP_ASAN 1
#endif
#endif

#if defined(GCHEAP_ASAN)
#include <sanitizer/asan_interface.h>
#endif

namespace gcheap::internal {

// Marks [p, p + n) as not addressable: reading or writing it is reported.
inline void PoisonMemory(const void* p, size_t n) {
#if defined(GCHEAP_ASAN)
  ASAN_POISON_MEMORY_REGION(p, n);
#else
  (void)p;
  (void)n;
#endif
}

inline void UnpoisonMemory(const void* p, size_t n) {
#if defined(GCHEAP_ASAN)
  ASAN_UNPOISON_MEMORY_REGION(p, n);
#else
  (void)p;
  (void)n;
#endif
}

}  // namespace gcheap::internal

#endif  // GCHEAP_BASE_SANITIZERS_H_
