// fork(): a process that forks while the heap's threads run deadlocks in
// neither the parent nor the child, and the child goes on using the heap
// from the forking thread (docs/embedding.md, "fork()"). Each test forks
// repeatedly while other threads churn, mark, sweep, block, spin or run
// finalizers; each child does real heap work and exits with a status the
// parent checks, under a watchdog: a child that hangs is killed and the
// test fails instead of hanging.
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "gcheap/gcheap.h"
#include "gcheap/testing.h"
#include "gtest/gtest.h"
#include "tests/test_types.h"

#if GCHEAP_TSAN_OR_MSAN
// ThreadSanitizer refuses to start threads in the child of a
// multi-threaded process unless told otherwise, and the child's heap
// starts the collector's threads again. (Options given in TSAN_OPTIONS
// still apply; this is only the default.)
extern "C" const char* __tsan_default_options() { return "die_after_fork=0"; }
#endif

namespace gcheap::testing {
namespace {

using Clock = std::chrono::steady_clock;

// A child that has not exited by then is taken for deadlocked. Generous:
// sanitizer builds on a loaded machine.
constexpr auto kChildTimeout = std::chrono::seconds(30);

int forks_per_test() {
#if GCHEAP_TSAN_OR_MSAN || GCHEAP_ASAN
  return 8;
#else
  return 20;
#endif
}

// In the child: prints why and exits with `code`.
#define CHILD_CHECK(cond, code)                                           \
  do {                                                                    \
    if (!(cond)) {                                                        \
      fprintf(stderr, "child %d: check failed: %s (line %d)\n", getpid(), \
              #cond, __LINE__);                                           \
      return code;                                                        \
    }                                                                     \
  } while (0)

// The first thing a child does. GCC's ThreadSanitizer keeps the parent's
// threads in its registry after a fork; a thread the child starts on a
// stack the C library recycled from one of them has the same pthread_t,
// and the sanitizer stops the process ("dup thread"). Threads started on
// stacks of another size get fresh ones.
void ChildStarts() {
#if GCHEAP_TSAN_OR_MSAN
  pthread_attr_t attr;
  size_t size = 0;
  if (pthread_getattr_default_np(&attr) == 0 &&
      pthread_attr_getstacksize(&attr, &size) == 0) {
    pthread_attr_setstacksize(&attr, size + (1 << 20));
    pthread_setattr_default_np(&attr);
    pthread_attr_destroy(&attr);
  }
#endif
}

// A hung child's threads, on stderr, when gdb is installed (what a
// deadlock report needs).
void PrintStacksOf(pid_t pid) {
  if (access("/usr/bin/gdb", X_OK) != 0) return;
  char cmd[160];
  snprintf(cmd, sizeof cmd,
           "/usr/bin/gdb -p %d -batch -nx -ex 'thread apply all bt' "
           "1>&2 2>/dev/null",
           static_cast<int>(pid));
  if (system(cmd) != 0) fprintf(stderr, "(gdb could not attach)\n");
}

// Forks; the child runs `child` and exits with what it returns. The parent
// waits for it (inside a BlockingScope when `m` is given, so the heap's
// collections do not wait for this thread), kills it if it has not exited
// within kChildTimeout, and returns its exit status, or -1 (and a test
// failure) if it hung or died of a signal.
int ForkAndWait(Mutator* m, const std::function<int()>& child) {
  pid_t pid = fork();
  if (pid == 0) {
    ChildStarts();
    int code = child();
    fflush(stderr);
    _exit(code);
  }
  EXPECT_GT(pid, 0) << "fork failed";
  if (pid <= 0) return -1;
  std::optional<BlockingScope> blocking;
  if (m != nullptr) blocking.emplace(*m);
  const auto deadline = Clock::now() + kChildTimeout;
  int status = 0;
  while (true) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (Clock::now() > deadline) {
      PrintStacksOf(pid);
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      ADD_FAILURE() << "the child " << pid << " did not exit within "
                    << kChildTimeout.count() << " s: deadlocked";
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!WIFEXITED(status)) {
    ADD_FAILURE() << "the child died of signal " << WTERMSIG(status);
    return -1;
  }
  return WEXITSTATUS(status);
}

// The child's heap work, from the forking thread (attaching it if it is
// not): a tree that must survive, garbage that must be freed, a collection,
// then enough allocation for the heap to start cycles of its own. `held`,
// if given, is a tree of TaggedTree(..., 10, 0xA0) the parent held when it
// forked: it must survive the child's collections too. Returns 0, or the
// code of the check that failed.
int ChildHeapWork(Heap& heap, const Pair* held = nullptr) {
  Mutator* mp = Heap::CurrentMutator();
  const bool attach = mp == nullptr;
  if (attach) mp = &heap.AttachCurrentThread();
  Mutator& m = *mp;
  {
    Persistent<Pair> keep(heap, TaggedTree(m, 10, 0xC0));
    MemStats before = heap.ReadMemStats();
    for (int i = 0; i < 20; i++) TaggedTree(m, 8, 0x99);  // 10,220 dead
    heap.Collect();
    MemStats after = heap.ReadMemStats();
    CHILD_CHECK(CountTagged(keep.Get(), 0xC0) == 2047, 10);
    CHILD_CHECK(after.num_gc > before.num_gc, 11);
    CHILD_CHECK(after.frees - before.frees >= 5000, 12);
    CHILD_CHECK(after.heap_objects == after.mallocs - after.frees, 13);
    if (held != nullptr) CHILD_CHECK(CountTagged(held, 0xA0) == 2047, 14);
    // A cycle the heap starts itself (the coordinator, workers and sweeper
    // start again in the child).
    const uint32_t gc0 = after.num_gc;
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    uint32_t gc = gc0;
    while (gc == gc0 && Clock::now() < deadline) {
      for (int i = 0; i < 50; i++) TaggedTree(m, 8, 0x98);
      gc = heap.ReadMemStats().num_gc;
    }
    CHILD_CHECK(gc > gc0, 15);
    CHILD_CHECK(CountTagged(keep.Get(), 0xC0) == 2047, 16);
    if (held != nullptr) CHILD_CHECK(CountTagged(held, 0xA0) == 2047, 17);
  }
  if (attach) heap.DetachCurrentThread();
  return 0;
}

// Threads that attach and churn: each holds a tree on its stack, replaces
// half of it and drops garbage in a loop, and counts trees found broken.
class Churners {
 public:
  Churners(Heap& heap, int n) : heap_(heap) {
    for (int t = 0; t < n; t++) {
      threads_.emplace_back([this, t] {
        Mutator& m = heap_.AttachCurrentThread();
        const uint64_t tag = 0x100 + t;
        Pair* volatile keep = TaggedTree(m, 8, tag);
        bool first = true;
        while (!stop_.load(std::memory_order_relaxed)) {
          keep->car = TaggedTree(m, 7, tag);
          TaggedTree(m, 6, 0x99);
          if (CountTagged(keep, tag) != 511) broken_++;
          rounds_++;
          if (first) started_++;
          first = false;
        }
        heap_.DetachCurrentThread();
      });
    }
    // Until each has done some work: the forks find them busy, and none
    // still starting (a thread the heap does not know yet, inside the C
    // library or a sanitizer's thread setup, which may hold the
    // allocator's locks when the process forks). (Without the P, if this
    // thread holds one: their cycles do not wait for it.)
    std::optional<BlockingScope> blocking;
    if (Mutator* m = Heap::CurrentMutator()) blocking.emplace(*m);
    while (started_.load() < n) {
      std::this_thread::yield();
    }
  }
  ~Churners() { Stop(nullptr); }
  // Joins them (inside a BlockingScope on m, if given).
  void Stop(Mutator* m) {
    stop_ = true;
    std::optional<BlockingScope> blocking;
    if (m != nullptr) blocking.emplace(*m);
    for (auto& t : threads_) {
      if (t.joinable()) t.join();
    }
  }
  uint64_t broken() const { return broken_.load(); }
  uint64_t rounds() const { return rounds_.load(); }

 private:
  Heap& heap_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> broken_{0};
  std::atomic<uint64_t> rounds_{0};
  std::atomic<int> started_{0};  // threads past their first round
  std::vector<std::thread> threads_;
};

Options ForkOptions() {
  Options o;
  o.max_procs = 4;
  return o;
}

// The parent after each fork: still collects, still keeps what it holds.
void ParentGoesOn(Heap& heap, Mutator& m, const Pair* held) {
  TaggedTree(m, 8, 0x97);
  const uint32_t gc0 = heap.ReadMemStats().num_gc;
  heap.Collect();
  EXPECT_GT(heap.ReadMemStats().num_gc, gc0);
  EXPECT_EQ(CountTagged(held, 0xA0), 2047u);
}

// Forks `forks` times from this attached thread while `churners` threads
// allocate; each child does ChildHeapWork.
void ForkBesideChurners(const Options& o, int churners,
                        int forks = forks_per_test()) {
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  {
    Persistent<Pair> held(heap, TaggedTree(m, 10, 0xA0));
    Churners c(heap, churners);
    for (int i = 0; i < forks; i++) {
      const Pair* h = held.Get();
      EXPECT_EQ(ForkAndWait(&m, [&] { return ChildHeapWork(heap, h); }), 0)
          << "fork " << i;
      ParentGoesOn(heap, m, held.Get());
    }
    c.Stop(&m);
    EXPECT_EQ(c.broken(), 0u);
  }
  heap.DetachCurrentThread();
}

TEST(ForkTest, ChildGoesOnWhileThreadsAllocate) {
  ForkBesideChurners(ForkOptions(), 3);
}

// GC stress: every thread collects every 2000 allocations, so most forks
// land while a collection runs or waits.
TEST(ForkTest, ChildGoesOnUnderGcStress) {
  Options o = ForkOptions();
  o.gc_stress = 2000;
  ForkBesideChurners(o, 3);
}

// Mark stress: concurrent marks held open across the threads'
// allocations, the barrier on. (Slow: every allocation takes the slow
// path, in the child too.)
TEST(ForkTest, ChildGoesOnUnderMarkStress) {
  Options o = ForkOptions();
  o.mark_stress = 20000;
  o.mark_stress_hold = 1000;
  ForkBesideChurners(o, 2, forks_per_test() / 2);
}

// Stop-the-world marking: heap-triggered cycles run on the allocating
// threads themselves.
TEST(ForkTest, ChildGoesOnWithStopTheWorldMarking) {
  Options o = ForkOptions();
  o.concurrent_mark = false;
  o.gc_percent = 50;
  ForkBesideChurners(o, 2);
}

// Each fork starts while a concurrent mark is under way: the mark hook
// tells this thread the mark has begun, then holds the mark open a while.
TEST(ForkTest, ForkDuringAConcurrentMark) {
  Heap heap(ForkOptions());
  Mutator& m = heap.AttachCurrentThread();
  Persistent<Pair> held(heap, TaggedTree(m, 10, 0xA0));
  Churners c(heap, 2);
  std::atomic<int> marking{0};
  testing_hooks::SetMarkHook(heap, [&] {
    marking = 1;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  });
  for (int i = 0; i < forks_per_test(); i++) {
    marking = 0;
    std::atomic<bool> forked{false};
    std::thread collector([&] {
      heap.Collect();
      // Not exiting while the process forks: a thread's exit frees
      // memory, and a sanitizer's allocator keeps no lock across fork().
      while (!forked.load()) std::this_thread::yield();
    });
    {
      BlockingScope b(m);
      while (marking.load() == 0) std::this_thread::yield();
    }
    const Pair* h = held.Get();
    EXPECT_EQ(ForkAndWait(&m, [&] { return ChildHeapWork(heap, h); }), 0)
        << "fork " << i;
    forked = true;
    {
      BlockingScope b(m);
      collector.join();
    }
    ParentGoesOn(heap, m, held.Get());
  }
  testing_hooks::SetMarkHook(heap, nullptr);
  c.Stop(&m);
  EXPECT_EQ(c.broken(), 0u);
  held.Reset();
  heap.DetachCurrentThread();
}

// Each fork right after a heap-triggered cycle ended, while the background
// sweeper works through the garbage it left (the cycle-end hook says when).
TEST(ForkTest, ForkWhileTheBackgroundSweeperRuns) {
  Options o = ForkOptions();
  o.gc_percent = 25;
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  Persistent<Pair> held(heap, TaggedTree(m, 10, 0xA0));
  std::atomic<uint32_t> ended{0};
  testing_hooks::SetCycleEndHook(heap, [&] { ended++; });
  Churners c(heap, 2);
  for (int i = 0; i < forks_per_test(); i++) {
    const uint32_t seen = ended.load();
    while (ended.load() == seen) TaggedTree(m, 8, 0x96);
    const Pair* h = held.Get();
    EXPECT_EQ(ForkAndWait(&m, [&] { return ChildHeapWork(heap, h); }), 0)
        << "fork " << i;
    ParentGoesOn(heap, m, held.Get());
  }
  c.Stop(&m);
  testing_hooks::SetCycleEndHook(heap, nullptr);
  EXPECT_EQ(c.broken(), 0u);
  held.Reset();
  heap.DetachCurrentThread();
}

// Each fork while a mark the allocating thread began waits for the
// collector's thread (held by the cycle-end hook): the fork ends that mark
// first, so the child starts with none in progress.
TEST(ForkTest, ForkWhileAMarkBegunAtTheTriggerIsPending) {
  // Declared before the heap, to outlive it: the collector's thread may be
  // in the hook (taken before its cycle) after the hook is removed.
  std::mutex mu;
  std::condition_variable cv;
  bool hold = true;
  bool waiting = false;
  Options o = ForkOptions();
  o.max_procs = 2;
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  Persistent<Pair> held(heap, TaggedTree(m, 10, 0xA0));
  testing_hooks::SetCycleEndHook(heap, [&] {
    std::unique_lock<std::mutex> l(mu);
    waiting = true;
    cv.notify_all();
    cv.wait(l, [&] { return !hold; });
    waiting = false;
  });
  auto collector_thread_waits = [&] {
    std::lock_guard<std::mutex> l(mu);
    return waiting;
  };
  const int forks = forks_per_test() / 4;
  for (int i = 0; i < forks; i++) {
    while (!collector_thread_waits()) TaggedTree(m, 8, 0x96);
    while (!testing_hooks::PastTrigger(heap)) TaggedTree(m, 6, 0x96);
    TaggedTree(m, 8, 0x96);  // a slow path past the trigger
    ASSERT_TRUE(testing_hooks::Marking(heap)) << "fork " << i;
    const Pair* h = held.Get();
    EXPECT_EQ(ForkAndWait(&m,
                          [&] {
                            CHILD_CHECK(!testing_hooks::Marking(heap), 20);
                            return ChildHeapWork(heap, h);
                          }),
              0)
        << "fork " << i;
    EXPECT_FALSE(testing_hooks::Marking(heap));
    EXPECT_EQ(CountTagged(held.Get(), 0xA0), 2047u);
    {
      std::lock_guard<std::mutex> l(mu);
      hold = false;
    }
    cv.notify_all();
    while (collector_thread_waits()) std::this_thread::yield();
    std::lock_guard<std::mutex> l(mu);
    hold = true;
  }
  {
    std::lock_guard<std::mutex> l(mu);
    hold = false;
  }
  cv.notify_all();
  testing_hooks::SetCycleEndHook(heap, nullptr);
  ParentGoesOn(heap, m, held.Get());
  held.Reset();
  heap.DetachCurrentThread();
}

// A thread blocked in a BlockingScope at each fork: gone in the child; in
// the parent its objects survive the collections meanwhile, and it goes on
// once unblocked.
TEST(ForkTest, ForkWhileAThreadIsInABlockingScope) {
  Heap heap(ForkOptions());
  Mutator& m = heap.AttachCurrentThread();
  Persistent<Pair> held(heap, TaggedTree(m, 10, 0xA0));
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  std::atomic<bool> blocked{false};
  uint64_t after = 0;
  std::thread blocker([&] {
    Mutator& bm = heap.AttachCurrentThread();
    Pair* volatile mine = TaggedTree(bm, 10, 0xB0);
    {
      BlockingScope b(bm);
      blocked = true;
      char ch;
      EXPECT_EQ(read(fds[0], &ch, 1), 1);
    }
    TaggedTree(bm, 8, 0x99);
    after = CountTagged(mine, 0xB0);
    heap.DetachCurrentThread();
  });
  {
    BlockingScope b(m);
    while (!blocked.load()) std::this_thread::yield();
  }
  Churners c(heap, 2);
  for (int i = 0; i < forks_per_test(); i++) {
    const Pair* h = held.Get();
    EXPECT_EQ(ForkAndWait(&m, [&] { return ChildHeapWork(heap, h); }), 0)
        << "fork " << i;
    ParentGoesOn(heap, m, held.Get());
  }
  ASSERT_EQ(write(fds[1], "x", 1), 1);
  {
    BlockingScope b(m);
    blocker.join();
  }
  c.Stop(&m);
  EXPECT_EQ(after, 2047u);
  EXPECT_EQ(c.broken(), 0u);
  close(fds[0]);
  close(fds[1]);
  held.Reset();
  heap.DetachCurrentThread();
}

// A thread that never polls is stopped by a signal for each fork, as for a
// collection; the parent's later collections stop it again.
TEST(ForkTest, ForkBesideAThreadThatNeverPolls) {
#if GCHEAP_TSAN_OR_MSAN
  // ThreadSanitizer holds asynchronous signals back until the thread calls
  // an intercepted function, which a spinning loop never does.
  GTEST_SKIP() << "signals are deferred under ThreadSanitizer";
#endif
  Heap heap(ForkOptions());
  Mutator& m = heap.AttachCurrentThread();
  Persistent<Pair> held(heap, TaggedTree(m, 10, 0xA0));
  std::atomic<bool> ready{false}, stop{false};
  std::atomic<uint64_t> nodes{0};
  std::thread spinner([&] {
    Mutator& sm = heap.AttachCurrentThread();
    Pair* volatile tree = TaggedTree(sm, 10, 7);
    ready = true;
    uint64_t spins = 0;
    while (!stop.load(std::memory_order_relaxed)) spins++;
    nodes = CountTagged(tree, 7) + (spins & 0);
    heap.DetachCurrentThread();
  });
  {
    BlockingScope b(m);
    while (!ready.load()) std::this_thread::yield();
  }
  Churners c(heap, 1);
  for (int i = 0; i < forks_per_test(); i++) {
    const Pair* h = held.Get();
    EXPECT_EQ(ForkAndWait(&m, [&] { return ChildHeapWork(heap, h); }), 0)
        << "fork " << i;
    ParentGoesOn(heap, m, held.Get());
  }
  stop = true;
  {
    BlockingScope b(m);
    spinner.join();
  }
  c.Stop(&m);
  EXPECT_EQ(nodes.load(), 2047u);
  EXPECT_EQ(c.broken(), 0u);
  held.Reset();
  heap.DetachCurrentThread();
}

// A thread that never polls and calls malloc in a loop, for blocks big
// enough that malloc maps each one (mmap, with the arena locked): the
// fork's stop must not stop it there, or the fork, which takes every
// arena lock after the handlers ran, would wait for it forever. (Such a
// thread is stopped only outside the C library or at its other system
// calls, so these stops are slow; few forks.)
TEST(ForkTest, ForkBesideAThreadInMallocThatNeverPolls) {
#if GCHEAP_TSAN_OR_MSAN
  GTEST_SKIP() << "signals are deferred under ThreadSanitizer";
#endif
  Heap heap(ForkOptions());
  Mutator& m = heap.AttachCurrentThread();
  std::atomic<bool> ready{false}, stop{false};
  std::atomic<uint64_t> mallocs{0};
  std::thread mallocer([&] {
    heap.AttachCurrentThread();
    ready = true;
    volatile uintptr_t sum = 0;
    while (!stop.load(std::memory_order_relaxed)) {
      // Above glibc's largest mmap threshold: every block is mapped.
      void* p = malloc(40 << 20);
      for (int i = 0; i < 300; i++) sum = sum + i;
      sum = sum + reinterpret_cast<uintptr_t>(p);
      free(p);
      mallocs++;
    }
    heap.DetachCurrentThread();
  });
  {
    BlockingScope b(m);
    while (!ready.load()) std::this_thread::yield();
  }
  // Under AddressSanitizer malloc is the sanitizer's, which the thread
  // almost never leaves (it poisons each block's shadow): two forks.
#if GCHEAP_ASAN
  const int forks = 2;
#else
  const int forks = forks_per_test() / 2;
#endif
  for (int i = 0; i < forks; i++) {
    EXPECT_EQ(ForkAndWait(&m, [&] { return ChildHeapWork(heap); }), 0)
        << "fork " << i;
  }
  heap.Collect();
  stop = true;
  {
    BlockingScope b(m);
    mallocer.join();
  }
  EXPECT_GT(mallocs.load(), 0u);
  heap.DetachCurrentThread();
}

std::atomic<uint64_t> finalized{0};        // in the parent
std::atomic<uint64_t> child_finalized{0};  // the child's own finalizers

// A finalizer that does heap work of its own on the finalizer thread.
void CountAndAllocate(void*, void* counter) {
  Mutator* m = Heap::CurrentMutator();
  if (m != nullptr) TaggedTree(*m, 5, 0x95);
  static_cast<std::atomic<uint64_t>*>(counter)->fetch_add(1);
}

// Finalizers run on the heap's finalizer thread while the process forks.
// In the child the finalizer thread starts again: finalizers the child
// sets run there, after those the child inherited queued.
TEST(ForkTest, ForkWhileFinalizersRun) {
  Options o = ForkOptions();
  o.finalizer_mode = FinalizerMode::kBackgroundThread;
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  Persistent<Pair> held(heap, TaggedTree(m, 10, 0xA0));
  std::atomic<bool> stop{false};
  std::thread maker([&] {
    Mutator& mm = heap.AttachCurrentThread();
    uint64_t made = 0;
    while (!stop.load()) {
      for (int i = 0; i < 200; i++) {
        heap.SetFinalizer(mm.New<Pair>(kPairType), CountAndAllocate,
                          &finalized);
      }
      made += 200;
      heap.Collect();
      // A bounded backlog: back-to-back collections park the finalizer
      // thread at every stop, so an unthrottled maker outruns it, the
      // queue grows without end, and a child inherits all of it.
      BlockingScope b(mm);
      while (!stop.load() && made - finalized.load() > 1000) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    heap.DetachCurrentThread();
  });
  while (finalized.load() == 0) TaggedTree(m, 6, 0x96);
  for (int i = 0; i < forks_per_test(); i++) {
    const Pair* h = held.Get();
    EXPECT_EQ(
        ForkAndWait(
            &m,
            [&]() -> int {
              int rc = ChildHeapWork(heap, h);
              if (rc != 0) return rc;
              // The child's own finalizers run on the
              // restarted finalizer thread.
              for (int k = 0; k < 100; k++) {
                heap.SetFinalizer(m.New<Pair>(kPairType), CountAndAllocate,
                                  &child_finalized);
              }
              const auto deadline = Clock::now() + std::chrono::seconds(20);
              // Nearly all: the last few may stay reachable from stale
              // stack slots or registers, which conservative scanning
              // keeps.
              while (child_finalized.load() < 90 && Clock::now() < deadline) {
                heap.Collect();
                BlockingScope b(m);
                std::this_thread::sleep_for(std::chrono::milliseconds(1));
              }
              CHILD_CHECK(child_finalized.load() >= 90, 20);
              return 0;
            }),
        0)
        << "fork " << i;
    ParentGoesOn(heap, m, held.Get());
  }
  stop = true;
  {
    BlockingScope b(m);
    maker.join();
  }
  held.Reset();
  heap.DetachCurrentThread();
}

// A thread that is not attached forks: the child attaches it, and another
// thread the child starts attaches too.
// A thread holding the heap profile's lock (Heap::HeapProfile needs no P)
// while another forks: the fork waits for the lock, so the child can read
// the profile too instead of waiting forever for a lock held by a thread
// it does not have.
TEST(ForkTest, ForkWhileAThreadReadsTheHeapProfile) {
  Options o = ForkOptions();
  o.mem_profile_rate = 1;  // every allocation sampled
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  for (int i = 0; i < 200; i++) m.AllocateNoscan(16 + 8 * (i % 20));
  for (int i = 0; i < 3; i++) {
    std::atomic<bool> holding{false}, forked{false};
    std::thread reader([&] {
      holding = true;
      testing_hooks::HoldHeapProfileLock(heap, 100);
      // Alive until the fork is over: a thread that ended unjoined before
      // a fork is a leak to ThreadSanitizer in the child.
      while (!forked.load()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
    while (!holding.load()) std::this_thread::yield();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    EXPECT_EQ(ForkAndWait(&m, [&] { return heap.HeapProfile().empty(); }), 0)
        << "fork " << i;
    forked = true;
    reader.join();
  }
  heap.DetachCurrentThread();
}

TEST(ForkTest, ChildOfAnUnattachedThreadAttachesThreads) {
  Heap heap(ForkOptions());
  Mutator& m = heap.AttachCurrentThread();
  Persistent<Pair> held(heap, TaggedTree(m, 10, 0xA0));
  Churners c(heap, 2);
  std::atomic<int> ok{0};
  std::thread forker([&] {
    for (int i = 0; i < forks_per_test(); i++) {
      const Pair* h = held.Get();
      int rc = ForkAndWait(nullptr, [&]() -> int {
        int rc = ChildHeapWork(heap, h);  // attaches and detaches
        if (rc != 0) return rc;
        int other = -1;
        std::thread t([&] { other = ChildHeapWork(heap); });
        t.join();
        return other;
      });
      EXPECT_EQ(rc, 0) << "fork " << i;
      if (rc == 0) ok++;
    }
  });
  {
    BlockingScope b(m);
    forker.join();
  }
  EXPECT_EQ(ok.load(), forks_per_test());
  ParentGoesOn(heap, m, held.Get());
  c.Stop(&m);
  EXPECT_EQ(c.broken(), 0u);
  held.Reset();
  heap.DetachCurrentThread();
}

// The child may destroy the heap (after detaching): it does not wait for
// the parent's threads, which it does not have; every other child does so
// at once, before the collector's threads have started again.
TEST(ForkTest, ChildDestroysTheHeap) {
  auto* heap = new Heap(ForkOptions());
  Mutator& m = heap->AttachCurrentThread();
  Churners c(*heap, 2);
  for (int i = 0; i < forks_per_test(); i++) {
    EXPECT_EQ(ForkAndWait(&m,
                          [&]() -> int {
                            if (i % 2 == 1) {
                              int rc = ChildHeapWork(*heap);
                              if (rc != 0) return rc;
                            }
                            heap->DetachCurrentThread();
                            delete heap;
                            return 0;
                          }),
              0)
        << "fork " << i;
  }
  c.Stop(&m);
  EXPECT_EQ(c.broken(), 0u);
  heap->DetachCurrentThread();
  delete heap;
}

// The child forks too, before its own collector's threads have started
// again: the grandchild goes on as the child did, and so does the child.
TEST(ForkTest, GrandchildGoesOn) {
  Heap heap(ForkOptions());
  Mutator& m = heap.AttachCurrentThread();
  Persistent<Pair> held(heap, TaggedTree(m, 10, 0xA0));
  Churners c(heap, 2);
  for (int i = 0; i < forks_per_test() / 2; i++) {
    const Pair* h = held.Get();
    EXPECT_EQ(ForkAndWait(&m,
                          [&]() -> int {
                            int rc = ForkAndWait(
                                &m, [&] { return ChildHeapWork(heap, h); });
                            if (rc != 0) return 100 + rc;
                            return ChildHeapWork(heap, h);
                          }),
              0)
        << "fork " << i;
    ParentGoesOn(heap, m, held.Get());
  }
  c.Stop(&m);
  EXPECT_EQ(c.broken(), 0u);
  held.Reset();
  heap.DetachCurrentThread();
}

// Two attached threads fork at the same time, again and again.
TEST(ForkTest, TwoThreadsForkAtOnce) {
  Heap heap(ForkOptions());
  Mutator& m = heap.AttachCurrentThread();
  Persistent<Pair> held(heap, TaggedTree(m, 10, 0xA0));
  Churners c(heap, 1);
  std::atomic<int> ok{0};
  auto forker = [&] {
    Mutator& fm = heap.AttachCurrentThread();
    for (int i = 0; i < forks_per_test() / 2; i++) {
      const Pair* h = held.Get();
      int rc = ForkAndWait(&fm, [&] { return ChildHeapWork(heap, h); });
      EXPECT_EQ(rc, 0) << "fork " << i;
      if (rc == 0) ok++;
    }
    heap.DetachCurrentThread();
  };
  std::thread a(forker), b(forker);
  {
    BlockingScope blocking(m);
    a.join();
    b.join();
  }
  EXPECT_EQ(ok.load(), 2 * (forks_per_test() / 2));
  ParentGoesOn(heap, m, held.Get());
  c.Stop(&m);
  EXPECT_EQ(c.broken(), 0u);
  held.Reset();
  heap.DetachCurrentThread();
}

// Two heaps, each with its own churning thread; the child uses both.
TEST(ForkTest, ChildUsesTwoHeaps) {
  Heap a(ForkOptions()), b(ForkOptions());
  Mutator& m = a.AttachCurrentThread();
  Churners ca(a, 1), cb(b, 1);
  for (int i = 0; i < forks_per_test(); i++) {
    EXPECT_EQ(ForkAndWait(&m,
                          [&]() -> int {
                            int rc = ChildHeapWork(a);
                            if (rc != 0) return rc;
                            int other = -1;
                            std::thread t([&] { other = ChildHeapWork(b); });
                            t.join();
                            return other;
                          }),
              0)
        << "fork " << i;
  }
  ca.Stop(&m);
  cb.Stop(&m);
  EXPECT_EQ(ca.broken() + cb.broken(), 0u);
  a.DetachCurrentThread();
}

// fork + exec from a thread while the collector runs: the child execs at
// once (no heap work, no thread started) and exits cleanly.
TEST(ForkTest, ForkExecWhileTheCollectorRuns) {
  Options o = ForkOptions();
  o.gc_percent = 25;
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  Persistent<Pair> held(heap, TaggedTree(m, 10, 0xA0));
  Churners c(heap, 2);
  std::atomic<bool> done{false};
  std::atomic<int> clean{0};
  std::thread forker([&] {
    for (int i = 0; i < forks_per_test(); i++) {
      pid_t pid = fork();
      if (pid == 0) {
        execl("/bin/true", "true", static_cast<char*>(nullptr));
        _exit(127);
      }
      ASSERT_GT(pid, 0);
      const auto deadline = Clock::now() + kChildTimeout;
      int status = 0;
      while (waitpid(pid, &status, WNOHANG) != pid) {
        if (Clock::now() > deadline) {
          kill(pid, SIGKILL);
          waitpid(pid, &status, 0);
          ADD_FAILURE() << "fork+exec child hung";
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0) clean++;
    }
    done = true;
  });
  while (!done.load()) {
    TaggedTree(m, 8, 0x96);
    heap.Collect();
  }
  forker.join();
  EXPECT_EQ(clean.load(), forks_per_test());
  ParentGoesOn(heap, m, held.Get());
  c.Stop(&m);
  EXPECT_EQ(c.broken(), 0u);
  held.Reset();
  heap.DetachCurrentThread();
}

}  // namespace
}  // namespace gcheap::testing
