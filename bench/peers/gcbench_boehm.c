/* GCBench (John Ellis and Pete Kovac; C version by Hans Boehm), Boehm GC peer.
 *
 * Usage: gcbench_boehm
 *
 * A fixed workload, single-threaded, kept as in the original:
 *   - a stretch tree of depth 18 is built and dropped;
 *   - a long-lived tree of depth 16 (built top-down) and a long-lived array of
 *     500000 doubles stay reachable for the whole run;
 *   - for depth 4, 6, ..., 16, NumIters(depth) = 2*TreeSize(18)/TreeSize(depth)
 *     short-lived trees are built top-down (Populate) and then as many
 *     bottom-up (MakeTree), each dropped at once.
 *
 * Node is {left, right; long i, j}: 32 bytes on LP64, the same as the Go
 * peer's node (Go's int is 64-bit; the original used C int). Every node is
 * allocated individually with GC_MALLOC and never freed; the array is
 * allocated with GC_MALLOC_ATOMIC, as in the original. One line the original
 * lacks is printed at the end: the node count of the long-lived tree, found
 * by walking it, so that the outputs of the implementations can be compared.
 *
 * Build: gcc -O2 -o gcbench_boehm gcbench_boehm.c -lgc
 */
#include <gc.h>
#include <stdio.h>
#include <stdlib.h>

#include "boehm_stats.h"

typedef struct Node0 *Node;
struct Node0 {
  Node left;
  Node right;
  long i, j;
};

enum {
  kStretchTreeDepth = 18,   /* about 16Mb */
  kLongLivedTreeDepth = 16, /* about 4Mb */
  kArraySize = 500000,
  kMinTreeDepth = 4,
  kMaxTreeDepth = 16
};

static Node NewNode(Node l, Node r) {
  Node n = (Node)GC_MALLOC(sizeof(struct Node0));
  if (n == NULL) {
    fprintf(stderr, "out of memory\n");
    exit(1);
  }
  n->left = l;
  n->right = r;
  return n;
}

/* Nodes used by a top-down tree. */
static int TreeSize(int i) { return (1 << (i + 1)) - 1; }

/* Number of iterations to use for a given tree depth. */
static int NumIters(int i) {
  return 2 * TreeSize(kStretchTreeDepth) / TreeSize(i);
}

/* Build tree top down, assigning to older objects. */
static void Populate(int iDepth, Node thisNode) {
  if (iDepth <= 0) return;
  iDepth--;
  thisNode->left = NewNode(NULL, NULL);
  thisNode->right = NewNode(NULL, NULL);
  Populate(iDepth, thisNode->left);
  Populate(iDepth, thisNode->right);
}

/* Build tree bottom-up. */
static Node MakeTree(int iDepth) {
  if (iDepth <= 0) return NewNode(NULL, NULL);
  Node l = MakeTree(iDepth - 1);
  Node r = MakeTree(iDepth - 1);
  return NewNode(l, r);
}

static long CountNodes(Node n) {
  if (n == NULL) return 0;
  return 1 + CountNodes(n->left) + CountNodes(n->right);
}

static double NowMs(void) { return peer_now_ns() / 1e6; }

static void TimeConstruction(int depth) {
  int iNumIters = NumIters(depth);
  Node tempTree;
  printf("Creating %d trees of depth %d\n", iNumIters, depth);

  double tStart = NowMs();
  for (int i = 0; i < iNumIters; ++i) {
    tempTree = NewNode(NULL, NULL);
    Populate(depth, tempTree);
    tempTree = NULL;
  }
  printf("\tTop down construction took %d msec\n", (int)(NowMs() - tStart));

  tStart = NowMs();
  for (int i = 0; i < iNumIters; ++i) {
    tempTree = MakeTree(depth);
    tempTree = NULL;
  }
  printf("\tBottom up construction took %d msec\n", (int)(NowMs() - tStart));
  (void)tempTree;
}

int main(void) {
  GC_INIT();
  peer_stats_start();

  printf("Garbage Collector Test\n");
  printf(" Live storage will peak at %d bytes.\n\n",
         2 * (int)sizeof(struct Node0) * TreeSize(kLongLivedTreeDepth) +
             (int)sizeof(double) * kArraySize);
  printf(" Stretching memory with a binary tree of depth %d\n",
         kStretchTreeDepth);

  double tStart = NowMs();

  /* Stretch the memory space quickly. */
  Node tempTree = MakeTree(kStretchTreeDepth);
  tempTree = NULL;
  (void)tempTree;

  /* Create a long lived object. */
  printf(" Creating a long-lived binary tree of depth %d\n",
         kLongLivedTreeDepth);
  Node longLivedTree = NewNode(NULL, NULL);
  Populate(kLongLivedTreeDepth, longLivedTree);

  /* Create long-lived array, filling half of it. */
  printf(" Creating a long-lived array of %d doubles\n", kArraySize);
  double *array = (double *)GC_MALLOC_ATOMIC(sizeof(double) * kArraySize);
  if (array == NULL) {
    fprintf(stderr, "out of memory\n");
    return 1;
  }
  for (int i = 0; i < kArraySize / 2; ++i) array[i] = 1.0 / i;

  for (int d = kMinTreeDepth; d <= kMaxTreeDepth; d += 2) TimeConstruction(d);

  if (longLivedTree == NULL || array[1000] != 1.0 / 1000) {
    fprintf(stderr, "Failed\n");
    return 1;
  }
  printf(" Long-lived tree of depth %d has %ld nodes\n", kLongLivedTreeDepth,
         CountNodes(longLivedTree));
  /* Keep both long-lived objects reachable up to here. */
  GC_reachable_here(longLivedTree);
  GC_reachable_here(array);

  printf("Completed in %d msec\n", (int)(NowMs() - tStart));
  printf("Completed %lu collections\n",
         (unsigned long)(GC_get_gc_no() - peer_gc_no_at_start));
  peer_stats_report("gcbench");
  return 0;
}
