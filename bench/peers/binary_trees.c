/* binary-trees (The Computer Language Benchmarks Game): the Boehm GC and
 * explicit-free peers of binary_trees.go (one source, built twice:
 * peer_alloc.h).
 *
 * Usage: binary_trees_boehm|binary_trees_malloc [-threads N] [max_depth]
 *        (max_depth defaults to 21)
 *
 * Rules followed: every tree node is allocated individually
 * (peer_alloc(sizeof(Node))), nothing is pooled, and each check value is
 * computed by walking the tree that was just built. Under Boehm nothing is
 * freed by hand; under malloc each tree is freed node by node right after it
 * has been checked (the long-lived tree at the end): the reference for what
 * the workload costs with no collector at all.
 *
 * The default is single-threaded: the trees of each depth are built one after
 * another by the main thread. With -threads N > 1 each depth's iterations are
 * split over N worker threads: worker t builds and checks trees i = t, t+N,
 * t+2N, ... and sums their checks, and the depth's check is the sum over the
 * workers. The depths still run one after another, and the stretch and
 * long-lived trees are built by the main thread, so the output is the same
 * as single-threaded; the program then reports itself as binary_trees_tN.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "peer_alloc.h"

typedef struct Node {
  struct Node *left, *right;
} Node;

static Node *create(int depth) {
  Node *n = (Node *)peer_alloc(sizeof(Node));
  if (depth > 0) {
    n->left = create(depth - 1);
    n->right = create(depth - 1);
  } else {
    n->left = n->right = NULL;
  }
  return n;
}

static long check(const Node *n) {
  if (n->left == NULL) return 1;
  return 1 + check(n->left) + check(n->right);
}

static void destroy(Node *n) {
  if (!PEER_FREES) return;
  if (n->left != NULL) {
    destroy(n->left);
    destroy(n->right);
  }
  peer_free(n);
}

/* Builds, checks and (under malloc) frees one tree. */
static long check_once(int depth) {
  Node *n = create(depth);
  long c = check(n);
  destroy(n);
  return c;
}

enum { kMinDepth = 4 };

/* One worker's share of a depth: trees first, first+stride, ... < iterations.
 */
typedef struct Share {
  int depth;
  long iterations;
  long first, stride;
  long sum; /* out: the sum of the checks */
} Share;

static void *worker(void *arg) {
  Share *s = (Share *)arg;
  long sum = 0;
  for (long i = s->first; i < s->iterations; i += s->stride)
    sum += check_once(s->depth);
  s->sum = sum;
  return NULL;
}

/* The sum of the checks of `iterations` trees of `depth`, built on `threads`
 * threads (on the calling thread when threads == 1). */
static long run_depth(int depth, long iterations, int threads) {
  if (threads == 1) {
    long sum = 0;
    for (long i = 0; i < iterations; i++) sum += check_once(depth);
    return sum;
  }
  pthread_t *tids = (pthread_t *)calloc((size_t)threads, sizeof(pthread_t));
  Share *shares = (Share *)calloc((size_t)threads, sizeof(Share));
  if (tids == NULL || shares == NULL) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  for (int t = 0; t < threads; t++) {
    shares[t] = (Share){depth, iterations, t, threads, 0};
    if (pthread_create(&tids[t], NULL, worker, &shares[t]) != 0) {
      fprintf(stderr, "pthread_create failed\n");
      exit(1);
    }
  }
  long sum = 0;
  for (int t = 0; t < threads; t++) {
    pthread_join(tids[t], NULL);
    sum += shares[t].sum;
  }
  free(tids);
  free(shares);
  return sum;
}

static void usage(void) {
  fprintf(stderr,
          "usage: binary_trees_" PEER_IMPL " [-threads N] [max_depth]\n");
  exit(2);
}

static int parse_int(const char *s, int min, int max) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < min || v > max) usage();
  return (int)v;
}

int main(int argc, char **argv) {
  int threads = 1;
  int max_depth = 21;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-threads") == 0 || strcmp(argv[i], "--threads") == 0) {
      if (i + 1 >= argc) usage();
      threads = parse_int(argv[++i], 1, 1 << 16);
    } else {
      max_depth = parse_int(argv[i], 0, 62);
    }
  }

  peer_init();

  if (max_depth < kMinDepth + 2) max_depth = kMinDepth + 2;
  int stretch_depth = max_depth + 1;
  printf("stretch tree of depth %d\t check: %ld\n", stretch_depth,
         check_once(stretch_depth));

  Node *long_lived = create(max_depth);

  for (int depth = kMinDepth; depth <= max_depth; depth += 2) {
    long iterations = 1L << (max_depth - depth + kMinDepth);
    printf("%ld\t trees of depth %d\t check: %ld\n", iterations, depth,
           run_depth(depth, iterations, threads));
  }

  printf("long lived tree of depth %d\t check: %ld\n", max_depth,
         check(long_lived));
  destroy(long_lived);

  char name[64];
  if (threads > 1)
    snprintf(name, sizeof name, "binary_trees_t%d", threads);
  else
    snprintf(name, sizeof name, "binary_trees");
  peer_stats_report(name);
  return 0;
}
