// Concurrent marking: the write barrier, allocation black, checkmark, and a
// stress test of mutators rewiring a graph while cycles run back to back.
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "gcheap/gcheap.h"
#include "gcheap/testing.h"
#include "gtest/gtest.h"
#include "tests/test_types.h"

namespace gcheap::testing {
namespace {

// A one-shot rendezvous between the collecting thread (in the mark hook)
// and the main mutator thread.
struct Rendezvous {
  std::mutex mu;
  std::condition_variable cv;
  int stage = 0;
  void Set(int s) {
    std::lock_guard<std::mutex> l(mu);
    stage = s;
    cv.notify_all();
  }
  void WaitFor(int s) {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return stage >= s; });
  }
};

Options Concurrent(bool checkmark) {
  Options o;
  o.max_procs = 2;
  o.stack_scanning = StackScanning::kPrecise;
  o.gc_percent = -1;  // only the cycles the test starts
  o.checkmark = checkmark;
  return o;
}

// Runs one cycle on another thread; `during_mark` runs on this (attached)
// thread while the concurrent mark is in progress.
template <class Fn>
void CollectWhile(Heap& heap, Mutator& m, Fn during_mark) {
  Rendezvous r;
  testing_hooks::SetMarkHook(heap, [&] {
    r.Set(1);      // marking has begun
    r.WaitFor(2);  // until the mutator is done
  });
  std::thread collector([&] { heap.Collect(); });
  {
    BlockingScope b(m);
    r.WaitFor(1);
  }
  during_mark();
  r.Set(2);
  {
    BlockingScope b(m);
    collector.join();
  }
  testing_hooks::SetMarkHook(heap, nullptr);
}

TEST(ConcurrentTest, BarrierKeepsAnObjectMovedDuringMark) {
  Heap heap(Concurrent(/*checkmark=*/true));
  Mutator& m = heap.AttachCurrentThread();
  {
    Persistent<Pair> a(heap, m.New<Pair>(kPairType));
    a->car = m.New<Pair>(kPairType);
    a->car->value = 7;
    Persistent<Pair> c;
    CollectWhile(heap, m, [&] {
      // Move B from A (not yet scanned) into a new, black object C, with
      // the barrier: B is shaded when A's slot is overwritten.
      c = Persistent<Pair>(heap, m.New<Pair>(kPairType));
      c->car = a->car.Get();
      a->car = nullptr;
    });
    heap.Collect();
    ASSERT_NE(heap.ObjectStart(c->car.Get()), nullptr);
    EXPECT_EQ(c->car->value, 7u);
  }
  heap.DetachCurrentThread();
}

// Deletion half of the barrier, for 2000 objects: each is taken out of a
// grey object into a new handle (the handles were scanned when the mark
// began and are not scanned again) and its heap slot cleared, so only the
// shade of the overwritten value keeps it. The 2000 shades pass through
// the P's 512-entry buffer, so the barrier's inline append and its
// full-buffer path (flush, then append) both run; checkmark fails the
// cycle if one was lost.
TEST(ConcurrentTest, BarrierShadesEveryOverwrittenValueAcrossBufferFlushes) {
  Heap heap(Concurrent(/*checkmark=*/true));
  Mutator& m = heap.AttachCurrentThread();
  {
    constexpr int kObjects = 2000;
    std::vector<Persistent<Pair>> from;
    for (int i = 0; i < kObjects; i++) {
      from.emplace_back(heap, m.New<Pair>(kPairType));
      from.back()->car = m.New<Pair>(kPairType);
      from.back()->car->value = static_cast<uint64_t>(i);
    }
    HandleScope scope(m);
    std::vector<Local<Pair>> taken;
    taken.reserve(kObjects);
    CollectWhile(heap, m, [&] {
      for (int i = 0; i < kObjects; i++) {
        taken.emplace_back(m, from[i]->car.Get());
        from[i]->car = nullptr;
      }
    });
    for (int i = 0; i < kObjects; i++) {
      ASSERT_NE(heap.ObjectStart(taken[i].Get()), nullptr) << i;
      EXPECT_EQ(taken[i]->value, static_cast<uint64_t>(i));
    }
  }
  heap.DetachCurrentThread();
}

