/* binary-trees (The Computer Language Benchmarks Game), Boehm GC peer.
 *
 * Usage: binary_trees_boehm [-threads N] [max_depth]   (max_depth defaults to
 * 21)
 *
 * Rules followed: every tree node is allocated individually through the
 * garbage collector (GC_MALLOC(sizeof(Node))), nothing is pooled or freed by
 * hand, and each check value is computed by walking the tree that was just
 * built.
 *
 * The default is single-threaded: the trees of each depth are built one after
 * another by the main thread, because the first comparison against gcheap is
 * single-threaded. With -threads N > 1 the depths are handed to N threads
 * (created through the collector, so that it scans their stacks), as in the
 * Benchmarks Game's parallel programs; the output is the same.
 *
 * Build: gcc -O2 -o binary_trees_boehm binary_trees_boehm.c -lgc -lpthread
 */
#define GC_THREADS
#include <gc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boehm_stats.h"

typedef struct Node {
  struct Node *left, *right;
} Node;

static Node *create(int depth) {
  Node *n = (Node *)GC_MALLOC(sizeof(Node));
  if (n == NULL) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  if (depth > 0) {
    n->left = create(depth - 1);
    n->right = create(depth - 1);
  }
  /* GC_MALLOC returns cleared memory: leaves have left == right == NULL. */
  return n;
}

static long check(const Node *n) {
  if (n->left == NULL) return 1;
  return 1 + check(n->left) + check(n->right);
}

enum { kMinDepth = 4 };

static int max_depth;
static int n_depths;
static long *iterations_of; /* per depth index */
static long *check_of;
static int next_index;
static pthread_mutex_t next_mu = PTHREAD_MUTEX_INITIALIZER;

static void work(int k) {
  int depth = kMinDepth + 2 * k;
  long iterations = 1L << (max_depth - depth + kMinDepth);
  long sum = 0;
  for (long i = 0; i < iterations; i++) sum += check(create(depth));
  iterations_of[k] = iterations;
  check_of[k] = sum;
}

static void print_depth(int k) {
  printf("%ld\t trees of depth %d\t check: %ld\n", iterations_of[k],
         kMinDepth + 2 * k, check_of[k]);
}

static void *worker(void *arg) {
  (void)arg;
  for (;;) {
    pthread_mutex_lock(&next_mu);
    int k = next_index++;
    pthread_mutex_unlock(&next_mu);
    if (k >= n_depths) return NULL;
    work(k);
  }
}

static void usage(void) {
  fprintf(stderr, "usage: binary_trees_boehm [-threads N] [max_depth]\n");
  exit(2);
}

static int parse_int(const char *s, int min) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < min || v > 62) usage();
  return (int)v;
}

int main(int argc, char **argv) {
  int threads = 1;
  max_depth = 21;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-threads") == 0 || strcmp(argv[i], "--threads") == 0) {
      if (i + 1 >= argc) usage();
      threads = parse_int(argv[++i], 1);
    } else {
      max_depth = parse_int(argv[i], 0);
    }
  }

  GC_INIT();
  peer_stats_start();

  if (max_depth < kMinDepth + 2) max_depth = kMinDepth + 2;
  int stretch_depth = max_depth + 1;
  printf("stretch tree of depth %d\t check: %ld\n", stretch_depth,
         check(create(stretch_depth)));

  Node *long_lived = create(max_depth);

  n_depths = (max_depth - kMinDepth) / 2 + 1;
  /* Plain malloc: these hold no pointers into the GC heap. */
  iterations_of = (long *)calloc((size_t)n_depths, sizeof(long));
  check_of = (long *)calloc((size_t)n_depths, sizeof(long));
  if (iterations_of == NULL || check_of == NULL) usage();

  if (threads == 1) {
    for (int k = 0; k < n_depths; k++) {
      work(k);
      print_depth(k);
    }
  } else {
    pthread_t *tids = (pthread_t *)calloc((size_t)threads, sizeof(pthread_t));
    for (int t = 0; t < threads; t++) {
      if (pthread_create(&tids[t], NULL, worker, NULL) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        return 1;
      }
    }
    for (int t = 0; t < threads; t++) pthread_join(tids[t], NULL);
    free(tids);
    for (int k = 0; k < n_depths; k++) print_depth(k);
  }

  printf("long lived tree of depth %d\t check: %ld\n", max_depth,
         check(long_lived));

  char name[64];
  if (threads > 1)
    snprintf(name, sizeof name, "binary_trees_t%d", threads);
  else
    snprintf(name, sizeof name, "binary_trees");
  peer_stats_report(name);
  free(iterations_of);
  free(check_of);
  return 0;
}
