// The C API's allocation fast path against the C++ one, in the same run
// (Google Benchmark; tools/bench_c_api.sh runs it): the same loop, one
// side compiled as C99 against gcheap/gcheap_c.h (bench/c_alloc.c), the
// other as C++ against gcheap/mutator.h, each allocating 1000 objects of
// 16, 32, 48 or 64 bytes per iteration on one heap.
//
//   BM_Alloc/<c|cxx>/typed/<bytes>    a pointer-map object (a pointer in
//                                     word 0; no header: type bits)
//   BM_Alloc/c_static/typed/<bytes>   the same, its C type known at
//                                     compile time (GCH_STATIC_TYPE)
//   BM_Alloc/cxx_runtime/typed/<bytes>  the same, its C++ Type made at
//                                     run time (the C++ twin of a
//                                     gch_type_pointers type)
//   BM_Alloc/<c|cxx>/noscan/<bytes>   a pointer-free object
//
// Both run the same inline code (gcheap/internal/fast_path.h); the figure
// is the cost per object, collections included. Each side as its users
// write it: the C++ Type a constexpr the compiler sees, the C type a
// pointer made at run time (gch_type_pointers); sizes are run-time values
// on both sides.
#include <cstddef>
#include <cstdint>
#include <string>

#include "bench/c_alloc.h"
#include "benchmark/benchmark.h"
#include "gcheap/gcheap.h"
#include "gcheap/gcheap_c.h"

namespace {

constexpr long kBatch = 1000;
void* volatile cxx_sink;

template <size_t kBytes>
struct Obj {
  gcheap::Ref<Obj> next;
  long words[kBytes / 8 - 1];
};

template <size_t kBytes>
constexpr gcheap::Type kObjType =
    gcheap::Type::Of<Obj<kBytes>>("Obj").Pointers(0);

gcheap::Options Opts() {
  gcheap::Options o;
  o.max_procs = 1;
  return o;
}

// The compiler must not specialize a loop for its caller's constants, as
// it cannot the C loops, which live in another file: GCC's noipa, clang's
// noinline (clang does not clone for constants).
#if defined(__clang__)
#define GCHEAP_BENCH_OPAQUE __attribute__((noinline))
#else
#define GCHEAP_BENCH_OPAQUE __attribute__((noipa))
#endif

template <size_t kBytes>
GCHEAP_BENCH_OPAQUE void CxxAllocLoop(gcheap::Mutator& m, long n) {
  for (long i = 0; i < n; i++) {
    auto* p = m.New<long>(kObjType<kBytes>);
    p[1] = i;
    cxx_sink = p;
  }
}

// A Type made at run time (what gch_type_pointers is to C): the compiler
// sees neither its size nor its map.
GCHEAP_BENCH_OPAQUE void CxxRuntimeTypeLoop(gcheap::Mutator& m,
                                            const gcheap::Type& type, long n) {
  for (long i = 0; i < n; i++) {
    auto* p = m.New<long>(type);
    p[1] = i;
    cxx_sink = p;
  }
}

GCHEAP_BENCH_OPAQUE void CxxNoscanLoop(gcheap::Mutator& m, size_t bytes,
                                       long n) {
  for (long i = 0; i < n; i++) {
    auto* p = static_cast<long*>(m.AllocateNoscan(bytes));
    p[1] = i;
    cxx_sink = p;
  }
}

template <size_t kBytes>
void BM_AllocTyped(benchmark::State& state, bool c) {
  gcheap::Heap heap(Opts());
  gcheap::Mutator& m = heap.AttachCurrentThread();
  static const size_t kOffsets[] = {0};
  const gch_type* type = gch_type_pointers("Obj", kBytes, kOffsets, 1);
  gch_mutator* cm = reinterpret_cast<gch_mutator*>(&m);
  for (auto _ : state) {
    if (c) {
      c_alloc_loop(cm, type, kBatch);
    } else {
      CxxAllocLoop<kBytes>(m, kBatch);
    }
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  heap.DetachCurrentThread();
}

template <size_t kBytes>
void BM_AllocRuntimeType(benchmark::State& state) {
  gcheap::Heap heap(Opts());
  gcheap::Mutator& m = heap.AttachCurrentThread();
  // Built from a value the optimizer cannot fold.
  volatile size_t bytes = kBytes;
  const gcheap::Type type = gcheap::Type::Of("Obj", bytes).Pointers(0);
  for (auto _ : state) CxxRuntimeTypeLoop(m, type, kBatch);
  state.SetItemsProcessed(state.iterations() * kBatch);
  heap.DetachCurrentThread();
}

template <size_t kBytes>
void BM_AllocStatic(benchmark::State& state) {
  gcheap::Heap heap(Opts());
  gcheap::Mutator& m = heap.AttachCurrentThread();
  gch_mutator* cm = reinterpret_cast<gch_mutator*>(&m);
  for (auto _ : state) c_alloc_static_loop(cm, kBytes, kBatch);
  state.SetItemsProcessed(state.iterations() * kBatch);
  heap.DetachCurrentThread();
}

template <size_t kBytes>
void BM_AllocNoscan(benchmark::State& state, bool c) {
  gcheap::Heap heap(Opts());
  gcheap::Mutator& m = heap.AttachCurrentThread();
  gch_mutator* cm = reinterpret_cast<gch_mutator*>(&m);
  for (auto _ : state) {
    if (c) {
      c_alloc_noscan_loop(cm, kBytes, kBatch);
    } else {
      CxxNoscanLoop(m, kBytes, kBatch);
    }
  }
  state.SetItemsProcessed(state.iterations() * kBatch);
  heap.DetachCurrentThread();
}

template <size_t kBytes>
void Register() {
  const std::string n = std::to_string(kBytes);
  benchmark::RegisterBenchmark(
      ("BM_Alloc/c_static/typed/" + n).c_str(),
      [](benchmark::State& s) { BM_AllocStatic<kBytes>(s); });
  benchmark::RegisterBenchmark(
      ("BM_Alloc/cxx_runtime/typed/" + n).c_str(),
      [](benchmark::State& s) { BM_AllocRuntimeType<kBytes>(s); });
  for (bool c : {true, false}) {
    const std::string api = c ? "c" : "cxx";
    benchmark::RegisterBenchmark(
        ("BM_Alloc/" + api + "/typed/" + n).c_str(),
        [c](benchmark::State& s) { BM_AllocTyped<kBytes>(s, c); });
    benchmark::RegisterBenchmark(
        ("BM_Alloc/" + api + "/noscan/" + n).c_str(),
        [c](benchmark::State& s) { BM_AllocNoscan<kBytes>(s, c); });
  }
}

}  // namespace

int main(int argc, char** argv) {
  Register<16>();
  Register<32>();
  Register<48>();
  Register<64>();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
