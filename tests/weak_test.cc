// Weak references and the weak-value map.
#include <cstring>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "gcheap/gcheap.h"
#include "gcheap/testing.h"
#include "gtest/gtest.h"
#include "runtime/heap_impl.h"
#include "tests/test_types.h"

namespace gcheap::testing {
namespace {

Options Drains() { return PreciseDrainsOptions(); }

class WeakTest : public ::testing::Test {
 protected:
  WeakTest() : heap_(Drains()), m_(heap_.AttachCurrentThread()) {}
  ~WeakTest() override { heap_.DetachCurrentThread(); }
  Heap heap_;
  Mutator& m_;
};

TEST_F(WeakTest, ClearedWhenTheTargetDiesAndNotBefore) {
  WeakRef<Pair> w;
  WeakRef<Pair> empty;
  EXPECT_EQ(empty.Get(), nullptr);
  {
    HandleScope scope(m_);
    Local<Pair> list(m_, MakeList(m_, 10, 1));
    w = WeakRef<Pair>(heap_, list.Get());
    for (int i = 0; i < 3; i++) {
      heap_.Collect();
      MakeList(m_, 1000, 0);
      EXPECT_EQ(w.Get(), list.Get());
    }
    EXPECT_EQ(w.Get()->cdr->value, 8u);
  }
  heap_.Collect();
  EXPECT_EQ(w.Get(), nullptr);
  EXPECT_EQ(internal::HeapAccess::Of(heap_)->specials().CountObjects(),
            0u);  // record gone
}

TEST_F(WeakTest, WeakRefsToOneObjectShareOneCell) {
  HandleScope scope(m_);
  Local<Pair> a(m_, m_.New<Pair>(kPairType));
  Local<Pair> b(m_, m_.New<Pair>(kPairType));
  WeakRef<Pair> wa1(heap_, a.Get());
  WeakRef<Pair> wa2(heap_, a.Get());
  WeakRef<Pair> wb(heap_, b.Get());
  WeakRef<Pair> copy = wa1;
  WeakRef<Pair> moved = std::move(wa2);
  EXPECT_TRUE(wa1 == copy);
  EXPECT_TRUE(wa1 == moved);
  EXPECT_FALSE(wa1 == wb);
  EXPECT_EQ(wa2.Get(), nullptr);  // moved from
  EXPECT_EQ(internal::HeapAccess::Of(heap_)->specials().CountObjects(), 2u);
  b.Set(nullptr);
  heap_.Collect();
  EXPECT_EQ(wb.Get(), nullptr);
  EXPECT_EQ(copy.Get(), a.Get());
}

TEST_F(WeakTest, ManyTargetsOnlyTheDeadAreCleared) {
  constexpr int kN = 2000;
  std::vector<WeakRef<Pair>> weak;
  Pair** keep = static_cast<Pair**>(m_.AllocateArray(kPtrArrayElem, kN));
  Persistent<Pair*> keep_root(heap_, reinterpret_cast<Pair**>(keep));
  for (int i = 0; i < kN; i++) {
    Pair* p = m_.New<Pair>(kPairType);
    p->value = i;
    if (i % 2 == 0) WriteBarrier(reinterpret_cast<void**>(&keep[i]), p);
    weak.emplace_back(heap_, p);
  }
  heap_.Collect();
  for (int i = 0; i < kN; i++) {
    Pair* p = weak[i].Get();
    if (i % 2 == 0) {
      ASSERT_EQ(p, keep[i]);
      ASSERT_EQ(p->value, static_cast<uint64_t>(i));
    } else {
      ASSERT_EQ(p, nullptr) << i;
    }
  }
}

WeakRef<Pair>* g_weak;
bool g_weak_was_clear = false;
Pair* g_kept = nullptr;
void CheckWeakThenResurrect(void* obj, void*) {
  g_weak_was_clear = g_weak->Get() == nullptr;
  g_kept = static_cast<Pair*>(obj);
}

TEST_F(WeakTest, ClearedBeforeTheFinalizerRunsAndStaysClear) {
  WeakRef<Pair> w;
  g_weak = &w;
  g_kept = nullptr;
  heap_.AddRoot(&g_kept);
  {
    HandleScope scope(m_);
    Local<Pair> list(m_, MakeList(m_, 10, 2));
    w = WeakRef<Pair>(heap_, list.Get());
    heap_.SetFinalizer(list.Get(), &CheckWeakThenResurrect);
  }
  heap_.Collect();
  EXPECT_EQ(w.Get(), nullptr);  // cleared, though the finalizer has not run
  EXPECT_EQ(heap_.RunFinalizers(), 1u);
  EXPECT_TRUE(g_weak_was_clear);
  ASSERT_NE(g_kept, nullptr);
  heap_.Collect();
  EXPECT_EQ(g_kept->cdr->value, 9u);  // resurrected
  EXPECT_EQ(w.Get(), nullptr);        // but not through the weak ref
  // A new weak reference to the resurrected object works again.
  WeakRef<Pair> again(heap_, g_kept);
  EXPECT_EQ(again.Get(), g_kept);
  g_kept = nullptr;
  heap_.Collect();
  EXPECT_EQ(again.Get(), nullptr);
  heap_.RemoveRoot(&g_kept);
}

// A cycle's marking is over but the target's span is not swept yet: Get
// must already say the target is dead (its mark bit), and the live one
// alive.
TEST_F(WeakTest, TargetThatDiedInTheLastCycleBeforeItsSpanIsSwept) {
  internal::Collector& c = internal::HeapAccess::Of(heap_)->collector();
  WeakRef<Pair> dead, live;
  HandleScope scope(m_);
  Local<Pair> keep(m_, m_.New<Pair>(kPairType));
  live = WeakRef<Pair>(heap_, keep.Get());
  dead = WeakRef<Pair>(heap_, m_.New<Pair>(kPairType));
  ASSERT_NE(dead.Get(), nullptr);
  {
    BlockingScope b(m_);  // the collector runs on this thread, without a P
    c.PauseSweeper();
    c.RunCycle(internal::GcReason::kForced);
  }
  // No allocation here: it would sweep spans.
  EXPECT_EQ(dead.Get(), nullptr);
  EXPECT_EQ(live.Get(), keep.Get());
  c.ResumeSweeper();
  heap_.Collect();
  EXPECT_EQ(dead.Get(), nullptr);
  EXPECT_EQ(live.Get(), keep.Get());
}

// --- WeakValueMap

struct Str {
  uint64_t len;
  char chars[24];
};
constexpr Type kStrType = Type::Noscan("Str", sizeof(Str));

Str* NewStr(Mutator& m, const std::string& s) {
  Str* p = m.New<Str>(kStrType);
  p->len = s.size();
  s.copy(p->chars, sizeof(p->chars));
  return p;
}

TEST_F(WeakTest, WeakValueMapInternsAndPurges) {
  WeakValueMap<std::string, Str> intern(heap_);
  HandleScope scope(m_);
  Local<Str> hello(
      m_, intern.FindOrInsert("hello", [&] { return NewStr(m_, "hello"); }));
  EXPECT_EQ(intern.FindOrInsert("hello", [&]() -> Str* { return nullptr; }),
            hello.Get());
  for (int i = 0; i < 10; i++) {
    std::string k = "tmp" + std::to_string(i);
    intern.FindOrInsert(k, [&] { return NewStr(m_, k); });
  }
  EXPECT_EQ(intern.size(), 11u);
  heap_.Collect();
  EXPECT_EQ(intern.Find("hello"), hello.Get());
  EXPECT_EQ(std::string(hello->chars, hello->len), "hello");
  EXPECT_EQ(intern.Find("tmp3"), nullptr);  // dead: purged on lookup
  EXPECT_EQ(intern.size(), 10u);
  EXPECT_EQ(intern.Purge(), 9u);
  EXPECT_EQ(intern.size(), 1u);
  // A dead key is interned afresh.
  Str* again = intern.FindOrInsert("tmp3", [&] { return NewStr(m_, "tmp3"); });
  EXPECT_EQ(std::string(again->chars, again->len), "tmp3");
  EXPECT_TRUE(intern.Erase("tmp3"));
  EXPECT_FALSE(intern.Erase("tmp3"));
}

TEST_F(WeakTest, WeakValueMapPurgesAsItGrows) {
  WeakValueMap<int, Str> map(heap_);
  for (int round = 0; round < 20; round++) {
    for (int i = 0; i < 100; i++) {
      map.Insert(round * 100 + i, NewStr(m_, "x"));
    }
    heap_.Collect();
  }
  // Without purging it would hold 2000 entries.
  EXPECT_LT(map.size(), 400u);
}

class WeakDeathTest : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "threadsafe"); }
};