// Mark termination flushes a running thread's barrier buffer at its next
// safepoint (a ragged flush): the thread moves an object during the mark
// and then only polls; checkmark fails the cycle if the shade was lost.
TEST(ConcurrentTest, RunningThreadFlushesItsBarrierBufferAtASafepoint) {
  Heap heap(Concurrent(/*checkmark=*/true));
  Mutator& m = heap.AttachCurrentThread();
  {
    Persistent<Pair> a(heap, m.New<Pair>(kPairType));
    a->car = m.New<Pair>(kPairType);
    a->car->value = 9;
    Persistent<Pair> c;
    Rendezvous r;
    testing_hooks::SetMarkHook(heap, [&] {
      r.Set(1);
      r.WaitFor(2);
    });
    std::atomic<bool> cycle_done{false};
    std::thread collector([&] {
      heap.Collect();
      cycle_done = true;
    });
    {
      BlockingScope b(m);
      r.WaitFor(1);
    }
    c = Persistent<Pair>(heap, m.New<Pair>(kPairType));
    c->car = a->car.Get();
    a->car = nullptr;
    r.Set(2);
    // Keep the P: the shades sit in this P's buffer until this thread
    // polls.
    while (!cycle_done.load()) m.Safepoint();
    collector.join();
    testing_hooks::SetMarkHook(heap, nullptr);
    heap.Collect();
    ASSERT_NE(heap.ObjectStart(c->car.Get()), nullptr);
    EXPECT_EQ(c->car->value, 9u);
  }
  heap.DetachCurrentThread();
}

// Idle-time marking: with the program's only thread out of the heap (a
// collection from a BlockingScope'd caller), spare CPUs mark; gctrace's
// idle CPU column says how much. Off, that column stays 0.
// The CPU split of each gctrace line: "... ms clock, a+b/c/d+e ms cpu, ..."
// where b is assist, c background and d idle-time marking.
struct TraceCpu {
  double assist_ms, background_ms, idle_ms;
  bool forced;
};
std::vector<TraceCpu> ParseTraceCpu(const char* buf) {
  std::vector<TraceCpu> lines;
  for (const char* line = buf; line != nullptr && *line != '\0';) {
    const char* end = strchr(line, '\n');
    std::string l(line, end == nullptr ? strlen(line) : end - line);
    const char* cpu = strstr(l.c_str(), "ms clock, ");
    double a, b, c, d, e;
    if (cpu != nullptr &&
        sscanf(cpu, "ms clock, %lf+%lf/%lf/%lf+%lf", &a, &b, &c, &d, &e) == 5) {
      lines.push_back({b, c, d, l.find("(forced)") != std::string::npos});
    }
    line = end == nullptr ? nullptr : end + 1;
  }
  return lines;
}

double IdleMarkCpuMs(bool idle_mark) {
  char* buf = nullptr;
  size_t len = 0;
  FILE* out = open_memstream(&buf, &len);
  {
    Options o = Concurrent(/*checkmark=*/false);
    o.max_procs = 4;
    o.mark_workers = 3;
    o.idle_mark = idle_mark;
    o.gctrace = true;
    o.trace_output = out;
    Heap heap(o);
    Mutator& m = heap.AttachCurrentThread();
    {
      // About 32 MiB of lists, so the mark lasts a while.
      Persistent<Pair*> lists(
          heap, static_cast<Pair**>(m.AllocateArray(kPtrArrayElem, 64)));
      for (int i = 0; i < 64; i++) {
        WriteBarrier(reinterpret_cast<void**>(&lists.Get()[i]),
                     MakeList(m, 16384, i));
      }
      for (int i = 0; i < 3; i++) heap.Collect();
    }
    heap.DetachCurrentThread();
  }
  fclose(out);
  double total = 0;
  for (const TraceCpu& c : ParseTraceCpu(buf)) total += c.idle_ms;
  free(buf);
  return total;
}

