// The shapes embedders bring: threads that never poll or block without a
// BlockingScope (signal stops), objects without layouts (conservative
// objects without headers), static data as roots.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <thread>
#include <vector>

#include "gcheap/gcheap.h"
#include "gtest/gtest.h"
#include "runtime/testing.h"
#include "tests/test_types.h"

namespace gcheap::testing {
namespace {

// Two Ps, and no report of slow stops (the tests make them on purpose).
Options TwoProcsNoReports() {
  Options o;
  o.max_procs = 2;
  o.safepoint_report_ms = 0;
  return o;
}

double CollectMs(Heap& heap) {
  auto t0 = std::chrono::steady_clock::now();
  heap.Collect();
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - t0)
      .count();
}

// A thread in a loop that neither allocates nor polls is stopped by a
// signal: collections complete, and the tree it holds survives them. The
// spinner builds a tree of depth `depth` (value 7) and holds it in its own
// frame and registers, or under precise scanning in a Local (its stop scans
// its handles); this thread collects `cycles` times, churning between so
// freed memory would be reused by a lost tree.
void CollectBesideASpinner(StackScanning scanning, int depth, int cycles) {
  Options o;
  o.max_procs = 2;
  o.stack_scanning = scanning;
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  std::atomic<bool> ready{false}, stop{false};
  std::atomic<uint64_t> nodes{0};
  std::thread spinner([&] {
    Mutator& sm = heap.AttachCurrentThread();
    {
      HandleScope scope(sm);
      Pair* volatile tree = TaggedTree(sm, depth, 7);
      Local<Pair> held(sm,
                       scanning == StackScanning::kPrecise ? tree : nullptr);
      ready = true;
      uint64_t spins = 0;
      while (!stop.load(std::memory_order_relaxed)) spins++;
      nodes = CountTagged(tree, 7) + (spins & 0);
    }
    heap.DetachCurrentThread();
  });
  while (!ready) std::this_thread::yield();
  double worst = 0;
  for (int i = 0; i < cycles; i++) {
    worst = std::max(worst, CollectMs(heap));
    HandleScope scope(m);
    for (int k = 0; k < 10; k++) TaggedTree(m, 8, 1);
  }
  heap.Collect();
  stop = true;
  {
    BlockingScope b(m);
    spinner.join();
  }
  EXPECT_EQ(nodes.load(), (uint64_t{1} << (depth + 1)) - 1);
  // Without the signal each collection would wait forever; generous bound
  // for sanitizer builds on a loaded machine.
  EXPECT_LT(worst, 2000.0);
  heap.DetachCurrentThread();
}

TEST(ShapesTest, SignalStopsAThreadThatNeverPolls) {
#if defined(__SANITIZE_THREAD__)
  // ThreadSanitizer holds asynchronous signals back until the thread calls
  // an intercepted function, which a spinning loop never does.
  GTEST_SKIP() << "signals are deferred under ThreadSanitizer";
#endif
  CollectBesideASpinner(StackScanning::kConservative, 12, 5);
}

TEST(ShapesTest, SignalStopsANeverPollingThreadInPreciseMode) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "signals are deferred under ThreadSanitizer";
#endif
  CollectBesideASpinner(StackScanning::kPrecise, 10, 4);
}

// A thread blocked in read() while holding its P (no BlockingScope) does
// not stall collections either; the read restarts and completes after.
TEST(ShapesTest, ThreadBlockedInASystemCallDoesNotStallCollection) {
#if defined(__SANITIZE_THREAD__)
  // ThreadSanitizer's read() interceptor holds the signal back too.
  GTEST_SKIP() << "signals are deferred under ThreadSanitizer";
#endif
  Options o;
  o.max_procs = 2;
  Heap heap(o);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::atomic<bool> attached{false};
  char got = 0;
  ssize_t n = -2;
  std::thread reader([&] {
    heap.AttachCurrentThread();
    attached = true;
    n = read(fds[0], &got, 1);
    heap.DetachCurrentThread();
  });
  while (!attached) std::this_thread::yield();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_LT(CollectMs(heap), 2000.0);
  EXPECT_LT(CollectMs(heap), 2000.0);
  ASSERT_EQ(write(fds[1], "x", 1), 1);
  reader.join();
  EXPECT_EQ(n, 1);
  EXPECT_EQ(got, 'x');
  close(fds[0]);
  close(fds[1]);
}

