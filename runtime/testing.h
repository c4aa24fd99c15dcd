// Hooks for gcheap's own tests ("gcheap/testing.h"): the testonly target
// //runtime:testing (runtime/testing.cc), not the shipped library.
#ifndef GCHEAP_RUNTIME_TESTING_H_
#define GCHEAP_RUNTIME_TESTING_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <thread>

#include "gcheap/heap.h"
#include "gcheap/mutator.h"

namespace gcheap::testing_hooks {

// Runs `hook` on the collecting thread in every concurrent cycle, after the
// roots are greyed and the world has restarted, before the concurrent mark
// goes on. Lets a test act in the middle of a mark.
void SetMarkHook(Heap& heap, std::function<void()> hook);
// Runs `hook` on the collector's own thread after each heap-triggered
// cycle it ran, before it takes the next request.
void SetCycleEndHook(Heap& heap, std::function<void()> hook);
// Runs `hook` for each conservative scan of a mutator's stack, with the
// address the scan starts at, the stack's base (highest address) and the
// stack pointer the thread saved when it stopped. Null removes it.
void SetStackScanHook(
    Heap& heap,
    std::function<void(uintptr_t start, uintptr_t base, uintptr_t saved_sp)>
        hook);
// How many times the stop signal's handler has stopped the attached
// threads, all together (runtime/preempt.cc).
uint64_t SignalStops(Heap& heap);
// How many stop signals have been sent to the attached threads.
uint64_t SignalsSent(Heap& heap);
// Whether the heap has reached the trigger of the next cycle.
bool PastTrigger(Heap& heap);
// Whether a concurrent mark is in progress (the barrier on).
bool Marking(Heap& heap);
// Cycles that ended with the GC CPU limiter on (gc/limiter.h).
uint32_t CpuLimitedCycles(Heap& heap);
// Small-heap cycles: stopped the world, marked by the triggering thread
// (Options::small_heap).
uint32_t SmallCycles(Heap& heap);
// Runs `while_held` holding one of the runtime's own locks (the
// collector's statistics lock, which each cycle's end takes with the world
// stopped), as a public call that takes a lock does, keeping the P.
void WithRuntimeLockHeld(Heap& heap, const std::function<void()>& while_held);
// Holds the heap profile's lock for `ms` milliseconds (as a thread reading
// the profile does), then releases it.
void HoldHeapProfileLock(Heap& heap, int ms);
// While on, the write barrier's slow path (the part that flushes the
// buffer) zeroes every SSE register before it returns, as any C++ code may,
// so a test sees whether the entry that promises to keep them does.
void ScribbleVectorRegistersInBarrier(bool on);

// A concurrent mark held open: the constructor runs a cycle on another
// thread and returns once it waits in its mark hook (the barrier on,
// allocation black); Release lets it finish and joins it. `m` is the
// calling thread's mutator. Replaces the heap's mark hook meanwhile.
class HeldMark {
 public:
  HeldMark(Heap& heap, Mutator& m) : heap_(heap) {
    SetMarkHook(heap_, [this] {
      stage_.store(1);
      while (stage_.load() != 2) std::this_thread::yield();
    });
    collector_ = std::thread([this] { heap_.Collect(); });
    BlockingScope blocking(m);
    while (stage_.load() != 1) std::this_thread::yield();
  }
  void Release(Mutator& m) {
    stage_.store(2);
    BlockingScope blocking(m);
    collector_.join();
    SetMarkHook(heap_, nullptr);
  }

 private:
  Heap& heap_;
  std::atomic<int> stage_{0};
  std::thread collector_;
};

}  // namespace gcheap::testing_hooks

#endif  // GCHEAP_RUNTIME_TESTING_H_
