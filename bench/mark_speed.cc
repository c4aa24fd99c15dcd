// Marking throughput: how fast one marking thread traces a large live heap
// of small objects, the figure that bounds every concurrent cycle.
//
//   bazel run --config=opt //bench:mark_speed -- [depth] [cycles]
//
// Builds binary trees of 16-byte nodes (two pointer-map fields, the node of
// bench/binary_trees.cc) with 2^(depth+1) - 1 nodes in all (default depth
// 22: 8.4 M nodes, 128 MiB), in three layouts: "dfs", allocated depth
// first as a program builds them (children next to their parent); "mixed",
// the same with an object of another pointer layout allocated (and
// dropped) every 16 nodes, so every span has mixed layouts and scanning
// reads per-slot type bits; and "shuffled", the nodes linked in a random
// order (every pointer a cache miss).
// Then runs `cycles` (default 7) stop-the-world collections with the
// calling thread as the only marker (mark_workers = 0) and prints the
// median pause over the live node count: nanoseconds per object marked and
// scanned. Everything else in a pause (sweep termination, root scan) is
// microseconds against hundreds of milliseconds of marking.
#include <stddef.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "gcheap/gcheap.h"

namespace {

struct Node {
  gcheap::Ref<Node> left, right;
};
constexpr gcheap::Type kNodeType = gcheap::Type::Of<Node>("Node").Pointers(
    offsetof(Node, left), offsetof(Node, right));

// Another 16-byte layout (one pointer word, then data). Allocated among
// the nodes, it makes their spans' layout mixed: scanning reads per-slot
// type bits instead of one mask per span.
struct Other {
  gcheap::Ref<Node> p;
  uint64_t x;
};
constexpr gcheap::Type kOtherType =
    gcheap::Type::Of<Other>("Other").Pointers(offsetof(Other, p));

Node* Tree(gcheap::Mutator& m, int depth, bool mixed) {
  Node* n = m.New<Node>(kNodeType);
  if (mixed && depth == 3) m.New<Other>(kOtherType);  // garbage
  if (depth > 0) {
    n->left = Tree(m, depth - 1, mixed);
    n->right = Tree(m, depth - 1, mixed);
  }
  return n;
}

// The same shape as Tree(depth), but node i's children are nodes 2i+1 and
// 2i+2 of a randomly permuted allocation order.
Node* ShuffledTree(gcheap::Mutator& m, int depth) {
  const size_t n = (size_t{2} << depth) - 1;
  std::vector<Node*> nodes(n);
  for (auto& p : nodes) p = m.New<Node>(kNodeType);
  std::shuffle(nodes.begin(), nodes.end(), std::mt19937_64(42));
  for (size_t i = 0; 2 * i + 2 < n; i++) {
    nodes[i]->left = nodes[2 * i + 1];
    nodes[i]->right = nodes[2 * i + 2];
  }
  return nodes[0];
}

double MedianPauseNs(gcheap::Heap& heap, int cycles) {
  std::vector<double> pauses;
  for (int i = 0; i < cycles; i++) {
    heap.Collect();
    gcheap::MemStats s = heap.ReadMemStats();
    pauses.push_back(static_cast<double>(s.pause_ns[(s.num_gc + 255) % 256]));
  }
  std::sort(pauses.begin(), pauses.end());
  return pauses[pauses.size() / 2];
}

enum class Layout { kDfs, kMixed, kShuffled };

void Run(const char* name, Layout layout, int depth, int cycles) {
  gcheap::Options options;
  options.concurrent_mark = false;
  options.mark_workers = 0;
  options.gc_percent = -1;  // only the explicit collections
  gcheap::Heap heap(options);
  gcheap::Mutator& m = heap.AttachCurrentThread();
  {
    gcheap::Persistent<Node> root(
        heap, layout == Layout::kShuffled
                  ? ShuffledTree(m, depth)
                  : Tree(m, depth, layout == Layout::kMixed));
    heap.Collect();  // sweeps the construction garbage (shuffle's vector)
    const double objects = static_cast<double>((size_t{2} << depth) - 1);
    const double ns = MedianPauseNs(heap, cycles);
    std::printf("%-9s %10.0f objects  %8.1f ms  %6.2f ns/object  %7.0f MB/s\n",
                name, objects, ns / 1e6, ns / objects,
                objects * sizeof(Node) / ns * 1e3);
  }
  heap.DetachCurrentThread();
}

}  // namespace

int main(int argc, char** argv) {
  int depth = argc > 1 ? std::atoi(argv[1]) : 22;
  int cycles = argc > 2 ? std::atoi(argv[2]) : 7;
  if (depth < 1 || depth > 28 || cycles < 1) {
    std::fprintf(stderr, "usage: mark_speed [depth 1-28] [cycles >= 1]\n");
    return 2;
  }
  std::printf("one marking thread, median of %d stop-the-world cycles\n",
              cycles);
  Run("dfs", Layout::kDfs, depth, cycles);
  Run("mixed", Layout::kMixed, depth, cycles);
  Run("shuffled", Layout::kShuffled, depth, cycles);
  return 0;
}
