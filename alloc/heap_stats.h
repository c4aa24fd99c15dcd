// Allocation counters behind MemStats. See alloc/malloc.h.
//
// Mallocs are counted per P: small-object mallocs are derived from a span's
// alloc_count when the mcache hands the span back (so the fast path counts
// nothing extra); large and tiny mallocs go into the MCache's
// LocalAllocStats and are flushed into the heap's AllocCounters on
// ReleaseAll. Frees
// are counted by whoever sweeps a span, straight into AllocCounters.
// Everything is a relaxed atomic: a reader that wants a consistent snapshot
// stops the world and flushes every mcache first (as ReadMemStats does).
#ifndef GCHEAP_ALLOC_HEAP_STATS_H_
#define GCHEAP_ALLOC_HEAP_STATS_H_

#include <atomic>
#include <cstdint>

#include "alloc/size_classes.h"

namespace gcheap::internal {

// Per-P deltas, owned by one MCache; no synchronization.
struct LocalAllocStats {
  uint64_t large_mallocs = 0;
  uint64_t large_bytes = 0;
  uint64_t tiny_allocs = 0;  // sub-allocations of tiny blocks
};

// Heap-wide totals.
struct AllocCounters {
  std::atomic<uint64_t> small_mallocs[kNumSizeClasses] = {};
  std::atomic<uint64_t> small_frees[kNumSizeClasses] = {};
  std::atomic<uint64_t> large_mallocs{0};
  std::atomic<uint64_t> large_frees{0};
  std::atomic<uint64_t> large_alloc_bytes{0};  // cumulative
  std::atomic<uint64_t> large_free_bytes{0};   // cumulative
  std::atomic<uint64_t> tiny_allocs{0};

  void Flush(LocalAllocStats* l);
};

// What the allocation paths did, per size class (MHeapOptions::
// path_counters; Heap::ReadAllocPathStats): each count is taken on a slow
// path, so the inline fast path is the same with them on or off. The
// allocations the fast path served are the class's mallocs less `slow`.
struct AllocPathCounters {
  // Allocations the inline path could not serve from the P's current
  // alloc-cache word (the slow path: the next word of the span, or a
  // refill).
  std::atomic<uint64_t> slow[kNumSizeClasses] = {};
  // Spans the mcache took from mcentral (refills).
  std::atomic<uint64_t> refills[kNumSizeClasses] = {};
  // Spans a refill swept itself, looking for free slots.
  std::atomic<uint64_t> central_sweeps[kNumSizeClasses] = {};
  // Refills mcentral served with a new span from the page heap (grows).
  std::atomic<uint64_t> grows[kNumSizeClasses] = {};
  // Grows for which the page heap committed memory from the OS.
  std::atomic<uint64_t> os_commits[kNumSizeClasses] = {};
};

// A point-in-time copy of the allocator's counters and memory states.
struct AllocStatsSnapshot {
  uint64_t small_mallocs[kNumSizeClasses] = {};
  uint64_t small_frees[kNumSizeClasses] = {};
  uint64_t large_mallocs = 0, large_frees = 0;
  uint64_t large_alloc_bytes = 0, large_free_bytes = 0;
  uint64_t tiny_allocs = 0;

  // Derived as Go's MemStats does.
  uint64_t mallocs = 0;       // small + large + tiny sub-allocations
  uint64_t frees = 0;         // small + large + tiny sub-allocations
  uint64_t total_alloc = 0;   // cumulative bytes allocated (slot sizes)
  uint64_t heap_alloc = 0;    // bytes of allocated slots now
  uint64_t heap_objects = 0;  // mallocs - frees

  // Memory states, in bytes.
  uint64_t heap_sys = 0;       // pages obtained from the OS (committed)
  uint64_t heap_inuse = 0;     // pages in in-use spans
  uint64_t heap_idle = 0;      // free pages (heap_sys - heap_inuse)
  uint64_t heap_released = 0;  // free pages returned to the OS
  uint64_t heap_reserved = 0;  // address space reserved for arenas
  uint64_t mspan_inuse = 0, mspan_sys = 0;
  uint64_t mcache_inuse = 0, mcache_sys = 0;
  uint64_t gc_sys = 0;     // bitmaps, arena records and the arena map in use
  uint64_t heap_live = 0;  // bytes in cached spans + allocated: pacer input
  uint32_t sweepgen = 0;
};

}  // namespace gcheap::internal

#endif  // GCHEAP_ALLOC_HEAP_STATS_H_
