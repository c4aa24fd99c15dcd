// Ephemerons (gcheap/weak.h: WeakMap<K, V>, EphemeronTable): a value lives
// exactly while its key does, whatever the table holds, through chains of
// entries, cycles through values, marks held open while the program sets
// and reads entries, NaN-boxed values, several threads, and the
// stop-the-world collector; bad keys fail with a clear message.
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "gcheap/gcheap.h"
#include "gcheap/testing.h"
#include "gtest/gtest.h"
#include "tests/test_types.h"

namespace gcheap::testing {
namespace {

Options Precise(bool concurrent = true) {
  Options o;
  o.max_procs = 4;
  o.stack_scanning = StackScanning::kPrecise;  // exact counts
  o.gc_percent = -1;  // only the cycles the tests start
  o.concurrent_mark = concurrent;
  o.checkmark = true;
  o.background_scavenger = false;
  return o;
}

uint64_t Objects(Heap& heap) { return heap.ReadMemStats().heap_objects; }

// A value that is a list of n pairs tagged `tag`.
Pair* List(Mutator& m, int n, uint64_t tag) {
  Pair* head = nullptr;
  for (int i = 0; i < n; i++) {
    Pair* p = m.New<Pair>(kPairType);
    p->value = tag;
    p->cdr = head;
    head = p;
  }
  return head;
}

int Count(const Pair* p, uint64_t tag) {
  int n = 0;
  for (; p != nullptr; p = p->cdr.Get()) n += p->value == tag;
  return n;
}

class WeakMapTest : public ::testing::TestWithParam<bool> {};

TEST_P(WeakMapTest, ValueLivesWhileItsKeyDoes) {
  Heap heap(Precise(GetParam()));
  Mutator& m = heap.AttachCurrentThread();
  {
    WeakMap<Pair, Pair> map(heap);
    Persistent<Pair> key(heap, m.New<Pair>(kPairType));
    {
      HandleScope scope(m);
      Local<Pair> other(m, m.New<Pair>(kPairType));
      map.Set(m, key.Get(), List(m, 100, 7));   // only the map holds it
      map.Set(m, other.Get(), List(m, 50, 8));  // dies with `other`
      EXPECT_EQ(map.size(), 2u);
      EXPECT_EQ(Objects(heap), 2u + 150u);
      heap.Collect();
      EXPECT_EQ(Objects(heap), 2u + 150u);
      EXPECT_EQ(Count(map.Get(m, key.Get()), 7), 100);
      EXPECT_EQ(Count(map.Get(m, other.Get()), 8), 50);
    }
    heap.Collect();  // `other` died: its entry and its value with it
    EXPECT_EQ(map.size(), 1u);
    EXPECT_EQ(Objects(heap), 1u + 100u);
    EXPECT_EQ(Count(map.Get(m, key.Get()), 7), 100);
    // Replacing a value frees the old one; deleting frees the last.
    map.Set(m, key.Get(), List(m, 10, 9));
    heap.Collect();
    EXPECT_EQ(Objects(heap), 1u + 10u);
    EXPECT_TRUE(map.Has(m, key.Get()));
    EXPECT_TRUE(map.Delete(m, key.Get()));
    EXPECT_FALSE(map.Delete(m, key.Get()));
    EXPECT_EQ(map.Get(m, key.Get()), nullptr);
    heap.Collect();
    EXPECT_EQ(Objects(heap), 1u);
  }
  heap.Collect();
  heap.DetachCurrentThread();
}

// A value that refers back to its key does not keep the key.
TEST_P(WeakMapTest, ACycleThroughTheValueDoesNotKeepTheKey) {
  Heap heap(Precise(GetParam()));
  Mutator& m = heap.AttachCurrentThread();
  {
    WeakMap<Pair, Pair> map(heap);
    {
      HandleScope scope(m);
      Local<Pair> key(m, m.New<Pair>(kPairType));
      Pair* value = List(m, 20, 3);
      value->car = key.Get();  // value -> key
      map.Set(m, key.Get(), value);
      heap.Collect();
      EXPECT_EQ(Objects(heap), 21u);
    }
    heap.Collect();
    EXPECT_EQ(map.size(), 0u);
    EXPECT_EQ(Objects(heap), 0u);
  }
  heap.DetachCurrentThread();
}

// k0 -> v0 where v0 holds k1; k1 -> v1 holding k2; ... only k0 is rooted:
// every value lives, found one entry per round; entries are inserted in
// reverse so a single pass in table order would not find them.
TEST_P(WeakMapTest, ChainsOfEntriesMarkToTheFixpoint) {
  constexpr int kChain = 200;
  Heap heap(Precise(GetParam()));
  Mutator& m = heap.AttachCurrentThread();
  {
    WeakMap<Pair, Pair> map(heap);
    Persistent<Pair> root(heap, m.New<Pair>(kPairType));
    {
      HandleScope scope(m);
      std::vector<Local<Pair>> keys;
      keys.emplace_back(m, root.Get());
      for (int i = 1; i <= kChain; i++) {
        keys.emplace_back(m, m.New<Pair>(kPairType));
      }
      for (int i = kChain - 1; i >= 0; i--) {
        Pair* v = m.New<Pair>(kPairType);
        v->value = static_cast<uint64_t>(i);
        v->car = keys[static_cast<size_t>(i) + 1].Get();  // the next key
        map.Set(m, keys[static_cast<size_t>(i)].Get(), v);
      }
    }
    heap.Collect();
    EXPECT_EQ(map.size(), static_cast<size_t>(kChain));
    EXPECT_EQ(Objects(heap), 1u + 2u * kChain);
    const Pair* k = root.Get();
    for (int i = 0; i < kChain; i++) {
      Pair* v = map.Get(m, k);
      ASSERT_NE(v, nullptr) << i;
      EXPECT_EQ(v->value, static_cast<uint64_t>(i));
      k = v->car.Get();
    }
    root.Reset();
    heap.Collect();
    EXPECT_EQ(map.size(), 0u);
    EXPECT_EQ(Objects(heap), 0u);
  }
  heap.DetachCurrentThread();
}

INSTANTIATE_TEST_SUITE_P(ConcurrentAndStopTheWorld, WeakMapTest,
                         ::testing::Bool(), [](const auto& info) {
                           return info.param ? "Concurrent" : "StopTheWorld";
                         });

// While a mark is held open the program sets entries whose values it then
// drops, replaces values the mark already greyed, and reads values out and
// keeps them only on its stack: each lives exactly as the contract says
// (checkmark on).
TEST(WeakMapDuringMarkTest, SetReplaceAndGetWhileMarking) {
  Options o = Precise();
  o.stack_scanning = StackScanning::kConservative;  // Get's result: a local
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  {
    WeakMap<Pair, Pair> map(heap);
    Persistent<Pair> a(heap, m.New<Pair>(kPairType));
    Persistent<Pair> b(heap, m.New<Pair>(kPairType));
    Persistent<Pair> held;
    map.Set(m, b.Get(), List(m, 5, 1));
    testing_hooks::HeldMark mark(heap, m);
    map.Set(m, a.Get(), List(m, 30, 2));  // new during the mark
    map.Set(m, b.Get(), List(m, 40, 3));  // replaces b's value
    held = Persistent<Pair>(heap, map.Get(m, b.Get()));
    map.Set(m, b.Get(), List(m, 10, 4));  // and again
    mark.Release(m);
    EXPECT_EQ(Count(map.Get(m, a.Get()), 2), 30);
    EXPECT_EQ(Count(map.Get(m, b.Get()), 4), 10);
    EXPECT_EQ(Count(held.Get(), 3), 40);
    held.Reset();
    heap.Collect();
    EXPECT_EQ(Count(map.Get(m, a.Get()), 2), 30);
    EXPECT_EQ(Count(map.Get(m, b.Get()), 4), 10);
  }
  heap.DetachCurrentThread();
}

// Values in the heap's encoding: NaN-boxed pointers are decoded; numbers
// are kept as they are and ignored by the collector.
TEST(WeakMapValuesTest, NanBoxedValues) {
  constexpr uint64_t kTag = 0xfffc000000000000;
  Options o = Precise();
  o.values = ValueEncoding::NanBoxed(kTag, kTag, ~kTag);
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  {
    EphemeronTable table(heap);
    Persistent<Pair> key(heap, m.New<Pair>(kPairType));
    Persistent<Pair> key2(heap, m.New<Pair>(kPairType));
    table.Set(m, key.Get(), kTag | reinterpret_cast<uintptr_t>(List(m, 25, 5)));
    const uint64_t number = 0x400921fb54442d18;  // 3.14159...
    table.Set(m, key2.Get(), number);
    heap.Collect();
    uint64_t v = 0;
    ASSERT_TRUE(table.Get(m, key.Get(), &v));
    EXPECT_EQ(v & kTag, kTag);
    EXPECT_EQ(Count(reinterpret_cast<Pair*>(v & ~kTag), 5), 25);
    ASSERT_TRUE(table.Get(m, key2.Get(), &v));
    EXPECT_EQ(v, number);
    EXPECT_EQ(Objects(heap), 2u + 25u);
    // Weak references decode values the same way.
    ASSERT_TRUE(table.Get(m, key.Get(), &v));
    auto weak = WeakRef<Pair>::OfValue(heap, v);
    EXPECT_EQ(weak.Get(), reinterpret_cast<Pair*>(v & ~kTag));
    EXPECT_EQ(WeakRef<Pair>::OfValue(heap, number).Get(), nullptr);
    v = 0;
    table.Delete(m, key.Get());
    heap.Collect();
    EXPECT_EQ(weak.Get(), nullptr);
    EXPECT_EQ(Objects(heap), 2u);
  }
  heap.DetachCurrentThread();
}

// Four threads, each with keys of its own in one shared map, set, replace,
// read and drop entries while cycles run; every live key's value is
// intact. (Under ThreadSanitizer in CI.)
TEST(WeakMapThreadsTest, FourThreadsShareAMap) {
  Options o;
  o.max_procs = 4;
  o.checkmark = true;
  Heap heap(o);
  WeakMap<Pair, Pair> map(heap);
  std::atomic<int> broken{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&, t] {
      Mutator& m = heap.AttachCurrentThread();
      const uint64_t tag = 100 + static_cast<uint64_t>(t);
      Persistent<Pair> keys[8];
      for (int round = 0; round < 300; round++) {
        const int i = round % 8;
        keys[i] = Persistent<Pair>(heap, m.New<Pair>(kPairType));
        map.Set(m, keys[i].Get(), List(m, 8, tag));
        for (auto& k : keys) {
          if (k.Get() != nullptr && Count(map.Get(m, k.Get()), tag) != 8) {
            broken++;
          }
        }
        if (round % 50 == 0) heap.Collect();
      }
      for (auto& k : keys) k.Reset();
      heap.DetachCurrentThread();
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(broken.load(), 0);
  Mutator& m = heap.AttachCurrentThread();
  heap.Collect();
  heap.Collect();
  EXPECT_EQ(map.size(), 0u);
  (void)m;
  heap.DetachCurrentThread();
}

class WeakMapDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(WeakMapDeathTest, KeysMustBeObjectsOfTheHeap) {
  Heap heap(Precise());
  Mutator& m = heap.AttachCurrentThread();
  EphemeronTable table(heap);
  static int not_heap;
  EXPECT_DEATH(table.Set(m, &not_heap, 1),
               "EphemeronTable::Set\\(0x[0-9a-f]+\\): not a pointer to an "
               "allocated object of this heap");
  Persistent<Pair> p(heap, m.New<Pair>(kPairType));
  EXPECT_DEATH(table.Set(m, reinterpret_cast<char*>(p.Get()) + 8, 1),
               "an interior pointer");
  p.Reset();
  heap.DetachCurrentThread();
}

}  // namespace
}  // namespace gcheap::testing
