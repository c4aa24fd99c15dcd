// The write barrier's register-preserving entry (include/gcheap/ref.h,
// runtime/barrier_stub_x86_64.S): the program's registers, general and
// vector, come back intact from the slow path, also when it flushes the
// P's buffer and marks; and a barrier from a thread that gave up its P
// still gets its error.
// Built with -O2 (tests/BUILD.bazel) so the values below stay in registers
// across the barrier instead of in stack slots.
#include <atomic>
#include <cstdint>
#include <thread>

#include "gcheap/gcheap.h"
#include "gcheap/testing.h"
#include "gtest/gtest.h"
#include "tests/test_types.h"

namespace gcheap::testing {
namespace {

struct Sums {
  double x, y;
  uint64_t h1, h2, h3, h4, h5, h6;
  bool operator==(const Sums& o) const {
    return x == o.x && y == o.y && h1 == o.h1 && h2 == o.h2 && h3 == o.h3 &&
           h4 == o.h4 && h5 == o.h5 && h6 == o.h6;
  }
};

// One step of arithmetic the compiler keeps in registers: two doubles
// (vector registers) and six integers (general ones).
#define GCHEAP_TEST_STEP(s, i)                              \
  do {                                                      \
    (s).x = (s).x * 1.0000001 + (s).y;                      \
    (s).y = (s).y * 0.9999999 + 1e-9 * static_cast<int>(i); \
    (s).h1 = (s).h1 * 31 + (i);                             \
    (s).h2 = ((s).h2 ^ (s).h1) * 0x9E3779B97F4A7C15ull;     \
    (s).h3 += (s).h2 >> 7;                                  \
    (s).h4 = ((s).h4 << 1) | ((s).h3 & 1);                  \
    (s).h5 ^= (s).h4 + (i);                                 \
    (s).h6 += (s).h5 * 3;                                   \
  } while (0)

// Two barriers per step, two values each: 64 flushes of the P's 512-entry
// buffer.
constexpr int kStores = 8192;

__attribute__((noinline)) Sums Reference() {
  Sums s{1.0, 0.5, 1, 2, 3, 4, 5, 6};
  for (int i = 0; i < kStores; i++) GCHEAP_TEST_STEP(s, i);
  return s;
}

__attribute__((noinline)) Sums WithBarriers(Pair* a, Pair* b) {
  Sums s{1.0, 0.5, 1, 2, 3, 4, 5, 6};
  for (int i = 0; i < kStores; i++) {
    GCHEAP_TEST_STEP(s, i);
    a->car = (i & 1) != 0 ? a : b;  // the old and the new value are shaded
    b->cdr = (i & 2) != 0 ? a : b;
  }
  return s;
}

Options OnlyTheCyclesTheTestStarts() {
  Options o;
  o.max_procs = 2;
  o.stack_scanning = StackScanning::kPrecise;
  o.gc_percent = -1;
  return o;
}

using testing_hooks::HeldMark;

TEST(BarrierStubTest, RegistersSurviveTheSlowPathAndItsFlushes) {
  Options o = OnlyTheCyclesTheTestStarts();
  o.checkmark = true;  // and nothing the barrier shaded was missed
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  {
    Persistent<Pair> a(heap, m.New<Pair>(kPairType));
    Persistent<Pair> b(heap, m.New<Pair>(kPairType));
    HeldMark mark(heap, m);
    testing_hooks::ScribbleVectorRegistersInBarrier(true);
    const Sums got = WithBarriers(a.Get(), b.Get());  // while marking
    testing_hooks::ScribbleVectorRegistersInBarrier(false);
    mark.Release(m);
    EXPECT_TRUE(got == Reference());
    EXPECT_EQ(heap.ObjectStart(a.Get()->car.Get()), a.Get()->car.Get());
  }
  heap.DetachCurrentThread();
}

TEST(BarrierStubDeathTest, AStoreInsideABlockingScopeDuringAMarkIsReported) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_DEATH(
      {
        Heap heap(OnlyTheCyclesTheTestStarts());
        Mutator& m = heap.AttachCurrentThread();
        Persistent<Pair> a(heap, m.New<Pair>(kPairType));
        HeldMark mark(heap, m);
        BlockingScope blocking(m);
        a.Get()->car = a.Get();  // the barrier, without a P
      },
      "a write barrier inside a BlockingScope");
}

}  // namespace
}  // namespace gcheap::testing
