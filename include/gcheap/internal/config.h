/* Compiler support for gcheap's public headers, C and C++ alike. Not API:
 * the names here may change in any release.
 *
 * The public headers (gcheap/<name>.h) include only each other and the
 * standard library: no abseil, no internal header of the runtime. */
#ifndef GCHEAP_INTERNAL_CONFIG_H_
#define GCHEAP_INTERNAL_CONFIG_H_

/* Inlining and branch hints for the fast paths. */
#define GCHEAP_ALWAYS_INLINE __attribute__((always_inline))
#define GCHEAP_LIKELY(x) (__builtin_expect(!!(x), 1))
#define GCHEAP_UNLIKELY(x) (__builtin_expect(!!(x), 0))

/* What the shared library exports: every public function and class. The
 * library is built with -fvisibility=hidden, so nothing else is. */
#define GCHEAP_EXPORT __attribute__((visibility("default")))

/* Clang's thread-safety analysis (-Wthread-safety) on the public lock
 * types; nothing elsewhere. */
#if defined(__clang__)
#define GCHEAP_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define GCHEAP_THREAD_ANNOTATION(x)
#endif

/* Constant-initialized thread-locals: readers skip the TLS wrapper call.
 * C++17 has it only as GCC's __constinit. */
#if defined(__cplusplus)
#if defined(__cpp_constinit)
#define GCHEAP_CONSTINIT constinit
#elif defined(__GNUC__) && !defined(__clang__)
#define GCHEAP_CONSTINIT __constinit
#else
#define GCHEAP_CONSTINIT
#endif
#endif

/* AddressSanitizer, however the compiler says so. */
#if defined(__SANITIZE_ADDRESS__)
#define GCHEAP_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GCHEAP_ASAN 1
#endif
#endif

/* ThreadSanitizer or MemorySanitizer: the barrier's register-preserving
 * stub is not used under them (their instrumentation expects ordinary
 * calls). */
#if defined(__SANITIZE_THREAD__)
#define GCHEAP_TSAN_OR_MSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(memory_sanitizer)
#define GCHEAP_TSAN_OR_MSAN 1
#endif
#endif

#endif /* GCHEAP_INTERNAL_CONFIG_H_ */
