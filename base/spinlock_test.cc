#include "base/spinlock.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace gcheap::internal {
namespace {

TEST(SpinLockTest, ExcludesConcurrentIncrements) {
  SpinLock mu;
  long counter = 0;
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; t++) {
    ts.emplace_back([&] {
      for (int i = 0; i < 20000; i++) {
        SpinLockHolder h(&mu);
        counter++;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(counter, 4 * 20000);
  EXPECT_FALSE(mu.IsHeld());
}

}  // namespace
}  // namespace gcheap::internal
