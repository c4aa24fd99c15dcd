// The test hooks of runtime/testing.h: a testonly library
// (//runtime:testing), not part of the shipped one. They reach the heap's
// internals through the seams HeapImpl and the collector keep for them.
#include "runtime/testing.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>
#include <utility>

#include "runtime/heap_impl.h"

namespace gcheap {
namespace testing_hooks {
void SetMarkHook(Heap& heap, std::function<void()> hook) {
  internal::HeapAccess::Of(heap)->collector().SetMarkHookForTesting(
      std::move(hook));
}

void SetCycleEndHook(Heap& heap, std::function<void()> hook) {
  internal::HeapAccess::Of(heap)->collector().SetCycleEndHookForTesting(
      std::move(hook));
}

void SetStackScanHook(
    Heap& heap, std::function<void(uintptr_t, uintptr_t, uintptr_t)> hook) {
  internal::HeapAccess::Of(heap)->SetStackScanHookForTesting(std::move(hook));
}

uint64_t SignalStops(Heap& heap) {
  return internal::HeapAccess::Of(heap)->SignalStopsForTesting();
}

uint64_t SignalsSent(Heap& heap) {
  return internal::HeapAccess::Of(heap)->SignalsSentForTesting();
}

bool PastTrigger(Heap& heap) {
  internal::HeapImpl* h = internal::HeapAccess::Of(heap);
  return h->mheap().heap_live().load(std::memory_order_relaxed) >=
         static_cast<int64_t>(h->collector().pacer().trigger());
}

bool Marking(Heap& heap) {
  return internal::HeapAccess::Of(heap)->collector().marking();
}

void WithRuntimeLockHeld(Heap& heap, const std::function<void()>& while_held) {
  internal::HeapAccess::Of(heap)->collector().WithStatsLocked(while_held);
}

void HoldHeapProfileLock(Heap& heap, int ms) {
  internal::MemProfile& p = internal::HeapAccess::Of(heap)->mem_profile();
  p.ForkLock();
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  p.ForkUnlock();
}

uint32_t CpuLimitedCycles(Heap& heap) {
  return internal::HeapAccess::Of(heap)
      ->collector()
      .ReadStats()
      .cpu_limited_cycles;
}

uint32_t SmallCycles(Heap& heap) {
  return internal::HeapAccess::Of(heap)->collector().ReadStats().small_cycles;
}
}  // namespace testing_hooks

namespace {

// Zeroes every SSE register, as any C++ code the slow path calls may.
void ScribbleVectorRegisters() {
#if defined(__x86_64__)
  asm volatile(
      "pxor %%xmm0, %%xmm0\n\tpxor %%xmm1, %%xmm1\n\t"
      "pxor %%xmm2, %%xmm2\n\tpxor %%xmm3, %%xmm3\n\t"
      "pxor %%xmm4, %%xmm4\n\tpxor %%xmm5, %%xmm5\n\t"
      "pxor %%xmm6, %%xmm6\n\tpxor %%xmm7, %%xmm7\n\t"
      "pxor %%xmm8, %%xmm8\n\tpxor %%xmm9, %%xmm9\n\t"
      "pxor %%xmm10, %%xmm10\n\tpxor %%xmm11, %%xmm11\n\t"
      "pxor %%xmm12, %%xmm12\n\tpxor %%xmm13, %%xmm13\n\t"
      "pxor %%xmm14, %%xmm14\n\tpxor %%xmm15, %%xmm15"
      :
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
        "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
#endif
}

}  // namespace

namespace testing_hooks {
void ScribbleVectorRegistersInBarrier(bool on) {
  internal::barrier_slow_test_hook.store(
      on ? &ScribbleVectorRegisters : nullptr, std::memory_order_relaxed);
}
}  // namespace testing_hooks

}  // namespace gcheap
