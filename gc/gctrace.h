// gctrace: one line per cycle in the exact format of Go's GODEBUG=gctrace=1.
// See gc/gc.h for the map.
//
//   gc N @S.sss s U%: a+b+c ms clock, d+e/f/g+h ms cpu,
//       H0->H1->H2 MB, G MB goal, K MB stacks, L MB globals, P P
//
// a, b, c: wall time of sweep termination (STW), mark, mark termination
// (STW); d, h: those pauses times the procs stopped; e, f, g: assist,
// background-worker and idle-worker CPU during mark; H0 heap live at cycle
// start, H1 at mark termination, H2 marked; G the heap goal; sizes in MiB.
// Two suffixes that Go does not print follow the "(forced)" one when they
// apply: "(limited)" when the GC CPU limiter was on at the cycle's end, and
// "(over goal N MB)" when the heap passed its goal while marking: those N
// MB of black allocation count as live for this cycle's sweep but not for
// the next goal (gc/pacer.h).
// Times follow Go's formatting: two significant digits, at most three
// decimals, whole milliseconds from 10 ms up.
#ifndef GCHEAP_GC_GCTRACE_H_
#define GCHEAP_GC_GCTRACE_H_

#include <cstddef>
#include <cstdint>

namespace gcheap::internal {

struct GcTraceLine {
  uint32_t num_gc = 0;
  uint64_t since_start_ns = 0;
  int cpu_percent = 0;
  uint64_t sweep_term_ns = 0, mark_ns = 0, mark_term_ns = 0;  // clock
  uint64_t sweep_term_cpu_ns = 0, assist_cpu_ns = 0, background_cpu_ns = 0,
           idle_cpu_ns = 0, mark_term_cpu_ns = 0;
  uint64_t heap0 = 0, heap1 = 0, heap2 = 0, goal = 0;  // bytes
  uint64_t stacks = 0, globals = 0;                    // bytes
  int procs = 0;
  bool forced = false;
  bool limited = false;    // the GC CPU limiter was on at the cycle's end
  uint64_t overshoot = 0;  // bytes of H2 left out of the next goal
};

// Formats ns as Go's gctrace does (e.g. 18000 -> "0.018", 1200000 -> "1.2",
// 25000000 -> "25"). Returns the length written (buf holds >= 24 bytes).
size_t FormatNsAsMs(uint64_t ns, char* buf);

// Writes the line (with a trailing newline) into buf; returns its length.
size_t FormatGcTrace(const GcTraceLine& l, char* buf, size_t n);

// gcpacertrace: one line per cycle with the pacer's inputs and decisions
// (GODEBUG=gcpacertrace=1 is Go's counterpart; the format is gcheap's own,
// documented field by field in docs/stats.md):
//
//   pacer: gc N: GOGC=P limit=L MB: marked M MB (scanned S, black B, over
//   goal O) + roots R MB; heap H0->H1 MB, goal G MB (H1/G x.xx);
//   cons/mark C; mark CPU: assists A%, background W%, idle I%;
//   next: goal G' MB, trigger T' MB (Q% of the way from M'), runway U MB
//
// (one line; wrapped here). limit=off without a soft memory limit;
// GOGC=off when collection is off; goal=none when there is no goal.
struct PacerTraceLine {
  uint32_t num_gc = 0;
  int gc_percent = 100;
  uint64_t soft_limit = 0;                                   // 0: none
  uint64_t marked = 0, black = 0, over_goal = 0, roots = 0;  // bytes
  uint64_t heap0 = 0, heap1 = 0, goal = 0;  // this cycle; goal 0: none
  double cons_mark = 0;
  uint64_t assist_cpu_ns = 0, background_cpu_ns = 0, idle_cpu_ns = 0;
  uint64_t next_marked = 0;  // the live bytes the next goal is made from
  uint64_t next_goal = 0, next_trigger = 0, runway = 0;  // 0: none
};
size_t FormatPacerTrace(const PacerTraceLine& l, char* buf, size_t n);

}  // namespace gcheap::internal

#endif  // GCHEAP_GC_GCTRACE_H_
