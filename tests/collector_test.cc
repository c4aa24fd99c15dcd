// End-to-end collection: what survives, what is freed, by type and root.
#include <string.h>

#include <vector>

#include "gcheap/gcheap.h"
#include "gtest/gtest.h"
#include "tests/test_types.h"

namespace gcheap::testing {
namespace {

Options Precise() {
  Options o;
  o.max_procs = 2;
  o.stack_scanning = StackScanning::kPrecise;
  o.background_scavenger = false;
  return o;
}

void CheckList(Pair* head, int n, uint64_t seed) {
  int i = 0;
  for (Pair* p = head; p != nullptr; p = p->cdr, i++) {
    ASSERT_EQ(p->value, i * 7 + seed) << "payload lost at " << i;
  }
  ASSERT_EQ(i, n);
}

class CollectorTest : public ::testing::Test {
 protected:
  CollectorTest() : heap_(Precise()), m_(heap_.AttachCurrentThread()) {}
  ~CollectorTest() override { heap_.DetachCurrentThread(); }
  uint64_t Objects() { return heap_.ReadMemStats().heap_objects; }
  Heap heap_;
  Mutator& m_;
};

TEST_F(CollectorTest, ReachableObjectsSurviveWithTheirPayloads) {
  Persistent<Pair> root(heap_, MakeList(m_, 10000, 3));
  for (int i = 0; i < 3; i++) {
    heap_.Collect();
    MakeList(m_, 5000, 9);  // garbage in between
    CheckList(root.Get(), 10000, 3);
  }
  EXPECT_GE(heap_.ReadMemStats().num_gc, 3u);
}

TEST_F(CollectorTest, UnreachableObjectsAreFreed) {
  heap_.Collect();
  uint64_t base = Objects();
  MakeList(m_, 20000, 1);
  EXPECT_EQ(Objects(), base + 20000);
  heap_.Collect();
  EXPECT_EQ(Objects(), base);
}

TEST_F(CollectorTest, CyclesAreCollected) {
  heap_.Collect();
  uint64_t base = Objects();
  {
    HandleScope scope(m_);
    Local<Pair> a(m_, m_.New<Pair>(kPairType));
    Pair* b = m_.New<Pair>(kPairType);
    a->cdr = b;
    b->cdr = a.Get();  // a <-> b
    heap_.Collect();
    EXPECT_EQ(Objects(), base + 2);  // held by the Local
  }
  heap_.Collect();
  EXPECT_EQ(Objects(), base);
}

TEST_F(CollectorTest, TracedObjectsFollowOnlyTheirPointers) {
  HandleScope scope(m_);
  Local<Tagged> t(m_, m_.New<Tagged>(kTaggedType));
  Pair* kept = m_.New<Pair>(kPairType);
  kept->value = 42;
  t->slots[0] = reinterpret_cast<uintptr_t>(kept);
  t->slots[1] = (12345 << 1) | 1;  // a small integer, not a pointer
  heap_.Collect();
  uint64_t before = Objects();
  EXPECT_EQ(heap_.ObjectStart(kept), kept);
  EXPECT_EQ(reinterpret_cast<Pair*>(t->slots[0])->value, 42u);
  t->slots[0] = 1;  // drop it
  heap_.Collect();
  EXPECT_EQ(Objects(), before - 1);
}

TEST_F(CollectorTest, BigObjectsWithHeadersAndArraysAreScanned) {
  HandleScope scope(m_);
  Local<Big> big(m_, m_.New<Big>(kBigType));
  big->first = MakeList(m_, 100, 5);
  big->last = MakeList(m_, 100, 6);
  // A large array of pointers, scanned in pieces.
  const size_t kN = 100000;  // 800 KB: several oblets
  Local<Pair*> arr(m_,
                   static_cast<Pair**>(m_.AllocateArray(kPtrArrayElem, kN)));
  for (size_t i = 0; i < kN; i += 1000) {
    arr.Get()[i] = m_.New<Pair>(kPairType);
    arr.Get()[i]->value = i;
  }
  heap_.Collect();
  MakeList(m_, 50000, 0);
  heap_.Collect();
  CheckList(big->first, 100, 5);
  CheckList(big->last, 100, 6);
  for (size_t i = 0; i < kN; i += 1000) {
    ASSERT_EQ(arr.Get()[i]->value, i);
    ASSERT_EQ(heap_.ObjectStart(arr.Get()[i]), arr.Get()[i]);
  }
}

TEST_F(CollectorTest, DensePointerArraysKeepEveryObjectTheyPointAt) {
  // A pointer array whose every word points somewhere else: objects of
  // many size classes in shuffled order, large objects, interior
  // pointers, nulls. The marker prefetches each pointer's span and mark
  // bits words ahead of greying it; what it greys must be exactly what
  // the array holds, to its last element.
  HandleScope scope(m_);
  const size_t kN = 30000;  // 240 KB: two oblets
  Local<void*> arr(m_,
                   static_cast<void**>(m_.AllocateArray(kPtrArrayElem, kN)));
  std::vector<size_t> order(kN);
  for (size_t i = 0; i < kN; i++) order[i] = (i * 7919) % kN;  // a permutation
  for (size_t k = 0; k < kN; k++) {
    const size_t i = order[k];
    if (i % 11 == 0) continue;  // null
    const size_t size = i % 97 == 0 ? 40000 : 16 + (i % 16) * 16;
    auto* o = static_cast<uint64_t*>(m_.AllocateConservative(size));
    o[0] = i;
    o[size / 8 - 1] = ~i;
    // Every third one by an interior pointer (its last word).
    WriteBarrier(&arr.Get()[i],
                 i % 3 == 0 ? static_cast<void*>(&o[size / 8 - 1]) : o);
  }
  for (int round = 0; round < 3; round++) {
    heap_.Collect();
    MakeList(m_, 20000, 0);  // garbage between, reusing freed slots
  }
  for (size_t i = 0; i < kN; i++) {
    void* p = arr.Get()[i];
    if (i % 11 == 0) {
      ASSERT_EQ(p, nullptr);
      continue;
    }
    auto* o = static_cast<uint64_t*>(heap_.ObjectStart(p));
    ASSERT_NE(o, nullptr) << "element " << i << " was freed";
    const size_t size = i % 97 == 0 ? 40000 : 16 + (i % 16) * 16;
    ASSERT_EQ(o[0], i) << "element " << i;
    ASSERT_EQ(o[size / 8 - 1], ~i) << "element " << i;
  }
}

// Same size class as Pair (24 bytes), other layouts: pointers in the last
// two words, and a traced object (16 bytes + its header).
struct Flipped {
  uint64_t value;
  Ref<Flipped> next;
  Ref<Pair> pair;
};
constexpr Type kFlippedType = Type::Of<Flipped>("Flipped").Pointers(
    offsetof(Flipped, next), offsetof(Flipped, pair));
struct Boxed {
  uintptr_t next;  // a Boxed*, traced
  uint64_t value;
};
void TraceBoxed(void* obj, Visitor& v) {
  v.Visit(reinterpret_cast<void*>(static_cast<Boxed*>(obj)->next));
}
constexpr Type kBoxedType = Type::Traced("Boxed", sizeof(Boxed), &TraceBoxed);

TEST_F(CollectorTest, LayoutsSharingASpanAreEachScannedTheirWay) {
  // Pairs first: their spans hold one layout. Then other layouts land in
  // the same spans (the free slots after a collection, and the current
  // span), next to live Pairs.
  Persistent<Pair> pairs(heap_, MakeList(m_, 3000, 11));
  MakeList(m_, 3000, 0);  // garbage: free slots in the Pairs' spans
  heap_.Collect();
  HandleScope scope(m_);
  Local<Flipped> flipped(m_, nullptr);
  Local<Boxed> boxed(m_, nullptr);
  for (int i = 0; i < 3000; i++) {
    Flipped* f = m_.New<Flipped>(kFlippedType);
    f->value = i;
    f->next = flipped.Get();
    f->pair = m_.New<Pair>(kPairType);
    f->pair->value = i * 3;
    flipped.Set(f);
    Boxed* b = m_.New<Boxed>(kBoxedType);
    b->value = i * 5;
    b->next = reinterpret_cast<uintptr_t>(boxed.Get());
    boxed.Set(b);
  }
  for (int round = 0; round < 2; round++) {
    heap_.Collect();
    MakeList(m_, 5000, 0);  // reuse what the collection freed
  }
  CheckList(pairs.Get(), 3000, 11);
  int i = 2999;
  for (Flipped* f = flipped.Get(); f != nullptr; f = f->next, i--) {
    ASSERT_EQ(f->value, static_cast<uint64_t>(i));
    ASSERT_EQ(f->pair->value, static_cast<uint64_t>(i) * 3);
  }
  ASSERT_EQ(i, -1);
  i = 2999;
  for (Boxed* b = boxed.Get(); b != nullptr;
       b = reinterpret_cast<Boxed*>(b->next), i--) {
    ASSERT_EQ(b->value, static_cast<uint64_t>(i) * 5);
  }
  ASSERT_EQ(i, -1);
}

int destroyed = 0;
struct Resource {
  int id;
};
void DestroyResource(void*) { destroyed++; }
constexpr Type kResourceType =
    Type::Noscan("Resource", sizeof(Resource)).WithDestructor(&DestroyResource);

TEST_F(CollectorTest, DestructorsRunAtSweepForDeadObjectsOnly) {
  destroyed = 0;
  HandleScope scope(m_);
  Local<Resource> keep(m_, m_.New<Resource>(kResourceType));
  for (int i = 0; i < 100; i++) m_.New<Resource>(kResourceType);
  heap_.Collect();
  heap_.FreeOSMemory();  // finishes sweeping
  EXPECT_EQ(destroyed, 100);
  EXPECT_NE(heap_.ObjectStart(keep.Get()), nullptr);
}

// A 16-byte pointer-map object (type bits, no header) sharing the size
// class of Resource (4 bytes + its header). `decoy` holds the address of a
// function: a sweeper that took the first word of a dead Link for a header
// would find a "destructor" there (Type's destructor is its sixth word, and
// the Links are laid out so that word is some Link's decoy) and call it.
int decoy_calls = 0;
void Decoy(void*) { decoy_calls++; }
struct Link {
  Ref<Link> next;
  uint64_t decoy;
};
constexpr Type kLinkType =
    Type::Of<Link>("Link").Pointers(offsetof(Link, next));

TEST_F(CollectorTest, DestructorsSkipHeaderlessObjectsSharingTheirSpan) {
  destroyed = 0;
  decoy_calls = 0;
  {
    HandleScope scope(m_);
    Local<Link> head(m_, nullptr);
    for (int i = 0; i < 2000; i++) {
      if (i % 10 == 0) m_.New<Resource>(kResourceType);  // dies
      Link* l = m_.New<Link>(kLinkType);
      l->decoy = reinterpret_cast<uint64_t>(&Decoy);
      l->next = head.Get();
      head.Set(l);
    }
  }
  heap_.Collect();
  heap_.FreeOSMemory();  // finishes sweeping
  EXPECT_EQ(destroyed, 200);
  EXPECT_EQ(decoy_calls, 0) << "a headerless object was read as a header";
}

TEST_F(CollectorTest, NoscanBytesAndTinyObjects) {
  HandleScope scope(m_);
  Local<char> s(m_, static_cast<char*>(m_.AllocateNoscan(100)));
  strcpy(s.Get(), "hello, heap");
  Local<char> tiny(m_, static_cast<char*>(m_.AllocateNoscan(5)));
  memcpy(tiny.Get(), "abcd", 5);
  for (int i = 0; i < 10000; i++) m_.AllocateNoscan(i % 40 + 1);
  heap_.Collect();
  for (int i = 0; i < 10000; i++) m_.AllocateNoscan(i % 40 + 1);
  EXPECT_STREQ(s.Get(), "hello, heap");
  EXPECT_STREQ(tiny.Get(), "abcd");
}

struct VmStack {
  Pair* values[3];
};
void VisitVmStack(Visitor& v, void* arg) {
  for (Pair* p : static_cast<VmStack*>(arg)->values) v.Visit(p);
}

TEST_F(CollectorTest, RootSlotsRangesAndCallbacks) {
  static Pair* global_slot = nullptr;
  static Pair* global_range[4] = {};
  heap_.AddRoot(&global_slot);
  heap_.AddRootRange(&global_range[0], &global_range[4]);
  VmStack vm{};
  heap_.AddRootCallback(&VisitVmStack, &vm);
  global_slot = MakeList(m_, 10, 1);
  global_range[2] = MakeList(m_, 10, 2);
  vm.values[1] = MakeList(m_, 10, 3);
  heap_.Collect();
  MakeList(m_, 10000, 0);
  heap_.Collect();
  CheckList(global_slot, 10, 1);
  CheckList(global_range[2], 10, 2);
  CheckList(vm.values[1], 10, 3);
  uint64_t before = Objects();
  heap_.RemoveRoot(&global_slot);
  heap_.Collect();
  EXPECT_EQ(Objects(), before - 10);
  heap_.RemoveRootRange(&global_range[0], &global_range[4]);
  heap_.RemoveRootCallback(&VisitVmStack, &vm);
}

TEST_F(CollectorTest, PersistentHandlesCopyMoveAndReset) {
  Persistent<Pair> a(heap_, MakeList(m_, 5, 1));
  Persistent<Pair> b = a;             // a second root
  Persistent<Pair> c = std::move(a);  // moved: a is empty
  EXPECT_FALSE(a);
  heap_.Collect();
  CheckList(b.Get(), 5, 1);
  uint64_t before = Objects();
  b.Reset();
  heap_.Collect();
  EXPECT_EQ(Objects(), before);  // c still holds the list
  c.Reset();
  heap_.Collect();
  EXPECT_EQ(Objects(), before - 5);
}

TEST_F(CollectorTest, GcPercentOffStopsAutomaticCollection) {
  EXPECT_EQ(heap_.SetGCPercent(-1), 100);
  uint32_t before = heap_.ReadMemStats().num_gc;
  for (int i = 0; i < 20; i++) MakeList(m_, 20000, 0);  // ~10 MB of garbage
  EXPECT_EQ(heap_.ReadMemStats().num_gc, before);
  heap_.SetGCPercent(100);
  for (int i = 0; i < 20; i++) MakeList(m_, 20000, 0);
  EXPECT_GT(heap_.ReadMemStats().num_gc, before);
}

// A balanced tree of 2^(depth+1)-1 pairs.
Pair* MakeTree(Mutator& m, int depth) {
  Pair* p = m.New<Pair>(kPairType);
  p->value = depth;
  if (depth > 0) {
    p->car = MakeTree(m, depth - 1);
    p->cdr = MakeTree(m, depth - 1);
  }
  return p;
}

uint64_t CountTree(Pair* p) {
  return p == nullptr ? 0 : 1 + CountTree(p->car) + CountTree(p->cdr);
}

class PacingTest : public ::testing::TestWithParam<bool> {};

TEST_P(PacingTest, AutomaticCollectionsKeepTheHeapNearTheGoal) {
  // Conservative stacks: the tree under construction lives in C locals
  // while collections run.
  Options o;
  o.max_procs = 2;
  o.concurrent_mark = GetParam();
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  {
    Persistent<Pair> live(heap, MakeTree(m, 16));  // 131071 pairs, ~3 MB
    uint64_t peak = 0;
    for (int i = 0; i < 200; i++) {
      MakeList(m, 10000, 0);
      if (i % 20 == 0) peak = std::max(peak, heap.ReadMemStats().heap_alloc);
    }
    MemStats s = heap.ReadMemStats();
    EXPECT_GT(s.num_gc, 5u);
    EXPECT_EQ(s.num_forced_gc, 0u);
    // Goal = 2 x live (about 6 MiB); allow for objects allocated during a
    // concurrent mark, unswept garbage and cached spans.
    EXPECT_LT(peak, 16u << 20);
    EXPECT_GE(s.next_gc, 4u << 20);
    EXPECT_EQ(CountTree(live.Get()), 131071u);
  }
  heap.DetachCurrentThread();
}

INSTANTIATE_TEST_SUITE_P(Modes, PacingTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return i.param ? "Concurrent" : "StopTheWorld";
                         });

}  // namespace
}  // namespace gcheap::testing
