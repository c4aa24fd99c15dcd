// The gcheap allocator: a map.
//
// gcheap allocates the way Go's runtime does. Requests are sorted by size
// into three tiers, each served by its own path:
//
//   size < 16 B, pointer-free ....... tiny allocator: sub-allocations packed
//                                     into one 16-byte block      (mcache.h)
//   size <= 32 KiB .................. small: one of 67 size classes, a slot
//                                     in a span of that class     (mcache.h)
//   size > 32 KiB ................... large: a span of its own, straight
//                                     from the page heap           (mheap.h)
//
// Small objects pass through three levels of caching:
//
//      thread (bound to a P)
//        │  MCache (per P, no locks)   alloc[136]: one span per span class
//        │    fast path: ctz(span.alloc_cache) -> slot, clear the bit
//        ▼  refill when the span is full
//      MCentral (per span class, spin lock)                    (mcentral.h)
//        │    partial / full x swept / unswept span sets, keyed by sweepgen;
//        │    sweeps unswept spans lazily before taking them
//        ▼  grow when no span has room
//      MHeap (one per heap, heap lock)                            (mheap.h)
//        │    PageAlloc: free-page bitmaps + summary trees   (page_alloc.h)
//        │    ArenaMap: address -> span, one entry per page        (arena.h)
//        ▼  grow the heap
//      OS: 64 MiB arenas reserved, committed 4 MiB at a time     (os_mem.h)
//
// Size classes (size_classes.h) are Go's 68 classes (class 0 = large);
// each comes in a scan and a noscan flavour (the span class), kept in
// different spans so the collector never looks inside noscan spans.
//
// A span (mspan.h) is a run of 8 KiB pages cut into equal slots. It keeps
// allocBits and gcmarkBits and never builds a free list: sweeping a span is
// "gcmarkBits become allocBits" (SweepSpanBits), after which unmarked slots
// are free. The collector marks; the allocator sweeps: MHeap::SweepSpan,
// lazily from MCentral::CacheSpan, or from a background sweeper via
// MHeap::SweepOne. Empty spans return to the page heap.
//
// Memory known to be zero is not cleared again: pages fresh from the OS and
// pages released by the scavenger are zero; a span built only from such
// pages has needzero = false. A recycled small span is cleared as a whole
// when it leaves the heap; a partly used one clears each slot as it hands
// it out.
//
// The scavenger (scavenger.h) returns free pages to the OS in the
// background within about 1% of one CPU, keeping retained memory near 110%
// of what is in use (or the collector's goal); MHeap::ScavengeAll releases
// everything on demand.
//
// Counters (heap_stats.h): mallocs per size class are counted per P and
// flushed when spans go back to their mcentral; frees are counted by the
// sweeper. Together with the page counters they feed MemStats.
//
// There is no global mutable state: every structure hangs off an MHeap, so
// heaps in one process are independent. Lock order: MCentral lock and heap
// lock are never held together (docs/locking.md).
//
// Concurrency contract: an MCache belongs to one thread at a time. MCentral
// and MHeap are thread-safe. Marking sets gcmarkBits atomically; a span is
// swept only by the one thread that claimed it (sweepgen CAS).
#ifndef GCHEAP_ALLOC_MALLOC_H_
#define GCHEAP_ALLOC_MALLOC_H_

#include "alloc/mcache.h"        // IWYU pragma: export
#include "alloc/mcentral.h"      // IWYU pragma: export
#include "alloc/mheap.h"         // IWYU pragma: export
#include "alloc/mspan.h"         // IWYU pragma: export
#include "alloc/size_classes.h"  // IWYU pragma: export

#endif  // GCHEAP_ALLOC_MALLOC_H_
