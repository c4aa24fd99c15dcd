// gcheap: an embeddable garbage-collected heap. The public API:
//
//   gcheap/heap.h      Heap: create, attach threads, collect, roots, stats
//   gcheap/mutator.h   Mutator: allocation, safepoints, BlockingScope
//   gcheap/type.h      Type descriptors (pointer maps, trace callbacks)
//   gcheap/ref.h       Ref<T> fields and the write barrier
//   gcheap/handles.h   Persistent<T>, HandleScope, Local<T>
//   gcheap/finalizers.h  finalizers and cleanups (the calls are on Heap)
//   gcheap/weak.h      WeakRef<T>, WeakValueMap<K, V>
//   gcheap/pool.h      Pool<T>, a per-P free-object cache (sync.Pool)
//   gcheap/memstats.h  MemStats, Go's runtime.MemStats
//   gcheap/options.h   Options
//   gcheap/gcheap_c.h  the C API (C99), on the same heap
//
// These headers include only each other and the standard library.
// gcheap/internal/ holds what their inline fast paths see of the runtime
// (not API).
//
// docs/embedding.md is the tutorial; docs/collector.md explains the cycle;
// docs/finalizers.md and docs/pool.md cover finalizers, weak references,
// cleanups and pools.
#ifndef GCHEAP_GCHEAP_H_
#define GCHEAP_GCHEAP_H_

#include "gcheap/finalizers.h"  // IWYU pragma: export
#include "gcheap/handles.h"     // IWYU pragma: export
#include "gcheap/heap.h"        // IWYU pragma: export
#include "gcheap/memstats.h"    // IWYU pragma: export
#include "gcheap/mutator.h"     // IWYU pragma: export
#include "gcheap/options.h"     // IWYU pragma: export
#include "gcheap/pool.h"        // IWYU pragma: export
#include "gcheap/ref.h"         // IWYU pragma: export
#include "gcheap/retention.h"   // IWYU pragma: export
#include "gcheap/stepper.h"     // IWYU pragma: export
#include "gcheap/type.h"        // IWYU pragma: export
#include "gcheap/weak.h"        // IWYU pragma: export

#endif  // GCHEAP_GCHEAP_H_
