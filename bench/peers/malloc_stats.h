/* Shared by the explicit-free (malloc/free) peer programs: wall time,
 * reported as the same single stderr line the collected peers print:
 *
 *   RESULT name=<prog> impl=malloc wall_ms=<f> gcs=0 max_pause_us=0
 * total_pause_ms=0 [extra fields]
 *
 * There is no collector, so there are no collections and no pauses; the
 * fields are printed so that the line parses like the others. The
 * allocator is whatever malloc the process links (glibc's, or another one
 * loaded with LD_PRELOAD, e.g. mimalloc); the line cannot tell which, so
 * the scripts that run these programs relabel impl.
 *
 * Call peer_stats_start() first thing in main and peer_stats_report(name)
 * (or peer_stats_report_extra(name, " key=value ...")) at the very end;
 * peer_elapsed_s() gives the wall time so far.
 */
#ifndef GCHEAP_BENCH_PEERS_MALLOC_STATS_H_
#define GCHEAP_BENCH_PEERS_MALLOC_STATS_H_

#include <stdio.h>
#include <time.h>

static double peer_start_ns;

static double peer_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void peer_stats_start(void) { peer_start_ns = peer_now_ns(); }

static inline double peer_elapsed_s(void) {
  return (peer_now_ns() - peer_start_ns) / 1e9;
}

static void peer_stats_report_extra(const char *name, const char *extra) {
  double wall_ns = peer_now_ns() - peer_start_ns;
  fflush(stdout);
  fprintf(stderr,
          "RESULT name=%s impl=malloc wall_ms=%.3f gcs=0 max_pause_us=0 "
          "total_pause_ms=0%s\n",
          name, wall_ns / 1e6, extra);
}

static inline void peer_stats_report(const char *name) {
  peer_stats_report_extra(name, "");
}

#endif /* GCHEAP_BENCH_PEERS_MALLOC_STATS_H_ */
