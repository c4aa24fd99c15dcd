// Bad input gets a clear error and loses nothing.
#include <stdio.h>
#include <string.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "gcheap/gcheap.h"
#include "gtest/gtest.h"
#include "tests/test_types.h"

namespace gcheap::testing {
namespace {

// The heap runs threads (mark workers, sweeper, scavenger): death tests
// must re-execute the binary instead of forking a copy without them.
class ErrorsTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};
using ErrorsDeathTest = ErrorsTest;

Options Small() {
  Options o;
  o.max_procs = 2;
  o.background_scavenger = false;
  return o;
}

TEST_F(ErrorsTest, OverflowingArraySizesFailCleanly) {
  Heap heap(Small());
  Mutator& m = heap.AttachCurrentThread();
  Pair* keep = m.New<Pair>(kPairType);
  keep->value = 9;
  EXPECT_EQ(m.TryAllocateArray(kPairType, SIZE_MAX / 8), nullptr);
  EXPECT_EQ(m.TryAllocateArray(kPtrArrayElem, SIZE_MAX), nullptr);
  EXPECT_EQ(m.TryAllocateNoscan(SIZE_MAX - 4), nullptr);
  EXPECT_EQ(keep->value, 9u);  // nothing lost
  EXPECT_NE(m.TryAllocateArray(kPtrArrayElem, 10), nullptr);
  EXPECT_DEATH(m.AllocateArray(kPairType, SIZE_MAX / 8),
               "allocation size overflows: .* of Pair");
  heap.DetachCurrentThread();
}

int oom_calls = 0;
void OnOom(size_t, void*) { oom_calls++; }

TEST_F(ErrorsTest, HardMemoryLimitCallsBackThenFails) {
  Options o = Small();
  o.hard_memory_limit = 16 << 20;
  o.on_out_of_memory = &OnOom;
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  {
    HandleScope scope(m);
    std::vector<Local<char>> held;
    // Keep allocating live 1 MiB blocks until the limit says no.
    void* p;
    while ((p = m.TryAllocateNoscan(1 << 20)) != nullptr) {
      memset(p, 0x42, 1 << 20);
      held.emplace_back(m, static_cast<char*>(p));
      ASSERT_LT(held.size(), 100u) << "limit not enforced";
    }
    EXPECT_GE(oom_calls, 1);
    EXPECT_GE(held.size(), 8u);
    MemStats s = heap.ReadMemStats();
    EXPECT_LE(s.heap_sys, o.hard_memory_limit);
    for (auto& h : held) {
      for (int i = 0; i < (1 << 20); i += 4096) ASSERT_EQ(h.Get()[i], 0x42);
    }
    EXPECT_DEATH(m.AllocateNoscan(1 << 20),
                 "out of memory: cannot allocate 1048576 bytes for bytes");
  }
  // Once the blocks are garbage, allocation works again.
  EXPECT_NE(m.TryAllocateNoscan(1 << 20), nullptr);
  heap.DetachCurrentThread();
}

TEST_F(ErrorsTest, NonHeapPointersAreNotObjects) {
  Heap heap(Small());
  Mutator& m = heap.AttachCurrentThread();
  int local = 0;
  static int global = 0;
  EXPECT_EQ(heap.ObjectStart(&local), nullptr);
  EXPECT_EQ(heap.ObjectStart(&global), nullptr);
  EXPECT_EQ(heap.ObjectStart(nullptr), nullptr);
  Big* big = m.New<Big>(kBigType);
  EXPECT_EQ(heap.ObjectStart(&big->tail[3]), big);  // interior -> start
  // The header word before a headered object is not part of it.
  EXPECT_EQ(heap.ObjectStart(reinterpret_cast<char*>(big) - 8), nullptr);
  Heap other(Small());
  EXPECT_EQ(other.ObjectStart(big), nullptr);  // another heap's object
  heap.DetachCurrentThread();
}

TEST_F(ErrorsDeathTest, UsingAMutatorFromAnotherThread) {
  Heap heap(Small());
  Mutator& m = heap.AttachCurrentThread();
  EXPECT_DEATH(
      {
        std::thread t([&] { m.AllocateArray(kPtrArrayElem, 100); });
        t.join();
      },
      "this Mutator belongs to another thread");
  heap.DetachCurrentThread();
}

TEST_F(ErrorsDeathTest, AllocatingInsideABlockingScope) {
  Heap heap(Small());
  Mutator& m = heap.AttachCurrentThread();
  EXPECT_DEATH(
      {
        BlockingScope b(m);
        m.AllocateArray(kPtrArrayElem, 100);
      },
      "inside a BlockingScope");
  heap.DetachCurrentThread();
}

TEST_F(ErrorsDeathTest, AttachingTwiceAndDetachingUnattached) {
  Heap heap(Small());
  EXPECT_DEATH(heap.DetachCurrentThread(), "not attached to this heap");
  heap.AttachCurrentThread();
  EXPECT_DEATH(heap.AttachCurrentThread(), "already attached to a heap");
  heap.DetachCurrentThread();
}

TEST_F(ErrorsDeathTest, DoubleRootRegistration) {
  Heap heap(Small());
  static Pair* slot = nullptr;
  heap.AddRoot(&slot);
  EXPECT_DEATH(heap.AddRoot(&slot), "slot already registered");
  heap.RemoveRoot(&slot);
  EXPECT_DEATH(heap.RemoveRoot(&slot), "slot not registered");
  static char range[64];
  heap.AddRootRange(range, range + 64);
  EXPECT_DEATH(heap.AddRootRange(range, range + 64),
               "range already registered");
  heap.RemoveRootRange(range, range + 64);
}

TEST_F(ErrorsDeathTest, DestroyingAHeapWithAttachedThreads) {
  EXPECT_DEATH(
      {
        auto* heap = new Heap(Small());
        heap->AttachCurrentThread();
        delete heap;
      },
      "Heap destroyed with 1 thread\\(s\\) still attached");
}

TEST_F(ErrorsDeathTest, DestroyingAHeapWithLivePersistentHandles) {
  EXPECT_DEATH(
      {
        auto* heap = new Heap(Small());
        Mutator& m = heap->AttachCurrentThread();
        auto* handle = new Persistent<Pair>(*heap, m.New<Pair>(kPairType));
        (void)handle;  // never reset
        heap->DetachCurrentThread();
        delete heap;
      },
      "Heap destroyed with 1 Persistent handle\\(s\\) still alive");
}

TEST_F(ErrorsDeathTest, DetachingWithOpenHandleScopes) {
  Heap heap(Small());
  Mutator& m = heap.AttachCurrentThread();
  EXPECT_DEATH(
      {
        HandleScope scope(m);
        heap.DetachCurrentThread();
      },
      "HandleScope\\(s\\) still open");
  heap.DetachCurrentThread();
}

TEST_F(ErrorsDeathTest, LocalWithoutAHandleScope) {
  Heap heap(Small());
  Mutator& m = heap.AttachCurrentThread();
  EXPECT_DEATH(Local<Pair>(m, nullptr), "no HandleScope open");
  heap.DetachCurrentThread();
}

TEST_F(ErrorsDeathTest, SlowSafepointIsReported) {
  Options o = Small();
  o.safepoint_report_ms = 50;
  o.preempt_signal = 0;  // with signal stops the thread would be stopped
  Heap heap(o);
  EXPECT_DEATH(
      {
        std::atomic<bool> go{false};
        std::thread t([&] {
          heap.AttachCurrentThread();
          go = true;
          // Never polls: the collector waits and names this thread.
          std::atomic<int> spin{0};
          while (true) spin.fetch_add(1, std::memory_order_relaxed);
        });
        while (!go) std::this_thread::yield();
        std::thread c([&] { heap.Collect(); });
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        fflush(stderr);
        abort();
      },
      "stop-the-world has waited [0-9]+ ms for thread [0-9]+ \\(P [0-9]\\) "
      "to reach a safepoint");
}

}  // namespace
}  // namespace gcheap::testing
