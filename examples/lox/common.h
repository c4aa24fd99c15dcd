/* common.h: the limits and small helpers every file of the Lox VM shares.
 *
 * Map of examples/lox/:
 *   common.h              limits, includes
 *   value.h, object.c     NaN-boxed values, the heap objects, the heap
 *                         itself (types, allocation, interning, printing)
 *   table.h, table.c      hash tables of string keys over gcheap arrays
 *   chunk.h, chunk.c      bytecode chunks over gcheap arrays
 *   scanner.h, scanner.c  source text to tokens
 *   compiler.h, compiler.c  tokens to bytecode, in one pass
 *   vm.h, vm.c            the interpreter: frames, closures, classes
 *   main.c                the REPL and the file runner
 */
#ifndef LOX_COMMON_H_
#define LOX_COMMON_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UINT8_COUNT (UINT8_MAX + 1)
#define FRAMES_MAX 64
#define STACK_MAX (FRAMES_MAX * UINT8_COUNT)

#if defined(__GNUC__)
#define LOX_LIKELY(x) __builtin_expect(!!(x), 1)
#define LOX_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define LOX_ALWAYS_INLINE __attribute__((always_inline)) inline
#define LOX_NOINLINE __attribute__((noinline))
#else
#define LOX_ALWAYS_INLINE inline
#define LOX_NOINLINE
#define LOX_LIKELY(x) (x)
#define LOX_UNLIKELY(x) (x)
#endif

#endif /* LOX_COMMON_H_ */
