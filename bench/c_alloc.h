/* The C loops of c_api_bench (bench/c_alloc.c). */
#ifndef GCHEAP_BENCH_C_ALLOC_H_
#define GCHEAP_BENCH_C_ALLOC_H_

#include <gcheap/gcheap_c.h>

#ifdef __cplusplus
extern "C" {
#endif

/* n objects of `type` (pointer-map types), each kept in a sink. */
void c_alloc_loop(gch_mutator* m, const gch_type* type, long n);
/* n objects of a 16, 32, 48 or 64-byte type known at compile time
 * (GCH_STATIC_TYPE; a pointer in word 0). */
void c_alloc_static_loop(gch_mutator* m, int bytes, long n);
/* n pointer-free objects of `bytes` bytes. */
void c_alloc_noscan_loop(gch_mutator* m, size_t bytes, long n);

#ifdef __cplusplus
}
#endif

#endif /* GCHEAP_BENCH_C_ALLOC_H_ */
