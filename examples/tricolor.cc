// The tricolor walk-through of docs/collector.md, on a real heap, one step
// at a time (gcheap::CycleStepper, docs/teaching.md).
//
// Part 1, stop-the-world: a root points to A; A points to B and C, B to C;
// D and E point to each other and nothing else points to them. Each step
// prints what the collector did, every object's colour and the grey queue.
//
// Part 2, concurrent: root -> A -> B -> C, and D <-> E, marked while the
// program runs. Once A is black and B grey, the program takes C out of
// B (a local keeps it: the stacks were scanned when the cycle began and
// are not scanned again) and later stores it into A, already black.
// Without the barrier's deletion half C would stay white and be freed
// while the program holds it; the barrier shades the old value of
// B->left, C, when the program clears it, and the new value of A->right.
//
//   bazel run //examples:tricolor            (prints both parts)
//   bazel run //examples:tricolor -- DIR     (also records each cycle for
//                                             the heap viewer, DIR/*.json)
#include <cstdio>
#include <string>

#include "gcheap/gcheap.h"

namespace {

struct Node {
  gcheap::Ref<Node> left;
  gcheap::Ref<Node> right;
};
constexpr gcheap::Type kNode = GCHEAP_TYPE(Node, left, right);

Node* root = nullptr;  // a registered root: the one the walk starts from

struct Graph {
  Node *a, *b, *c, *d, *e;
};

// Part 1's graph; with `chain`, part 2's (A -> B -> C).
Graph Build(gcheap::Mutator& m, bool chain) {
  Graph g;
  g.a = static_cast<Node*>(m.Allocate(kNode));
  g.b = static_cast<Node*>(m.Allocate(kNode));
  g.c = static_cast<Node*>(m.Allocate(kNode));
  g.d = static_cast<Node*>(m.Allocate(kNode));
  g.e = static_cast<Node*>(m.Allocate(kNode));
  g.a->left = g.b;
  if (!chain) g.a->right = g.c;
  g.b->left = g.c;
  g.d->right = g.e;
  g.e->right = g.d;
  root = g.a;
  return g;
}

const char* kNames[] = {"A", "B", "C", "D", "E"};

// "white: D, E  grey: B  black: A, C  work: [B]" (the next to scan first).
void PrintColors(gcheap::CycleStepper& c, const Graph& g) {
  using Color = gcheap::CycleStepper::Color;
  const Node* objs[] = {g.a, g.b, g.c, g.d, g.e};
  const char* labels[] = {"white", "grey", "black"};
  const Color colors[] = {Color::kWhite, Color::kGrey, Color::kBlack};
  std::string line = "        ";
  for (int k = 0; k < 3; k++) {
    std::string names;
    for (int i = 0; i < 5; i++) {
      if (c.ColorOf(objs[i]) != colors[k]) continue;
      names += std::string(names.empty() ? "" : ", ") + kNames[i];
    }
    if (names.empty()) continue;
    line += std::string(labels[k]) + ": " + names + "  ";
  }
  std::string work;
  for (const void* p : c.GreyQueue()) {
    for (int i = 0; i < 5; i++) {
      if (p == objs[i])
        work += std::string(work.empty() ? "" : ", ") + kNames[i];
    }
  }
  std::printf("%swork: [%s]\n", line.c_str(), work.c_str());
}

void NameAll(gcheap::CycleStepper& c, const Graph& g) {
  const Node* objs[] = {g.a, g.b, g.c, g.d, g.e};
  for (int i = 0; i < 5; i++) c.Name(objs[i], kNames[i]);
}

// Steps to the end of marking, printing each step.
void Mark(gcheap::CycleStepper& c, const Graph& g, int* step) {
  while (c.phase() != gcheap::CycleStepper::Phase::kSweep && c.Step()) {
    std::printf("step %d: %s\n", ++*step, c.Describe().c_str());
    PrintColors(c, g);
  }
}

void PartOne(gcheap::Heap& heap, gcheap::Mutator& m, const char* dir) {
  std::printf("== Part 1: a stop-the-world cycle ==\n");
  Graph g = Build(m, /*chain=*/false);
  int step = 0;
  {
    gcheap::CycleStepper c(heap, gcheap::CycleStepper::Mode::kStopTheWorld);
    NameAll(c, g);
    if (dir != nullptr) c.Record("tricolor walk-through (stop-the-world)");
    std::printf("step %d: %s\n", step, c.Describe().c_str());
    PrintColors(c, g);
    Mark(c, g, &step);
    // Sweep: D and E are freed.
    c.Finish();
    std::printf("sweep: %s\n", c.Describe().c_str());
    if (dir != nullptr) {
      c.WriteRecording(std::string(dir) + "/tricolor-stw.json");
    }
  }
  const gcheap::MemStats s = heap.ReadMemStats();
  std::printf("after the cycle: %llu objects live (A, B, C), %llu freed\n\n",
              static_cast<unsigned long long>(s.heap_objects),
              static_cast<unsigned long long>(s.frees));
}

void PartTwo(gcheap::Heap& heap, gcheap::Mutator& m, const char* dir) {
  std::printf("== Part 2: a concurrent cycle, the program moving C ==\n");
  Graph g = Build(m, /*chain=*/true);
  int step = 0;
  gcheap::CycleStepper c(heap, gcheap::CycleStepper::Mode::kConcurrent);
  NameAll(c, g);
  if (dir != nullptr)
    c.Record("tricolor walk-through (concurrent, hybrid barrier)");
  std::printf("step %d: %s\n", step, c.Describe().c_str());
  PrintColors(c, g);
  // To the mark phase, with the world running again, A greyed by its root.
  while (c.phase() != gcheap::CycleStepper::Phase::kMark) {
    c.Step();
    std::printf("step %d: %s\n", ++step, c.Describe().c_str());
    PrintColors(c, g);
  }
  // Scan A: A turns black, B grey; C is white, reached only through B.
  c.Step();
  std::printf("step %d: %s\n", ++step, c.Describe().c_str());
  PrintColors(c, g);
  // The program takes C out of B. The deletion half shades the old value.
  Node* held = g.b->left;
  g.b->left = nullptr;
  std::printf(
      "program: held = B->left; B->left = null  (the barrier shades the old "
      "value, C)\n");
  c.RecordState(
      "program: held = B->left; B->left = null (the barrier shades the old "
      "value, C)");
  PrintColors(c, g);
  // It stores C into A, black. The insertion half shades the new value
  // (C is grey already).
  g.a->right = held;
  std::printf(
      "program: A->right = held  (the barrier shades the new value, C: "
      "already grey)\n");
  c.RecordState(
      "program: A->right = held (the barrier shades the new value, C: already "
      "grey)");
  PrintColors(c, g);
  Mark(c, g, &step);
  c.Finish();
  std::printf("sweep: %s\n", c.Describe().c_str());
  if (dir != nullptr) {
    c.WriteRecording(std::string(dir) + "/tricolor-concurrent.json");
  }
  std::printf("C survived: A->right %s C\n",
              g.a->right == g.c ? "is" : "is not");
}

}  // namespace

int main(int argc, char** argv) {
  const char* dir = argc > 1 ? argv[1] : nullptr;
  gcheap::Options options;
  // Precise stacks: the root is the registered global, not stack words.
  options.stack_scanning = gcheap::StackScanning::kPrecise;
  gcheap::Heap heap(options);
  gcheap::Mutator& m = heap.AttachCurrentThread();
  heap.AddRoot(&root);
  PartOne(heap, m, dir);
  PartTwo(heap, m, dir);
  heap.RemoveRoot(&root);
  heap.DetachCurrentThread();
  return 0;
}
