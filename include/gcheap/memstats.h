// MemStats: Go's runtime.MemStats for a gcheap Heap. Public API:
// "gcheap/memstats.h". Every field has Go's meaning (snake_case names of
// Go's fields); docs/stats.md says which cannot apply and what they hold.
#ifndef GCHEAP_MEMSTATS_H_
#define GCHEAP_MEMSTATS_H_

#include <cstdint>

namespace gcheap {

struct MemStats {
  // General statistics.
  uint64_t alloc = 0;        // bytes of allocated heap objects (= heap_alloc)
  uint64_t total_alloc = 0;  // cumulative bytes allocated
  uint64_t sys = 0;          // total bytes obtained from the OS
  uint64_t lookups = 0;      // always 0, as in Go
  uint64_t mallocs = 0;      // cumulative objects allocated
  uint64_t frees = 0;        // cumulative objects freed

  // Heap.
  uint64_t heap_alloc = 0;     // bytes of allocated heap objects
  uint64_t heap_sys = 0;       // heap memory from the OS (in use + idle)
  uint64_t heap_idle = 0;      // bytes in free spans (incl. released)
  uint64_t heap_inuse = 0;     // bytes in in-use spans
  uint64_t heap_released = 0;  // free bytes returned to the OS
  uint64_t heap_objects = 0;   // allocated objects (= mallocs - frees)

  // Off-heap memory.
  uint64_t stack_inuse = 0;  // always 0: threads own their stacks
  uint64_t stack_sys = 0;    // always 0
  uint64_t mspan_inuse = 0;  // MSpan records in use
  uint64_t mspan_sys = 0;
  uint64_t mcache_inuse = 0;  // MCache records in use
  uint64_t mcache_sys = 0;
  uint64_t buck_hash_sys = 0;  // always 0: no profiling buckets
  uint64_t gc_sys = 0;         // collector metadata: bitmaps, arena map
                               // records, mark work buffers
  uint64_t other_sys = 0;      // the Persistent handle table

  // Collector.
  uint64_t next_gc = 0;          // heap goal of the next cycle
  uint64_t last_gc = 0;          // end of the last cycle, Unix ns
  uint64_t pause_total_ns = 0;   // cumulative stop-the-world time
  uint64_t pause_ns[256] = {};   // recent pauses; latest [(num_gc+255)%256]
  uint64_t pause_end[256] = {};  // their end times, Unix ns
  uint32_t num_gc = 0;
  uint32_t num_forced_gc = 0;  // cycles from Collect(), FreeOSMemory()
                               // and allocations out of memory
  double gc_cpu_fraction = 0;  // share of CPU time (all Ps) spent in GC
  bool enable_gc = true;       // always true, as in Go
  bool debug_gc = false;       // always false

  // Per size class, for classes 0..60 as Go reports them: allocations of
  // size S with by_size[i-1].size < S <= by_size[i].size. Tiny
  // sub-allocations and objects over by_size[60].size are not included.
  struct SizeClass {
    uint32_t size = 0;
    uint64_t mallocs = 0;
    uint64_t frees = 0;
  };
  SizeClass by_size[61];
};

// What each allocation path did, per size class (Heap::ReadAllocPathStats;
// on with Options::alloc_path_counters or GCHEAP_DEBUG=allocpaths=1, off
// by default; all zero when off). For each class: of `mallocs`
// allocations (as MemStats counts them), `fast` were served by the inline
// fast path from the P's cached span without a call; `slow` went to the
// slow path, which moved to the span's next word of free slots or took a
// new span: `refills` spans from mcentral, of which mcentral swept
// `central_sweeps` spans itself looking for room and took `grows` new
// spans from the page heap, `os_commits` of them after the page heap
// committed more memory from the OS. Tiny sub-allocations (16-byte
// blocks shared by noscan objects under 16 bytes) count in class 2's
// blocks, not as objects. docs/allocator.md explains each path.
struct AllocPathStats {
  struct SizeClass {
    uint32_t size = 0;
    uint64_t mallocs = 0;
    uint64_t fast = 0;
    uint64_t slow = 0;
    uint64_t refills = 0;
    uint64_t central_sweeps = 0;
    uint64_t grows = 0;
    uint64_t os_commits = 0;
  };
  bool enabled = false;
  SizeClass by_size[68];  // class 0 unused (large objects have their own)
};

}  // namespace gcheap

#endif  // GCHEAP_MEMSTATS_H_
