// Hooks for gcheap's own tests ("gcheap/testing.h"). Not for embedders.
#ifndef GCHEAP_RUNTIME_TESTING_H_
#define GCHEAP_RUNTIME_TESTING_H_

#include <cstdint>
#include <functional>

#include "runtime/heap.h"

namespace gcheap::testing_hooks {

// Runs `hook` on the collecting thread in every concurrent cycle, after the
// roots are greyed and the world has restarted, before the concurrent mark
// goes on. Lets a test act in the middle of a mark.
void SetMarkHook(Heap& heap, std::function<void()> hook);
// Runs `hook` on the collector's own thread after each heap-triggered
// cycle it ran, before it takes the next request.
void SetCycleEndHook(Heap& heap, std::function<void()> hook);
// Whether the heap has reached the trigger of the next cycle.
bool PastTrigger(Heap& heap);
// Cycles that ended with the GC CPU limiter on (gc/limiter.h).
uint32_t CpuLimitedCycles(Heap& heap);
// While on, the write barrier's slow path (the part that flushes the
// buffer) zeroes every SSE register before it returns, as any C++ code may,
// so a test sees whether the entry that promises to keep them does.
void ScribbleVectorRegistersInBarrier(bool on);

}  // namespace gcheap::testing_hooks

#endif  // GCHEAP_RUNTIME_TESTING_H_
