/* Shared by the Boehm GC peer programs: wall time and GC statistics, reported
 * as a single machine-readable line on stderr at the end of a run:
 *
 *   RESULT name=<prog> impl=boehm wall_ms=<f> gcs=<n> max_pause_us=<f>
 * total_pause_ms=<f> [extra fields]
 *
 * Include after <gc.h>. Call peer_stats_start() right after GC_INIT() and
 * peer_stats_report(name) at the very end (peer_stats_report_extra(name,
 * " key=value ...") to append fields; peer_elapsed_s() gives the wall time
 * so far).
 *
 * Pauses. These programs use Boehm GC in its default mode: not incremental,
 * so each collection runs to completion in the thread whose allocation
 * triggered it, with the world stopped for marking and the allocation lock
 * held throughout (marker helper threads, where the library starts them,
 * only shorten it). From the mutator's point of view the whole collection,
 * GC_EVENT_START to GC_EVENT_END, is one pause; that interval is what is
 * timed here, with CLOCK_MONOTONIC. Sweeping that the library defers to later
 * allocations (lazy reclaim) is not counted, as Go's background and
 * allocation-time sweeping is not counted either.
 *
 * The collection-event callback is invoked with the allocation lock held, so
 * the counters below need no further synchronization.
 */
#ifndef GCHEAP_BENCH_PEERS_BOEHM_STATS_H_
#define GCHEAP_BENCH_PEERS_BOEHM_STATS_H_

#include <stdio.h>
#include <time.h>

static double peer_start_ns;
static double peer_pause_begin_ns;
static double peer_pause_max_ns;
static double peer_pause_total_ns;
static unsigned long peer_pauses;
static GC_word peer_gc_no_at_start;

static double peer_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void GC_CALLBACK peer_on_collection_event(GC_EventType e) {
  if (e == GC_EVENT_START) {
    peer_pause_begin_ns = peer_now_ns();
  } else if (e == GC_EVENT_END && peer_pause_begin_ns > 0) {
    double d = peer_now_ns() - peer_pause_begin_ns;
    peer_pause_begin_ns = 0;
    peer_pause_total_ns += d;
    if (d > peer_pause_max_ns) peer_pause_max_ns = d;
    peer_pauses++;
  }
}

static void peer_stats_start(void) {
  GC_set_on_collection_event(peer_on_collection_event);
  /* GC_INIT() may already have run a collection of the empty heap; only
   * the collections of the measured run are counted. */
  peer_gc_no_at_start = GC_get_gc_no();
  peer_start_ns = peer_now_ns();
}

static inline double peer_elapsed_s(void) {
  return (peer_now_ns() - peer_start_ns) / 1e9;
}

static void peer_stats_report_extra(const char *name, const char *extra) {
  double wall_ns = peer_now_ns() - peer_start_ns;
  unsigned long gcs = (unsigned long)(GC_get_gc_no() - peer_gc_no_at_start);
  fflush(stdout);
  if (gcs != peer_pauses)
    fprintf(stderr, "warning: %lu collections but %lu timed pauses\n", gcs,
            peer_pauses);
  fprintf(stderr,
          "RESULT name=%s impl=boehm wall_ms=%.3f gcs=%lu max_pause_us=%.3f "
          "total_pause_ms=%.3f%s\n",
          name, wall_ns / 1e6, gcs, peer_pause_max_ns / 1e3,
          peer_pause_total_ns / 1e6, extra);
}

static inline void peer_stats_report(const char *name) {
  peer_stats_report_extra(name, "");
}

#endif /* GCHEAP_BENCH_PEERS_BOEHM_STATS_H_ */
