// Checks that never touch the managed heap.
//
// GCHEAP_CHECK(cond) << is not offered: a failing check formats its message
// into a fixed stack buffer and writes it to stderr with write(2), then
// aborts. Nothing on the failure path allocates, so a check may fire while
// the heap lock is held or while the heap is corrupt.
//
// GCHEAP_CHECK(cond, fmt, ...)   always on.
// GCHEAP_DCHECK(cond, fmt, ...)  on in debug, asan and tsan builds
//                                (GCHEAP_DEBUG_CHECKS=1), compiled out else.
// GCHEAP_FATAL(fmt, ...)         unconditional failure.
#ifndef GCHEAP_BASE_CHECK_H_
#define GCHEAP_BASE_CHECK_H_

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"

namespace gcheap::internal {

// Formats "gcheap: fatal error: <file>:<line>: <message>" and aborts.
[[noreturn]] ABSL_ATTRIBUTE_NOINLINE void FatalError(const char* file, int line,
                                                     const char* fmt, ...)
    ABSL_PRINTF_ATTRIBUTE(3, 4);

// "check failed: <cond>: <message>"; cond is printed verbatim, so it may
// contain '%'.
[[noreturn]] ABSL_ATTRIBUTE_NOINLINE void CheckFailed(const char* file,
                                                      int line,
                                                      const char* cond,
                                                      const char* fmt, ...)
    ABSL_PRINTF_ATTRIBUTE(4, 5);

// Writes a formatted line to stderr without allocating.
void RawLog(const char* fmt, ...) ABSL_PRINTF_ATTRIBUTE(1, 2);

// A function the program asks to be called with a fatal error's message
// (the line written to stderr, without its newline) after it is written
// and before the process aborts: a VM's own crash report (the C API's
// gch_set_error_handler). It runs on the failing thread, possibly with
// heap locks held: it must not call into the heap. If it returns, the
// process aborts; a fatal error inside it aborts at once. null: none.
using FatalErrorHook = void (*)(const char* message, void* arg);
void SetFatalErrorHook(FatalErrorHook hook, void* arg);

}  // namespace gcheap::internal

#define GCHEAP_FATAL(...) \
  ::gcheap::internal::FatalError(__FILE__, __LINE__, __VA_ARGS__)

#define GCHEAP_CHECK(cond, ...)                                  \
  do {                                                           \
    if (ABSL_PREDICT_FALSE(!(cond))) {                           \
      ::gcheap::internal::CheckFailed(__FILE__, __LINE__, #cond, \
                                      "" __VA_ARGS__);           \
    }                                                            \
  } while (0)

#if defined(GCHEAP_DEBUG_CHECKS) && GCHEAP_DEBUG_CHECKS
#define GCHEAP_DCHECK_IS_ON 1
#define GCHEAP_DCHECK(cond, ...) GCHEAP_CHECK(cond, __VA_ARGS__)
#else
#define GCHEAP_DCHECK_IS_ON 0
#define GCHEAP_DCHECK(cond, ...) \
  do {                           \
    if (false && (cond)) {       \
    }                            \
  } while (0)
#endif

#endif  // GCHEAP_BASE_CHECK_H_
