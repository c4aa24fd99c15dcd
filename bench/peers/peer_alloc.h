/* The allocator a C peer program is built for. Each program is one source
 * built twice:
 *
 *   gcc -O2 -DPEER_BOEHM -o X_boehm X.c -lgc -lpthread
 *       Boehm GC: objects come from GC_MALLOC and are never freed by hand;
 *       RESULT line with impl=boehm (boehm_stats.h). Threads the program
 *       starts are registered with the collector: GC_THREADS makes <gc.h>
 *       map pthread_create to GC_pthread_create, so their stacks are
 *       scanned and they may allocate.
 *   gcc -O2 -o X_malloc X.c -lpthread
 *       malloc and free: the program frees what it drops (PEER_FREES);
 *       RESULT line with impl=malloc (malloc_stats.h). Run with
 *       LD_PRELOAD=libmimalloc.so.2 it measures mimalloc.
 *
 * peer_init() first thing in main (GC_INIT, then the clock);
 * peer_alloc(n): n bytes, uninitialized under malloc (GC_MALLOC clears);
 * peer_alloc_zeroed(n): n zeroed bytes under both; both exit on failure;
 * peer_free(p): free(p), or nothing under Boehm.
 */
#ifndef GCHEAP_BENCH_PEERS_PEER_ALLOC_H_
#define GCHEAP_BENCH_PEERS_PEER_ALLOC_H_

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef PEER_BOEHM
#define GC_THREADS
#include <gc.h>

#include "boehm_stats.h"
#define PEER_IMPL "boehm"
#define PEER_FREES 0
static void *peer_alloc_raw(size_t n) { return GC_MALLOC(n); }
static void *peer_alloc_zeroed_raw(size_t n) { return GC_MALLOC(n); }
static void peer_free(void *p) { (void)p; }
static void peer_init(void) {
  GC_INIT();
  peer_stats_start();
}
#else
#include "malloc_stats.h"
#define PEER_IMPL "malloc"
#define PEER_FREES 1
static void *peer_alloc_raw(size_t n) { return malloc(n); }
static void *peer_alloc_zeroed_raw(size_t n) {
  void *p = malloc(n);
  if (p != NULL) memset(p, 0, n);
  return p;
}
static void peer_free(void *p) { free(p); }
static void peer_init(void) { peer_stats_start(); }
#endif

static void *peer_check(void *p) {
  if (p == NULL) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  return p;
}
static inline void *peer_alloc(size_t n) {
  return peer_check(peer_alloc_raw(n));
}
static inline void *peer_alloc_zeroed(size_t n) {
  return peer_check(peer_alloc_zeroed_raw(n));
}

#endif /* GCHEAP_BENCH_PEERS_PEER_ALLOC_H_ */
