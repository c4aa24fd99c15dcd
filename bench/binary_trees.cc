// binary-trees (The Computer Language Benchmarks Game) on gcheap.
//
// Usage: binary_trees [-threads N] [-objects typed|conservative] [max_depth]
//        (max_depth defaults to 21, N to 1, objects to typed)
//
// The workload and output of bench/peers/binary_trees.go and
// binary_trees.c:
//   - a stretch tree of depth max_depth+1 is built, checked and dropped;
//   - a long-lived tree of depth max_depth is built and kept to the end;
//   - for depth = 4, 6, ..., max_depth, 2^(max_depth - depth + 4) trees of
//     that depth are built, checked and dropped. With -threads N > 1 each
//     depth's iterations are split over N attached worker threads (worker
//     t builds trees t, t+N, ...), all allocating at once; the main thread
//     waits for them in pthread_join inside a BlockingScope.
//
// Every node is allocated individually through the collector; nothing is
// pooled or freed by hand, and each check value is computed by walking the
// tree just built. -objects typed allocates nodes with a pointer-map Type
// (Mutator::New); -objects conservative with Type::Conservative, the shape
// of a Boehm-style port that gives the heap no layout. Child pointers are
// stored through Ref (the write barrier) in both. The heap uses the default
// Options (conservative stack scanning, gc_percent 100) except max_procs,
// set to the number of CPUs; trees in progress are held in C++ locals,
// which the conservative stack scan keeps alive.
//
// At the end a RESULT line goes to stderr (see gcheap_stats.h): name
// binary_trees (binary_trees_t<N> with threads), impl gcheap (typed) or
// gcheap_cons (conservative).
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "bench/gcheap_stats.h"
#include "gcheap/gcheap.h"

namespace {

struct Node {
  gcheap::Ref<Node> left, right;
};
constexpr gcheap::Type kNodeType = gcheap::Type::Of<Node>("Node").Pointers(
    offsetof(Node, left), offsetof(Node, right));

constexpr gcheap::Type kConsNodeType =
    gcheap::Type::Conservative("Node", sizeof(Node));

const gcheap::Type* node_type = &kNodeType;

Node* Create(gcheap::Mutator& m, int depth) {
  // zeroed: a leaf has no children
  Node* n = static_cast<Node*>(m.Allocate(*node_type));
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
  fprintf(stderr,
          "usage: binary_trees [-threads N] [-objects typed|conservative] "
          "[max_depth]\n");
  exit(2);
}

int ParseDepth(const char* s) {
  char* end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < 0 || v > 62) Usage();
  return static_cast<int>(v);
}

struct Worker {
  gcheap::Heap* heap;
  int id, nthreads, depth;
  int64_t iterations;
  int64_t check = 0;
};

void* WorkerMain(void* arg) {
  auto* w = static_cast<Worker*>(arg);
  gcheap::Mutator& m = w->heap->AttachCurrentThread();
  for (int64_t i = w->id; i < w->iterations; i += w->nthreads) {
    w->check += Check(Create(m, w->depth));
  }
  w->heap->DetachCurrentThread();
  return nullptr;
}

}  // namespace

int main(int argc, char** argv) {
  int max_depth = 21;
  int threads = 1;
  bool conservative = false;
  bool have_depth = false;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-threads") == 0 && i + 1 < argc) {
      threads = ParseDepth(argv[++i]);
      if (threads < 1) Usage();
    } else if (strcmp(argv[i], "-objects") == 0 && i + 1 < argc) {
      const char* o = argv[++i];
      if (strcmp(o, "conservative") == 0) {
        conservative = true;
      } else if (strcmp(o, "typed") != 0) {
        Usage();
      }
    } else if (!have_depth) {
      max_depth = ParseDepth(argv[i]);
      have_depth = true;
    } else {
      Usage();
    }
  }
  if (conservative) node_type = &kConsNodeType;
  std::string name = "binary_trees";
  if (threads > 1) name += "_t" + std::to_string(threads);

  gcheap::Options options;
  options.max_procs = std::max<int>(
      threads, static_cast<int>(std::thread::hardware_concurrency()));
  gcheap::Heap heap(options);
  gcheap::Mutator& m = heap.AttachCurrentThread();
  gcheap_bench::GcStats stats(heap, name.c_str(),
                              conservative ? "gcheap_cons" : "gcheap");

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
    if (threads == 1) {
      for (int64_t i = 0; i < iterations; i++) check += Check(Create(m, depth));
    } else {
      std::vector<Worker> workers(threads);
      std::vector<pthread_t> tids(threads);
      for (int t = 0; t < threads; t++) {
        workers[t] = Worker{&heap, t, threads, depth, iterations};
        pthread_create(&tids[t], nullptr, WorkerMain, &workers[t]);
      }
      {
        gcheap::BlockingScope blocking(m);
        for (int t = 0; t < threads; t++) pthread_join(tids[t], nullptr);
      }
      for (const Worker& w : workers) check += w.check;
    }
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
