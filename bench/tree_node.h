// The 32-byte tree node of the pause and pacing benchmarks (bench/pauses.cc,
// bench/steady_alloc.cc): two traced pointers and two words of payload,
// built into complete binary trees.
#ifndef GCHEAP_BENCH_TREE_NODE_H_
#define GCHEAP_BENCH_TREE_NODE_H_

#include <stddef.h>

#include <cstdint>

#include "gcheap/gcheap.h"

namespace gcheap_bench {

struct Node {
  gcheap::Ref<Node> left, right;
  uint64_t a, b;
};
inline constexpr gcheap::Type kNodeType =
    gcheap::Type::Of<Node>("Node").Pointers(offsetof(Node, left),
                                            offsetof(Node, right));
// An array of Node* (the benchmarks' root arrays).
inline constexpr gcheap::Type kSlotType =
    gcheap::Type::Of<Node*>("Node*").Pointers(0);

// A complete tree of 2^(depth+1) - 1 nodes.
inline Node* Tree(gcheap::Mutator& m, int depth) {
  Node* n = m.New<Node>(kNodeType);
  if (depth > 0) {
    n->left = Tree(m, depth - 1);
    n->right = Tree(m, depth - 1);
  }
  return n;
}

}  // namespace gcheap_bench

#endif  // GCHEAP_BENCH_TREE_NODE_H_
