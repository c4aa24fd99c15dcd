#include "gc/gcwork.h"

#include <atomic>
#include <set>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace gcheap::internal {
namespace {

TEST(GcWorkTest, PutThenGetReturnsEverythingOnce) {
  WorkPool pool;
  GcWork w(&pool);
  const uintptr_t kN = 5000;  // many buffers' worth
  for (uintptr_t i = 1; i <= kN; i++) w.Put(i * 8);
  std::set<uintptr_t> got;
  for (uintptr_t v; (v = w.TryGet()) != 0;) EXPECT_TRUE(got.insert(v).second);
  EXPECT_EQ(got.size(), kN);
  EXPECT_TRUE(w.LocalEmpty());
  EXPECT_FALSE(pool.HasFull());
}

TEST(GcWorkTest, FlushAndBalanceHandWorkToOtherMarkers) {
  WorkPool pool;
  GcWork a(&pool), b(&pool);
  for (uintptr_t i = 1; i <= 100; i++) a.Put(i * 8);
  a.Balance();  // half of the current buffer goes to the pool
  EXPECT_TRUE(pool.HasFull());
  size_t taken = 0;
  // The older half (the bottom of the stack, where a depth-first mark
  // leaves the big subtrees) is given away; the newer stays, in order.
  for (uintptr_t v; (v = b.TryGet()) != 0; taken++) EXPECT_LE(v, 50u * 8);
  EXPECT_EQ(taken, 50u);
  EXPECT_EQ(a.TryGet(), 100u * 8);
  a.Put(100 * 8);
  a.Flush();
  while (b.TryGet() != 0) taken++;
  EXPECT_EQ(taken, 100u);
  EXPECT_TRUE(a.LocalEmpty());
}

TEST(GcWorkTest, ConcurrentProducersAndConsumersLoseNothing) {
  WorkPool pool;
  constexpr int kThreads = 4;
  constexpr uintptr_t kPer = 20000;
  std::atomic<uint64_t> sum{0};
  std::atomic<int> done{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; t++) {
    ts.emplace_back([&, t] {
      GcWork w(&pool);
      for (uintptr_t i = 1; i <= kPer; i++) {
        w.Put((t * kPer + i) * 8);
        if (i % 7 == 0) sum += w.TryGet();
      }
      w.Flush();
      done++;
      // Keep consuming until every producer is done and the pool is dry.
      while (true) {
        uintptr_t v = w.TryGet();
        if (v != 0) {
          sum += v;
        } else if (done.load() == kThreads && !pool.HasFull()) {
          break;
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  uint64_t n = kThreads * kPer;
  EXPECT_EQ(sum.load(), 8 * n * (n + 1) / 2);
}

}  // namespace
}  // namespace gcheap::internal
