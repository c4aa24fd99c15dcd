#include "base/mutex.h"

#include <atomic>
#include <thread>

#include "gtest/gtest.h"

namespace gcheap::internal {
namespace {

TEST(MutexTest, CondVarWaitsForTheCondition) {
  Mutex mu(LockRank::kLeaf);
  CondVar cv;
  bool ready = false;
  int seen = 0;
  std::thread t([&] {
    MutexLock l(&mu);
    while (!ready) cv.Wait(&mu);
    seen = 1;
  });
  {
    MutexLock l(&mu);
    ready = true;
  }
  cv.SignalAll();
  t.join();
  EXPECT_EQ(seen, 1);
}

TEST(MutexTest, WaitForTimesOut) {
  Mutex mu(LockRank::kLeaf);
  CondVar cv;
  MutexLock l(&mu);
  EXPECT_FALSE(cv.WaitFor(&mu, 1'000'000));  // nobody signals
}

// The counts a stop signal's handler reads (runtime/preempt.cc): the locks
// this thread holds, and of those the ones it is blocked waiting for.
TEST(MutexTest, CountsTheLocksThisThreadHolds) {
  Mutex outer(LockRank::kCycle), inner(LockRank::kLeaf);
  EXPECT_EQ(tls_locks_held, 0);
  outer.Lock();
  inner.Lock();
  EXPECT_EQ(tls_locks_held, 2);
  EXPECT_EQ(tls_lock_waits, 0);
  CondVar cv;
  EXPECT_FALSE(cv.WaitFor(&inner, 1'000'000));
  EXPECT_EQ(tls_locks_held, 2);
  EXPECT_EQ(tls_lock_waits, 0);
  inner.Unlock();
  outer.Unlock();
  EXPECT_EQ(tls_locks_held, 0);
}

TEST(MutexTest, TryLockFailsWhileAnotherThreadHoldsTheLock) {
  Mutex mu(LockRank::kCycle);
  std::atomic<int> stage{0};
  std::thread holder([&] {
    mu.Lock();
    stage = 1;
    while (stage.load() != 2) std::this_thread::yield();
    mu.Unlock();
    stage = 3;
  });
  while (stage.load() != 1) std::this_thread::yield();
  // Whether TryLock took the lock (released again at once).
  auto try_lock = [&mu] {
    if (!mu.TryLock()) return false;
    mu.Unlock();
    return true;
  };
  EXPECT_FALSE(try_lock());
  EXPECT_EQ(tls_locks_held, 0);  // a TryLock that fails counts nothing
  stage = 2;
  while (stage.load() != 3) std::this_thread::yield();
  EXPECT_TRUE(try_lock());
  holder.join();
}

TEST(MutexTest, LocksInRankOrder) {
  Mutex outer(LockRank::kCycle), inner(LockRank::kSched);
  MutexLock a(&outer);
  MutexLock b(&inner);
  // Released out of order, then taken again: still fine.
  inner.Unlock();
  inner.Lock();
}

TEST(MutexDeathTest, LockAgainstTheRankOrderFails) {
  if (!GCHEAP_DCHECK_IS_ON) GTEST_SKIP() << "the rank check is a debug check";
  Mutex outer(LockRank::kCycle), inner(LockRank::kSched);
  EXPECT_DEATH(
      {
        MutexLock b(&inner);
        MutexLock a(&outer);
      },
      "lock order: taking a lock of rank 10 while holding one of rank 40");
  Mutex same1(LockRank::kStats), same2(LockRank::kStats);
  EXPECT_DEATH(
      {
        MutexLock a(&same1);
        MutexLock b(&same2);
      },
      "lock order");
}

}  // namespace
}  // namespace gcheap::internal
