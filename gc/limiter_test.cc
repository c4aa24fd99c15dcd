#include "gc/limiter.h"

#include "gtest/gtest.h"

namespace gcheap::internal {
namespace {

constexpr uint64_t kMs = 1'000'000;

TEST(GcCpuLimiterTest, StaysOffWhileTheCollectorTakesHalfOrLess) {
  GcCpuLimiter l(2);
  for (int i = 0; i < 1000; i++) {
    EXPECT_FALSE(l.Update(/*gc=*/100 * kMs, /*total=*/200 * kMs));
  }
  EXPECT_EQ(l.fill(), 0u);
  EXPECT_FALSE(l.limiting());
}

TEST(GcCpuLimiterTest, TurnsOnAfterOneCpuSecondPerPOfExcess) {
  GcCpuLimiter l(2);  // capacity: 2 CPU-seconds
  EXPECT_EQ(l.capacity(), 2000 * kMs);
  // 90% collector: each 100 ms of Ps' time adds 90 - 10 = 80 ms.
  int updates = 0;
  while (!l.Update(90 * kMs, 100 * kMs)) updates++;
  EXPECT_EQ(updates, 24);  // 25 x 80 ms = 2 s
  EXPECT_TRUE(l.limiting());
  EXPECT_EQ(l.fill(), l.capacity());
  // Staying over half keeps it on and counts the overflow.
  EXPECT_TRUE(l.Update(90 * kMs, 100 * kMs));
  EXPECT_EQ(l.overflow_ns(), 80 * kMs);
}

TEST(GcCpuLimiterTest, TheProgramsCpuDrainsItOffAgain) {
  GcCpuLimiter l(1);
  ASSERT_TRUE(l.Update(1000 * kMs, 1000 * kMs));  // a full second of GC
  // 10% collector drains 80 ms per 100 ms.
  EXPECT_FALSE(l.Update(10 * kMs, 100 * kMs));
  EXPECT_EQ(l.fill(), 920 * kMs);
  for (int i = 0; i < 20; i++) l.Update(10 * kMs, 100 * kMs);
  EXPECT_EQ(l.fill(), 0u);
  EXPECT_FALSE(l.limiting());
}

TEST(GcCpuLimiterTest, MoreCollectorTimeThanTotalIsClamped) {
  GcCpuLimiter l(1);
  // Measurement noise (thread CPU clocks against a wall clock) must not
  // turn it on from a short interval.
  EXPECT_FALSE(l.Update(5 * kMs, 1 * kMs));
  EXPECT_EQ(l.fill(), 1 * kMs);
}

}  // namespace
}  // namespace gcheap::internal