TEST(ConcurrentTest, IdleCpusMarkWhenIdleMarkingIsOn) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) != 0 || CPU_COUNT(&set) < 2) {
    GTEST_SKIP() << "needs 2 CPUs: one for the background worker, one idle";
  }
  EXPECT_GT(IdleMarkCpuMs(true), 0.0);
  EXPECT_EQ(IdleMarkCpuMs(false), 0.0);
}

class ConcurrentDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(ConcurrentDeathTest, CheckmarkCatchesAMissingBarrier) {
  EXPECT_DEATH(
      {
        Heap heap(Concurrent(/*checkmark=*/true));
        Mutator& m = heap.AttachCurrentThread();
        Persistent<Pair> a(heap, m.New<Pair>(kPairType));
        a->car = m.New<Pair>(kPairType);
        Persistent<Pair> c;
        CollectWhile(heap, m, [&] {
          // The same move as above, but with raw stores that skip the
          // barrier: B is reachable only from C, which is black. A's slot
          // is cleared before C's allocation, whose assist may scan A
          // (the precise stack scan does not see the local b).
          Pair* b = a->car.Get();
          *reinterpret_cast<Pair**>(&a->car) = nullptr;
          c = Persistent<Pair>(heap, m.New<Pair>(kPairType));
          *reinterpret_cast<Pair**>(&c->car) = b;
        });
      },
      "checkmark: object 0x[0-9a-f]+ \\(Pair, 24-byte slot\\) is reachable "
      "from object 0x[0-9a-f]+ \\(Pair\\) but the concurrent mark did not "
      "mark it: a pointer store into the referrer missed the write barrier");
}

TEST(ConcurrentTest, WeakGetDuringMarkShadesTheTarget) {
  // X is only weakly reachable when the mark begins, so the mark would not
  // reach it; the program revives it during the mark through a weak
  // reference and keeps it in a root. Get must shade it (checkmark would
  // abort otherwise, and the object would be freed under the root).
  Heap heap(Concurrent(/*checkmark=*/true));
  Mutator& m = heap.AttachCurrentThread();
  {
    Pair* x = m.New<Pair>(kPairType);
    x->value = 99;
    WeakRef<Pair> weak(heap, x);
    x = nullptr;
    Persistent<Pair> holder;
    CollectWhile(heap, m, [&] { holder = Persistent<Pair>(heap, weak.Get()); });
    ASSERT_NE(holder.Get(), nullptr);
    heap.Collect();
    EXPECT_NE(heap.ObjectStart(holder.Get()), nullptr);
    EXPECT_EQ(holder->value, 99u);
    EXPECT_EQ(weak.Get(), holder.Get());
  }
  heap.DetachCurrentThread();
}

TEST(ConcurrentTest, ObjectsAllocatedDuringMarkAreBlack) {
  Heap heap(Concurrent(/*checkmark=*/false));
  Mutator& m = heap.AttachCurrentThread();
  // Unreachable, but allocated black. The first comes from the allocation
  // slow path (the mcache starts the mark empty), the rest from the fast
  // path, which writes no mark bit: its span's free slots were marked when
  // the mcache took it.
  std::vector<Pair*> during;
  CollectWhile(heap, m, [&] {
    for (int i = 0; i < 200; i++) during.push_back(m.New<Pair>(kPairType));
  });
  for (Pair* p : during) {
    EXPECT_EQ(heap.ObjectStart(p), p);  // survived its cycle
  }
  heap.Collect();
  for (Pair* p : during) {
    EXPECT_EQ(heap.ObjectStart(p), nullptr);  // freed by the next one
  }
  heap.DetachCurrentThread();
}

