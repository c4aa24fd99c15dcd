// Debugging aids: GC stress mode and AddressSanitizer poisoning make a
// missing root fail at the culprit instead of much later.
#include <dirent.h>
#include <stdlib.h>

#include <fstream>
#include <set>
#include <string>

#include "gcheap/gcheap.h"
#include "gtest/gtest.h"
#include "tests/test_types.h"

namespace gcheap::testing {
namespace {

// A VM that caches an object in a plain C++ global and forgets to register
// it as a root: the classic bug.
Pair* cached = nullptr;

class DebuggingTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(DebuggingTest, GcStressFillsAnObjectFreedUnderAMissingRoot) {
  Options o;
  o.max_procs = 2;
  o.stack_scanning = StackScanning::kPrecise;
  o.gc_stress = 1;  // collect at every allocation
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  // A rooted neighbour keeps the span in use, so the freed slot stays
  // freed (an empty span's page would be reused at once).
  Persistent<Pair> neighbour(heap, m.New<Pair>(kPairType));
  cached = m.New<Pair>(kPairType);
  cached->value = 1234;
  m.AllocateNoscan(100);  // the very next allocation collects
  // The missing root shows at once: the object was freed and poisoned.
  // (Had the next allocation been another Pair, it would have reused the
  // slot: the dangling pointer would then see a fresh, zeroed object.)
#if !defined(__SANITIZE_ADDRESS__)  // there the read itself is reported
  EXPECT_EQ(cached->value, 0xA5A5A5A5A5A5A5A5ull);
#endif
  EXPECT_EQ(heap.ObjectStart(cached), nullptr);
  cached = nullptr;
  EXPECT_GE(heap.ReadMemStats().num_forced_gc, 1u);
  neighbour.Reset();
  heap.DetachCurrentThread();
}

TEST_F(DebuggingTest, RegisteringTheRootFixesIt) {
  Options o;
  o.max_procs = 2;
  o.stack_scanning = StackScanning::kPrecise;
  o.gc_stress = 1;
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  heap.AddRoot(&cached);
  cached = m.New<Pair>(kPairType);
  cached->value = 1234;
  for (int i = 0; i < 100; i++) m.New<Pair>(kPairType);
  EXPECT_EQ(cached->value, 1234u);
  heap.RemoveRoot(&cached);
  cached = nullptr;
  heap.DetachCurrentThread();
}

TEST_F(DebuggingTest, GcStressFromTheEnvironment) {
  setenv("GCHEAP_DEBUG", "gcstress=7", 1);
  Heap heap;
  unsetenv("GCHEAP_DEBUG");
  EXPECT_EQ(heap.options().gc_stress, 7);
  Mutator& m = heap.AttachCurrentThread();
  for (int i = 0; i < 70; i++) m.New<Pair>(kPairType);
  EXPECT_EQ(heap.ReadMemStats().num_forced_gc, 10u);
  heap.DetachCurrentThread();
}

// The heap-size and stop knobs from the environment, for trying a program
// without rebuilding it: small-heap cycles, huge pages, when stops signal.
TEST_F(DebuggingTest, HeapSizeKnobsFromTheEnvironment) {
  Options o;
  o.huge_pages_above = 1 << 20;
  setenv("GCHEAP_DEBUG", "smallheap=0,hugepagesabove=0,preemptafter=25", 1);
  Heap heap(o);
  unsetenv("GCHEAP_DEBUG");
  EXPECT_EQ(heap.options().small_heap, 0u);
  EXPECT_EQ(heap.options().huge_pages_above, 0u);
  EXPECT_EQ(heap.options().preempt_after_us, 25);
  setenv("GCHEAP_DEBUG", "smallheap=1048576,hugepagesabove=67108864", 1);
  Heap other;
  unsetenv("GCHEAP_DEBUG");
  EXPECT_EQ(other.options().small_heap, size_t{1} << 20);
  EXPECT_EQ(other.options().huge_pages_above, size_t{64} << 20);
  EXPECT_EQ(other.options().preempt_after_us, 0);
}

// The collector's threads carry names (top -H, ps -L, gdb, perf show them).
TEST_F(DebuggingTest, TheCollectorsThreadsAreNamed) {
  Heap heap;
  heap.Collect();  // the sweeper and scavenger start with the first cycle
  std::set<std::string> names;
  DIR* dir = opendir("/proc/self/task");
  ASSERT_NE(dir, nullptr);
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
    std::string name;
    std::getline(comm, name);
    names.insert(name);
  }
  closedir(dir);
  EXPECT_EQ(names.count("gcheap sweeper"), 1u);
  EXPECT_EQ(names.count("gcheap scav"), 1u);
}

// Stores n fresh Pairs into the slots of a rooted pointer array, made
// before any mark, while mark stress starts marks and holds them open:
// through the write barrier, or (a VM's bug) with a store that skips it.
// Goes on past n stores, up to 20 * n, until min_cycles cycles have run.
// Returns the number of cycles that ran.
uint32_t FillUnderMarkStress(bool skip_barrier, int n,
                             uint32_t min_cycles = 0) {
  Options o = PreciseDrainsOptions();
  o.mark_stress = 20;
  o.mark_stress_hold = 200;
  o.barrier_check = true;
  o.checkmark = true;
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  constexpr size_t kSlots = 1024;
  Persistent<void*> slots(
      heap, static_cast<void**>(m.AllocateArray(kPtrArrayElem, kSlots)));
  int total = 0;
  auto store = [&] {
    const int i = total++;
    Pair* p = m.New<Pair>(kPairType);
    p->value = i;
    void** slot = &slots.Get()[i % kSlots];
    if (skip_barrier) {
      // Atomic, so ThreadSanitizer has no race to report first; but no
      // barrier.
      __atomic_store_n(slot, static_cast<void*>(p), __ATOMIC_RELAXED);
    } else {
      WriteBarrier(slot, p);
    }
  };
  while (total < n) store();
  while (total < 20 * n && heap.ReadMemStats().num_gc < min_cycles) {
    for (int k = 0; k < 1000; k++) store();
  }
  for (int i = total - static_cast<int>(kSlots); i < total; i++) {
    if (i < 0) continue;
    EXPECT_EQ(static_cast<Pair*>(slots.Get()[i % kSlots])->value,
              static_cast<uint64_t>(i));
  }
  uint32_t cycles = heap.ReadMemStats().num_gc;
  heap.DetachCurrentThread();
  return cycles;
}

TEST_F(DebuggingTest, BarrierCheckNamesAStoreThatSkipsTheBarrier) {
  EXPECT_DEATH(FillUnderMarkStress(/*skip_barrier=*/true, 20000),
               "barrier check: the pointer word at 0x[0-9a-f]+ \\(byte "
               "[0-9]+ of object 0x[0-9a-f]+, Slot\\) changed from "
               "(0|0x[0-9a-f]+) to 0x[0-9a-f]+ during the concurrent mark "
               "without the write barrier");
}

TEST_F(DebuggingTest, BarrierCheckPassesStoresThroughTheBarrier) {
  // A mark starts every 20 allocations and is held open for 200 while the
  // program stores; it then ends when the marking is done, by the workers
  // more than by assists (an allocation is charged its own bytes). Stores
  // go on until 50 cycles have run, and none aborts.
  EXPECT_GE(FillUnderMarkStress(/*skip_barrier=*/false, 20000, 50), 50u);
}

TEST_F(DebuggingTest, MarkStressFromTheEnvironment) {
  setenv("GCHEAP_DEBUG",
         "gcmarkstress=50,gcmarkhold=20,gcbarriercheck=1,gcpercent=400", 1);
  Heap heap;
  unsetenv("GCHEAP_DEBUG");
  EXPECT_EQ(heap.options().mark_stress, 50);
  EXPECT_EQ(heap.options().mark_stress_hold, 20);
  EXPECT_TRUE(heap.options().barrier_check);
  EXPECT_EQ(heap.options().gc_percent, 400);
  Mutator& m = heap.AttachCurrentThread();
  for (int i = 0; i < 5000; i++) m.New<Pair>(kPairType);
  MemStats s = heap.ReadMemStats();
  EXPECT_GE(s.num_gc, 10u);  // far below any heap trigger
  EXPECT_EQ(s.num_forced_gc, 0u);
  heap.DetachCurrentThread();
}

#if defined(__SANITIZE_ADDRESS__)
TEST_F(DebuggingTest, AddressSanitizerReportsAUseAfterSweep) {
  EXPECT_DEATH(
      {
        Options o;
        o.max_procs = 2;
        o.stack_scanning = StackScanning::kPrecise;
        Heap heap(o);
        Mutator& m = heap.AttachCurrentThread();
        Persistent<Pair> neighbour(heap, m.New<Pair>(kPairType));
        cached = m.New<Pair>(kPairType);
        heap.Collect();  // cached is not a root: freed and poisoned
        volatile uint64_t v = cached->value;  // reported here
        (void)v;
      },
      "use-after-poison(.|\n)*gcheap: address 0x[0-9a-f]+ is 16 bytes into "
      "slot [0-9]+ \\(object 0x[0-9a-f]+\\) of a scan span of 24-byte "
      "objects \\(size class 3\\); the slot is free: the object that was "
      "there was swept");
}
#endif

}  // namespace
}  // namespace gcheap::testing
