// Debugging aids: GC stress mode and AddressSanitizer poisoning make a
// missing root fail at the culprit instead of much later.
#include <stdlib.h>

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