// Tiny objects (noscan, under 16 bytes) stay on the allocation fast path
// while marking: the mcache's current block was taken during the mark, from
// a span whose free slots it marked, so every object in it is black.
TEST(ConcurrentTest, TinyObjectsAllocatedDuringMarkAreBlack) {
  struct Word {
    uint64_t v;
  };
  static constexpr Type kWordType = Type::Noscan("Word", sizeof(Word));
  Heap heap(Concurrent(/*checkmark=*/false));
  Mutator& m = heap.AttachCurrentThread();
  std::vector<Word*> during;  // not roots: precise stacks, C++ memory
  CollectWhile(heap, m, [&] {
    for (uint64_t i = 0; i < 3000; i++) {
      Word* w = m.New<Word>(kWordType);
      w->v = i * 0x9e3779b97f4a7c15u;
      during.push_back(w);
    }
  });
  // They survived their cycle: still allocated, and what the program
  // allocates next does not land on them.
  for (int i = 0; i < 20000; i++) m.New<Word>(kWordType)->v = ~uint64_t{0};
  for (uint64_t i = 0; i < during.size(); i++) {
    ASSERT_NE(heap.ObjectStart(during[i]), nullptr) << "object " << i;
    ASSERT_EQ(during[i]->v, i * 0x9e3779b97f4a7c15u) << "object " << i;
  }
  heap.Collect();  // unreachable: the next cycle frees them
  size_t still = 0;
  for (Word* w : during) still += heap.ObjectStart(w) != nullptr;
  EXPECT_EQ(still, 0u);
  heap.DetachCurrentThread();
}

// Go's assists aim at the heap goal; ours stop a fast allocator sooner,
// once it has used the mark's growth budget (gc/pacer.h), so what it
// allocates black does not inflate the next goal. Here the background
// worker is held back (the mark hook) while the program allocates half
// the live heap, past the budget (40% of the headroom): the program must
// have done nearly all of the marking itself by then. Aiming at the goal, as
// before the budget, its assists did about a third and the worker the rest.
TEST(ConcurrentTest, AFastAllocatorMarksBeforeOutgrowingTheMarksBudget) {
  char* buf = nullptr;
  size_t len = 0;
  FILE* out = open_memstream(&buf, &len);
  {
    Options o = Concurrent(/*checkmark=*/false);
    o.gctrace = true;
    o.trace_output = out;
    Heap heap(o);
    Mutator& m = heap.AttachCurrentThread();
    constexpr int kLists = 64, kLength = 16384;  // 24 MiB of pairs
    Persistent<Pair*> lists(
        heap, static_cast<Pair**>(m.AllocateArray(kPtrArrayElem, kLists)));
    // Built with automatic collection still off: stacks are not scanned
    // here (precise mode), and MakeList holds its list in a C++ local.
    for (int i = 0; i < kLists; i++) {
      WriteBarrier(reinterpret_cast<void**>(&lists.Get()[i]),
                   MakeList(m, kLength, i));
    }
    heap.SetGCPercent(100);
    heap.Collect();  // the goal: twice the lists
    const size_t live = heap.ReadMemStats().heap_alloc;
    CollectWhile(heap, m, [&] {
      for (size_t bytes = 0; bytes < live / 2; bytes += sizeof(Pair)) {
        m.New<Pair>(kPairType);
      }
    });
    for (int i = 0; i < kLists; i++) {  // and nothing was lost
      int n = 0;
      for (Pair* p = lists.Get()[i]; p != nullptr; p = p->cdr, n++) {
        ASSERT_EQ(p->value, static_cast<uint64_t>(n * 7 + i));
      }
      ASSERT_EQ(n, kLength);
    }
    heap.DetachCurrentThread();
  }
  fclose(out);
  // The last forced cycle is the one run during the allocation.
  double assist = -1, others = -1;
  for (const TraceCpu& c : ParseTraceCpu(buf)) {
    if (!c.forced) continue;
    assist = c.assist_ms;
    others = c.background_ms + c.idle_ms;
  }
  free(buf);
  ASSERT_GE(assist, 0) << "no gctrace line for the cycle";
  EXPECT_GT(assist, 2 * others)
      << "assists " << assist << " ms, workers " << others << " ms";
}