// The thread stopping the world sleeps until the last running thread has
// stopped: a mutator parking at its safepoint wakes it. With signals put
// off for a minute, a lost wake-up would hold each collection that long.
TEST(ShapesTest, AThreadParkingWakesTheStop) {
  Options o;
  o.max_procs = 2;
  o.preempt_after_us = 60'000'000;
  o.safepoint_report_ms = 0;
  Heap heap(o);
  std::atomic<bool> ready{false}, stop{false};
  std::thread mutator([&] {
    Mutator& m = heap.AttachCurrentThread();
    ready = true;
    while (!stop.load(std::memory_order_relaxed)) {
      HandleScope scope(m);
      TaggedTree(m, 4, 1);
      m.Safepoint();
    }
    heap.DetachCurrentThread();
  });
  while (!ready) std::this_thread::yield();
  double worst = 0;
  for (int i = 0; i < 5; i++) worst = std::max(worst, CollectMs(heap));
  stop = true;
  mutator.join();
  EXPECT_LT(worst, 20000.0);
}

// A thread runs `inside`, which sets phase to 1 and spins, in a state where
// a stop signal must be refused (`state`), until phase is 2; then it spins
// on without polling, stopped by the signal now, until phase is 3. Another
// thread collects meanwhile: the stop must wait for the first thread to
// leave that state, and then end. Returns how many stop signals were sent
// to the first thread in that state's first 200 ms.
uint64_t ExpectStopWaitsFor(
    const char* state,
    const std::function<void(Heap&, std::atomic<int>&)>& inside) {
  Heap heap(TwoProcsNoReports());
  std::atomic<int> phase{0};
  std::thread spinner([&] {
    heap.AttachCurrentThread();
    inside(heap, phase);
    while (phase.load(std::memory_order_relaxed) != 3) {
    }
    heap.DetachCurrentThread();
  });
  while (phase.load() != 1) std::this_thread::yield();
  const uint64_t sent_before = testing_hooks::SignalsSent(heap);
  std::atomic<bool> collected{false};
  std::thread collector([&] {
    heap.AttachCurrentThread();
    heap.Collect();
    collected = true;
    heap.DetachCurrentThread();
  });
  // Signals go out when the stop begins, and again 20 us after each the
  // handler refused.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const uint64_t sent = testing_hooks::SignalsSent(heap) - sent_before;
  EXPECT_FALSE(collected.load()) << "stopped " << state;
  phase = 2;
  for (int i = 0; i < 2000 && !collected.load(); i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (!collected.load()) {
    // Stopped in that state, it may hold what the collection needs.
    ADD_FAILURE() << "the collection never ended: the thread was stopped "
                  << state;
    fflush(stdout);
    std::_Exit(1);
  }
  collector.join();
  phase = 3;
  spinner.join();
  return sent;
}

void SpinWhilePhaseIs(const std::atomic<int>& phase, int value) {
  while (phase.load(std::memory_order_relaxed) == value) {
  }
}

// A thread between the write barrier's test of the marking flag and its
// store (gch_internal_tls_in_barrier set, as the inline barrier sets it) is
// not stopped by the signal: a store that saw marking off would land after
// marking began, without the barrier. The stop waits until it leaves.
TEST(ShapesTest, AStopWaitsForAThreadInsideTheWriteBarrier) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "signals are deferred under ThreadSanitizer";
#endif
  ExpectStopWaitsFor("inside the write barrier",
                     [](Heap&, std::atomic<int>& phase) {
                       gch_internal_tls_in_barrier = 1;
                       phase = 1;
                       SpinWhilePhaseIs(phase, 1);
                       gch_internal_tls_in_barrier = 0;
                     });
}

