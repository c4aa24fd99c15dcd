// AddressSanitizer hooks for the heap: free memory is poisoned so a use
// after sweep is reported at the faulty access. Compiled to nothing in
// builds without AddressSanitizer. And ThreadSanitizer's: the reads a
// marker makes of memory the program writes with plain stores.
#ifndef GCHEAP_BASE_SANITIZERS_H_
#define GCHEAP_BASE_SANITIZERS_H_

#include <cstddef>

#include "gcheap/internal/config.h"     // GCHEAP_ASAN
#include "gcheap/internal/fast_path.h"  // gch_internal_unpoison

#if defined(GCHEAP_ASAN)
#include <sanitizer/asan_interface.h>
#endif

// Valgrind's memcheck, when built with --config=valgrind
// (-DGCHEAP_VALGRIND=1): the same poisoning through client requests, which
// cost a few instructions when not running under Valgrind.
#if defined(GCHEAP_VALGRIND) && GCHEAP_VALGRIND
#include <valgrind/memcheck.h>
#endif

#if defined(__SANITIZE_THREAD__)
#define GCHEAP_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define GCHEAP_TSAN 1
#endif
#endif

#if defined(GCHEAP_TSAN)
extern "C" void AnnotateIgnoreReadsBegin(const char* file, int line);
extern "C" void AnnotateIgnoreReadsEnd(const char* file, int line);
#endif

namespace gcheap::internal {

// Marks [p, p + n) as not addressable: reading or writing it is reported.
inline void PoisonMemory(const void* p, size_t n) {
#if defined(GCHEAP_ASAN)
  ASAN_POISON_MEMORY_REGION(p, n);
#endif
#if defined(GCHEAP_VALGRIND) && GCHEAP_VALGRIND
  VALGRIND_MAKE_MEM_NOACCESS(p, n);
#endif
  (void)p;
  (void)n;
}

// Memory handed out is zeroed (or about to be), so Valgrind may consider
// it defined.
// As the inline allocation path does.
inline void UnpoisonMemory(const void* p, size_t n) {
  gch_internal_unpoison(p, n);
}

// A conservative scan reads stack words the program never wrote: tell
// Valgrind the copy the scanner made is fine to branch on.
inline void TreatAsDefined(const void* p, size_t n) {
#if defined(GCHEAP_VALGRIND) && GCHEAP_VALGRIND
  VALGRIND_MAKE_MEM_DEFINED(p, n);
#endif
  (void)p;
  (void)n;
}

// Between these, ThreadSanitizer ignores the thread's reads: a marker
// reading conservative objects and trace callbacks' plain loads race with
// the program's plain stores of non-pointers by design (gc/mark.cc).
inline void IgnoreReadsBegin() {
#if defined(GCHEAP_TSAN)
  AnnotateIgnoreReadsBegin(__FILE__, __LINE__);
#endif
}

inline void IgnoreReadsEnd() {
#if defined(GCHEAP_TSAN)
  AnnotateIgnoreReadsEnd(__FILE__, __LINE__);
#endif
}

}  // namespace gcheap::internal

#endif  // GCHEAP_BASE_SANITIZERS_H_