TEST(ConcurrentTest, CopyPointersShadesWhatItCopiesAndOverwrites) {
  Heap heap(Concurrent(/*checkmark=*/true));
  Mutator& m = heap.AttachCurrentThread();
  {
    Persistent<Pair*> src(
        heap, static_cast<Pair**>(m.AllocateArray(kPtrArrayElem, 8)));
    for (int i = 0; i < 8; i++) {
      src.Get()[i] = m.New<Pair>(kPairType);
      src.Get()[i]->value = i;
    }
    Persistent<Pair*> dst;
    CollectWhile(heap, m, [&] {
      dst = Persistent<Pair*>(
          heap, static_cast<Pair**>(m.AllocateArray(kPtrArrayElem, 8)));
      CopyPointers(reinterpret_cast<void**>(dst.Get()),
                   reinterpret_cast<void* const*>(src.Get()), 8);
      for (int i = 0; i < 8; i++) {
        WriteBarrier(reinterpret_cast<void**>(&src.Get()[i]), nullptr);
      }
    });
    heap.Collect();
    for (int i = 0; i < 8; i++) {
      ASSERT_NE(heap.ObjectStart(dst.Get()[i]), nullptr);
      EXPECT_EQ(dst.Get()[i]->value, static_cast<uint64_t>(i));
    }
  }
  heap.DetachCurrentThread();
}

// Stress: mutators build, rewire and drop a random graph while cycles run
// back to back; every object carries a checksum of its address and owner.
constexpr uint64_t kSalt = 0x9e3779b97f4a7c15ull;
uint64_t Sum(const Pair* p, int owner) {
  return (reinterpret_cast<uint64_t>(p) ^ kSalt) * 4 + owner;
}

void Verify(Heap& heap, Pair* const* roots, int n, int owner,
            uint64_t* checked) {
  std::vector<Pair*> stack;
  std::unordered_set<Pair*> seen;
  for (int i = 0; i < n; i++) {
    if (roots[i] != nullptr) stack.push_back(roots[i]);
  }
  while (!stack.empty()) {
    Pair* p = stack.back();
    stack.pop_back();
    if (!seen.insert(p).second) continue;
    ASSERT_EQ(heap.ObjectStart(p), p) << "reachable object was freed";
    ASSERT_EQ(p->value, Sum(p, owner)) << "payload lost";
    (*checked)++;
    if (p->car) stack.push_back(p->car);
    if (p->cdr) stack.push_back(p->cdr);
  }
}

TEST(ConcurrentTest, CpuLimiterLetsTheProgramRunUnderAnImpossibleSoftLimit) {
  // A soft limit far below the live heap: every MiB allocated starts a
  // cycle that marks the whole live list, and assists would take most of
  // the program's time. The limiter (gc/limiter.h) turns assists off once
  // the collector has had more than half the CPU for a CPU-second per P;
  // the heap then stays over its limit and the program goes on.
  Options o;  // conservative stacks: MakeList's locals are roots
  o.max_procs = 1;
  o.soft_memory_limit = 1 << 20;
  o.idle_mark = false;  // idle-time marking is not counted
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  {
    Persistent<Pair> live(heap, MakeList(m, 100000, 5));  // about 3 MiB
    auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (testing_hooks::CpuLimitedCycles(heap) == 0 &&
           std::chrono::steady_clock::now() < give_up) {
      MakeList(m, 20000, 0);  // garbage
    }
    ASSERT_GT(testing_hooks::CpuLimitedCycles(heap), 0u)
        << "the collector never had more than half the CPU, or the limiter "
           "never noticed";
    // Still limited, cycles go on without assists and the live data is
    // intact.
    uint32_t before = heap.ReadMemStats().num_gc;
    for (int i = 0; i < 50; i++) MakeList(m, 20000, 0);
    EXPECT_GT(heap.ReadMemStats().num_gc, before);
    int n = 0;
    for (Pair* p = live.Get(); p != nullptr; p = p->cdr, n++) {
      ASSERT_EQ(p->value, n * 7 + 5u) << "payload lost at " << n;
    }
    EXPECT_EQ(n, 100000);
  }
  heap.DetachCurrentThread();
}

