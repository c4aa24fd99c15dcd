/* churn: allocation-rate workload with a fixed-size live set; the Boehm GC
 * and explicit-free peers of churn.go (one source, built twice:
 * peer_alloc.h).
 *
 * Usage: churn_boehm|churn_malloc [-threads N] [-ops M]
 *        (defaults: N = 1, M = 4000000)
 *
 * The workload and output of churn.go (see there and README.md): each of N
 * threads owns a table of 65536 object pointers and performs M operations;
 * operation i of thread t derives a size (16..256 bytes) and a slot j from
 * a hash of (t, i), frees the object in table[j] if the build frees by hand,
 * allocates a zeroed object of that size, stores itself in the first word
 * of table[(j+1) & 0xFFFF] (if any) and puts it in table[j]. Under malloc
 * the first word of another object may still point to the freed object,
 * but first words are never dereferenced, so nothing reads freed memory;
 * objects are freed by the thread that allocated them.
 * Prints "churn threads N ops M bytes B live L", then the RESULT line with
 * name churn_tN and alloc_mb_s = B / 1e6 / seconds, from the start of main
 * to the join of the last worker.
 *
 * Under Boehm the tables come from GC_MALLOC too, and each is reachable from
 * its thread's stack. Under malloc the objects still in the tables are freed
 * after the timed part (the collected peers never free them either). With
 * N == 1 the main thread does the work.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peer_alloc.h"

enum { kTableSize = 1 << 16, kTableMask = kTableSize - 1 };

typedef struct Obj {
  struct Obj *next; /* word 0; the rest of the object is payload */
} Obj;

typedef struct Worker {
  uint64_t t, ops;      /* in */
  uint64_t bytes, live; /* out */
  Obj **table;          /* out: freed by main under malloc */
} Worker;

static void *churn(void *arg) {
  Worker *w = (Worker *)arg;
  Obj **table = (Obj **)peer_alloc_zeroed(kTableSize * sizeof(Obj *));
  uint64_t bytes = 0;
  for (uint64_t i = 0; i < w->ops; i++) {
    uint64_t x = (i + 1 + w->t * 0x100000000ULL) * 0x9E3779B97F4A7C15ULL;
    x ^= x >> 29;
    size_t size = 16 + (size_t)((x >> 8) % 16) * 16;
    uint64_t j = (x >> 20) & kTableMask;
    if (PEER_FREES) peer_free(table[j]);
    Obj *o = (Obj *)peer_alloc_zeroed(size);
    Obj *neighbour = table[(j + 1) & kTableMask];
    if (neighbour != NULL) neighbour->next = o;
    table[j] = o;
    bytes += size;
  }
  uint64_t live = 0;
  for (int k = 0; k < kTableSize; k++) live += table[k] != NULL;
  w->bytes = bytes;
  w->live = live;
  w->table = table;
  return NULL;
}

static void usage(void) {
  fprintf(stderr, "usage: churn_" PEER_IMPL " [-threads N] [-ops M]\n");
  exit(2);
}

static uint64_t parse_u64(const char *s, uint64_t min, uint64_t max) {
  char *end;
  if (*s < '0' || *s > '9') usage();
  unsigned long long v = strtoull(s, &end, 10);
  if (*end != '\0' || v < min || v > max) usage();
  return (uint64_t)v;
}

int main(int argc, char **argv) {
  uint64_t threads = 1, ops = 4000000;
  for (int i = 1; i < argc; i++) {
    if (i + 1 >= argc) usage();
    if (strcmp(argv[i], "-threads") == 0 || strcmp(argv[i], "--threads") == 0)
      threads = parse_u64(argv[++i], 1, 1 << 16);
    else if (strcmp(argv[i], "-ops") == 0 || strcmp(argv[i], "--ops") == 0)
      ops = parse_u64(argv[++i], 0, UINT64_MAX);
    else
      usage();
  }

  peer_init();

  /* Plain malloc: these hold no pointers into a collected heap. */
  Worker *workers = (Worker *)calloc(threads, sizeof(Worker));
  pthread_t *tids = (pthread_t *)calloc(threads, sizeof(pthread_t));
  if (workers == NULL || tids == NULL) {
    fprintf(stderr, "out of memory\n");
    return 1;
  }
  for (uint64_t t = 0; t < threads; t++) {
    workers[t].t = t;
    workers[t].ops = ops;
  }
  if (threads == 1) {
    churn(&workers[0]);
  } else {
    for (uint64_t t = 0; t < threads; t++) {
      if (pthread_create(&tids[t], NULL, churn, &workers[t]) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        return 1;
      }
    }
    for (uint64_t t = 0; t < threads; t++) pthread_join(tids[t], NULL);
  }
  double secs = peer_elapsed_s();

  uint64_t bytes = 0, live = 0;
  for (uint64_t t = 0; t < threads; t++) {
    bytes += workers[t].bytes;
    live += workers[t].live;
    if (PEER_FREES) {
      for (int k = 0; k < kTableSize; k++) peer_free(workers[t].table[k]);
      peer_free(workers[t].table);
    }
  }
  printf("churn threads %" PRIu64 " ops %" PRIu64 " bytes %" PRIu64
         " live %" PRIu64 "\n",
         threads, ops, bytes, live);

  char name[64], extra[64];
  snprintf(name, sizeof name, "churn_t%" PRIu64, threads);
  snprintf(extra, sizeof extra, " alloc_mb_s=%.3f", (double)bytes / 1e6 / secs);
  peer_stats_report_extra(name, extra);
  free(workers);
  free(tids);
  return 0;
}