TEST_F(WeakDeathTest, BadTargetsAndThreadsFailClearly) {
  Heap heap(Drains());
  Mutator& m = heap.AttachCurrentThread();
  Pair* p = m.New<Pair>(kPairType);
  int on_stack = 0;
  EXPECT_DEATH(WeakRef<uint64_t>(heap, &p->value),
               "WeakRef\\(0x[0-9a-f]+\\): an interior pointer");
  EXPECT_DEATH(WeakRef<int>(heap, &on_stack),
               "not a pointer to an allocated object of this heap");
  WeakRef<Pair> w(heap, p);
  EXPECT_DEATH(
      {
        std::thread t([&] { w.Get(); });
        t.join();
      },
      "WeakRef::Get: the calling thread is not attached to this heap");
  heap.DetachCurrentThread();
}

// A VM that keeps its own string table (clox's): the table is plain
// memory, not a root; a weak callback drops the strings that die, as
// tableRemoveWhite does.
struct StringTable {
  std::vector<char*> entries;
  int calls = 0;
  char* Intern(Mutator& m, const std::string& s) {
    for (char* e : entries) {
      if (s == e) {
        m.Shade(e);  // found through a table that does not keep it
        return e;
      }
    }
    auto* p = static_cast<char*>(m.AllocateNoscan(s.size() + 1));
    memcpy(p, s.c_str(), s.size() + 1);
    entries.push_back(p);
    return p;
  }
  static void RemoveWhite(WeakProcessor& weak, void* arg) {
    auto* t = static_cast<StringTable*>(arg);
    t->calls++;
    std::vector<char*> live;
    for (char* e : t->entries) {
      if (weak.IsLive(e)) live.push_back(e);
    }
    t->entries.swap(live);
  }
};

