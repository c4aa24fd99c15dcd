// Finalizers and cleanups: when they run, what they see, what they keep.
#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "gcheap/gcheap.h"
#include "gtest/gtest.h"
#include "tests/test_types.h"

namespace gcheap::testing {
namespace {

Options Drains() { return PreciseDrainsOptions(); }

bool ListIntact(Pair* head, int n, uint64_t seed) {
  int i = 0;
  for (Pair* p = head; p != nullptr; p = p->cdr, i++) {
    if (p->value != i * 7 + seed) return false;
  }
  return i == n;
}

class FinalizerTest : public ::testing::Test {
 protected:
  FinalizerTest() : heap_(Drains()), m_(heap_.AttachCurrentThread()) {}
  ~FinalizerTest() override { heap_.DetachCurrentThread(); }
  uint64_t Objects() { return heap_.ReadMemStats().heap_objects; }
  Heap heap_;
  Mutator& m_;
};

struct Seen {
  int runs = 0;
  bool intact = true;
  void* last = nullptr;
};

void CheckListFinalizer(void* obj, void* arg) {
  auto* seen = static_cast<Seen*>(arg);
  seen->runs++;
  seen->last = obj;
  seen->intact = seen->intact && ListIntact(static_cast<Pair*>(obj), 100, 5);
}

TEST_F(FinalizerTest, RunsOnceAfterACycleInWhichTheObjectWasUnreachable) {
  heap_.Collect();
  uint64_t base = Objects();
  Seen seen;
  void* raw;
  {
    HandleScope scope(m_);
    Local<Pair> list(m_, MakeList(m_, 100, 5));
    raw = list.Get();
    heap_.SetFinalizer(list.Get(), &CheckListFinalizer, &seen);
    heap_.Collect();
    EXPECT_EQ(heap_.RunFinalizers(), 0u);  // still reachable
  }
  heap_.Collect();  // found unreachable: queued, kept with its referents
  EXPECT_EQ(seen.runs, 0);  // the embedder drains
  EXPECT_EQ(Objects(), base + 100);
  EXPECT_EQ(heap_.RunFinalizers(), 1u);
  EXPECT_EQ(seen.runs, 1);
  EXPECT_EQ(seen.last, raw);
  EXPECT_TRUE(seen.intact);
  heap_.Collect();  // now it is freed, without running again
  EXPECT_EQ(Objects(), base);
  heap_.Collect();
  EXPECT_EQ(heap_.RunFinalizers(), 0u);
  EXPECT_EQ(seen.runs, 1);
}

TEST_F(FinalizerTest, ClearingAFinalizerKeepsItFromRunning) {
  Seen seen;
  {
    HandleScope scope(m_);
    Local<Pair> list(m_, MakeList(m_, 100, 5));
    heap_.SetFinalizer(list.Get(), &CheckListFinalizer, &seen);
    heap_.SetFinalizer(list.Get(), nullptr);
    heap_.SetFinalizer(list.Get(), nullptr);  // none: fine
  }
  heap_.Collect();
  heap_.Collect();
  EXPECT_EQ(heap_.RunFinalizers(), 0u);
  EXPECT_EQ(seen.runs, 0);
}

Pair* g_resurrected = nullptr;
int g_resurrect_runs = 0;
void Resurrect(void* obj, void*) {
  g_resurrect_runs++;
  g_resurrected = static_cast<Pair*>(obj);
}

TEST_F(FinalizerTest, ResurrectedObjectSurvivesAndIsNotFinalizedAgain) {
  g_resurrected = nullptr;
  g_resurrect_runs = 0;
  heap_.AddRoot(&g_resurrected);
  heap_.Collect();
  uint64_t base = Objects();
  {
    HandleScope scope(m_);
    Local<Pair> list(m_, MakeList(m_, 100, 5));
    heap_.SetFinalizer(list.Get(), &Resurrect);
  }
  heap_.Collect();
  EXPECT_EQ(heap_.RunFinalizers(), 1u);
  ASSERT_NE(g_resurrected, nullptr);
  for (int i = 0; i < 3; i++) {
    heap_.Collect();
    MakeList(m_, 1000, 1);  // garbage that may reuse freed slots
    EXPECT_TRUE(ListIntact(g_resurrected, 100, 5));
    EXPECT_EQ(heap_.RunFinalizers(), 0u);
  }
  EXPECT_EQ(g_resurrect_runs, 1);
  g_resurrected = nullptr;
  heap_.Collect();
  EXPECT_EQ(heap_.RunFinalizers(), 0u);
  EXPECT_EQ(g_resurrect_runs, 1);
  EXPECT_EQ(Objects(), base);
  heap_.RemoveRoot(&g_resurrected);
}

std::vector<uint64_t>* g_order;
void RecordOrder(void* obj, void*) {
  g_order->push_back(static_cast<Pair*>(obj)->value);
}

TEST_F(FinalizerTest, ChainRunsTheReferrerFirstAndTheReferentACycleLater) {
  std::vector<uint64_t> order;
  g_order = &order;
  {
    HandleScope scope(m_);
    Local<Pair> a(m_, m_.New<Pair>(kPairType));
    a->value = 1;
    a->cdr = m_.New<Pair>(kPairType);
    a->cdr->value = 2;
    heap_.SetFinalizer(a.Get(), &RecordOrder);
    heap_.SetFinalizer(a->cdr.Get(), &RecordOrder);
  }
  heap_.Collect();
  EXPECT_EQ(heap_.RunFinalizers(), 1u);
  ASSERT_EQ(order.size(), 1u);
  EXPECT_EQ(order[0], 1u);
  heap_.Collect();
  EXPECT_EQ(heap_.RunFinalizers(), 1u);
  ASSERT_EQ(order.size(), 2u);
  EXPECT_EQ(order[1], 2u);
}

TEST_F(FinalizerTest, ArgIsKeptAliveUntilTheFinalizerRuns) {
  {
    HandleScope scope(m_);
    Local<Pair> obj(m_, m_.New<Pair>(kPairType));
    // The arg is a heap list reachable only through the finalizer.
    Pair* arg = MakeList(m_, 100, 5);
    heap_.SetFinalizer(
        obj.Get(),
        [](void*, void* a) {
          auto* list = static_cast<Pair*>(a);
          EXPECT_TRUE(ListIntact(list, 100, 5));
        },
        arg);
  }
  heap_.Collect();
  MakeList(m_, 5000, 0);  // reuse freed memory if the arg was freed
  heap_.Collect();
  EXPECT_EQ(heap_.RunFinalizers(), 1u);
}

std::atomic<int> g_background_runs{0};
void CountBackground(void* obj, void*) {
  EXPECT_TRUE(ListIntact(static_cast<Pair*>(obj), 100, 5));
  g_background_runs.fetch_add(1);
}

TEST(FinalizerThreadTest, BackgroundThreadRunsFinalizers) {
  Options o = Drains();
  o.finalizer_mode = FinalizerMode::kBackgroundThread;
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  g_background_runs = 0;
  for (int i = 0; i < 10; i++) {
    HandleScope scope(m);
    Local<Pair> list(m, MakeList(m, 100, 5));
    heap.SetFinalizer(list.Get(), &CountBackground);
  }
  heap.Collect();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (g_background_runs.load() < 10 &&
         std::chrono::steady_clock::now() < deadline) {
    BlockingScope b(m);
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_EQ(g_background_runs.load(), 10);
  heap.Collect();
  EXPECT_EQ(heap.ReadMemStats().heap_objects, 0u);
  heap.DetachCurrentThread();
}

// --- cleanups

std::vector<int>* g_cleanups;
void RecordCleanup(void* arg) {
  g_cleanups->push_back(static_cast<int>(reinterpret_cast<uintptr_t>(arg)));
}

TEST_F(FinalizerTest, CleanupsRunAfterDeathSeveralPerObjectAndCancel) {
  std::vector<int> ran;
  g_cleanups = &ran;
  heap_.Collect();
  uint64_t base = Objects();
  CleanupHandle cancelled;
  {
    HandleScope scope(m_);
    Local<Pair> obj(m_, MakeList(m_, 10, 0));
    heap_.AddCleanup(obj.Get(), &RecordCleanup, reinterpret_cast<void*>(1));
    cancelled =
        heap_.AddCleanup(obj.Get(), &RecordCleanup, reinterpret_cast<void*>(2));
    heap_.AddCleanup(obj.Get(), &RecordCleanup, reinterpret_cast<void*>(3));
    EXPECT_TRUE(cancelled.Cancel());
    EXPECT_FALSE(cancelled.Cancel());  // once
    heap_.Collect();
    EXPECT_EQ(heap_.RunFinalizers(), 0u);
  }
  heap_.Collect();
  // The object is already gone: no resurrection with cleanups.
  EXPECT_EQ(Objects(), base);
  EXPECT_EQ(heap_.RunFinalizers(), 2u);
  std::sort(ran.begin(), ran.end());
  EXPECT_EQ(ran, (std::vector<int>{1, 3}));
}

TEST_F(FinalizerTest, CleanupCancelAfterItWasQueuedDoesNothing) {
  std::vector<int> ran;
  g_cleanups = &ran;
  CleanupHandle h;
  {
    HandleScope scope(m_);
    Local<Pair> obj(m_, m_.New<Pair>(kPairType));
    h = heap_.AddCleanup(obj.Get(), &RecordCleanup, reinterpret_cast<void*>(7));
  }
  heap_.Collect();
  EXPECT_FALSE(h.Cancel());
  EXPECT_EQ(heap_.RunFinalizers(), 1u);
  EXPECT_EQ(ran, (std::vector<int>{7}));
}

TEST_F(FinalizerTest, CleanupsWaitForTheFinalizedObjectsRealDeath) {
  std::vector<int> ran;
  g_cleanups = &ran;
  Seen seen;
  {
    HandleScope scope(m_);
    Local<Pair> list(m_, MakeList(m_, 100, 5));
    heap_.SetFinalizer(list.Get(), &CheckListFinalizer, &seen);
    heap_.AddCleanup(list.Get(), &RecordCleanup, reinterpret_cast<void*>(9));
  }
  heap_.Collect();
  EXPECT_EQ(heap_.RunFinalizers(), 1u);  // the finalizer only
  EXPECT_EQ(seen.runs, 1);
  EXPECT_TRUE(ran.empty());
  heap_.Collect();
  EXPECT_EQ(heap_.RunFinalizers(), 1u);  // now the cleanup
  EXPECT_EQ(ran, (std::vector<int>{9}));
}

TEST_F(FinalizerTest, CleanupArgOnTheHeapIsKeptUntilItRuns) {
  {
    HandleScope scope(m_);
    Local<Pair> obj(m_, m_.New<Pair>(kPairType));
    heap_.AddCleanup(
        obj.Get(),
        [](void* a) { EXPECT_TRUE(ListIntact(static_cast<Pair*>(a), 50, 3)); },
        MakeList(m_, 50, 3));
  }
  heap_.Collect();
  MakeList(m_, 5000, 0);
  EXPECT_EQ(heap_.RunFinalizers(), 1u);
}

// --- bad input

class FinalizerDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

void BadObjects(Heap& heap, Mutator& m);

TEST_F(FinalizerDeathTest, BadObjectsFailClearly) {
  Heap heap(Drains());
  Mutator& m = heap.AttachCurrentThread();
  BadObjects(heap, m);
  heap.DetachCurrentThread();
}

void BadObjects(Heap& heap, Mutator& m) {
  HandleScope scope(m);
  Local<Pair> p(m, m.New<Pair>(kPairType));
  Local<Big> big(m, m.New<Big>(kBigType));  // has a header
  int on_stack = 0;
  auto fin = [](void*, void*) {};
  EXPECT_DEATH(heap.SetFinalizer(&p->value, fin),
               "SetFinalizer\\(0x[0-9a-f]+\\): an interior pointer; the "
               "object starts at");
  EXPECT_DEATH(heap.SetFinalizer(&big->last, fin), "an interior pointer");
  EXPECT_DEATH(heap.SetFinalizer(&on_stack, fin),
               "not a pointer to an allocated object of this heap");
  heap.SetFinalizer(p.Get(), fin);
  EXPECT_DEATH(heap.SetFinalizer(p.Get(), fin),
               "the object already has a finalizer");
  EXPECT_DEATH(heap.AddCleanup(
                   p.Get(), [](void*) {}, p.Get()),
               "arg points into the object itself");
  EXPECT_DEATH(heap.AddCleanup(&p->value, [](void*) {}),
               "AddCleanup.*an interior pointer");
}

TEST_F(FinalizerDeathTest, UnattachedThreadsMayNotRunFinalizers) {
  Heap heap(Drains());
  EXPECT_DEATH(heap.RunFinalizers(),
               "RunFinalizers: the calling thread is not attached to this "
               "heap");
  Mutator& m = heap.AttachCurrentThread();
  Pair* p = m.New<Pair>(kPairType);
  EXPECT_DEATH(
      {
        std::thread t([&] { heap.SetFinalizer(p, [](void*, void*) {}); });
        t.join();
      },
      "SetFinalizer: the calling thread is not attached to this heap");
  heap.DetachCurrentThread();
}

}  // namespace
}  // namespace gcheap::testing
