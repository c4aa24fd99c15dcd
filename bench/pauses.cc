// Stop-the-world pauses with a large live heap of small objects and two
// mutator threads, in concurrent and stop-the-world marking mode.
//
//   bazel run --config=opt //bench:pauses -- [live_MiB] [seconds]
//
// Builds a live heap of `live_MiB` (default 256) of 32-byte nodes (binary
// trees hanging off a root array), then runs two mutators for `seconds`
// (default 10) that allocate short-lived trees and replace live subtrees,
// so collections run back to back. Prints, per mode, the number of cycles
// and the pause distribution (p50, p99, max; one entry per cycle: the sum
// of its stop-the-world pauses, as MemStats.PauseNs records it), the
// program's allocation throughput, GCCPUFraction, and the peak heap
// against the heap goal.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>
#include <vector>

#include "bench/tree_node.h"
#include "gcheap/gcheap.h"

namespace {

using gcheap_bench::kNodeType;
using gcheap_bench::kSlotType;
using gcheap_bench::Node;
using gcheap_bench::Tree;

struct Result {
  uint32_t cycles = 0;
  double p50_us = 0, p99_us = 0, max_us = 0;
  double mallocs_per_s = 0;
  double gc_cpu = 0;
  double peak_over_goal = 0;
};

Result Run(bool concurrent, size_t live_mib, int seconds) {
  gcheap::Options o;
  o.concurrent_mark = concurrent;
  gcheap::Heap heap(o);
  gcheap::Mutator& m = heap.AttachCurrentThread();
  // Live heap: trees of depth 12 (8191 nodes, 256 KiB each).
  const size_t kTreeBytes = 8191 * 32;
  const size_t ntrees = live_mib * (1 << 20) / kTreeBytes;
  Result r;
  {
    gcheap::Persistent<Node*> roots(
        heap, static_cast<Node**>(m.AllocateArray(kSlotType, ntrees)));
    for (size_t i = 0; i < ntrees; i++) {
      gcheap::WriteBarrier(reinterpret_cast<void**>(&roots.Get()[i]),
                           Tree(m, 12));
    }
    heap.Collect();
    gcheap::MemStats before = heap.ReadMemStats();
    std::atomic<bool> stop{false};
    std::atomic<uint64_t> peak_alloc{0}, peak_goal{1};
    auto mutator = [&](int id) {
      gcheap::Mutator& mm = id == 0 ? m : heap.AttachCurrentThread();
      uint64_t x = 88172645463325252ull + id;
      while (!stop.load(std::memory_order_relaxed)) {
        for (int k = 0; k < 50; k++) Tree(mm, 6);  // garbage
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t i = x % ntrees;  // replace a live tree
        gcheap::WriteBarrier(reinterpret_cast<void**>(&roots.Get()[i]),
                             Tree(mm, 12));
      }
      if (id != 0) heap.DetachCurrentThread();
    };
    std::thread other(mutator, 1);
    std::thread watcher([&] {
      while (!stop.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        gcheap::MemStats s = heap.ReadMemStats();
        if (s.heap_alloc > peak_alloc.load()) {
          peak_alloc = s.heap_alloc;
          peak_goal = s.next_gc;
        }
      }
    });
    auto t0 = std::chrono::steady_clock::now();
    std::thread timer([&] {
      std::this_thread::sleep_for(std::chrono::seconds(seconds));
      stop = true;
    });
    mutator(0);
    {
      gcheap::BlockingScope b(m);  // joins block: give up the P meanwhile
      timer.join();
      other.join();
      watcher.join();
    }
    double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
            .count();
    gcheap::MemStats after = heap.ReadMemStats();
    std::vector<double> pauses;
    for (uint32_t n = before.num_gc; n < after.num_gc; n++) {
      if (after.num_gc - n > 256) continue;
      pauses.push_back(after.pause_ns[n % 256] / 1000.0);
    }
    std::sort(pauses.begin(), pauses.end());
    r.cycles = after.num_gc - before.num_gc;
    if (!pauses.empty()) {
      r.p50_us = pauses[pauses.size() / 2];
      r.p99_us = pauses[std::min(pauses.size() - 1, pauses.size() * 99 / 100)];
      r.max_us = pauses.back();
    }
    r.mallocs_per_s = (after.mallocs - before.mallocs) / secs;
    r.gc_cpu = after.gc_cpu_fraction;
    r.peak_over_goal =
        static_cast<double>(peak_alloc.load()) / peak_goal.load();
  }
  heap.DetachCurrentThread();
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  size_t live_mib = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 256;
  int seconds = argc > 2 ? std::atoi(argv[2]) : 10;
  std::printf("live heap %zu MiB of 32-byte nodes, 2 mutators, %d s per mode\n",
              live_mib, seconds);
  std::printf("%-11s %7s %10s %10s %10s %14s %8s %10s\n", "mode", "cycles",
              "p50_us", "p99_us", "max_us", "mallocs/s", "gc_cpu", "peak/goal");
  for (bool concurrent : {true, false}) {
    Result r = Run(concurrent, live_mib, seconds);
    std::printf("%-11s %7u %10.0f %10.0f %10.0f %14.0f %7.1f%% %10.2f\n",
                concurrent ? "concurrent" : "stw", r.cycles, r.p50_us, r.p99_us,
                r.max_us, r.mallocs_per_s, r.gc_cpu * 100, r.peak_over_goal);
    std::fflush(stdout);
  }
  return 0;
}
