// Marking throughput: how fast one marking thread traces a large live heap
// of small objects, the figure that bounds every concurrent cycle, with
// span-based marking (the default) and object by object.
//
//   bazel run --config=opt //bench:mark_speed -- [depth] [cycles] [shape]
//
// Builds 2^(depth+1) - 1 nodes of 16 bytes (two pointer-map fields, the
// node of bench/binary_trees.cc; default depth 22: 8.4 M nodes, 128 MiB),
// linked in five shapes: "dfs", binary trees allocated depth first as a
// program builds them (children next to their parent); "mixed", the same
// with an object of another pointer layout allocated (and dropped) every
// 16 nodes, so every span has mixed layouts and scanning reads per-slot
// type bits; "shuffled", the tree linked in a random order (every pointer a
// cache miss); "list", one linked list in allocation order; "graph", a
// random graph: a chain through the nodes in random order (so all are
// reachable) plus one random edge per node.
// Each shape is built in two heaps, one marking by spans and one object by
// object; then `cycles` (default 7) stop-the-world collections alternate
// between them, each with the calling thread as the only marker
// (mark_workers = 0), and the median pause over the live node count is
// printed: nanoseconds per object marked and scanned. Everything else in a
// pause (sweep termination, root scan) is microseconds against hundreds of
// milliseconds of marking.
#include <stddef.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

// Node i's left child is node i+1 of a random order and its right one a
// random node: every node is reachable from the first.
Node* RandomGraph(gcheap::Mutator& m, size_t n) {
  std::vector<Node*> nodes(n);
  for (auto& p : nodes) p = m.New<Node>(kNodeType);
  std::mt19937_64 rng(7);
  std::shuffle(nodes.begin(), nodes.end(), rng);
  for (size_t i = 0; i < n; i++) {
    if (i + 1 < n) nodes[i]->left = nodes[i + 1];
    nodes[i]->right = nodes[rng() % n];
  }
  return nodes[0];
}

Node* List(gcheap::Mutator& m, size_t n) {
  Node* head = nullptr;
  for (size_t i = 0; i < n; i++) {
    Node* x = m.New<Node>(kNodeType);
    x->left = head;
    head = x;
  }
  return head;
}

enum class Shape { kDfs, kMixed, kShuffled, kList, kGraph };

// One heap holding one shape, marked by spans or object by object.
class Subject {
 public:
  Subject(Shape shape, int depth, bool spans) : heap_(Options(spans)) {
    // A thread is attached to one heap at a time: each Subject attaches
    // for what it does.
    gcheap::Mutator& m_ = heap_.AttachCurrentThread();
    const size_t n = (size_t{2} << depth) - 1;
    Node* root = nullptr;
    switch (shape) {
      case Shape::kDfs:
      case Shape::kMixed:
        root = Tree(m_, depth, shape == Shape::kMixed);
        break;
      case Shape::kShuffled:
        root = ShuffledTree(m_, depth);
        break;
      case Shape::kList:
        root = List(m_, n);
        break;
      case Shape::kGraph:
        root = RandomGraph(m_, n);
        break;
    }
    root_ = new gcheap::Persistent<Node>(heap_, root);
    heap_.Collect();  // sweeps the construction garbage
    heap_.DetachCurrentThread();
  }
  ~Subject() {
    heap_.AttachCurrentThread();
    delete root_;
    heap_.DetachCurrentThread();
  }
  double PauseNs() {
    heap_.AttachCurrentThread();
    heap_.Collect();
    heap_.DetachCurrentThread();
    gcheap::MemStats s = heap_.ReadMemStats();
    return static_cast<double>(s.pause_ns[(s.num_gc + 255) % 256]);
  }

 private:
  static gcheap::Options Options(bool spans) {
    gcheap::Options options;
    options.concurrent_mark = false;
    options.mark_workers = 0;
    options.gc_percent = -1;  // only the explicit collections
    options.span_marking = spans;
    return options;
  }
  gcheap::Heap heap_;
  gcheap::Persistent<Node>* root_ = nullptr;
};

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void Run(const char* name, Shape shape, int depth, int cycles) {
  const double objects = static_cast<double>((size_t{2} << depth) - 1);
  std::vector<double> span_ns, object_ns;
  {
    Subject spans(shape, depth, true);
    Subject objects_one_by_one(shape, depth, false);
    for (int i = 0; i < cycles; i++) {
      span_ns.push_back(spans.PauseNs());
      object_ns.push_back(objects_one_by_one.PauseNs());
    }
  }
  const double s = Median(span_ns) / objects;
  const double o = Median(object_ns) / objects;
  std::printf(
      "%-9s %9.0f objects  spans %6.2f ns/object %6.0f MB/s  "
      "objects %6.2f ns/object %6.0f MB/s  spans/objects %.2fx\n",
      name, objects, s, sizeof(Node) / s * 1e3, o, sizeof(Node) / o * 1e3,
      s / o);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  int depth = argc > 1 ? std::atoi(argv[1]) : 22;
  int cycles = argc > 2 ? std::atoi(argv[2]) : 7;
  if (depth < 1 || depth > 28 || cycles < 1) {
    std::fprintf(stderr,
                 "usage: mark_speed [depth 1-28] [cycles >= 1] [shape]\n");
    return 2;
  }
  std::printf("one marking thread, median of %d stop-the-world cycles each\n",
              cycles);
  const char* only = argc > 3 ? argv[3] : nullptr;  // one shape, by name
  const struct {
    const char* name;
    Shape shape;
  } shapes[] = {{"dfs", Shape::kDfs},
                {"mixed", Shape::kMixed},
                {"shuffled", Shape::kShuffled},
                {"list", Shape::kList},
                {"graph", Shape::kGraph}};
  for (const auto& sh : shapes) {
    if (only == nullptr || std::strcmp(only, sh.name) == 0) {
      Run(sh.name, sh.shape, depth, cycles);
    }
  }
  return 0;
}
