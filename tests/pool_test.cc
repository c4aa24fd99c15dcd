// Pool<T>: order of reuse, generations across collections, plain objects,
// threads.
#include <atomic>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

#include "gcheap/gcheap.h"
#include "gtest/gtest.h"
#include "tests/test_types.h"

namespace gcheap::testing {
namespace {

Options Drains(int procs = 2) {
  Options o;
  o.max_procs = procs;
  o.stack_scanning = StackScanning::kPrecise;
  o.background_scavenger = false;
  o.finalizer_mode = FinalizerMode::kEmbedderDrains;
  return o;
}

std::atomic<int> g_live{0};
std::atomic<int> g_deleted{0};
struct Buffer {
  Buffer() { g_live++; }
  ~Buffer() {
    g_live--;
    g_deleted++;
  }
  std::atomic<int> in_use{0};
  int payload = 0;
};

class PoolTest : public ::testing::Test {
 protected:
  PoolTest() : heap_(Drains()), m_(heap_.AttachCurrentThread()) {
    g_live = 0;
    g_deleted = 0;
  }
  ~PoolTest() override { heap_.DetachCurrentThread(); }
  Heap heap_;
  Mutator& m_;
};

TEST_F(PoolTest, GetReturnsWhatWasPutThenCallsNew) {
  int made = 0;
  Pool<Buffer> pool(heap_, kPlainObjects, [&] {
    made++;
    return new Buffer;
  });
  Buffer* a = pool.Get(m_);
  EXPECT_EQ(made, 1);
  pool.Put(m_, a);
  EXPECT_EQ(pool.Get(m_), a);  // the private slot
  EXPECT_EQ(made, 1);
  // Past the private slot and several rings (8, 16, 32, ...).
  std::set<Buffer*> put;
  put.insert(a);
  pool.Put(m_, a);
  for (int i = 0; i < 200; i++) {
    Buffer* b = new Buffer;
    put.insert(b);
    pool.Put(m_, b);
  }
  std::set<Buffer*> got;
  for (int i = 0; i < 201; i++) got.insert(pool.Get(m_));
  EXPECT_EQ(got, put);  // each exactly once
  EXPECT_EQ(made, 1);
  Buffer* fresh = pool.Get(m_);
  EXPECT_EQ(made, 2);
  EXPECT_EQ(got.count(fresh), 0u);
  for (Buffer* b : got) pool.Put(m_, b);
  pool.Put(m_, fresh);
  pool.Put(m_, nullptr);  // ignored
}

TEST_F(PoolTest, NoNewFunctionMeansNull) {
  Pool<Buffer> plain(heap_, kPlainObjects);
  EXPECT_EQ(plain.Get(m_), nullptr);
  Pool<Pair> objects(heap_);
  EXPECT_EQ(objects.Get(), nullptr);
}

TEST_F(PoolTest, PlainObjectsSurviveOneCollectionInTheVictimCache) {
  {
    Pool<Buffer> pool(heap_, kPlainObjects, [] { return new Buffer; });
    std::vector<Buffer*> bufs;
    for (int i = 0; i < 50; i++) bufs.push_back(new Buffer);
    for (Buffer* b : bufs) pool.Put(m_, b);
    heap_.Collect();  // now the victim
    EXPECT_EQ(heap_.RunFinalizers(), 0u);
    EXPECT_EQ(g_deleted.load(), 0);
    Buffer* b = pool.Get(m_);  // from the victim cache
    EXPECT_NE(std::find(bufs.begin(), bufs.end(), b), bufs.end());
    pool.Put(m_, b);  // current generation
    heap_.Collect();  // the other 49 are dropped
    heap_.RunFinalizers();
    EXPECT_EQ(g_deleted.load(), 49);
    heap_.Collect();
    heap_.RunFinalizers();
    EXPECT_EQ(g_deleted.load(), 50);
    EXPECT_EQ(g_live.load(), 0);
    Buffer* c = pool.Get(m_);  // new
    pool.Put(m_, c);
    pool.Put(m_, new Buffer);
    pool.Put(m_, new Buffer);
  }  // the destructor deletes what the pool holds
  EXPECT_EQ(g_live.load(), 0);
}

TEST_F(PoolTest, UserDeleterIsCalledForDroppedObjects) {
  static std::atomic<int> deleter_calls{0};
  deleter_calls = 0;
  {
    Pool<Buffer> pool(heap_, kPlainObjects, nullptr, [](Buffer* b) {
      deleter_calls++;
      delete b;
    });
    for (int i = 0; i < 10; i++) pool.Put(m_, new Buffer);
    heap_.Collect();
    heap_.Collect();
    heap_.RunFinalizers();
    EXPECT_EQ(deleter_calls.load(), 10);
    pool.Put(m_, new Buffer);
  }
  EXPECT_EQ(deleter_calls.load(), 11);
  EXPECT_EQ(g_live.load(), 0);
}

TEST_F(PoolTest, HeapObjectsAreRootsUntilDroppedFromTheVictimCache) {
  Pool<Pair> pool(heap_, [](Mutator& m) { return m.New<Pair>(kPairType); });
  WeakRef<Pair> w;
  {
    HandleScope scope(m_);
    Local<Pair> x(m_, pool.Get(m_));
    x->value = 42;
    x->cdr = m_.New<Pair>(kPairType);
    x->cdr->value = 43;
    w = WeakRef<Pair>(heap_, x.Get());
    pool.Put(m_, x.Get());
  }
  heap_.Collect();  // held by the pool (now its victim cache)
  Pair* got = w.Get();
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->value, 42u);
  EXPECT_EQ(got->cdr->value, 43u);
  EXPECT_EQ(pool.Get(m_), got);  // found in the victim cache
  pool.Put(m_, got);
  heap_.Collect();
  EXPECT_EQ(w.Get(), got);  // one collection: in the victim cache
  heap_.Collect();
  EXPECT_EQ(w.Get(), nullptr);  // two: dropped and freed
  Pair* fresh = pool.Get(m_);
  EXPECT_EQ(fresh->value, 0u);  // made by New
}

TEST(PoolThreadsTest, PlainObjectsUnderFourThreads) {
  Heap heap(Drains(4));
  g_live = 0;
  constexpr int kThreads = 4;
  constexpr int kIters = 20000;
  std::atomic<int> errors{0};
  std::atomic<bool> stop{false};
  {
    Pool<Buffer> pool(heap, kPlainObjects, [] { return new Buffer; });
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; t++) {
      threads.emplace_back([&, t] {
        Mutator& m = heap.AttachCurrentThread();
        std::vector<Buffer*> held;
        for (int i = 0; i < kIters; i++) {
          // Take a few, use them, give them back (some to other threads'
          // rings through stealing).
          int n = 1 + (i + t) % 12;
          for (int k = 0; k < n; k++) {
            Buffer* b = pool.Get(m);
            if (b->in_use.exchange(1) != 0) errors++;
            b->payload = t * 1000000 + i;
            held.push_back(b);
          }
          for (Buffer* b : held) {
            if (b->payload != t * 1000000 + i) errors++;
            b->in_use.store(0);
            pool.Put(m, b);
          }
          held.clear();
          if (i % 1000 == 0) heap.RunFinalizers();
          m.Safepoint();
        }
        heap.DetachCurrentThread();
      });
    }
    std::thread collector([&] {
      while (!stop.load()) {
        heap.Collect();  // rotates the generations meanwhile
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    });
    for (auto& th : threads) th.join();
    stop = true;
    collector.join();
  }
  EXPECT_EQ(errors.load(), 0);
  heap.AttachCurrentThread();
  heap.RunFinalizers();
  heap.DetachCurrentThread();
  EXPECT_EQ(g_live.load(), 0);
}

TEST(PoolThreadsTest, HeapObjectsUnderFourThreadsWithCollections) {
  Options o = Drains(4);
  o.stack_scanning = StackScanning::kConservative;
  Heap heap(o);
  constexpr int kThreads = 4;
  constexpr int kIters = 20000;
  std::atomic<int> errors{0};
  Pool<Pair> pool(heap, [](Mutator& m) { return m.New<Pair>(kPairType); });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      Mutator& m = heap.AttachCurrentThread();
      for (int i = 0; i < kIters; i++) {
        Pair* a = pool.Get(m);
        Pair* b = pool.Get(m);
        uint64_t tag = (uint64_t(t + 1) << 32) | uint64_t(i);
        // value: 0 when free in the pool, else the holder's tag.
        if (__atomic_exchange_n(&a->value, tag, __ATOMIC_RELAXED) != 0 ||
            __atomic_exchange_n(&b->value, tag + 1, __ATOMIC_RELAXED) != 0) {
          errors++;
        }
        a->cdr = m.New<Pair>(kPairType);  // garbage; triggers collections
        a->cdr->value = 7;
        if (i % 5000 == 0) heap.Collect();
        if (a->value != tag || b->value != tag + 1 || a->cdr->value != 7) {
          errors++;
        }
        a->cdr = nullptr;
        a->value = 0;
        b->value = 0;
        pool.Put(m, a);
        pool.Put(m, b);
      }
      heap.DetachCurrentThread();
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_GT(heap.ReadMemStats().num_gc, 4u);
}

class PoolDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(PoolDeathTest, UnattachedThreadsAndBlockingScopesFailClearly) {
  Heap heap(Drains());
  Pool<Buffer> pool(heap, kPlainObjects, [] { return new Buffer; });
  EXPECT_DEATH(pool.Get(), "Pool::Get/Put: the calling thread is not attached");
  Mutator& m = heap.AttachCurrentThread();
  Buffer* b = pool.Get(m);
  EXPECT_DEATH(
      {
        BlockingScope s(m);
        pool.Put(m, b);
      },
      "Pool::Get/Put inside a BlockingScope");
  pool.Put(m, b);
  heap.DetachCurrentThread();
}

TEST_F(PoolDeathTest, PoolMustNotOutliveItsHeap) {
  EXPECT_DEATH(
      {
        auto* heap = new Heap(Drains());
        new Pool<Buffer>(*heap, kPlainObjects);
        delete heap;
      },
      "Heap destroyed with 1 Pool\\(s\\) still alive");
}

}  // namespace
}  // namespace gcheap::testing
