// What heap profiling costs the allocating program (Google Benchmark):
// 1000 objects of 32 bytes per iteration, a pointer-map type through the
// inline fast path, at sampling rates of 0 (off: the default), 512 KiB
// (Go's default), 64 KiB and 4 KiB. Off, nothing changes on the fast path
// (sampling is decided when the slow path hands a 64-slot word out); on,
// each sample costs a stack capture and a bucket lookup.
//
//   bazel run --config=opt //bench:profile_bench
#include <cstdint>

#include "benchmark/benchmark.h"
#include "gcheap/gcheap.h"

namespace {

struct Obj {
  gcheap::Ref<Obj> next;
  long words[3];
};
constexpr gcheap::Type kObjType = GCHEAP_TYPE(Obj, next);
Obj* volatile sink;

__attribute__((noinline)) void AllocateBatch(gcheap::Mutator& m) {
  Obj* prev = nullptr;
  for (int i = 0; i < 1000; i++) {
    Obj* o = m.New<Obj>(kObjType);
    o->next = prev;
    prev = o;
  }
  sink = prev;
}

void BM_AllocProfiled(benchmark::State& state) {
  gcheap::Options o;
  o.max_procs = 1;
  o.mem_profile_rate = state.range(0);
  gcheap::Heap heap(o);
  gcheap::Mutator& m = heap.AttachCurrentThread();
  for (auto _ : state) AllocateBatch(m);
  state.SetItemsProcessed(state.iterations() * 1000);
  heap.DetachCurrentThread();
}
BENCHMARK(BM_AllocProfiled)->Arg(0)->Arg(512 * 1024)->Arg(64 * 1024)->Arg(4096);

}  // namespace

BENCHMARK_MAIN();
