// gcheap: an embeddable garbage-collected heap. The public API:
//
//   gcheap/heap.h      Heap: create, attach threads, collect, roots, stats
//   gcheap/mutator.h   Mutator: allocation, safepoints, BlockingScope
//   gcheap/type.h      Type descriptors (pointer maps, trace callbacks)
//   gcheap/ref.h       Ref<T> fields and the write barrier
//   gcheap/handles.h   Persistent<T>, HandleScope, Local<T>
//   gcheap/memstats.h  MemStats, Go's runtime.MemStats
//   gcheap/options.h   Options
//
// docs/embedding.md is the tutorial; docs/collector.md explains the cycle.
#ifndef GCHEAP_RUNTIME_GCHEAP_H_
#define GCHEAP_RUNTIME_GCHEAP_H_

#include "gc/type.h"           // IWYU pragma: export
#include "runtime/handles.h"   // IWYU pragma: export
#include "runtime/heap.h"      // IWYU pragma: export
#include "runtime/memstats.h"  // IWYU pragma: export
#include "runtime/mutator.h"   // IWYU pragma: export
#include "runtime/options.h"   // IWYU pragma: export
#include "runtime/ref.h"       // IWYU pragma: export

#endif  // GCHEAP_RUNTIME_GCHEAP_H_
