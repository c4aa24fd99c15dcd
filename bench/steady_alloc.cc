// GC CPU fraction and heap-goal tracking under a steady allocation rate.
//
//   bazel run --config=opt //bench:steady_alloc -- [live_MiB] [seconds]
//
// Builds a live heap of `live_MiB` (default 64) of 32-byte nodes, then runs
// mutator threads that allocate short-lived nodes at a fixed rate (in 1 ms
// chunks, sleeping to keep to the schedule) and replace a live tree now and
// then, for `seconds` (default 3) per configuration. Configurations: 1 and 2
// mutators at 100 and 400 MB/s in total, concurrent marking with idle-time
// marking on and off.
//
// Per configuration it prints:
//   rate      the allocation rate achieved, MB/s (below the target when the
//             collector held the program back)
//   cycles    collections in the measured interval
//   gc_cpu    GC CPU as a share of the process's CPU budget (wall time x
//             Ps) over the interval, as GCCPUFraction counts it
//   H0/goal   where cycles started, as a share of their goal (median)
//   H1/goal   where marking ended, as a share of the goal (median, max):
//             above 1.00 the heap overshot its goal
//   assist%   the share of mark CPU done by mutator assists
//
// The numbers come from the heap's own gctrace lines (the goal printed is
// the one each cycle aimed for) and MemStats.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "bench/tree_node.h"
#include "gcheap/gcheap.h"

