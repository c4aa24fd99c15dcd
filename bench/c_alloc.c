/* The C side of c_api_bench (bench/c_api_bench.cc): the same loop as its
 * C++ side, compiled as C99 against gcheap/gcheap_c.h. */
#include "bench/c_alloc.h"

#include <gcheap/gcheap_c.h>

void* volatile c_alloc_sink;

void c_alloc_loop(gch_mutator* m, const gch_type* type, long n) {
  long i;
  for (i = 0; i < n; i++) {
    long* p = (long*)gch_alloc(m, type);
    p[1] = i; /* a non-pointer word */
    c_alloc_sink = p;
  }
}

void c_alloc_noscan_loop(gch_mutator* m, size_t bytes, long n) {
  long i;
  for (i = 0; i < n; i++) {
    long* p = (long*)gch_alloc_noscan(m, bytes);
    p[1] = i;
    c_alloc_sink = p;
  }
}

/* The same objects with types known at compile time (GCH_STATIC_TYPE): a
 * pointer in word 0, then words. */
#define C_STATIC_LOOP(BYTES)                                       \
  typedef struct Obj##BYTES {                                      \
    struct Obj##BYTES* next;                                       \
    long words[BYTES / 8 - 1];                                     \
  } Obj##BYTES;                                                    \
  static const gch_static_type obj##BYTES##_type =                 \
      GCH_STATIC_TYPE(Obj##BYTES, GCH_POINTER(Obj##BYTES, next));  \
  static void c_alloc_static_loop##BYTES(gch_mutator* m, long n) { \
    long i;                                                        \
    for (i = 0; i < n; i++) {                                      \
      long* p = (long*)gch_alloc(m, GCH_TYPE(&obj##BYTES##_type)); \
      p[1] = i;                                                    \
      c_alloc_sink = p;                                            \
    }                                                              \
  }
C_STATIC_LOOP(16)
C_STATIC_LOOP(32)
C_STATIC_LOOP(48)
C_STATIC_LOOP(64)

void c_alloc_static_loop(gch_mutator* m, int bytes, long n) {
  switch (bytes) {
    case 16:
      c_alloc_static_loop16(m, n);
      break;
    case 32:
      c_alloc_static_loop32(m, n);
      break;
    case 48:
      c_alloc_static_loop48(m, n);
      break;
    default:
      c_alloc_static_loop64(m, n);
      break;
  }
}
