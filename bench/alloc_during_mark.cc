// The allocation fast path while the collector marks, against the same
// allocations with the collector idle, in one run.
//
//   bazel run --config=opt //bench:alloc_during_mark --
//       --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//   (one command line)
//
// A concurrent mark is held open (a cycle runs on another thread and waits
// in its mark hook, runtime/testing.h) while the benchmark allocates; the
// write barrier is on and every object is allocated black. Automatic
// collection is off (gc_percent -1), so no other cycle runs and assists owe
// nothing: what is measured is the allocation path itself. Each iteration
// allocates one object and lets it die; every 64 Ki iterations the timer
// stops while the heap is reset (the held mark released, a cycle run and a
// new mark held open), so the heap stays small.
//
//   Tiny     an 8-byte noscan object (the tiny allocator: 16-byte blocks)
//   Small    a 16-byte object with two pointer fields (pointer-map type)
//   Header   a 24-byte object carrying a type header (trace callback)
//   Bytes5   AllocateNoscan(5), a short string (tiny)
//   Bytes24  AllocateNoscan(24), a string of 24 bytes
#include <stddef.h>

#include <atomic>
#include <cstdint>
#include <thread>

#include "benchmark/benchmark.h"
#include "gcheap/gcheap.h"
#include "gcheap/testing.h"

namespace {

struct Word {
  uint64_t v;
};
constexpr gcheap::Type kWordType = gcheap::Type::Noscan("Word", sizeof(Word));

struct Node {
  gcheap::Ref<Node> left, right;
};
constexpr gcheap::Type kNodeType = gcheap::Type::Of<Node>("Node").Pointers(
    offsetof(Node, left), offsetof(Node, right));

struct Traced {
  gcheap::Ref<Traced> next;
  uint64_t a, b;
  static void Trace(void* obj, gcheap::Visitor& v) {
    v.Visit(static_cast<Traced*>(obj)->next.Get());
  }
};
constexpr gcheap::Type kTracedType =
    gcheap::Type::Traced("Traced", sizeof(Traced), &Traced::Trace);

using gcheap::testing_hooks::HeldMark;

// Runs alloc(m) once per iteration, with a mark held open when the
// benchmark's argument is 1.
template <class AllocFn>
void Run(benchmark::State& state, AllocFn alloc) {
  const bool marking = state.range(0) != 0;
  gcheap::Options o;
  o.max_procs = 2;
  o.gc_percent = -1;
  gcheap::Heap heap(o);
  gcheap::Mutator& m = heap.AttachCurrentThread();
  auto* held = marking ? new HeldMark(heap, m) : nullptr;
  int64_t n = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(alloc(m));
    if ((++n & 0xffff) == 0) {
      state.PauseTiming();
      if (held != nullptr) held->Release(m), delete held;
      heap.Collect();
      held = marking ? new HeldMark(heap, m) : nullptr;
      state.ResumeTiming();
    }
  }
  if (held != nullptr) held->Release(m), delete held;
  heap.DetachCurrentThread();
  state.SetItemsProcessed(state.iterations());
}

template <const gcheap::Type* kType>
void BM_Alloc(benchmark::State& state) {
  Run(state, [](gcheap::Mutator& m) { return m.New<char>(*kType); });
}

template <size_t kBytes>
void BM_AllocBytes(benchmark::State& state) {
  Run(state, [](gcheap::Mutator& m) { return m.AllocateNoscan(kBytes); });
}

BENCHMARK_TEMPLATE(BM_Alloc, &kWordType)
    ->Name("Tiny")
    ->ArgName("marking")
    ->Arg(0)
    ->Arg(1);
BENCHMARK_TEMPLATE(BM_Alloc, &kNodeType)
    ->Name("Small")
    ->ArgName("marking")
    ->Arg(0)
    ->Arg(1);
BENCHMARK_TEMPLATE(BM_Alloc, &kTracedType)
    ->Name("Header")
    ->ArgName("marking")
    ->Arg(0)
    ->Arg(1);

BENCHMARK_TEMPLATE(BM_AllocBytes, 5)
    ->Name("Bytes5")
    ->ArgName("marking")
    ->Arg(0)
    ->Arg(1);
BENCHMARK_TEMPLATE(BM_AllocBytes, 24)
    ->Name("Bytes24")
    ->ArgName("marking")
    ->Arg(0)
    ->Arg(1);

}  // namespace

BENCHMARK_MAIN();
