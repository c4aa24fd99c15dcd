#include "gc/gctrace.h"

#include <stdio.h>

namespace gcheap::internal {

size_t FormatNsAsMs(uint64_t ns, char* buf) {
  if (ns >= 10'000'000) {
    return snprintf(buf, 24, "%llu",
                    static_cast<unsigned long long>(ns / 1'000'000));
  }
  uint64_t x = ns / 1000;  // microseconds
  if (x == 0) {
    buf[0] = '0';
    buf[1] = 0;
    return 1;
  }
  int decimals = 3;
  while (x >= 100) {
    x /= 10;
    decimals--;
  }
  // x has one or two digits; print it with `decimals` digits after the
  // point.
  if (decimals == 0) {
    return snprintf(buf, 24, "%llu", static_cast<unsigned long long>(x));
  }
  uint64_t scale = 1;
  for (int i = 0; i < decimals; i++) scale *= 10;
  return snprintf(buf, 24, "%llu.%0*llu",
                  static_cast<unsigned long long>(x / scale), decimals,
                  static_cast<unsigned long long>(x % scale));
}

size_t FormatGcTrace(const GcTraceLine& l, char* buf, size_t n) {
  char a[24], b[24], c[24], d[24], e[24], f[24], g[24], h[24];
  FormatNsAsMs(l.sweep_term_ns, a);
  FormatNsAsMs(l.mark_ns, b);
  FormatNsAsMs(l.mark_term_ns, c);
  FormatNsAsMs(l.sweep_term_cpu_ns, d);
  FormatNsAsMs(l.assist_cpu_ns, e);
  FormatNsAsMs(l.background_cpu_ns, f);
  FormatNsAsMs(l.idle_cpu_ns, g);
  FormatNsAsMs(l.mark_term_cpu_ns, h);
  auto mb = [](uint64_t bytes) {
    return static_cast<unsigned long long>(bytes >> 20);
  };
  uint64_t ms = l.since_start_ns / 1'000'000;
  int len = snprintf(
      buf, n,
      "gc %u @%llu.%03llus %d%%: %s+%s+%s ms clock, %s+%s/%s/%s+%s ms cpu, "
      "%llu->%llu->%llu MB, %llu MB goal, %llu MB stacks, %llu MB globals, "
      "%d P%s%s",
      l.num_gc, static_cast<unsigned long long>(ms / 1000),
      static_cast<unsigned long long>(ms % 1000), l.cpu_percent, a, b, c, d, e,
      f, g, h, mb(l.heap0), mb(l.heap1), mb(l.heap2), mb(l.goal), mb(l.stacks),
      mb(l.globals), l.procs, l.forced ? " (forced)" : "",
      l.limited ? " (limited)" : "");
  if (len < 0) return 0;
  if (static_cast<size_t>(len) < n && l.overshoot >= (1 << 20)) {
    int k =
        snprintf(buf + len, n - len, " (over goal %llu MB)", mb(l.overshoot));
    if (k > 0) len += k;
  }
  if (static_cast<size_t>(len) + 1 < n) {
    buf[len++] = '\n';
    buf[len] = '\0';
  }
  return static_cast<size_t>(len) < n ? len : n - 1;
}

namespace {

// Bytes in MB with one decimal (the pacer's figures are often < 10 MB).
double Mb(uint64_t bytes) { return static_cast<double>(bytes) / (1 << 20); }

}  // namespace

size_t FormatPacerTrace(const PacerTraceLine& l, char* buf, size_t n) {
  char pct[16], limit[32], goal[32], next[160], ratio[16];
  if (l.gc_percent < 0) {
    snprintf(pct, sizeof pct, "off");
  } else {
    snprintf(pct, sizeof pct, "%d", l.gc_percent);
  }
  if (l.soft_limit == 0) {
    snprintf(limit, sizeof limit, "off");
  } else {
    snprintf(limit, sizeof limit, "%.1f MB", Mb(l.soft_limit));
  }
  if (l.goal == 0) {
    snprintf(goal, sizeof goal, "none");
    snprintf(ratio, sizeof ratio, "-");
  } else {
    snprintf(goal, sizeof goal, "%.1f MB", Mb(l.goal));
    snprintf(ratio, sizeof ratio, "%.2f",
             static_cast<double>(l.heap1) / static_cast<double>(l.goal));
  }
  if (l.next_goal == 0) {
    snprintf(next, sizeof next, "goal none");
  } else {
    const uint64_t way =
        l.next_goal > l.next_marked ? l.next_goal - l.next_marked : 1;
    const uint64_t at =
        l.next_trigger > l.next_marked ? l.next_trigger - l.next_marked : 0;
    snprintf(next, sizeof next,
             "goal %.1f MB, trigger %.1f MB (%d%% of the way from %.1f), "
             "runway %.1f MB",
             Mb(l.next_goal), Mb(l.next_trigger),
             static_cast<int>(at * 100 / way), Mb(l.next_marked), Mb(l.runway));
  }
  const uint64_t cpu = l.assist_cpu_ns + l.background_cpu_ns + l.idle_cpu_ns;
  const double d = cpu == 0 ? 1 : static_cast<double>(cpu);
  const uint64_t scanned = l.marked > l.black ? l.marked - l.black : 0;
  int len = snprintf(
      buf, n,
      "pacer: gc %u: GOGC=%s limit=%s: marked %.1f MB (scanned %.1f, black "
      "%.1f, over goal %.1f) + roots %.1f MB; heap %.1f->%.1f MB, goal %s "
      "(H1/G %s); cons/mark %.2f; mark CPU: assists %.0f%%, background "
      "%.0f%%, idle %.0f%%; next: %s\n",
      l.num_gc, pct, limit, Mb(l.marked), Mb(scanned), Mb(l.black),
      Mb(l.over_goal), Mb(l.roots), Mb(l.heap0), Mb(l.heap1), goal, ratio,
      l.cons_mark, 100.0 * static_cast<double>(l.assist_cpu_ns) / d,
      100.0 * static_cast<double>(l.background_cpu_ns) / d,
      100.0 * static_cast<double>(l.idle_cpu_ns) / d, next);
  if (len < 0) return 0;
  return static_cast<size_t>(len) < n ? static_cast<size_t>(len) : n - 1;
}

}  // namespace gcheap::internal