TEST_F(WeakTest, WeakCallbackDropsTheEntriesWhoseObjectsDied) {
  StringTable table;
  heap_.AddWeakCallback(&StringTable::RemoveWhite, &table);
  std::vector<Persistent<char>> keep;
  for (int i = 0; i < 200; i++) {
    // 24 bytes and more: each string in a slot of its own (smaller ones
    // share 16-byte tiny blocks, which live and die together).
    char* s = table.Intern(m_, "interned string number " + std::to_string(i));
    if (i % 2 == 0) keep.emplace_back(heap_, s);
  }
  ASSERT_EQ(table.entries.size(), 200u);
  EXPECT_EQ(table.Intern(m_, "interned string number 4"), keep[2].Get());
  const int calls = table.calls;
  heap_.Collect();
  EXPECT_EQ(table.calls, calls + 1);  // once per cycle
  ASSERT_EQ(table.entries.size(), 100u);
  for (size_t i = 0; i < keep.size(); i++) {
    EXPECT_EQ(table.entries[i], keep[i].Get());
    EXPECT_EQ(std::string(table.entries[i]),
              "interned string number " + std::to_string(2 * i));
  }
  // Interning again finds the survivors and makes new strings for the
  // rest.
  EXPECT_EQ(table.Intern(m_, "interned string number 8"), keep[4].Get());
  table.Intern(m_, "interned string number 9");
  EXPECT_EQ(table.entries.size(), 101u);
  keep.clear();
  heap_.Collect();
  EXPECT_TRUE(table.entries.empty());
  heap_.RemoveWeakCallback(&StringTable::RemoveWhite, &table);
  heap_.Collect();
  EXPECT_EQ(table.calls, calls + 2);  // not called once removed
}

// Not a heap object: not the collector's to free.
TEST_F(WeakTest, WeakProcessorSaysLiveForWhatIsNotAHeapObject) {
  static int results[3];
  static int local;
  auto cb = [](WeakProcessor& weak, void*) {
    results[0] = weak.IsLive(nullptr);
    results[1] = weak.IsLive(&local);
    results[2] = weak.IsLive(reinterpret_cast<void*>(8));
  };
  heap_.AddWeakCallback(cb, nullptr);
  heap_.Collect();
  heap_.RemoveWeakCallback(cb, nullptr);
  EXPECT_EQ(results[0] + results[1] + results[2], 3);
}

// WeakSet: a string table the way a VM keeps one.
struct Sym {
  uint64_t length;
  char chars[];
  std::string_view view() const { return {chars, length}; }
};
uint64_t HashOf(std::string_view s) {
  uint64_t h = 1469598103934665603u;
  for (char c : s) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211u;
  return h;
}
struct StrEq {
  std::string_view s;
  bool operator()(const Sym* o) const { return o->view() == s; }
};
Sym* NewStr(Mutator& m, std::string_view s) {
  // At least 16 bytes: a slot of its own, not a shared tiny block.
  auto* o = static_cast<Sym*>(m.AllocateNoscan(sizeof(Sym) + s.size() + 8));
  o->length = s.size();
  memcpy(o->chars, s.data(), s.size());
  return o;
}
Sym* Intern(WeakSet<Sym>& set, Mutator& m, std::string_view s) {
  return set.FindOrInsert(m, HashOf(s), StrEq{s}, [&] { return NewStr(m, s); });
}

