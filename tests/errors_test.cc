// Bad input gets a clear error and loses nothing.
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

// Requests no collection could serve (beyond the machine's memory or the
// hard limit) fail at once: no forced cycle, no reservation, no callback.
TEST_F(ErrorsTest, ImpossibleSizesFailAtOnce) {
  const size_t ram = static_cast<size_t>(sysconf(_SC_PHYS_PAGES)) *
                     static_cast<size_t>(sysconf(_SC_PAGESIZE));
  Heap heap(Small());
  Mutator& m = heap.AttachCurrentThread();
  Pair* keep = m.New<Pair>(kPairType);
  keep->value = 5;
  MemStats before = heap.ReadMemStats();
  for (size_t bytes : {size_t{1} << 46, size_t{1} << 42, size_t{1} << 40,
                       2 * ram, ram + (1 << 20)}) {
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(m.TryAllocateNoscan(bytes), nullptr) << bytes;
    EXPECT_EQ(m.TryAllocateArray(kPtrArrayElem, bytes / 8), nullptr) << bytes;
    EXPECT_EQ(m.TryAllocateConservative(bytes), nullptr) << bytes;
    // Generous for sanitizers; the bug this guards took 11-43 s.
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1))
        << bytes;
  }
  MemStats after = heap.ReadMemStats();
  EXPECT_EQ(after.num_forced_gc, before.num_forced_gc);  // no collection
  EXPECT_EQ(after.heap_sys, before.heap_sys);            // no reservation
  EXPECT_EQ(keep->value, 5u);
  EXPECT_NE(m.TryAllocateNoscan(1 << 20), nullptr);  // the heap still works
  EXPECT_DEATH(m.AllocateNoscan(size_t{1} << 46),
               "out of memory: cannot allocate 70368744177664 bytes for "
               "bytes: the largest object is [0-9]+ bytes \\(the machine's "
               "physical memory\\)");
  heap.DetachCurrentThread();

  Options o = Small();
  o.hard_memory_limit = 64 << 20;
  o.on_out_of_memory = [](size_t, void*) { ADD_FAILURE() << "callback"; };
  Heap limited(o);
  Mutator& lm = limited.AttachCurrentThread();
  EXPECT_EQ(lm.TryAllocateNoscan(65 << 20), nullptr);
  EXPECT_EQ(limited.ReadMemStats().num_forced_gc, 0u);
  EXPECT_NE(lm.TryAllocateNoscan(8 << 20), nullptr);
  EXPECT_DEATH(lm.AllocateNoscan(65 << 20),
               "the largest object is 67108864 bytes \\(the hard memory "
               "limit\\)");
  limited.DetachCurrentThread();
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

