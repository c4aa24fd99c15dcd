// Multi-threaded churn on gcheap: allocation throughput with a steady live
// set, several mutators allocating at once. Its peers, doing exactly the
// same work, are bench/peers/churn.go and churn.c (Boehm GC and malloc).
//
// Usage: churn [-threads N] [-ops M]     (N = 1, M = 4000000 per thread)
//
// Each of N attached threads owns a table of K = 65536 object pointers,
// null at first, registered as a root range. For i = 0 .. M-1:
//
//   x    = (i + 1 + t * 2^32) * 0x9E3779B97F4A7C15;  x ^= x >> 29
//   size = 16 + ((x >> 8) % 16) * 16            (16..256 bytes)
//   j    = (x >> 20) & 0xFFFF
//   obj  = a new zeroed object of `size` bytes, no layout (Mutator::
//          AllocateConservative, Boehm's GC_MALLOC shape)
//   table[(j + 1) & 0xFFFF]'s first word = obj, if that slot is not null
//          (a pointer store into an older object, through the barrier)
//   table[j] = obj                                (through the barrier)
//
// Each object's first word points at the current occupant of the slot
// before its own, so nothing outlives its slot: at most N * 65536 objects
// are live. The tables are heap objects (pointer arrays held by a
// Persistent), as the Go peer's slices are.
//
// The main thread prints "churn threads N ops M bytes B live L" (B bytes
// allocated, L non-null table entries at the end) and a RESULT line (see
// gcheap_stats.h) with alloc_mb_s = B / 1e6 / wall seconds.
#include <pthread.h>
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

constexpr uint64_t kTable = 65536;

struct Worker {
  gcheap::Heap* heap;
  uint64_t id, ops;
  uint64_t bytes = 0, live = 0;
};

void* WorkerMain(void* arg) {
  static constexpr gcheap::Type kSlot =
      gcheap::Type::Of<void*>("slot").Pointers(0);
  auto* w = static_cast<Worker*>(arg);
  gcheap::Mutator& m = w->heap->AttachCurrentThread();
  {
    gcheap::Persistent<void*> holder(
        *w->heap, static_cast<void**>(m.AllocateArray(kSlot, kTable)));
    void** table = holder.Get();
    for (uint64_t i = 0; i < w->ops; i++) {
      uint64_t x = (i + 1 + (w->id << 32)) * 0x9E3779B97F4A7C15ull;
      x ^= x >> 29;
      const size_t size = 16 + ((x >> 8) % 16) * 16;
      const uint64_t j = (x >> 20) & 0xFFFF;
      void** obj = static_cast<void**>(m.AllocateConservative(size));
      if (void** n = static_cast<void**>(table[(j + 1) & 0xFFFF])) {
        gcheap::WriteBarrier(&n[0], obj);
      }
      gcheap::WriteBarrier(&table[j], obj);
      w->bytes += size;
    }
    for (uint64_t k = 0; k < kTable; k++) w->live += table[k] != nullptr;
  }
  w->heap->DetachCurrentThread();
  return nullptr;
}

[[noreturn]] void Usage() {
  fprintf(stderr, "usage: churn [-threads N] [-ops M]\n");
  exit(2);
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 1;
  uint64_t ops = 4000000;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-threads") == 0 && i + 1 < argc) {
      threads = atoi(argv[++i]);
    } else if (strcmp(argv[i], "-ops") == 0 && i + 1 < argc) {
      ops = strtoull(argv[++i], nullptr, 10);
    } else {
      Usage();
    }
  }
  if (threads < 1) Usage();
  std::string name = "churn_t" + std::to_string(threads);
  gcheap::Options options;
  options.max_procs = std::max<int>(
      threads, static_cast<int>(std::thread::hardware_concurrency()));
  gcheap::Heap heap(options);
  gcheap::Mutator& m = heap.AttachCurrentThread();
  gcheap_bench::GcStats stats(heap, name.c_str());
  std::vector<Worker> workers(threads);
  std::vector<pthread_t> tids(threads);
  for (int t = 0; t < threads; t++) {
    workers[t] = Worker{&heap, static_cast<uint64_t>(t), ops};
    pthread_create(&tids[t], nullptr, WorkerMain, &workers[t]);
  }
  {
    gcheap::BlockingScope blocking(m);
    for (int t = 0; t < threads; t++) pthread_join(tids[t], nullptr);
  }
  const double secs = stats.ElapsedMs() / 1000;
  uint64_t bytes = 0, live = 0;
  for (const Worker& w : workers) {
    bytes += w.bytes;
    live += w.live;
  }
  printf("churn threads %d ops %llu bytes %llu live %llu\n", threads,
         static_cast<unsigned long long>(ops),
         static_cast<unsigned long long>(bytes),
         static_cast<unsigned long long>(live));
  stats.AddField("alloc_mb_s", static_cast<double>(bytes) / 1e6 / secs);
  stats.Report();
  heap.DetachCurrentThread();
  return 0;
}
