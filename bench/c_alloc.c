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