// A thread whose stop signal is still pending (here it blocks the signal;
// with more threads than CPUs, it has not had a CPU since) is not sent
// another every 20 us: a second standard signal would change nothing. The
// stop waits, sending again only every 10 ms in case the first was lost,
// and ends once the thread takes the signal. Resending every 20 us, 15
// threads waiting for a CPU drew 2,192 signals in one 5 ms stop, on the
// CPUs they needed.
TEST(ShapesTest, AStopDoesNotResendASignalStillPending) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "signals are deferred under ThreadSanitizer";
#endif
  const uint64_t sent = ExpectStopWaitsFor(
      "with its stop signal blocked", [](Heap& heap, std::atomic<int>& phase) {
        sigset_t set, old;
        sigemptyset(&set);
        sigaddset(&set, heap.options().preempt_signal);
        pthread_sigmask(SIG_BLOCK, &set, &old);
        phase = 1;
        SpinWhilePhaseIs(phase, 1);
        pthread_sigmask(SIG_SETMASK, &old, nullptr);  // the pending one lands
      });
  // One, then one each 10 ms: about 20 in 200 ms (2,008 with a resend
  // each 20 us).
  EXPECT_GE(sent, 1u);
  EXPECT_LT(sent, 60u) << sent;
}

// A thread inside a call that holds one of the runtime's locks, keeping its
// P, is not stopped there by the signal: the collector takes that lock with
// the world stopped (here the statistics lock, at each cycle's end), and
// would wait on it forever. The stop waits until the thread lets go. (A
// test that read the collector's statistics in a loop while cycles ran hung
// this way.)
TEST(ShapesTest, AStopWaitsForAThreadHoldingARuntimeLock) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "signals are deferred under ThreadSanitizer";
#endif
  ExpectStopWaitsFor("holding a runtime lock",
                     [](Heap& heap, std::atomic<int>& phase) {
                       testing_hooks::WithRuntimeLockHeld(heap, [&] {
                         phase = 1;
                         SpinWhilePhaseIs(phase, 1);
                       });
                     });
}

// Threads attach, run a moment without polling, and detach, over and over,
// while another thread collects: a stop signal sent to a thread just before
// it detached may arrive after its state is gone, and its handler must see
// no mutator there (AddressSanitizer reported the handler reading the freed
// state).
TEST(ShapesTest, AThreadDetachesWhileStopSignalsAreInFlight) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "signals are deferred under ThreadSanitizer";
#endif
  Heap heap(TwoProcsNoReports());
  std::atomic<int> running{2};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; t++) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1500; i++) {
        Mutator& m = heap.AttachCurrentThread();
        {
          HandleScope scope(m);
          TaggedTree(m, 3, 1);
        }
        const auto until =
            std::chrono::steady_clock::now() + std::chrono::microseconds(20);
        while (std::chrono::steady_clock::now() < until) {
        }
        heap.DetachCurrentThread();
      }
      running--;
    });
  }
  Mutator& m = heap.AttachCurrentThread();
  int cycles = 0;
  while (running.load() > 0) {
    heap.Collect();
    cycles++;
  }
  for (std::thread& t : threads) {
    BlockingScope b(m);
    t.join();
  }
  EXPECT_GT(cycles, 0);
  heap.DetachCurrentThread();
}

// A thread that never polls is stopped by signal twice per concurrent
// cycle, not three times: at sweep termination, and at the ragged flush
// of mark termination, which keeps it stopped through the stop that
// follows instead of letting it run for microseconds in between and
// signalling it again.
TEST(ShapesTest, MarkTerminationHoldsAThreadItsFlushStopped) {
#if defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "signals are deferred under ThreadSanitizer";
#endif
  Heap heap(TwoProcsNoReports());
  Mutator& m = heap.AttachCurrentThread();
  std::atomic<bool> ready{false}, stop{false};
  std::thread spinner([&] {
    heap.AttachCurrentThread();
    ready = true;
    while (!stop.load(std::memory_order_relaxed)) {
    }
    heap.DetachCurrentThread();
  });
  while (!ready) std::this_thread::yield();
  heap.Collect();
  constexpr int kCycles = 40;
  const uint64_t before = testing_hooks::SignalStops(heap);
  for (int i = 0; i < kCycles; i++) {
    HandleScope scope(m);
    TaggedTree(m, 6, 1);
    heap.Collect();  // this thread gives up its P: only the spinner stops
  }
  const uint64_t stops = testing_hooks::SignalStops(heap) - before;
  stop = true;
  {
    BlockingScope b(m);
    spinner.join();
  }
  heap.DetachCurrentThread();
  // Two per cycle; a few more where a flush found work and marking went
  // on (the thread is let go, and stopped again). Three without the hold.
  EXPECT_GE(stops, uint64_t{kCycles} * 2);
  EXPECT_LT(stops, uint64_t{kCycles} * 5 / 2);
}

