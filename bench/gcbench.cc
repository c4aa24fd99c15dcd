// GCBench (John Ellis and Pete Kovac; C version by Hans Boehm) on gcheap.
//
// Usage: gcbench
//
// The workload and output of bench/peers/gcbench.go and gcbench_boehm.c, a
// fixed workload, single-threaded:
//   - a stretch tree of depth 18 is built and dropped;
//   - a long-lived tree of depth 16 (built top-down) and a long-lived array of
//     500000 doubles stay reachable for the whole run;
//   - for depth 4, 6, ..., 16, NumIters(depth) = 2*TreeSize(18)/TreeSize(depth)
//     short-lived trees are built top-down (Populate) and then as many
//     bottom-up (MakeTree), each dropped at once.
//
// Node is {left, right; int64 i, j}: 32 bytes, as in the peers. Every node is
// allocated individually through the collector (Mutator::New with a
// pointer-map Type); the array is pointer-free (Mutator::AllocateNoscan), as
// the original's GC_MALLOC_ATOMIC array. The heap uses the default Options
// (conservative stack scanning, gc_percent 100) except max_procs, set to the
// number of CPUs; the long-lived objects are held in C++ locals, which the
// conservative stack scan keeps alive. As in the peers, one line the original
// lacks is printed: the node count of the long-lived tree.
//
// At the end a RESULT line goes to stderr (see gcheap_stats.h).
#include <stddef.h>
#include <stdio.h>

#include <cstdint>
#include <thread>

#include "bench/gcheap_stats.h"
#include "gcheap/gcheap.h"

namespace {

struct Node {
  gcheap::Ref<Node> left, right;
  int64_t i, j;
};
static_assert(sizeof(Node) == 32, "the peers' node is 32 bytes");
constexpr gcheap::Type kNodeType = gcheap::Type::Of<Node>("Node").Pointers(
    offsetof(Node, left), offsetof(Node, right));

constexpr int kStretchTreeDepth = 18;    // about 16Mb
constexpr int kLongLivedTreeDepth = 16;  // about 4Mb
constexpr int kArraySize = 500000;
constexpr int kMinTreeDepth = 4;
constexpr int kMaxTreeDepth = 16;

gcheap::Mutator* g_m;  // the main thread's mutator
gcheap_bench::GcStats* g_stats;

Node* NewNode() { return g_m->New<Node>(kNodeType); }

// Nodes used by a top-down tree.
int TreeSize(int i) { return (1 << (i + 1)) - 1; }

// Number of iterations to use for a given tree depth.
int NumIters(int i) { return 2 * TreeSize(kStretchTreeDepth) / TreeSize(i); }

// Builds a tree top-down, assigning to older objects.
void Populate(int depth, Node* node) {
  if (depth <= 0) return;
  depth--;
  node->left = NewNode();
  node->right = NewNode();
  Populate(depth, node->left);
  Populate(depth, node->right);
}

// Builds a tree bottom-up.
Node* MakeTree(int depth) {
  if (depth <= 0) return NewNode();
  Node* l = MakeTree(depth - 1);
  Node* r = MakeTree(depth - 1);
  Node* n = NewNode();
  n->left = l;
  n->right = r;
  return n;
}

int64_t CountNodes(const Node* n) {
  if (n == nullptr) return 0;
  return 1 + CountNodes(n->left) + CountNodes(n->right);
}

void TimeConstruction(int depth) {
  const int iters = NumIters(depth);
  printf("Creating %d trees of depth %d\n", iters, depth);

  double start = g_stats->ElapsedMs();
  for (int i = 0; i < iters; i++) {
    Node* temp = NewNode();
    Populate(depth, temp);
  }
  printf("\tTop down construction took %d msec\n",
         static_cast<int>(g_stats->ElapsedMs() - start));
  g_stats->Fold();

  start = g_stats->ElapsedMs();
  for (int i = 0; i < iters; i++) MakeTree(depth);
  printf("\tBottom up construction took %d msec\n",
         static_cast<int>(g_stats->ElapsedMs() - start));
  g_stats->Fold();
}

}  // namespace

int main() {
  gcheap::Options options;
  options.max_procs = static_cast<int>(std::thread::hardware_concurrency());
  gcheap::Heap heap(options);
  gcheap::Mutator& m = heap.AttachCurrentThread();
  gcheap_bench::GcStats stats(heap, "gcbench");
  g_m = &m;
  g_stats = &stats;

  printf("Garbage Collector Test\n");
  printf(" Live storage will peak at %d bytes.\n\n",
         2 * static_cast<int>(sizeof(Node)) * TreeSize(kLongLivedTreeDepth) +
             static_cast<int>(sizeof(double)) * kArraySize);
  printf(" Stretching memory with a binary tree of depth %d\n",
         kStretchTreeDepth);

  const double start = stats.ElapsedMs();

  // Stretch the memory space quickly.
  MakeTree(kStretchTreeDepth);
  stats.Fold();

  // Create a long-lived object.
  printf(" Creating a long-lived binary tree of depth %d\n",
         kLongLivedTreeDepth);
  Node* long_lived_tree = NewNode();
  Populate(kLongLivedTreeDepth, long_lived_tree);

  // Create a long-lived array, filling half of it.
  printf(" Creating a long-lived array of %d doubles\n", kArraySize);
  double* array =
      static_cast<double*>(m.AllocateNoscan(kArraySize * sizeof(double)));
  for (int i = 0; i < kArraySize / 2; i++) array[i] = 1.0 / i;
  stats.Fold();

  for (int d = kMinTreeDepth; d <= kMaxTreeDepth; d += 2) TimeConstruction(d);

  if (long_lived_tree == nullptr || array[1000] != 1.0 / 1000) {
    fprintf(stderr, "Failed\n");
    return 1;
  }
  printf(" Long-lived tree of depth %d has %lld nodes\n", kLongLivedTreeDepth,
         static_cast<long long>(CountNodes(long_lived_tree)));

  printf("Completed in %d msec\n", static_cast<int>(stats.ElapsedMs() - start));
  printf("Completed %u collections\n", stats.NumGC());
  stats.Report();
  heap.DetachCurrentThread();
  return 0;
}