TEST_F(WeakTest, WeakSetInternsAndForgetsTheDead) {
  WeakSet<Sym> set(heap_);
  std::vector<Persistent<Sym>> keep;
  for (int i = 0; i < 1000; i++) {
    Sym* s = Intern(set, m_, "symbol-" + std::to_string(i));
    EXPECT_EQ(s->view(), "symbol-" + std::to_string(i));
    if (i % 4 == 0) keep.emplace_back(heap_, s);
  }
  EXPECT_EQ(set.size(), 1000u);
  EXPECT_EQ(Intern(set, m_, "symbol-8"), keep[2].Get());  // the same object
  heap_.Collect();
  EXPECT_EQ(set.size(), 250u);  // the dead are gone
  for (size_t k = 0; k < keep.size(); k++) {
    const std::string name = "symbol-" + std::to_string(4 * k);
    EXPECT_EQ(set.Find(m_, HashOf(name), StrEq{name}), keep[k].Get());
  }
  const std::string gone = "symbol-5";
  EXPECT_EQ(set.Find(m_, HashOf(gone), StrEq{gone}), nullptr);
  Sym* again = Intern(set, m_, gone);  // made anew
  EXPECT_EQ(again->view(), gone);
  EXPECT_EQ(set.size(), 251u);
  keep.clear();
  heap_.Collect();
  EXPECT_EQ(set.size(), 0u);
}

TEST_F(WeakTest, WeakSetSeparatesEqualHashesByEquality) {
  WeakSet<Sym> set(heap_);
  HandleScope scope(m_);
  // Every string under one hash: the equality test tells them apart.
  auto eq_intern = [&](std::string_view s) {
    return set.FindOrInsert(m_, 42, StrEq{s}, [&] { return NewStr(m_, s); });
  };
  Local<Sym> a(m_, eq_intern("alpha"));
  Local<Sym> b(m_, eq_intern("beta"));
  EXPECT_NE(a.Get(), b.Get());
  EXPECT_EQ(eq_intern("alpha"), a.Get());
  EXPECT_EQ(eq_intern("beta"), b.Get());
}

// A string found during a concurrent mark, held only in a local that the
// mark's stack scan never saw, survives the mark: Find shades it.
__attribute__((noinline)) void InternAndDrop(WeakSet<Sym>& set, Mutator& m) {
  Intern(set, m, "found during the mark");
}

TEST(WeakSetTest, WhatFindReturnsDuringAMarkIsKept) {
  Options o = PreciseDrainsOptions();
  o.stack_scanning = StackScanning::kConservative;
  o.gc_percent = -1;
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  {
    WeakSet<Sym> set(heap);
    InternAndDrop(set, m);
    const std::string key = "found during the mark";
    Sym* volatile found = nullptr;
    {
      testing_hooks::HeldMark mark(heap, m);
      found = set.Find(m, HashOf(key), StrEq{key});
      mark.Release(m);
    }
    ASSERT_NE(found, nullptr);
    EXPECT_EQ(heap.ObjectStart(found), found);  // not freed
    EXPECT_EQ(set.Find(m, HashOf(key), StrEq{key}), found);
    EXPECT_EQ(found->view(), key);
  }
  heap.DetachCurrentThread();
}

// Several threads interning the same names while collections run: one
// object per name.
TEST(WeakSetTest, ThreadsInterningTheSameNamesGetOneObjectEach) {
  Options o = PreciseDrainsOptions();
  o.max_procs = 4;
  Heap heap(o);
  WeakSet<Sym> set(heap);
  constexpr int kThreads = 4, kNames = 300;
  std::vector<std::vector<Sym*>> got(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; t++) {
    threads.emplace_back([&, t] {
      Mutator& m = heap.AttachCurrentThread();
      {
        std::vector<Persistent<Sym>> keep;
        for (int i = 0; i < kNames; i++) {
          Sym* s = Intern(set, m, "name-" + std::to_string(i));
          keep.emplace_back(heap, s);
          MakeList(m, 20, i);  // garbage: collections run meanwhile
        }
        for (const auto& k : keep) got[t].push_back(k.Get());
        // All threads keep theirs until every thread has interned.
        BlockingScope blocking(m);
        static std::atomic<int> done{0};
        done++;
        while (done.load() % kThreads != 0) std::this_thread::yield();
      }
      heap.DetachCurrentThread();
    });
  }
  for (auto& th : threads) th.join();
  for (int t = 1; t < kThreads; t++) EXPECT_EQ(got[t], got[0]);
}

}  // namespace
}  // namespace gcheap::testing
