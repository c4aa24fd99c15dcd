// Shared by the gcheap benchmark programs: wall time and collection
// statistics, reported at the end of a run as the same single stderr line the
// Go and Boehm peers print (see bench/peers/README.md):
//
//   RESULT name=<prog> impl=gcheap wall_ms=<f> gcs=<n> max_pause_us=<f>
//   total_pause_ms=<f>
//
// gcs is MemStats::num_gc and total_pause_ms is MemStats::pause_total_ns.
// max_pause_us is the largest MemStats::pause_ns entry over all cycles.
// pause_ns is a ring of the last 256 cycles, so the programs call Fold()
// between phases (each phase runs far fewer than 256 cycles) to fold the
// ring into the running maximum. A fold reads MemStats, which stops the world
// briefly; that stop is not a collection and is not counted as a pause. If a
// phase ever ran more than 256 cycles, the overwritten entries are reported
// as missed, as the Go peer does.
//
// A gcheap pause is the stop-the-world time of one cycle: sweep termination,
// marking (parallel, on heap-owned workers) and mark termination.
#ifndef GCHEAP_BENCH_GCHEAP_STATS_H_
#define GCHEAP_BENCH_GCHEAP_STATS_H_

#include <stdio.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "gcheap/gcheap.h"

namespace gcheap_bench {

class GcStats {
 public:
  // Starts the wall clock.
  GcStats(gcheap::Heap& heap, const char* name, const char* impl = "gcheap")
      : heap_(heap),
        name_(name),
        impl_(impl),
        start_(std::chrono::steady_clock::now()) {}

  // Folds the pauses of the cycles since the last fold into the maximum.
  void Fold() { Fold(heap_.ReadMemStats()); }

  // Milliseconds since the start.
  double ElapsedMs() const {
    return std::chrono::duration<double, std::milli>(
               std::chrono::steady_clock::now() - start_)
        .count();
  }

  // Adds " key=value" to the RESULT line.
  void AddField(const char* key, double value) {
    char buf[96];
    snprintf(buf, sizeof(buf), " %s=%.3f", key, value);
    extra_ += buf;
  }

  uint32_t NumGC() { return heap_.ReadMemStats().num_gc; }

  // Prints the RESULT line; call once, at the very end of the run.
  void Report() {
    const double wall_ms = ElapsedMs();
    const gcheap::MemStats s = heap_.ReadMemStats();
    Fold(s);
    fflush(stdout);
    if (missed_ > 0) {
      fprintf(stderr,
              "warning: %u GC pauses were overwritten in the ring before "
              "being read; max_pause_us covers the rest\n",
              missed_);
    }
    fprintf(stderr,
            "RESULT name=%s impl=%s wall_ms=%.3f gcs=%u max_pause_us=%.3f "
            "total_pause_ms=%.3f%s\n",
            name_, impl_, wall_ms, s.num_gc,
            static_cast<double>(max_pause_ns_) / 1e3,
            static_cast<double>(s.pause_total_ns) / 1e6, extra_.c_str());
  }

 private:
  static constexpr uint32_t kRing = 256;  // entries in MemStats::pause_ns

  // Cycle k (1-based) is stored at pause_ns[(k + 255) % 256].
  void Fold(const gcheap::MemStats& s) {
    uint32_t lo = folded_ + 1;
    if (s.num_gc > kRing && lo + kRing <= s.num_gc) {
      missed_ += s.num_gc - kRing + 1 - lo;
      lo = s.num_gc - kRing + 1;
    }
    for (uint32_t k = lo; k <= s.num_gc; k++) {
      const uint64_t p = s.pause_ns[(k + kRing - 1) % kRing];
      if (p > max_pause_ns_) max_pause_ns_ = p;
    }
    if (s.num_gc > folded_) folded_ = s.num_gc;
  }

  gcheap::Heap& heap_;
  const char* name_;
  const char* impl_;
  std::string extra_;  // " key=value" fields after the standard ones
  std::chrono::steady_clock::time_point start_;
  uint32_t folded_ = 0;  // cycles 1..folded_ are in max_pause_ns_
  uint64_t max_pause_ns_ = 0;
  uint32_t missed_ = 0;
};

}  // namespace gcheap_bench

#endif  // GCHEAP_BENCH_GCHEAP_STATS_H_