std::atomic<int> program_handler_calls{0};
void ProgramHandler(int) { program_handler_calls++; }

// The program's own handler for the stop signal still gets the signals
// that are not the heap's.
TEST(ShapesTest, TheProgramsHandlerForTheSignalStillRuns) {
  struct sigaction sa = {}, old = {};
  sa.sa_handler = ProgramHandler;
  ASSERT_EQ(sigaction(SIGURG, &sa, &old), 0);
  Heap heap;  // installs its handler once per process, chaining
  heap.AttachCurrentThread();
  int before = program_handler_calls.load();
  raise(SIGURG);
  heap.DetachCurrentThread();
  std::thread t([] { raise(SIGURG); });
  t.join();
  // Only if the heap's handler was installed after ours does it chain;
  // either way the program's handler must have run for both signals.
  EXPECT_EQ(program_handler_calls.load() - before, 2);
}

// Conservative objects of up to 512 bytes carry no header: a 16-byte one
// takes a 16-byte slot, and ObjectStart is the pointer New returned.
TEST(ShapesTest, SmallConservativeObjectsHaveNoHeader) {
  static constexpr Type kCons16 = Type::Conservative("cons16", 16);
  Options o;
  o.gc_percent = -1;
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  heap.Collect();
  const uint64_t before = heap.ReadMemStats().heap_alloc;
  constexpr int kN = 10000;
  std::vector<void*> keep;
  keep.reserve(2 * kN);
  for (int i = 0; i < kN; i++) keep.push_back(m.Allocate(kCons16));
  for (int i = 0; i < kN; i++) keep.push_back(m.AllocateConservative(16));
  const uint64_t after = heap.ReadMemStats().heap_alloc;
  EXPECT_EQ(after - before, uint64_t{2 * kN * 16});
  for (void* p : keep) EXPECT_EQ(heap.ObjectStart(p), p);
  // Larger than 512 bytes: a header, but still an object start.
  void* big = m.AllocateConservative(1000);
  EXPECT_EQ(heap.ObjectStart(static_cast<char*>(big) + 999), big);
  heap.DetachCurrentThread();
}

// Every word of a conservative object may be a pointer: pointers to
// object starts and interiors keep their objects, integers and stale
// addresses (of freed slots in the same span) are ignored, without
// marking a free slot (which the sweep would report as a zombie).
TEST(ShapesTest, ConservativeWordsKeepObjectsAndIgnoreJunk) {
  Options o;
  o.max_procs = 1;
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  Persistent<void*> holder(heap,
                           static_cast<void**>(m.AllocateConservative(64)));
  void** h = holder.Get();
  std::vector<uintptr_t> stale;
  for (int round = 0; round < 6; round++) {
    // Garbage in the holder's own size class, then its addresses as junk.
    for (int i = 0; i < 200; i++) {
      stale.push_back(reinterpret_cast<uintptr_t>(m.AllocateConservative(64)));
    }
    Pair* a = TaggedTree(m, 4, 100 + round);
    Pair* b = TaggedTree(m, 4, 200 + round);
    WriteBarrier(&h[0], a);                               // start
    WriteBarrier(&h[1], reinterpret_cast<char*>(b) + 9);  // interior
    h[2] = reinterpret_cast<void*>(uintptr_t{12345});     // integer
    h[3] = reinterpret_cast<void*>(stale[stale.size() / 2 + round] + 8);
    h[4] = reinterpret_cast<void*>(~uintptr_t{0} - 7);
    heap.Collect();
    for (int i = 0; i < 50; i++) TaggedTree(m, 5, 1);  // reuse freed memory
    heap.Collect();
    EXPECT_EQ(CountTagged(static_cast<Pair*>(h[0]), 100 + round), 31u);
    EXPECT_EQ(CountTagged(reinterpret_cast<Pair*>(static_cast<char*>(h[1]) - 9),
                          200 + round),
              31u);
  }
  heap.DetachCurrentThread();
}

Pair* g_static_root = nullptr;  // neither registered nor on a stack