namespace {

using gcheap_bench::kNodeType;
using gcheap_bench::kSlotType;
using gcheap_bench::Node;
using gcheap_bench::Tree;

struct Cycle {
  double h0, h1, goal;                 // MiB
  double stw, assist, bg, idle, term;  // CPU ms
  int procs;
};

std::vector<Cycle> ParseTrace(const char* buf) {
  std::vector<Cycle> out;
  for (const char* line = buf; line != nullptr && *line != '\0';) {
    const char* cpu = strstr(line, "ms clock, ");
    const char* mb = cpu != nullptr ? strstr(cpu, "ms cpu, ") : nullptr;
    if (mb == nullptr) break;
    const char* ps = strstr(mb, "MB globals, ");
    double d, e, f, g, h, h0, h1, h2, goal;
    int procs = 0;
    if (sscanf(cpu, "ms clock, %lf+%lf/%lf/%lf+%lf", &d, &e, &f, &g, &h) == 5 &&
        sscanf(mb, "ms cpu, %lf->%lf->%lf MB, %lf MB goal", &h0, &h1, &h2,
               &goal) == 4 &&
        ps != nullptr && sscanf(ps, "MB globals, %d P", &procs) == 1 &&
        goal > 0) {
      out.push_back({h0, h1, goal, d, e, f, g, h, procs});
    }
    line = strchr(mb, '\n');
    if (line != nullptr) line++;
  }
  return out;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void Run(size_t live_mib, int seconds, int mutators, double rate_mb,
         bool idle_mark) {
  char* buf = nullptr;
  size_t len = 0;
  FILE* trace = open_memstream(&buf, &len);
  gcheap::Options o;
  o.idle_mark = idle_mark;
  o.gctrace = true;
  o.trace_output = trace;
  double achieved = 0, secs = 0;
  uint32_t cycles = 0, skip = 0;
  {
    gcheap::Heap heap(o);
    gcheap::Mutator& m = heap.AttachCurrentThread();
    const size_t kTreeBytes = 1023 * 32;  // depth 9
    const size_t ntrees = live_mib * (1 << 20) / kTreeBytes;
    gcheap::Persistent<Node*> roots(
        heap, static_cast<Node**>(m.AllocateArray(kSlotType, ntrees)));
    for (size_t i = 0; i < ntrees; i++) {
      gcheap::WriteBarrier(reinterpret_cast<void**>(&roots.Get()[i]),
                           Tree(m, 9));
    }
    heap.Collect();
    gcheap::MemStats before = heap.ReadMemStats();
    skip = before.num_gc;
    std::atomic<uint64_t> bytes{0};
    const double per_thread = rate_mb * 1e6 / mutators;  // bytes per second
    auto t0 = std::chrono::steady_clock::now();
    auto end = t0 + std::chrono::seconds(seconds);
    auto body = [&](int id) {
      gcheap::Mutator& mm = id == 0 ? m : heap.AttachCurrentThread();
      uint64_t x = 0x9E3779B97F4A7C15ull * (id + 1);
      uint64_t mine = 0;
      for (int ms = 1;; ms++) {
        // Allocate up to the schedule, then sleep to the next millisecond.
        const double due = per_thread * ms / 1000.0;
        while (static_cast<double>(mine) < due) {
          Tree(mm, 4);  // 31 nodes of garbage
          mine += 31 * 32;
          if ((mine & ((1 << 20) - 1)) < 31 * 32) {  // about every MiB
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            gcheap::WriteBarrier(
                reinterpret_cast<void**>(&roots.Get()[x % ntrees]),
                Tree(mm, 9));
            mine += kTreeBytes;
          }
        }
        auto next = t0 + std::chrono::milliseconds(ms);
        if (next >= end) break;
        gcheap::BlockingScope b(mm);
        std::this_thread::sleep_until(next);
      }
      bytes += mine;
      if (id != 0) heap.DetachCurrentThread();
    };
    std::vector<std::thread> others;
    for (int i = 1; i < mutators; i++) others.emplace_back(body, i);
    body(0);
    {
      gcheap::BlockingScope b(m);
      for (auto& t : others) t.join();
    }
    secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
               .count();
    gcheap::MemStats after = heap.ReadMemStats();
    achieved = bytes.load() / secs / 1e6;
    cycles = after.num_gc - before.num_gc;
    roots.Reset();
    heap.DetachCurrentThread();
  }
  fclose(trace);
  std::vector<Cycle> cs = ParseTrace(buf);
  free(buf);
  if (cs.size() > skip) cs.erase(cs.begin(), cs.begin() + skip);
  std::vector<double> start, reach;
  double assist = 0, mark = 0, max_reach = 0, gc_ms = 0;
  int procs = 1;
  for (const Cycle& c : cs) {
    gc_ms += c.stw + c.assist + c.bg + c.idle + c.term;
    procs = c.procs;
    start.push_back(c.h0 / c.goal);
    reach.push_back(c.h1 / c.goal);
    max_reach = std::max(max_reach, c.h1 / c.goal);
    assist += c.assist;
    mark += c.assist + c.bg + c.idle;
  }
  // GC CPU over the interval, as GCCPUFraction counts it (each cycle's
  // CPU over wall time x Ps), from the interval's own cycles.
  double gc_cpu = secs > 0 ? gc_ms / (secs * 1000 * procs) : 0;
  printf("%8d %8.0f %8.0f %7u %7.1f%% %8.2f %8.2f %8.2f %8.0f%% %s\n", mutators,
         rate_mb, achieved, cycles, gc_cpu * 100, Median(start), Median(reach),
         max_reach, mark > 0 ? 100 * assist / mark : 0.0,
         idle_mark ? "on" : "off");
  fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  size_t live_mib = argc > 1 ? strtoul(argv[1], nullptr, 10) : 64;
  int seconds = argc > 2 ? atoi(argv[2]) : 3;
  printf("live heap %zu MiB of 32-byte nodes, %d s per row, GOGC=100\n",
         live_mib, seconds);
  printf("%8s %8s %8s %7s %8s %8s %8s %8s %9s %s\n", "threads", "target",
         "MB/s", "cycles", "gc_cpu", "H0/goal", "H1/goal", "max", "assist",
         "idle_mark");
  for (bool idle : {true, false}) {
    for (int threads : {1, 2}) {
      for (double rate : {100.0, 400.0}) {
        Run(live_mib, seconds, threads, rate, idle);
      }
    }
  }
  return 0;
}