TEST(ConcurrentTest, ARequestMadeAsACycleEndsStartsTheNextCycle) {
  // Heap-triggered cycles run on the collector's own thread. A thread that
  // reaches the next trigger just as a cycle ends asks for the next cycle;
  // that request must not be lost. (It was, while the collector's thread
  // still counted the request it had just answered as pending: the asking
  // thread then waited at the goal, and with no further allocation no
  // cycle ever came.) The cycle-end hook holds the collector's thread in
  // that window while this thread crosses the trigger.
  Options o;  // conservative stacks: MakeList's locals are roots
  o.max_procs = 2;
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  {
    Persistent<Pair> live(heap, MakeList(m, 100000, 1));
    std::mutex mu;
    std::condition_variable cv;
    int stage = 0;  // 1: a cycle ended, the hook holds on; 2: let it go
    testing_hooks::SetCycleEndHook(heap, [&] {
      std::unique_lock<std::mutex> l(mu);
      if (stage != 0) return;
      stage = 1;
      cv.notify_all();
      cv.wait(l, [&] { return stage == 2; });
    });
    auto stage_is = [&](int s) {
      std::lock_guard<std::mutex> l(mu);
      return stage == s;
    };
    while (!stage_is(1)) MakeList(m, 1000, 0);  // until a cycle ends
    while (!testing_hooks::PastTrigger(heap)) MakeList(m, 500, 0);
    MakeList(m, 1000, 0);  // a slow path past the trigger: the request
    const uint32_t before = heap.ReadMemStats().num_gc;
    {
      std::lock_guard<std::mutex> l(mu);
      stage = 2;
    }
    cv.notify_all();
    // No more allocation: only the request can start the next cycle.
    uint32_t now = before;
    for (int i = 0; i < 1000 && now == before; i++) {
      {
        BlockingScope blocked(m);
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      now = heap.ReadMemStats().num_gc;
    }
    EXPECT_GT(now, before) << "the cycle requested at the trigger never ran";
    testing_hooks::SetCycleEndHook(heap, nullptr);
  }
  heap.DetachCurrentThread();
}

// Holds the collector's own thread after the next heap-triggered cycle it
// ends, until Release: while held it starts no cycle.
class CollectorThreadHold {
 public:
  explicit CollectorThreadHold(Heap& heap) : heap_(heap) {
    testing_hooks::SetCycleEndHook(heap_, [this] {
      std::unique_lock<std::mutex> l(mu_);
      if (stage_ != 0) return;
      stage_ = 1;
      cv_.notify_all();
      cv_.wait(l, [&] { return stage_ == 2; });
    });
  }
  ~CollectorThreadHold() {
    Release();
    if (!heap_gone_) testing_hooks::SetCycleEndHook(heap_, nullptr);
  }
  // The heap was destroyed with the hook: the destructor leaves it alone.
  void HeapGone() { heap_gone_ = true; }
  bool held() {
    std::lock_guard<std::mutex> l(mu_);
    return stage_ == 1;
  }
  void Release() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stage_ = 2;
    }
    cv_.notify_all();
  }
  // Allocates until the collector's thread is held at a cycle's end, then
  // past the next trigger and one slow path beyond: the calling thread
  // begins that cycle's mark, which waits for the held thread.
  void AllocateIntoAPendingMark(Mutator& m) {
    while (!held()) MakeList(m, 1000, 0);
    while (!testing_hooks::PastTrigger(heap_)) MakeList(m, 500, 0);
    MakeList(m, 1000, 0);
  }

 private:
  Heap& heap_;
  std::mutex mu_;
  std::condition_variable cv_;
  int stage_ = 0;  // 1: a cycle ended, the hook holds on; 2: let it go
  bool heap_gone_ = false;
};

bool ListIntact(const Pair* p, int n, uint64_t seed) {
  for (int i = 0; i < n; i++, p = p->cdr) {
    if (p == nullptr || p->value != i * 7 + seed) return false;
  }
  return p == nullptr;
}

