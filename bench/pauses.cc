// Stop-the-world pauses with a large live heap of small objects and two
// mutator threads, in concurrent and stop-the-world marking mode.
//
//   bazel run --config=opt //bench:pauses -- [live_MiB] [seconds]
//   bazel run --config=opt //bench:pauses -- -live 256 -seconds 10
//       -mutators 2 -spinners 2             (one command line)
//
// The second form (bench/peers/pauses.go is its Go peer, run by
// tools/bench_shapes.sh) runs concurrent marking only, with `spinners`
// more attached threads in loops that neither allocate nor poll (they sum
// an array and look at a stop flag every 2^24 iterations): stops reach
// them through signals (docs/collector.md, "Stopping threads that do not
// poll"). It prints a RESULT line with the pause distribution.
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
#include <string>
#include <thread>
#include <vector>

#include "absl/base/attributes.h"
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

// A loop that neither allocates nor polls: the shape of an embedder's
// native code (a hash, a sort, a numeric kernel) on an attached thread.
ABSL_ATTRIBUTE_NOINLINE uint64_t Spin(const std::atomic<bool>& stop) {
  uint64_t data[512];
  for (int i = 0; i < 512; i++) data[i] = i * 2654435761u;
  uint64_t sum = 0;
  for (uint64_t n = 1;; n++) {
    sum += data[n & 511] ^ (sum >> 3);
    if ((n & ((1u << 24) - 1)) == 0 && stop.load(std::memory_order_relaxed)) {
      return sum;
    }
  }
}

std::atomic<uint64_t> spin_sink{0};

Result Run(bool concurrent, size_t live_mib, int seconds, int mutators = 2,
           int spinners = 0, std::vector<double>* all_pauses = nullptr) {
  gcheap::Options o;
  o.concurrent_mark = concurrent;
  // A P for every thread, spinners included: each holds its P while it
  // runs, as an embedder's threads do (with fewer Ps a spinner would wait
  // in AttachCurrentThread instead of spinning).
  o.max_procs = std::max(mutators + spinners,
                         static_cast<int>(std::thread::hardware_concurrency()));
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
    std::vector<std::thread> others;
    for (int id = 1; id < mutators; id++) others.emplace_back(mutator, id);
    for (int k = 0; k < spinners; k++) {
      others.emplace_back([&] {
        heap.AttachCurrentThread();
        spin_sink += Spin(stop);
        heap.DetachCurrentThread();
      });
    }
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
      for (std::thread& t : others) t.join();
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
    if (all_pauses != nullptr) *all_pauses = pauses;
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
  if (argc > 1 && argv[1][0] == '-') {
    size_t live_mib = 256;
    int seconds = 10, mutators = 2, spinners = 2;
    for (int i = 1; i + 1 < argc; i += 2) {
      std::string k = argv[i];
      long v = std::strtol(argv[i + 1], nullptr, 10);
      if (k == "-live") {
        live_mib = static_cast<size_t>(v);
      } else if (k == "-seconds") {
        seconds = static_cast<int>(v);
      } else if (k == "-mutators") {
        mutators = static_cast<int>(v);
      } else if (k == "-spinners") {
        spinners = static_cast<int>(v);
      } else {
        std::fprintf(stderr,
                     "usage: pauses [-live MiB] [-seconds S] [-mutators N] "
                     "[-spinners K]\n");
        return 2;
      }
    }
    if (mutators < 1) mutators = 1;
    std::printf("pauses live %zu seconds %d mutators %d spinners %d\n",
                live_mib, seconds, mutators, spinners);
    auto t0 = std::chrono::steady_clock::now();
    std::vector<double> p;
    Result r = Run(true, live_mib, seconds, mutators, spinners, &p);
    double wall_ms = std::chrono::duration<double, std::milli>(
                         std::chrono::steady_clock::now() - t0)
                         .count();
    double total_ms = 0;
    for (double us : p) total_ms += us / 1000;
    std::fflush(stdout);
    std::fprintf(stderr,
                 "RESULT name=pauses impl=gcheap wall_ms=%.3f gcs=%u "
                 "max_pause_us=%.3f total_pause_ms=%.3f p50_pause_us=%.3f "
                 "p99_pause_us=%.3f\n",
                 wall_ms, r.cycles, r.max_us, total_ms, r.p50_us, r.p99_us);
    return 0;
  }
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
