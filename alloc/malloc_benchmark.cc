// Allocation throughput: gcheap's allocator against the process's malloc
// (glibc, or mimalloc / jemalloc / tcmalloc when preloaded; see
// tools/bench_alloc.sh, which runs this binary under each and tabulates).
//
// gcheap figures are amortised over everything an allocation costs in a
// collected heap: every 4 MiB allocated, the mcache is flushed, a sweep
// cycle starts with nothing marked, and every span is swept (its objects
// freed, empty spans back to the page heap), as a collection of a heap
// with no survivors would. Refills, lazy sweeping, span zeroing and page
// allocation are all inside the timed loop.
//
// malloc figures are a malloc+free pair per iteration (the allocator's best
// case: the same block cycles through its thread cache), and a batch of
// 1024 mallocs followed by 1024 frees.
#include <stdlib.h>
#include <string.h>

#include <vector>

#include "alloc/mcache.h"
#include "alloc/mheap.h"
#include "benchmark/benchmark.h"

namespace gcheap::internal {
namespace {

constexpr size_t kCycleBytes = 4 << 20;

// The size is a template argument, as in a real caller (New<T> allocates
// sizeof(T)): the size class lookup folds away, as it does there.
template <size_t size, bool noscan>
void BM_Gcheap(benchmark::State& state) {
  MHeapOptions o;
  o.background_scavenger = false;
  MHeap heap(o);
  MCache* c = heap.NewMCache();
  const size_t slot =
      size < kTinySize && noscan ? size : kClassToSize[SizeToClass(size)];
  const size_t per_cycle = kCycleBytes / (size <= kMaxSmallSize ? slot : size);
  size_t n = 0;
  for (auto _ : state) {
    void* p = c->Alloc(size, noscan);
    benchmark::DoNotOptimize(p);
    if (++n == per_cycle) {
      n = 0;
      c->ReleaseAll();
      heap.BeginSweepCycle();
      heap.SweepAll();
    }
  }
  heap.FreeMCache(c);
  state.SetItemsProcessed(state.iterations());
}

void BM_MallocFree(benchmark::State& state) {
  const size_t size = state.range(0);
  for (auto _ : state) {
    void* p = malloc(size);
    benchmark::DoNotOptimize(p);
    free(p);
  }
  state.SetItemsProcessed(state.iterations());
}

// Zeroed memory, as a collected heap hands out.
void BM_CallocFree(benchmark::State& state) {
  const size_t size = state.range(0);
  for (auto _ : state) {
    void* p = calloc(1, size);
    benchmark::DoNotOptimize(p);
    free(p);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_MallocBatch(benchmark::State& state) {
  const size_t size = state.range(0);
  constexpr int kBatch = 1024;
  std::vector<void*> ps(kBatch);
  int i = 0;
  for (auto _ : state) {
    ps[i] = malloc(size);
    benchmark::DoNotOptimize(ps[i]);
    if (++i == kBatch) {
      for (void* p : ps) free(p);
      i = 0;
    }
  }
  for (int j = 0; j < i; j++) free(ps[j]);
  state.SetItemsProcessed(state.iterations());
}

#define GCHEAP_SIZES(noscan)                                           \
  BENCHMARK_TEMPLATE(BM_Gcheap, 8, noscan)->Name(NAME(noscan, 8));     \
  BENCHMARK_TEMPLATE(BM_Gcheap, 16, noscan)->Name(NAME(noscan, 16));   \
  BENCHMARK_TEMPLATE(BM_Gcheap, 32, noscan)->Name(NAME(noscan, 32));   \
  BENCHMARK_TEMPLATE(BM_Gcheap, 64, noscan)->Name(NAME(noscan, 64));   \
  BENCHMARK_TEMPLATE(BM_Gcheap, 128, noscan)->Name(NAME(noscan, 128)); \
  BENCHMARK_TEMPLATE(BM_Gcheap, 512, noscan)->Name(NAME(noscan, 512)); \
  BENCHMARK_TEMPLATE(BM_Gcheap, 65536, noscan)->Name(NAME(noscan, 65536))
#define NAME(noscan, n) (noscan ? "BM_GcheapNoscan/" #n : "BM_GcheapScan/" #n)
GCHEAP_SIZES(false);
GCHEAP_SIZES(true);
#undef NAME

#define SMALL_SIZES Arg(8)->Arg(16)->Arg(32)->Arg(64)->Arg(128)->Arg(512)
BENCHMARK(BM_MallocFree)->SMALL_SIZES->Arg(65536);
BENCHMARK(BM_CallocFree)->SMALL_SIZES->Arg(65536);
BENCHMARK(BM_MallocBatch)->SMALL_SIZES->Arg(65536);

}  // namespace
}  // namespace gcheap::internal

BENCHMARK_MAIN();