// Waits (without the P) until num_gc passes `before`; returns num_gc.
uint32_t WaitForCycleAfter(Heap& heap, Mutator& m, uint32_t before) {
  uint32_t now = heap.ReadMemStats().num_gc;
  for (int i = 0; i < 1000 && now == before; i++) {
    {
      BlockingScope blocked(m);
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    now = heap.ReadMemStats().num_gc;
  }
  return now;
}

TEST(ConcurrentTest, TheThreadPastTheTriggerStartsTheMarkItself) {
  // As Go's allocating goroutine runs gcStart: the thread whose allocation
  // finds the heap past the trigger stops the world and greys the roots
  // itself, without waiting for the collector's thread to be scheduled
  // (held here): marking is on when its allocation returns. The collector's
  // thread takes the mark over once it runs, and ends the cycle.
  Options o;
  o.max_procs = 2;
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  {
    Persistent<Pair> live(heap, MakeList(m, 100000, 3));
    CollectorThreadHold hold(heap);
    while (!hold.held()) MakeList(m, 1000, 0);  // until a cycle ends
    const uint32_t before = heap.ReadMemStats().num_gc;
    EXPECT_FALSE(testing_hooks::Marking(heap));
    hold.AllocateIntoAPendingMark(m);
    EXPECT_TRUE(testing_hooks::Marking(heap))
        << "the allocating thread did not start the mark";
    // The program goes on while the mark waits for the collector's thread.
    for (int i = 0; i < 20; i++) MakeList(m, 1000, 0);
    EXPECT_EQ(heap.ReadMemStats().num_gc, before);
    hold.Release();
    EXPECT_GT(WaitForCycleAfter(heap, m, before), before);
    EXPECT_TRUE(ListIntact(live.Get(), 100000, 3));
  }
  heap.DetachCurrentThread();
}

TEST(ConcurrentTest, CollectEndsAMarkTheAllocatingThreadBegan) {
  // Collect while a mark begun at the trigger waits for the collector's
  // thread: Collect ends that mark, then runs a full cycle of its own.
  Options o;
  o.max_procs = 2;
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  {
    Persistent<Pair> live(heap, MakeList(m, 100000, 5));
    CollectorThreadHold hold(heap);
    hold.AllocateIntoAPendingMark(m);
    ASSERT_TRUE(testing_hooks::Marking(heap));
    const uint32_t before = heap.ReadMemStats().num_gc;
    heap.Collect();
    EXPECT_FALSE(testing_hooks::Marking(heap));
    EXPECT_EQ(heap.ReadMemStats().num_gc, before + 2);
    EXPECT_TRUE(ListIntact(live.Get(), 100000, 5));
    hold.Release();
  }
  heap.Collect();
  heap.DetachCurrentThread();
}

TEST(ConcurrentTest, AHeapWithAMarkPendingCanBeDestroyed) {
  // The heap is destroyed while a mark begun at the trigger still waits
  // for the collector's thread, which is stopped first: the destructor
  // ends the mark (under AddressSanitizer: nothing leaks, nothing is read
  // after it is freed).
  Options o;
  o.max_procs = 2;
  auto heap = std::make_unique<Heap>(o);
  auto hold = std::make_unique<CollectorThreadHold>(*heap);
  {
    Mutator& m = heap->AttachCurrentThread();
    Persistent<Pair> live(*heap, MakeList(m, 50000, 1));
    hold->AllocateIntoAPendingMark(m);
    ASSERT_TRUE(testing_hooks::Marking(*heap));
  }
  heap->DetachCurrentThread();
  // The held collector's thread is let go only once the destructor has
  // asked it to stop: it takes up no request after that.
  std::thread releaser([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    hold->Release();
  });
  heap.reset();
  releaser.join();
  hold->HeapGone();
}

// Mutators rewire a shared graph while cycles run back to back; checkmark
// verifies each mark, with span-based marking or object by object.
void StressRewiring(bool span_marking) {
  Options o;
  o.max_procs = 4;
  o.checkmark = true;
  o.span_marking = span_marking;
  Heap heap(o);
  constexpr int kMutators = 3, kRoots = 64, kOps = 60000;
  std::atomic<bool> done{false};
  std::atomic<uint64_t> checked{0};
  std::atomic<int> collections{0};
  std::thread collector([&] {
    while (!done.load()) {
      heap.Collect();
      collections++;
    }
  });
  std::vector<std::thread> ts;
  for (int t = 0; t < kMutators; t++) {
    ts.emplace_back([&, t] {
      Mutator& m = heap.AttachCurrentThread();
      {
        std::mt19937 rng(t + 1);
        Persistent<Pair*> roots(
            heap, static_cast<Pair**>(m.AllocateArray(kPtrArrayElem, kRoots)));
        uint64_t mine = 0;
        // At least kOps operations, and until several cycles have run.
        for (int op = 0; op < kOps || collections.load() < 8; op++) {
          Pair** r = roots.Get();
          int i = rng() % kRoots, j = rng() % kRoots;
          switch (rng() % 5) {
            case 0:
            case 1: {  // a new node, linked to an existing one
              Pair* p = m.New<Pair>(kPairType);
              p->value = Sum(p, t);
              p->car = r[j];
              WriteBarrier(reinterpret_cast<void**>(&r[i]), p);
              break;
            }
            case 2:  // rewire
              if (r[i] != nullptr) r[i]->cdr = r[j];
              break;
            case 3:  // move a subtree and drop the old edge
              if (r[i] != nullptr && r[j] != nullptr) {
                r[j]->car = r[i]->car.Get();
                r[i]->car = nullptr;
              }
              break;
            case 4:  // drop a root
              WriteBarrier(reinterpret_cast<void**>(&r[i]), nullptr);
              break;
          }
          if (op % 5000 == 0) Verify(heap, r, kRoots, t, &mine);
          if (::testing::Test::HasFatalFailure()) break;
        }
        Verify(heap, roots.Get(), kRoots, t, &mine);
        checked += mine;
      }
      heap.DetachCurrentThread();
    });
  }
  for (auto& t : ts) t.join();
  done = true;
  collector.join();
  MemStats s = heap.ReadMemStats();
  EXPECT_GT(s.num_gc, 5u);
  EXPECT_GT(checked.load(), 1000u);
}

TEST(ConcurrentTest, StressRewiringWhileCyclesRunBackToBack) {
  StressRewiring(/*span_marking=*/true);
}

TEST(ConcurrentTest, StressRewiringWithObjectByObjectMarking) {
  StressRewiring(/*span_marking=*/false);
}

// The ragged flush waits for running threads at their safepoints, without
// stopping anyone; one that stops polling during the mark is named, as for
// a stop.
TEST_F(ConcurrentDeathTest, SlowSafepointDuringTheFlushIsReported) {
  Options o = Concurrent(/*checkmark=*/false);
  o.safepoint_report_ms = 50;
  o.preempt_signal = 0;  // with signal stops the thread would be stopped
  Heap heap(o);
  EXPECT_DEATH(
      {
        std::atomic<bool> go{false};
        std::atomic<bool> marking{false};
        std::atomic<bool> spinning{false};
        // The mark goes on once t runs again after the first stop.
        testing_hooks::SetMarkHook(heap, [&] {
          marking = true;
          while (!spinning.load()) std::this_thread::yield();
        });
        std::thread t([&] {
          Mutator& tm = heap.AttachCurrentThread();
          go = true;
          // Polls until the mark has begun (so the stop at sweep
          // termination completes), then never again.
          while (!marking.load()) tm.Safepoint();
          spinning = true;
          std::atomic<int> spin{0};
          while (true) spin.fetch_add(1, std::memory_order_relaxed);
        });
        while (!go) std::this_thread::yield();
        std::thread c([&] { heap.Collect(); });
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        fflush(stderr);
        abort();
      },
      "mark termination's flush has waited [0-9]+ ms for thread [0-9]+ "
      "\\(P [0-9]\\) to reach a safepoint");
}

}  // namespace
}  // namespace gcheap::testing