// AddStaticDataRoots (Options::scan_static_data): the program's .data
// and .bss are roots, as under Boehm GC.
TEST(ShapesTest, StaticDataIsARootWhenAsked) {
  Options o;
  o.scan_static_data = true;
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  g_static_root = TaggedTree(m, 8, 42);
  WeakRef<Pair> weak(heap, g_static_root);
  for (int i = 0; i < 3; i++) {
    heap.Collect();
    for (int k = 0; k < 20; k++) TaggedTree(m, 8, 1);
  }
  heap.Collect();
  EXPECT_EQ(weak.Get(), g_static_root);
  EXPECT_EQ(CountTagged(g_static_root, 42), 511u);
  heap.AddStaticDataRoots();  // again: replaces the set
  heap.Collect();
  EXPECT_EQ(CountTagged(g_static_root, 42), 511u);
  g_static_root = nullptr;
  heap.DetachCurrentThread();
}

// A small heap (goal at most Options::small_heap): each cycle the heap
// triggers stops the world and is marked by the allocating thread, with no
// hand-off to the collector's threads. Two mutators churn: the one that
// triggers stops the other. Their trees survive every cycle, and the heap
// stays near its goal (such a cycle starts at the goal and ends before
// anything more is allocated).
TEST(ShapesTest, SmallHeapCyclesMarkInOneStopOnTheAllocatingThread) {
  Options o;
  EXPECT_EQ(o.small_heap, size_t{512} << 10);  // the default
  o.max_procs = 2;
  o.heap_minimum = 256 << 10;
  // The goal counts the stacks scanned, larger under the sanitizers: the
  // test's goals stay under 4 MiB.
  o.small_heap = 4 << 20;
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  // Runs after each cycle the collector's own thread ran: none here.
  std::atomic<int> collector_thread_cycles{0};
  testing_hooks::SetCycleEndHook(heap, [&] { collector_thread_cycles++; });
  std::atomic<uint64_t> peak{0};
  auto churn = [&](Mutator& mu, uint64_t tag) {
    HandleScope scope(mu);
    Local<Pair> tree(mu, TaggedTree(mu, 9, tag));  // 1023 nodes
    for (int i = 0; i < 300000; i++) {
      static_cast<uint64_t*>(mu.AllocateConservative(32))[0] = i;
      if (i % 1000 == 0) {
        uint64_t live = heap.ReadMemStats().heap_alloc;
        uint64_t seen = peak.load();
        while (live > seen && !peak.compare_exchange_weak(seen, live)) {
        }
      }
    }
    return CountTagged(tree.Get(), tag);
  };
  uint64_t other = 0;
  std::thread t([&] {
    Mutator& tm = heap.AttachCurrentThread();
    other = churn(tm, 5);
    heap.DetachCurrentThread();
  });
  const uint64_t mine = churn(m, 6);
  {
    BlockingScope b(m);  // the other thread's stops go on meanwhile
    t.join();
  }
  EXPECT_EQ(other, 1023u);
  EXPECT_EQ(mine, 1023u);
  MemStats s = heap.ReadMemStats();
  EXPECT_GE(s.num_gc, 20u);
  EXPECT_EQ(testing_hooks::SmallCycles(heap), s.num_gc);
  EXPECT_EQ(collector_thread_cycles.load(), 0);
  EXPECT_LE(peak.load(), o.small_heap);
  // Collect() stays concurrent (it is not the heap's trigger).
  heap.Collect();
  EXPECT_EQ(testing_hooks::SmallCycles(heap), s.num_gc);
  EXPECT_EQ(heap.ReadMemStats().num_gc, s.num_gc + 1);
  heap.DetachCurrentThread();
}

// small_heap = 0: a small heap's cycles mark concurrently, as a large one's.
TEST(ShapesTest, SmallHeapCyclesCanBeTurnedOff) {
  Options o;
  o.heap_minimum = 256 << 10;
  o.small_heap = 0;
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  for (int i = 0; i < 100000; i++) m.AllocateConservative(32);
  EXPECT_GE(heap.ReadMemStats().num_gc, 5u);
  EXPECT_EQ(testing_hooks::SmallCycles(heap), 0u);
  heap.DetachCurrentThread();
}

}  // namespace
}  // namespace gcheap::testing
