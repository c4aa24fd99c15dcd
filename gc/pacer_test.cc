#include "gc/pacer.h"

#include "gtest/gtest.h"

namespace gcheap::internal {
namespace {

TEST(PacerTest, GoalIsMarkedTimesOnePlusGogcWithAFloor) {
  Pacer p(100, 0);
  EXPECT_EQ(p.goal(), Pacer::kHeapMinimum);  // nothing marked yet
  p.Commit(100 << 20, 0);
  EXPECT_EQ(p.goal(), 200u << 20);
  EXPECT_EQ(p.trigger(), 170u << 20);  // 70% of the way from marked
  p.Commit(1 << 20, 0);
  EXPECT_EQ(p.goal(), 4u << 20);  // the 4 MiB floor
  p.Commit(10 << 20, 2 << 20);    // roots count toward the growth
  EXPECT_EQ(p.goal(), 22u << 20);
}

TEST(PacerTest, ConcurrentTriggerLeavesRoomForTheMeasuredRunway) {
  Pacer p(100, 0);
  p.SetRunway(10 << 20);   // 10 MiB allocated during the last mark
  p.Commit(100 << 20, 0);  // goal 200 MiB
  EXPECT_EQ(p.trigger(), (200u << 20) - (11u << 20));  // goal - 1.1 x runway
  p.SetRunway(1);  // marking keeps up: start late, at 95%
  p.Commit(100 << 20, 0);
  EXPECT_EQ(p.trigger(), 195u << 20);
  p.SetRunway(90 << 20);  // a slow mark: start early, but not below 70%
  p.Commit(100 << 20, 0);
  EXPECT_EQ(p.trigger(), 170u << 20);
}

TEST(PacerTest, GcPercentScalesAndNegativeTurnsOff) {
  Pacer p(50, 0);
  p.Commit(100 << 20, 0);
  EXPECT_EQ(p.goal(), 150u << 20);
  EXPECT_EQ(p.SetGCPercent(200), 50);
  EXPECT_EQ(p.goal(), 300u << 20);
  p.SetGCPercent(-1);
  EXPECT_FALSE(p.enabled());
  EXPECT_EQ(p.goal(), UINT64_MAX);
}

TEST(PacerTest, SoftLimitCapsTheGoal) {
  Pacer p(100, 64 << 20);
  p.Commit(40 << 20, 0);  // 80 MiB by GOGC, capped near 64 MiB
  EXPECT_LT(p.goal(), 64u << 20);
  EXPECT_GE(p.goal(), 41u << 20);
  p.SetGCPercent(-1);  // off, but the limit still collects
  EXPECT_TRUE(p.enabled());
  EXPECT_LT(p.goal(), 64u << 20);
}

}  // namespace
}  // namespace gcheap::internal
