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

TEST(PacerTest, TheHeapMinimumIsSettableAndScalesWithGogc) {
  Pacer p(100, 0, 1 << 20);
  EXPECT_EQ(p.goal(), 1u << 20);
  p.Commit(256 << 10, 0);
  EXPECT_EQ(p.goal(), 1u << 20);  // the floor, not 2 x 256 KiB
  p.Commit(1 << 20, 0);
  EXPECT_EQ(p.goal(), 2u << 20);
  Pacer q(200, 0, 1 << 20);
  EXPECT_EQ(q.goal(), 2u << 20);  // GOGC=200 doubles the floor
}

TEST(PacerTest, ConcurrentTriggerLeavesRoomForTheMeasuredRunway) {
  Pacer p(100, 0);
  // The program allocated 1 MiB per 10 ms of its CPU while the collector
  // scanned 100 MiB per 100 ms of its CPU: cons/mark = 0.1, so at 25%
  // background utilization it allocates 0.1 x 3 x 100 MiB = 30 MiB while
  // the next 100 MiB are marked.
  p.ObserveMark(1 << 20, 100 << 20, 10'000'000, 100'000'000);
  EXPECT_DOUBLE_EQ(p.cons_mark(), 0.1);
  p.Commit(100 << 20, 0);  // goal 200 MiB
  EXPECT_NEAR(static_cast<double>(p.trigger()), (200u - 30u) * 1048576.0,
              1024.0);
  // Assists did most of the marking last time, so the program allocated
  // little in wall time; per CPU-second it allocates as fast as before,
  // and the largest of the last 4 samples is kept anyway.
  p.ObserveMark(1 << 18, 100 << 20, 2'500'000, 100'000'000);
  EXPECT_DOUBLE_EQ(p.cons_mark(), 0.1);
  // A fast allocator: the runway exceeds the concurrent floor, 65% of the
  // way (stop-the-world marking starts at 70%).
  p.ObserveMark(100 << 20, 10 << 20, 10'000'000, 10'000'000);
  p.Commit(100 << 20, 0);
  EXPECT_EQ(p.trigger(), 165u << 20);
}

TEST(PacerTest, MarkingThatKeepsUpStartsLateButNotPast95Percent) {
  Pacer p(100, 0);
  p.ObserveMark(1 << 10, 100 << 20, 10'000'000, 10'000'000);
  p.Commit(100 << 20, 0);
  EXPECT_EQ(p.trigger(), 195u << 20);
}

TEST(PacerTest, AMarkThatStartsEarlyGetsAGrowthBudget) {
  Pacer p(100, 0);
  p.Commit(100 << 20, 0);  // goal 200 MiB
  // Started at 40% of the way: the heap may grow 40% of the 100 MiB of
  // headroom before assists aim at the worst case, and a quarter of that
  // again at most.
  static_assert(Pacer::kMarkGrowthPercent == 40);
  Pacer::MarkGoals g = p.ForMark(140 << 20);
  EXPECT_EQ(g.soft, 180u << 20);
  EXPECT_EQ(g.hard, 190u << 20);
  // Started late (marking kept up): the goal and Go's hard goal.
  g = p.ForMark(185 << 20);
  EXPECT_EQ(g.soft, 200u << 20);
  EXPECT_EQ(g.hard, 220u << 20);
  g = p.ForMark(230 << 20);  // already past the goal
  EXPECT_EQ(g.soft, 200u << 20);
  EXPECT_EQ(g.hard, 220u << 20);
  p.SetGCPercent(-1);
  g = p.ForMark(140 << 20);
  EXPECT_EQ(g.soft, UINT64_MAX);
  EXPECT_EQ(g.hard, UINT64_MAX);
}

// A goal at most the small-heap size: the trigger is the goal itself (the
// cycle stops the world there and allocates nothing while it marks).
TEST(PacerTest, ASmallGoalTriggersAtTheGoal) {
  Pacer p(100, 0, 256 << 10, 512 << 10);
  p.ObserveMark(1 << 20, 1 << 20, 1000, 1000);
  p.Commit(10 << 10, 0);
  EXPECT_TRUE(p.small());
  EXPECT_EQ(p.goal(), uint64_t{256} << 10);
  EXPECT_EQ(p.trigger(), p.goal());
  // Past the small-heap size: concurrent again, triggered before the goal.
  p.Commit(400 << 10, 0);
  EXPECT_FALSE(p.small());
  EXPECT_EQ(p.goal(), uint64_t{800} << 10);
  EXPECT_LT(p.trigger(), p.goal());
  // No small-heap size: never small.
  Pacer q(100, 0, 256 << 10);
  q.Commit(10 << 10, 0);
  EXPECT_FALSE(q.small());
  EXPECT_LT(q.trigger(), q.goal());
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

TEST(PacerTest, SoftLimitSetAtRunTimeMovesTheGoal) {
  Pacer p(-1, 0);
  p.Commit(40 << 20, 0);
  EXPECT_FALSE(p.enabled());
  EXPECT_EQ(p.SetSoftLimit(64 << 20), 0u);  // on: the limit collects
  EXPECT_TRUE(p.enabled());
  EXPECT_EQ(p.soft_limit(), 64u << 20);
  EXPECT_LT(p.goal(), 64u << 20);
  EXPECT_EQ(p.SetSoftLimit(0), 64u << 20);  // off again
  EXPECT_FALSE(p.enabled());
  EXPECT_EQ(p.goal(), UINT64_MAX);
}

}  // namespace
}  // namespace gcheap::internal
