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
//
// docs/embedding.md is the tutorial; docs/collector.md explains the cycle;
// docs/finalizers.md and docs/pool.md cover finalizers, weak references,
// cleanups and pools.
#ifndef GCHEAP_RUNTIME_GCHEAP_H_
#define GCHEAP_RUNTIME_GCHEAP_H_

#include "gc/type.h"             // IWYU pragma: export
#include "runtime/finalizers.h"  // IWYU pragma: export
#include "runtime/handles.h"     // IWYU pragma: export
#include "runtime/heap.h"        // IWYU pragma: export
#include "runtime/memstats.h"    // IWYU pragma: export
#include "runtime/mutator.h"     // IWYU pragma: export
#include "runtime/options.h"     // IWYU pragma: export
#include "runtime/pool.h"        // IWYU pragma: export
#include "runtime/ref.h"         // IWYU pragma: export
#include "runtime/weak.h"        // IWYU pragma: export

#endif  // GCHEAP_RUNTIME_GCHEAP_H_