// A Type built at run time with a bad pointer offset gets the same clear
// fatal message as other misuse (constexpr Types fail to compile instead).
TEST_F(ErrorsDeathTest, BadPointerOffsetsAtRunTime) {
  volatile size_t misaligned = 12, beyond = 24, too_far = 64 * 8;
  EXPECT_DEATH(Type::Of<Pair>("Pair").Pointers(size_t{misaligned}),
               "gcheap: fatal error: .*bad pointer offset 12 in Type Pair "
               "\\(24 bytes\\)");
  EXPECT_DEATH(Type::Of<Pair>("Pair").Pointers(size_t{beyond}),
               "bad pointer offset 24 in Type Pair");
  EXPECT_DEATH(Type::Of<Big>("Big").Pointers(size_t{too_far}),
               "bad pointer offset 512 in Type Big");
  EXPECT_DEATH(Type::Noscan("Raw", 16).Pointers(0),
               "bad pointer offset 0 in Type Raw .*on a Type::Of type");
  // Good offsets built at run time work like constexpr ones.
  volatile size_t car = offsetof(Pair, car), cdr = offsetof(Pair, cdr);
  Type t = Type::Of<Pair>("Pair").Pointers(size_t{car}, size_t{cdr});
  EXPECT_EQ(t.pointer_mask(), kPairType.pointer_mask());
  // So do Types whose size is known only at run time.
  volatile size_t size = sizeof(Pair);
  Type sized = Type::Of("Pair", size).Pointers(size_t{car}, size_t{cdr});
  EXPECT_EQ(sized.pointer_mask(), kPairType.pointer_mask());
  EXPECT_EQ(sized.size(), sizeof(Pair));
  EXPECT_DEATH(Type::Of("Pair", size).Pointers(size_t{beyond}),
               "bad pointer offset 24 in Type Pair \\(24 bytes\\)");
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

TEST_F(ErrorsDeathTest, HandlesWithAnotherThreadsMutator) {
  Heap heap(Small());
  Mutator& m = heap.AttachCurrentThread();
  EXPECT_DEATH(
      {
        std::thread t([&] { HandleScope scope(m); });
        t.join();
      },
      "HandleScope opened on another thread's Mutator");
  {
    HandleScope scope(m);
    Pair* p = m.New<Pair>(kPairType);
    EXPECT_DEATH(
        {
          std::thread t([&] { Local<Pair> l(m, p); });
          t.join();
        },
        "Local<T> made with another thread's Mutator");
  }
  heap.DetachCurrentThread();
}

TEST_F(ErrorsDeathTest, PersistentOnAnUnattachedThread) {
  Heap heap(Small());
  Mutator& m = heap.AttachCurrentThread();
  Pair* p = m.New<Pair>(kPairType);
  EXPECT_DEATH(
      {
        std::thread t([&] { Persistent<Pair> root(heap, p); });
        t.join();
      },
      "Persistent created with 0x[0-9a-f]+ on a thread not attached to this "
      "heap");
  // Without a pointer to hold, a Persistent may be made anywhere; and
  // dropping one only drops a root, which is safe from any thread.
  Persistent<Pair> kept(heap, p);
  std::thread t([&] {
    Persistent<Pair> empty(heap, nullptr);
    kept.Reset();
  });
  t.join();
  EXPECT_EQ(kept.Get(), nullptr);
  heap.DetachCurrentThread();
}

TEST_F(ErrorsDeathTest, PointersIntoAnotherHeap) {
  Heap other(Small());
  Pair* foreign = nullptr;
  std::thread maker([&] {
    Mutator& om = other.AttachCurrentThread();
    foreign = om.New<Pair>(kPairType);
    other.DetachCurrentThread();
  });
  maker.join();
  Heap heap(Small());
  Mutator& m = heap.AttachCurrentThread();
  EXPECT_DEATH(Persistent<Pair>(heap, foreign),
               "Persistent: 0x[0-9a-f]+ points into another Heap");
  {
    HandleScope scope(m);
    EXPECT_DEATH(Local<Pair>(m, foreign),
                 "Local<T>: 0x[0-9a-f]+ points into another Heap");
  }
#if defined(GCHEAP_DEBUG_CHECKS) && GCHEAP_DEBUG_CHECKS
  // Debug builds check every barriered store too.
  Pair* mine = m.New<Pair>(kPairType);
  EXPECT_DEATH(mine->car = foreign,
               "pointer store: 0x[0-9a-f]+ points into another Heap");
#endif
  heap.DetachCurrentThread();
}

#if defined(GCHEAP_DEBUG_CHECKS) && GCHEAP_DEBUG_CHECKS
// Debug builds: a barriered store into a word the object's Type does not
// list as a pointer (a forgotten offset) fails at the store.
TEST_F(ErrorsDeathTest, StoresIntoWordsTheTypeDoesNotList) {
  struct Half {
    Ref<Pair> listed;
    Ref<Pair> forgotten;
  };
  static constexpr Type kHalfType =
      Type::Of<Half>("Half").Pointers(offsetof(Half, listed));
  static constexpr Type kBigHalfType =
      Type::Of<Big>("BigHalf").Pointers(offsetof(Big, first));
  Heap heap(Small());
  Mutator& m = heap.AttachCurrentThread();
  Pair* p = m.New<Pair>(kPairType);
  Half* h = m.New<Half>(kHalfType);
  h->listed = p;  // fine
  EXPECT_DEATH(h->forgotten = p,
               "pointer store into 0x[0-9a-f]+, byte 8 of object 0x[0-9a-f]+ "
               "\\(Half\\), "
               "which its Type does not list as a pointer word");
  Big* b = m.New<Big>(kBigHalfType);  // over 512 bytes: a header
  b->first = p;
  EXPECT_DEATH(b->last = p, "byte 248 of object 0x[0-9a-f]+ \\(BigHalf\\)");
  uint64_t* raw = static_cast<uint64_t*>(m.AllocateNoscan(64));
  EXPECT_DEATH(WriteBarrier(reinterpret_cast<void**>(raw), p),
               "\\(a pointer-free object\\)");
  heap.DetachCurrentThread();
}
#endif

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

// The program's handler sees the message before the abort (here it exits
// with a code of its own instead); once removed, the abort alone.
void ExitThree(const char* message, void* arg) {
  fprintf(stderr, "[%s] handler saw: %s\n", static_cast<const char*>(arg),
          message);
  fflush(stderr);
  _exit(3);
}

TEST_F(ErrorsDeathTest, FatalErrorHandlerSeesTheMessage) {
  static char tag[] = "vm";
  EXPECT_EXIT(
      {
        SetFatalErrorHandler(ExitThree, tag);
        Heap heap(Small());
        heap.DetachCurrentThread();
      },
      ::testing::ExitedWithCode(3),
      "\\[vm\\] handler saw: .*not attached to this heap");
  EXPECT_EXIT(
      {
        SetFatalErrorHandler(ExitThree, tag);
        SetFatalErrorHandler(nullptr, nullptr);
        Heap heap(Small());
        heap.DetachCurrentThread();
      },
      ::testing::KilledBySignal(SIGABRT), "not attached to this heap");
}

// A thread inside a NoSignalStop scope is not stopped there: a stop that
// begins while the scope runs waits for its end (the scope spins without
// polling, so only a signal could stop it earlier).
TEST_F(ErrorsTest, NoSignalStopHoldsOffSignalStops) {
#if GCHEAP_TSAN_OR_MSAN
  GTEST_SKIP() << "signals are deferred under ThreadSanitizer";
#endif
  Options o = Small();
  o.preempt_after_us = 50;
  Heap heap(o);
  heap.AttachCurrentThread();
  std::atomic<int> state{0};
  std::atomic<int64_t> scope_end_ns{0};
  auto now_ns = [] {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  };
  std::thread spinner([&] {
    heap.AttachCurrentThread();
    {
      NoSignalStop no_stop;
      state = 1;
      const int64_t until = now_ns() + 30'000'000;  // 30 ms, no polls
      while (now_ns() < until) {
      }
      scope_end_ns = now_ns();
    }
    while (state.load() != 2) {
    }  // no polls: a signal stops it here
    heap.DetachCurrentThread();
  });
  Mutator& m = *Heap::CurrentMutator();
  {
    BlockingScope b(m);
    while (state.load() != 1) std::this_thread::yield();
  }
  heap.Collect();
  const int64_t collected = now_ns();
  EXPECT_GE(collected, scope_end_ns.load());
  EXPECT_NE(scope_end_ns.load(), 0);
  state = 2;
  {
    BlockingScope b(m);
    spinner.join();
  }
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

TEST_F(ErrorsDeathTest, DoubleWeakCallbackRegistration) {
  Heap heap(Small());
  auto cb = [](WeakProcessor&, void*) {};
  int arg = 0;
  heap.AddWeakCallback(cb, &arg);
  EXPECT_DEATH(heap.AddWeakCallback(cb, &arg),
               "AddWeakCallback: callback already registered");
  EXPECT_DEATH(heap.AddWeakCallback(nullptr, &arg),
               "AddWeakCallback\\(nullptr\\)");
  heap.AddWeakCallback(cb, nullptr);  // another arg: another registration
  heap.RemoveWeakCallback(cb, &arg);
  heap.RemoveWeakCallback(cb, nullptr);
  EXPECT_DEATH(heap.RemoveWeakCallback(cb, &arg),
               "RemoveWeakCallback: callback not registered");
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
