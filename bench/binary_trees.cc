// binary-trees (The Computer Language Benchmarks Game) on gcheap.
//
// Usage: binary_trees [max_depth]      (max_depth defaults to 21)
//
// The workload and output of bench/peers/binary_trees.go and
// binary_trees_boehm.c, single-threaded like their default:
//   - a stretch tree of depth max_depth+1 is built, checked and dropped;
//   - a long-lived tree of depth max_depth is built and kept to the end;
//   - for depth = 4, 6, ..., max_depth, 2^(max_depth - depth + 4) trees of
//     that depth are built, checked and dropped.
//
// Every node is allocated individually through the collector
// (Mutator::New with a pointer-map Type); nothing is pooled or freed by hand,
// and each check value is computed by walking the tree just built. The heap
// uses the default Options (conservative stack scanning, gc_percent 100)
// except max_procs, set to the number of CPUs; trees in progress are held in
// C++ locals, which the conservative stack scan keeps alive.
//
// At the end a RESULT line goes to stderr (see gcheap_stats.h).
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cstdint>
#include <thread>

#include "bench/gcheap_stats.h"
#include "gcheap/gcheap.h"

namespace {

struct Node {
  gcheap::Ref<Node> left, right;
};
constexpr gcheap::Type kNodeType = gcheap::Type::Of<Node>("Node").Pointers(
    offsetof(Node, left), offsetof(Node, right));

Node* Create(gcheap::Mutator& m, int depth) {
  Node* n = m.New<Node>(kNodeType);  // zeroed: a leaf has no children
  if (depth > 0) {
    n->left = Create(m, depth - 1);
    n->right = Create(m, depth - 1);
  }
  return n;
}

int64_t Check(const Node* n) {
  if (n->left == nullptr) return 1;
  return 1 + Check(n->left) + Check(n->right);
}

constexpr int kMinDepth = 4;

[[noreturn]] void Usage() {
  fprintf(stderr, "usage: binary_trees [max_depth]\n");
  exit(2);
}

int ParseDepth(const char* s) {
  char* end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < 0 || v > 62) Usage();
  return static_cast<int>(v);
}

}  // namespace

int main(int argc, char** argv) {
  int max_depth = 21;
  if (argc > 2) Usage();
  if (argc == 2) max_depth = ParseDepth(argv[1]);

  gcheap::Options options;
  options.max_procs = static_cast<int>(std::thread::hardware_concurrency());
  gcheap::Heap heap(options);
  gcheap::Mutator& m = heap.AttachCurrentThread();
  gcheap_bench::GcStats stats(heap, "binary_trees");

  if (max_depth < kMinDepth + 2) max_depth = kMinDepth + 2;
  const int stretch_depth = max_depth + 1;
  printf("stretch tree of depth %d\t check: %lld\n", stretch_depth,
         static_cast<long long>(Check(Create(m, stretch_depth))));
  stats.Fold();

  Node* long_lived = Create(m, max_depth);
  stats.Fold();

  for (int depth = kMinDepth; depth <= max_depth; depth += 2) {
    const int64_t iterations = int64_t{1} << (max_depth - depth + kMinDepth);
    int64_t check = 0;
    for (int64_t i = 0; i < iterations; i++) check += Check(Create(m, depth));
    printf("%lld\t trees of depth %d\t check: %lld\n",
           static_cast<long long>(iterations), depth,
           static_cast<long long>(check));
    stats.Fold();
  }

  printf("long lived tree of depth %d\t check: %lld\n", max_depth,
         static_cast<long long>(Check(long_lived)));

  stats.Report();
  heap.DetachCurrentThread();
  return 0;
}
