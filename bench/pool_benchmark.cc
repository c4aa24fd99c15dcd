// Pool<T> against the alternatives, and weak references.
//
//   bazel run --config=opt //bench:pool_benchmark --
//       --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
//   (one command line)
//
// Each iteration of a pool benchmark is one Get and one Put. The
// alternatives: a free list under a std::mutex, and plain allocation (New,
// then letting the object die; the collections it causes are included).
#include <stddef.h>

#include <mutex>
#include <vector>

#include "benchmark/benchmark.h"
#include "gcheap/gcheap.h"

namespace {

struct Pair {
  gcheap::Ref<Pair> car;
  gcheap::Ref<Pair> cdr;
  uint64_t value;
};
constexpr gcheap::Type kPairType = gcheap::Type::Of<Pair>("Pair").Pointers(
    offsetof(Pair, car), offsetof(Pair, cdr));

struct Plain {
  uint64_t words[3];
};

gcheap::Heap& TheHeap() {
  static gcheap::Heap* heap = [] {
    gcheap::Options o;
    o.max_procs = 4;
    o.finalizer_mode = gcheap::FinalizerMode::kEmbedderDrains;
    return new gcheap::Heap(o);
  }();
  return *heap;
}

// Attaches the benchmark thread for the benchmark's duration.
class Attached {
 public:
  Attached() : m_(TheHeap().AttachCurrentThread()) {}
  ~Attached() { TheHeap().DetachCurrentThread(); }
  gcheap::Mutator& m() { return m_; }

 private:
  gcheap::Mutator& m_;
};

// Runs body(m) for every iteration on an attached thread. The benchmark
// library makes threads wait for each other at the start and the end of a
// run; a thread that waits while it holds its P would stall every
// collection (which must stop it), so the waits happen in a BlockingScope,
// once per batch of iterations.
template <class Body>
void RunAttached(benchmark::State& state, Body body) {
  Attached a;
  gcheap::Mutator& m = a.m();
  constexpr int kBatch = 1024;
  while (true) {
    bool more;
    {
      gcheap::BlockingScope b(m);
      more = state.KeepRunningBatch(kBatch);
    }
    if (!more) break;
    for (int i = 0; i < kBatch; i++) body(m);
  }
}

gcheap::Pool<Plain>& PlainPool() {
  static auto* pool = new gcheap::Pool<Plain>(TheHeap(), gcheap::kPlainObjects,
                                              [] { return new Plain(); });
  return *pool;
}

gcheap::Pool<Pair>& HeapPool() {
  static auto* pool = new gcheap::Pool<Pair>(
      TheHeap(), [](gcheap::Mutator& m) { return m.New<Pair>(kPairType); });
  return *pool;
}

void BM_PoolGetPut_Plain(benchmark::State& state) {
  gcheap::Pool<Plain>& pool = PlainPool();
  RunAttached(state, [&](gcheap::Mutator& m) {
    Plain* p = pool.Get(m);
    benchmark::DoNotOptimize(p);
    pool.Put(m, p);
  });
}
BENCHMARK(BM_PoolGetPut_Plain)->Threads(1)->Threads(2);

void BM_PoolGetPut_HeapObject(benchmark::State& state) {
  gcheap::Pool<Pair>& pool = HeapPool();
  RunAttached(state, [&](gcheap::Mutator& m) {
    Pair* p = pool.Get(m);
    benchmark::DoNotOptimize(p);
    pool.Put(m, p);
  });
}
BENCHMARK(BM_PoolGetPut_HeapObject)->Threads(1)->Threads(2);

// Two objects in flight per iteration: the second Get misses the private
// slot and goes to the shared chain.
void BM_PoolGetPut_Two(benchmark::State& state) {
  gcheap::Pool<Plain>& pool = PlainPool();
  RunAttached(state, [&](gcheap::Mutator& m) {
    Plain* p = pool.Get(m);
    Plain* q = pool.Get(m);
    benchmark::DoNotOptimize(p);
    benchmark::DoNotOptimize(q);
    pool.Put(m, q);
    pool.Put(m, p);
  });
}
BENCHMARK(BM_PoolGetPut_Two)->Threads(1)->Threads(2);

std::mutex free_mu;
std::vector<Plain*>* free_list = new std::vector<Plain*>();

void BM_MutexFreeList(benchmark::State& state) {
  for (auto _ : state) {
    Plain* p;
    {
      std::lock_guard<std::mutex> l(free_mu);
      if (free_list->empty()) {
        p = new Plain();
      } else {
        p = free_list->back();
        free_list->pop_back();
      }
    }
    benchmark::DoNotOptimize(p);
    std::lock_guard<std::mutex> l(free_mu);
    free_list->push_back(p);
  }
}
BENCHMARK(BM_MutexFreeList)->Threads(1)->Threads(2);

void BM_NewAndLetDie(benchmark::State& state) {
  RunAttached(state, [](gcheap::Mutator& m) {
    Pair* p = m.New<Pair>(kPairType);
    benchmark::DoNotOptimize(p);
  });
}
BENCHMARK(BM_NewAndLetDie)->Threads(1)->Threads(2);

// The object's cell exists already: the table lookup and a reference.
void BM_WeakRefMake(benchmark::State& state) {
  gcheap::Persistent<Pair> obj;
  gcheap::WeakRef<Pair> first;
  RunAttached(state, [&](gcheap::Mutator& m) {
    if (!obj) {
      obj = gcheap::Persistent<Pair>(TheHeap(), m.New<Pair>(kPairType));
      first = gcheap::WeakRef<Pair>(TheHeap(), obj.Get());
    }
    gcheap::WeakRef<Pair> w(TheHeap(), obj.Get());
    benchmark::DoNotOptimize(w);
  });
}
BENCHMARK(BM_WeakRefMake);

// A new object each time: allocation, a record and a cell; the objects die
// and their cells are cleared by the sweeper.
void BM_WeakRefMakeNewObject(benchmark::State& state) {
  RunAttached(state, [](gcheap::Mutator& m) {
    gcheap::WeakRef<Pair> w(TheHeap(), m.New<Pair>(kPairType));
    benchmark::DoNotOptimize(w);
  });
}
BENCHMARK(BM_WeakRefMakeNewObject);

void BM_WeakRefGet(benchmark::State& state) {
  gcheap::Persistent<Pair> obj;
  gcheap::WeakRef<Pair> w;
  RunAttached(state, [&](gcheap::Mutator& m) {
    if (!obj) {
      obj = gcheap::Persistent<Pair>(TheHeap(), m.New<Pair>(kPairType));
      w = gcheap::WeakRef<Pair>(TheHeap(), obj.Get());
    }
    Pair* p = w.Get();
    benchmark::DoNotOptimize(p);
  });
}
BENCHMARK(BM_WeakRefGet)->Threads(1)->Threads(2);

}  // namespace

BENCHMARK_MAIN();
