// The gc layer tested alone, through gc/fake_env.h: the marker (interior
// pointers, oblets, grey batches, work sharing), a whole cycle (stop the
// world and concurrent), the mark-termination loop, specials, and assist
// debt. No runtime, no mutator threads.
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "alloc/testing.h"
#include "base/sanitizers.h"
#include "gc/assist.h"
#include "gc/fake_env.h"
#include "gc/gc.h"
#include "gc/gcwork.h"
#include "gc/mark.h"
#include "gc/specials.h"
#include "gtest/gtest.h"

namespace gcheap::internal {
namespace {

using testing::AllocWithHeader;
using testing::AllocWithTypeBits;
using testing::FakeEnv;
using testing::IsAllocated;
using testing::IsMarked;

struct Node {
  Node* next;
  uint64_t value;
};
constexpr Type kNode = Type::Of<Node>("Node").Pointers(offsetof(Node, next));
constexpr Type kWord = Type::Conservative("Word", 8);

MHeapOptions Quiet() { return testing::NoScavenger(); }

// A heap, a fake env and a marker over a pool of its own.
class MarkerTest : public ::testing::Test {
 protected:
  MarkerTest() : heap_(Quiet()), env_(&heap_), m_(&heap_, &pool_) {}
  Node* List(int n) {
    Node* head = nullptr;
    for (int i = 0; i < n; i++) {
      auto* x = static_cast<Node*>(AllocWithHeader(heap_, env_.cache(), kNode));
      x->next = head;
      x->value = static_cast<uint64_t>(i);
      head = x;
    }
    return head;
  }

  // Hands back the cache's spans, as sweep termination does before a
  // mark: objects allocated from a cached span are published to markers
  // then (MSpan::IsAllocated).
  void Seal() { env_.cache()->ReleaseAll(); }

  MHeap heap_;
  FakeEnv env_;
  WorkPool pool_;
  Marker m_;
};

TEST_F(MarkerTest, GreyFollowsPointersToTheEndOfAList) {
  Node* head = List(1000);
  Node* other = List(10);  // not reachable from head
  Seal();
  m_.Grey(reinterpret_cast<uintptr_t>(head));
  m_.Drain(SIZE_MAX);
  int marked = 0;
  for (Node* x = head; x != nullptr; x = x->next) marked += IsMarked(heap_, x);
  EXPECT_EQ(marked, 1000);
  for (Node* x = other; x != nullptr; x = x->next) {
    EXPECT_FALSE(IsMarked(heap_, x));
  }
  // Header objects of 24 bytes: 1000 slots of the size class.
  MSpan* s = heap_.SpanOf(reinterpret_cast<uintptr_t>(head));
  EXPECT_EQ(m_.marked_bytes(), 1000 * s->elemsize);
}

TEST_F(MarkerTest, InteriorPointersMarkTheirObject) {
  Node* a = List(1);
  Node* b = List(1);
  a->next = reinterpret_cast<Node*>(reinterpret_cast<char*>(b) + 12);
  Seal();
  m_.Grey(reinterpret_cast<uintptr_t>(&a->value));  // into a, past next
  m_.Drain(SIZE_MAX);
  EXPECT_TRUE(IsMarked(heap_, a));
  EXPECT_TRUE(IsMarked(heap_, b));
}

TEST_F(MarkerTest, ValuesThatAreNotHeapObjectsAreIgnored) {
  Node* a = List(1);
  uint64_t local = 0;
  const uintptr_t junk[] = {0, 8, 4095, reinterpret_cast<uintptr_t>(&local),
                            ~uintptr_t{0} - 7};
  Seal();
  for (uintptr_t v : junk) m_.Grey(v);
  m_.Drain(SIZE_MAX);
  EXPECT_EQ(m_.marked_bytes(), 0u);
  EXPECT_FALSE(IsMarked(heap_, a));
}

TEST_F(MarkerTest, TypeBitObjectsAreScannedByTheirMap) {
  auto* a = static_cast<Node*>(AllocWithTypeBits(heap_, env_.cache(), kNode));
  auto* b = static_cast<Node*>(AllocWithTypeBits(heap_, env_.cache(), kNode));
  auto* c = static_cast<Node*>(AllocWithTypeBits(heap_, env_.cache(), kNode));
  a->next = b;
  a->value = reinterpret_cast<uint64_t>(c);  // not a pointer word: ignored
  Seal();
  m_.Grey(reinterpret_cast<uintptr_t>(a));
  m_.Drain(SIZE_MAX);
  EXPECT_TRUE(IsMarked(heap_, b));
  EXPECT_FALSE(IsMarked(heap_, c));
}

// Diagnostics (checkmark, the barrier check) name a header-less object by
// the type that set its span's layout.
TEST_F(MarkerTest, HeaderlessObjectsAreNamedByTheirSpansType) {
  auto* a = static_cast<Node*>(AllocWithTypeBits(heap_, env_.cache(), kNode));
  MSpan* s = heap_.SpanOf(reinterpret_cast<uintptr_t>(a));
  uintptr_t start = 0;
  EXPECT_STREQ(
      DescribeObject(s, s->ObjIndex(reinterpret_cast<uintptr_t>(a)), &start),
      "Node");
  EXPECT_EQ(start, reinterpret_cast<uintptr_t>(a));  // no header to skip
  // Another layout in the same span: the span no longer has one type.
  struct Two {
    void* p;
    uint64_t x;
  };
  static constexpr Type kTwoMaps =
      Type::Of<Two>("Other").Pointers(offsetof(Two, x));
  void* b = nullptr;
  for (int i = 0; i < 1000 && b == nullptr; i++) {
    void* o = AllocWithTypeBits(heap_, env_.cache(), kTwoMaps);
    if (heap_.SpanOf(reinterpret_cast<uintptr_t>(o)) == s) b = o;
  }
  ASSERT_NE(b, nullptr);
  EXPECT_STREQ(DescribeObject(s, s->ObjIndex(reinterpret_cast<uintptr_t>(a))),
               "an object with a pointer map (type bits)");
}

TEST_F(MarkerTest, AHugeObjectIsScannedInObletsToItsLastWord) {
  // A conservative object of 5 oblets and a bit; pointers in its first
  // and last words and one at each oblet boundary.
  const size_t words = (5 * kObletBytes + 4096) / 8;
  auto* big = static_cast<uintptr_t*>(
      AllocWithHeader(heap_, env_.cache(), kWord, words));
  std::vector<Node*> targets;
  std::vector<size_t> at = {0, words - 1};
  for (size_t k = 1; k <= 5; k++) at.push_back(k * kObletBytes / 8 - 2);
  for (size_t i : at) {
    Node* t = List(1);
    big[i] = reinterpret_cast<uintptr_t>(t);
    targets.push_back(t);
  }
  Seal();
  m_.Grey(reinterpret_cast<uintptr_t>(big));
  // Each oblet is queued as its own grey item: one Drain step scans at
  // most one oblet, so the object takes several.
  size_t steps = m_.Drain(SIZE_MAX);
  EXPECT_GE(steps, 6u);
  for (Node* t : targets) EXPECT_TRUE(IsMarked(heap_, t));
  MSpan* s = heap_.SpanOf(reinterpret_cast<uintptr_t>(big));
  EXPECT_GE(m_.scanned_bytes(), words * 8);  // the whole object
  EXPECT_LE(m_.scanned_bytes(), s->elemsize);
}

TEST_F(MarkerTest, GreyBatchMarksEveryValue) {
  std::vector<uintptr_t> vals;
  for (int i = 0; i < 150; i++) {
    vals.push_back(reinterpret_cast<uintptr_t>(List(1)));
  }
  const size_t objects = vals.size();
  vals.push_back(0);
  vals.push_back(12345);
  Seal();
  m_.GreyBatch(vals.data(), vals.size());
  m_.Drain(SIZE_MAX);
  for (size_t i = 0; i < objects; i++) {
    EXPECT_TRUE(IsMarked(heap_, reinterpret_cast<void*>(vals[i])));
  }
  MSpan* s = heap_.SpanOf(vals[0]);
  EXPECT_EQ(m_.marked_bytes(), objects * s->elemsize);
}

TEST_F(MarkerTest, DrainStopsAtItsBudgetAndWorkMovesThroughThePool) {
  Node* head = List(2000);
  // A wide fan-out so there is more than one grey object at a time.
  std::vector<Node*> all;
  for (Node* x = head; x != nullptr; x = x->next) all.push_back(x);
  Seal();
  for (Node* x : all) {
    x->next = nullptr;
    m_.Grey(reinterpret_cast<uintptr_t>(x));
  }
  EXPECT_EQ(m_.Drain(64), 64u);  // budget reached, work left
  // What this marker holds goes to the pool, where another finds it.
  m_.work().Flush();
  EXPECT_TRUE(pool_.HasFull());
  Marker other(&heap_, &pool_);
  size_t n = other.Drain(SIZE_MAX);
  EXPECT_EQ(n, all.size() - 64);
  EXPECT_EQ(m_.Drain(SIZE_MAX), 0u);  // nothing left anywhere
}

// Span-based marking (gc/mark.h): header-less nodes in a random graph and
// in a list allocated in order (pointers into the same span), greyed by
// queueing their spans. One marker scans each reachable object exactly
// once, marks nothing else, and counts what it marked.
TEST_F(MarkerTest, SpanMarkingScansEachReachableObjectOnce) {
  static std::atomic<bool> spans{true};
  m_.SetSpanMarking(&spans);
  constexpr int kNodes = 20000;
  std::vector<Node*> all;
  for (int i = 0; i < kNodes; i++) {
    all.push_back(
        static_cast<Node*>(AllocWithTypeBits(heap_, env_.cache(), kNode)));
  }
  // Nodes [0, kNodes/2): a list in allocation order, then a random chain
  // through the rest; every 7th node of the second half is left out.
  std::mt19937 rng(3);
  std::vector<Node*> tail(all.begin() + kNodes / 2, all.end());
  std::shuffle(tail.begin(), tail.end(), rng);
  std::vector<Node*> order(all.begin(), all.begin() + kNodes / 2);
  std::vector<Node*> dropped;
  for (size_t i = 0; i < tail.size(); i++) {
    (i % 7 == 0 ? dropped : order).push_back(tail[i]);
  }
  for (size_t i = 0; i + 1 < order.size(); i++) order[i]->next = order[i + 1];
  order.back()->next = nullptr;
  for (Node* d : dropped) d->next = order[rng() % order.size()];
  Seal();
  m_.Grey(reinterpret_cast<uintptr_t>(order[0]));
  EXPECT_EQ(m_.Drain(SIZE_MAX), order.size());
  EXPECT_EQ(m_.Drain(SIZE_MAX), 0u);
  EXPECT_TRUE(m_.work().LocalEmpty());
  for (Node* x : order) EXPECT_TRUE(IsMarked(heap_, x));
  for (Node* x : dropped) EXPECT_FALSE(IsMarked(heap_, x));
  MSpan* s = heap_.SpanOf(reinterpret_cast<uintptr_t>(order[0]));
  EXPECT_EQ(m_.marked_bytes(), order.size() * s->elemsize);
  // Every span left the queue.
  for (Node* x : all) {
    EXPECT_EQ(heap_.SpanOf(reinterpret_cast<uintptr_t>(x))->mark_queued.load(),
              MSpan::kNotQueued);
  }
}

// A span taken from the queue for a single object, again and again (a
// heap linked at random), turns sparse: its objects are then queued one by
// one for the rest of the cycle. Spans scanned many objects at a time (a
// list in allocation order) stay span-queued. Either way each reachable
// object is scanned once and nothing else is marked.
TEST_F(MarkerTest, SpanMarkingQueuesSparseSpansObjectByObject) {
  static std::atomic<bool> spans{true};
  m_.SetSpanMarking(&spans);
  constexpr int kNodes = 40000;
  std::vector<Node*> all;
  for (int i = 0; i < kNodes; i++) {
    all.push_back(
        static_cast<Node*>(AllocWithTypeBits(heap_, env_.cache(), kNode)));
  }
  // First half: a list in allocation order. Second half: one chain through
  // its nodes in random order, reached from the list's end.
  // Every 50th node of the second half is left out of the chain.
  std::vector<Node*> order(all.begin(), all.begin() + kNodes / 2);
  std::vector<Node*> random(all.begin() + kNodes / 2, all.end());
  std::shuffle(random.begin(), random.end(), std::mt19937(11));
  std::vector<Node*> dropped;
  for (size_t i = 0; i < random.size(); i++) {
    (i % 50 == 0 ? dropped : order).push_back(random[i]);
  }
  for (size_t i = 0; i + 1 < order.size(); i++) order[i]->next = order[i + 1];
  order.back()->next = nullptr;
  for (Node* d : dropped) d->next = nullptr;
  Seal();
  m_.Grey(reinterpret_cast<uintptr_t>(order[0]));
  EXPECT_EQ(m_.Drain(SIZE_MAX), order.size());
  EXPECT_EQ(m_.Drain(SIZE_MAX), 0u);
  for (Node* x : order) ASSERT_TRUE(IsMarked(heap_, x));
  for (Node* x : dropped) ASSERT_FALSE(IsMarked(heap_, x));
  MSpan* first = heap_.SpanOf(reinterpret_cast<uintptr_t>(all.front()));
  EXPECT_EQ(m_.marked_bytes(), order.size() * first->elemsize);
  // Spans wholly inside one half: the list's stayed dense, the chain's
  // turned sparse.
  MSpan* mid = heap_.SpanOf(reinterpret_cast<uintptr_t>(all[kNodes / 2]));
  int dense = 0, sparse = 0;
  for (size_t i = 0; i < all.size();) {
    MSpan* s = heap_.SpanOf(reinterpret_cast<uintptr_t>(all[i]));
    if (s != first && s != mid) {
      if (i < kNodes / 2) {
        EXPECT_EQ(s->mark_sparse, 0) << "list span " << i;
        dense++;
      } else {
        EXPECT_EQ(s->mark_sparse, MSpan::kSparseAfter) << "chain span " << i;
        sparse++;
      }
    }
    while (i < all.size() &&
           heap_.SpanOf(reinterpret_cast<uintptr_t>(all[i])) == s) {
      i++;
    }
  }
  EXPECT_GE(dense, 10);
  EXPECT_GE(sparse, 10);
  // A grey in a sparse span queues the object itself, not its span.
  Node* late = dropped.back();
  MSpan* ls = heap_.SpanOf(reinterpret_cast<uintptr_t>(late));
  ASSERT_EQ(ls->mark_sparse, MSpan::kSparseAfter);
  m_.Grey(reinterpret_cast<uintptr_t>(late));
  EXPECT_EQ(ls->mark_queued.load(), MSpan::kNotQueued);
  const uintptr_t e = m_.work().TryGet();
  EXPECT_EQ(e & Marker::kSpanEntryBit, 0u);
  EXPECT_EQ(Marker::EntryAddress(e), reinterpret_cast<uintptr_t>(late));
  for (Node* x : all) {
    EXPECT_EQ(heap_.SpanOf(reinterpret_cast<uintptr_t>(x))->mark_queued.load(),
              MSpan::kNotQueued);
  }
}

// Allocate-black marks a cached span's free slots; span-based marking must
// not scan them (their memory is not an object).
TEST_F(MarkerTest, SpanMarkingLeavesAllocateBlackSlotsAlone) {
  static std::atomic<bool> spans{true};
  m_.SetSpanMarking(&spans);
  auto* a = static_cast<Node*>(AllocWithTypeBits(heap_, env_.cache(), kNode));
  auto* b = static_cast<Node*>(AllocWithTypeBits(heap_, env_.cache(), kNode));
  a->next = b;
  b->next = nullptr;
  Seal();
  MSpan* s = heap_.SpanOf(reinterpret_cast<uintptr_t>(a));
  // The free slots hold garbage that looks like pointers into the span.
  // (AddressSanitizer builds poison free slots: opened for the writes
  // here, poisoned again below.)
  for (uintptr_t i = 2; i < s->nelems; i++) {
    UnpoisonMemory(reinterpret_cast<void*>(s->ObjBase(i)), s->elemsize);
    *reinterpret_cast<uintptr_t*>(s->ObjBase(i)) =
        reinterpret_cast<uintptr_t>(a);
  }
  s->MarkFreeSlots(true);
  // Both greyed before the span is scanned: the scan walks its bitmaps.
  m_.Grey(reinterpret_cast<uintptr_t>(a));
  m_.Grey(reinterpret_cast<uintptr_t>(b));
  EXPECT_EQ(m_.Drain(SIZE_MAX), 2u);  // a and b, no free slot
  s->MarkFreeSlots(false);
  EXPECT_EQ(s->CountMarked(), 2);
  for (uintptr_t i = 2; i < s->nelems; i++) {
    PoisonMemory(reinterpret_cast<void*>(s->ObjBase(i)), s->elemsize);
  }
}

// Several markers scan one graph's spans at once; every reachable object
// is marked (a race on a span's scan bits may scan an object twice, never
// leave one unscanned).
TEST_F(MarkerTest, SpanMarkersSharingWorkMarkEverything) {
  static std::atomic<bool> spans{true};
  constexpr int kNodes = 50000;
  std::vector<Node*> all;
  for (int i = 0; i < kNodes; i++) {
    all.push_back(
        static_cast<Node*>(AllocWithTypeBits(heap_, env_.cache(), kNode)));
  }
  // One list through the nodes in random order: nearly every pointer
  // leads to another span.
  std::vector<Node*> order = all;
  std::shuffle(order.begin(), order.end(), std::mt19937(5));
  for (int i = 0; i + 1 < kNodes; i++) order[i]->next = order[i + 1];
  order.back()->next = nullptr;
  Seal();
  std::vector<std::unique_ptr<Marker>> markers;
  for (int i = 0; i < 4; i++) {
    markers.push_back(std::make_unique<Marker>(&heap_, &pool_));
    markers.back()->SetSpanMarking(&spans);
  }
  // Many roots, so there is work to share from the start.
  for (int i = 0; i < kNodes; i += 97) {
    markers[0]->Grey(reinterpret_cast<uintptr_t>(order[i]));
  }
  markers[0]->work().Flush();
  std::vector<std::thread> ts;
  for (auto& m : markers) {
    ts.emplace_back([mk = m.get()] {
      while (mk->Drain(16) >= 16) mk->work().Balance();
      mk->work().Flush();
    });
  }
  for (auto& t : ts) t.join();
  // Whatever a marker left (it ran out while another still had work).
  while (markers[0]->Drain(SIZE_MAX) != 0) {
  }
  for (Node* x : order) ASSERT_TRUE(IsMarked(heap_, x));
  for (auto& m : markers) EXPECT_TRUE(m->work().LocalEmpty());
}

TEST_F(MarkerTest, ScanRangeGreysEveryHeapWordOfARange) {
  Node* a = List(1);
  Node* b = List(1);
  uintptr_t range[4] = {7, reinterpret_cast<uintptr_t>(a), 0,
                        reinterpret_cast<uintptr_t>(b) + 8};
  Seal();
  m_.ScanRange(range, range + 4);
  m_.Drain(SIZE_MAX);
  EXPECT_TRUE(IsMarked(heap_, a));
  EXPECT_TRUE(IsMarked(heap_, b));
}

// Whole cycles through the fake env.
class CycleTest : public ::testing::TestWithParam<bool> {
 protected:
  CycleTest() : heap_(Quiet()), env_(&heap_) {
    CollectorOptions o;
    o.concurrent = GetParam();
    o.mark_workers = 0;
    o.idle_mark = false;
    collector_ = std::make_unique<Collector>(&heap_, &env_, o);
  }
  ~CycleTest() override {
    collector_.reset();
    heap_.SweepAll();
  }
  Node* List(int n) {
    Node* head = nullptr;
    for (int i = 0; i < n; i++) {
      auto* x = static_cast<Node*>(AllocWithHeader(heap_, env_.cache(), kNode));
      x->next = head;
      head = x;
    }
    return head;
  }
  void Collect() {
    collector_->RunCycle(GcReason::kForced);
    collector_->FinishSweep();  // sweep everything now
    collector_->ResumeSweeper();
  }

  MHeap heap_;
  FakeEnv env_;
  std::unique_ptr<Collector> collector_;
};

TEST_P(CycleTest, FreesWhatNoRootReachesAndKeepsTheRest) {
  Node* live = List(500);
  Node* dead = List(500);
  std::vector<Node*> dead_nodes;
  for (Node* x = dead; x != nullptr; x = x->next) dead_nodes.push_back(x);
  env_.roots.push_back(reinterpret_cast<void**>(&live));
  Collect();
  int alive = 0;
  for (Node* x = live; x != nullptr; x = x->next)
    alive += IsAllocated(heap_, x);
  EXPECT_EQ(alive, 500);
  int freed = 0;
  for (Node* x : dead_nodes) freed += !IsAllocated(heap_, x);
  EXPECT_EQ(freed, 500);
  // The world was stopped and started in pairs; heap_live is the marked
  // heap.
  EXPECT_EQ(env_.stops, env_.starts);
  EXPECT_GE(env_.stops, 1);
  MSpan* s = heap_.SpanOf(reinterpret_cast<uintptr_t>(live));
  EXPECT_EQ(collector_->ReadStats().last_marked, 500 * s->elemsize);
  EXPECT_EQ(collector_->ReadStats().num_gc, 1u);
  EXPECT_EQ(collector_->ReadStats().num_forced_gc, 1u);
  EXPECT_EQ(collector_->phase(), GcPhase::kOff);
  EXPECT_FALSE(collector_->marking());
}

TEST_P(CycleTest, DestructorsRunForFreedObjectsOnly) {
  static int destroyed;
  destroyed = 0;
  static constexpr Type kCounted =
      Type::Of<Node>("Counted")
          .Pointers(offsetof(Node, next))
          .WithDestructor([](void*) { destroyed++; });
  void* keep = AllocWithHeader(heap_, env_.cache(), kCounted);
  for (int i = 0; i < 10; i++) AllocWithHeader(heap_, env_.cache(), kCounted);
  env_.roots.push_back(&keep);
  Collect();
  EXPECT_EQ(destroyed, 10);
  Collect();
  EXPECT_EQ(destroyed, 10);  // the kept one lives on
}

INSTANTIATE_TEST_SUITE_P(Modes, CycleTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& i) {
                           return i.param ? "Concurrent" : "StopTheWorld";
                         });

using MarkTerminationTest = CycleTest;

// A ragged flush that turns up work (what a mutator's barrier shaded)
// sends the mark back to the markers, and the cycle marks it.
TEST_P(MarkTerminationTest, WorkFromARaggedFlushIsMarkedBeforeTheMarkEnds) {
  Node* root = List(1);
  // Three lists reachable only through the "barrier".
  Node* hidden[3] = {List(100), List(100), List(100)};
  env_.roots.push_back(reinterpret_cast<void**>(&root));
  int flushes = 0;
  env_.on_ragged_flush = [&] {
    // The first three flushes each shade one list, as a barrier would for
    // a pointer the program moved during the mark.
    if (flushes < 3) collector_->Shade(hidden[flushes]);
    flushes++;
  };
  std::vector<Node*> nodes;
  for (Node* h : hidden) {
    for (Node* x = h; x != nullptr; x = x->next) nodes.push_back(x);
  }
  Collect();
  EXPECT_EQ(env_.ragged_flushes, 4);  // three with work, one without
  int alive = 0;
  for (Node* x : nodes) alive += IsAllocated(heap_, x);
  EXPECT_EQ(alive, 300);
  EXPECT_EQ(env_.stops, env_.starts);
}

// Work that turns up only at the final stop restarts the world and the
// mark (at most a few times), and is marked too.
TEST_P(MarkTerminationTest, WorkFoundAtTheStopRestartsTheMark) {
  Node* root = List(1);
  Node* hidden = List(10);
  env_.roots.push_back(reinterpret_cast<void**>(&root));
  int stop_flushes = 0;
  env_.on_stop_flush = [&] {
    if (++stop_flushes == 1) collector_->Shade(hidden);
  };
  std::vector<Node*> nodes;
  for (Node* x = hidden; x != nullptr; x = x->next) nodes.push_back(x);
  Collect();
  EXPECT_EQ(stop_flushes, 2);  // found work, restarted; then done
  // Sweep termination, two mark-termination stops: three stops.
  EXPECT_EQ(env_.stops, 3);
  EXPECT_EQ(env_.starts, 3);
  int alive = 0;
  for (Node* x : nodes) alive += IsAllocated(heap_, x);
  EXPECT_EQ(alive, 10);
}

INSTANTIATE_TEST_SUITE_P(Concurrent, MarkTerminationTest,
                         ::testing::Values(true));

// Specials: finalizers and weak handles of objects the cycle frees.
TEST(SpecialsTest, FinalizersQueueAndWeakHandlesClearForDeadObjectsOnly) {
  MHeap heap(Quiet());
  FakeEnv env(&heap);
  Specials specials(&heap);
  env.specials = &specials;
  CollectorOptions o;
  o.mark_workers = 0;
  Collector collector(&heap, &env, o);
  auto alloc = [&] { return AllocWithHeader(heap, env.cache(), kNode); };
  auto where = [&](void* p, MSpan** s, uintptr_t* slot) {
    auto a = reinterpret_cast<uintptr_t>(p);
    *s = heap.SpanOf(a);
    *slot = (*s)->ObjBase((*s)->ObjIndex(a));
  };
  void* kept = alloc();
  void* dead = alloc();
  void* weak_dead = alloc();
  env.roots.push_back(&kept);
  MSpan* s;
  uintptr_t slot;
  where(kept, &s, &slot);
  ASSERT_TRUE(specials.SetFinalizer(
      s, slot, kept, [](void*, void*) {}, nullptr));
  WeakCell* kept_cell = specials.WeakCellFor(s, slot, kept);
  where(dead, &s, &slot);
  int tag = 7;
  ASSERT_TRUE(specials.SetFinalizer(
      s, slot, dead, [](void*, void*) {}, &tag));
  EXPECT_FALSE(specials.SetFinalizer(
      s, slot, dead, [](void*, void*) {}, nullptr));
  where(weak_dead, &s, &slot);
  WeakCell* dead_cell = specials.WeakCellFor(s, slot, weak_dead);

  collector.RunCycle(GcReason::kForced);
  collector.FinishSweep();
  collector.ResumeSweeper();

  // The dead object's finalizer is queued, with the object kept for it.
  QueuedCall call;
  ASSERT_TRUE(specials.queue().TryPop(&call));
  EXPECT_EQ(call.object, dead);
  EXPECT_EQ(call.arg, &tag);
  EXPECT_FALSE(specials.queue().TryPop(&call));
  EXPECT_TRUE(IsAllocated(heap, dead));  // resurrected for its finalizer
  // Weak handles: the live object's still resolves, the dead one's is
  // cleared.
  EXPECT_EQ(specials.WeakGet(kept_cell), kept);
  EXPECT_EQ(specials.WeakGet(dead_cell), nullptr);
  EXPECT_FALSE(IsAllocated(heap, weak_dead));
  Specials::ReleaseWeakCell(kept_cell);
  Specials::ReleaseWeakCell(dead_cell);
}

// Assist debt: the ratio of scan work left to heap left, credit first.
class AssistTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kMiB = 1 << 20;
  AssistTest()
      : heap_(Quiet()),
        env_(&heap_),
        limiter_(1),
        assists_(&heap_, &env_, &limiter_),
        m_(&heap_, &pool_) {
    // Mark began at 10 MiB; 4 MiB of scanning expected; goal 20 MiB; the
    // soft and hard goals assists pace by: 16 and 22 MiB.
    assists_.BeginMark(10 * kMiB, 4 * kMiB, 20 * kMiB,
                       Pacer::MarkGoals{.soft = 16 * kMiB, .hard = 22 * kMiB});
  }
  void SetLive(uint64_t bytes) {
    heap_.heap_live().store(static_cast<int64_t>(bytes));
  }
  int64_t DebtFor(uint64_t bytes) {
    int64_t debt = 0;
    assists_.Assist(m_, &debt, bytes);  // the pool is empty: no work done
    return debt;
  }

  MHeap heap_;
  FakeEnv env_;
  GcCpuLimiter limiter_;
  Assists assists_;
  WorkPool pool_;
  Marker m_;
};

TEST_F(AssistTest, DebtIsScanLeftOverHeapLeftBeforeTheSoftGoal) {
  SetLive(12 * kMiB);
  EXPECT_EQ(DebtFor(kMiB), static_cast<int64_t>(kMiB));  // 4 MiB / 4 MiB
  SetLive(14 * kMiB);
  EXPECT_EQ(DebtFor(kMiB), static_cast<int64_t>(2 * kMiB));  // 4 / 2
}

TEST_F(AssistTest, PastTheSoftGoalItAssumesTheWholeHeapByTheHardGoal) {
  SetLive(17 * kMiB);  // scan left: max(4, h0 10) MiB; heap left: 5 MiB
  EXPECT_EQ(DebtFor(kMiB), static_cast<int64_t>(2 * kMiB));
  SetLive(23 * kMiB);  // past the hard goal: a runway of goal/128
  const double runway = 22.0 * kMiB / 128;
  EXPECT_EQ(DebtFor(kMiB), static_cast<int64_t>(static_cast<double>(kMiB) * 10 *
                                                kMiB / runway));
}

TEST_F(AssistTest, BackgroundCreditPaysFirst) {
  SetLive(12 * kMiB);
  assists_.AddBackgroundWork(kMiB / 4);  // also counts as scan done
  // (4 - 0.25) MiB of scan left over 4 MiB of heap, less the credit.
  EXPECT_EQ(DebtFor(kMiB), static_cast<int64_t>(kMiB * 15 / 16) -
                               static_cast<int64_t>(kMiB / 4));
  EXPECT_EQ(assists_.credit(), 0);
  assists_.AddBackgroundWork(4 * kMiB);  // more than any debt
  EXPECT_EQ(DebtFor(kMiB), 0);
}

TEST_F(AssistTest, TheLimiterWaivesAssistsOnlyBelowTheGoal) {
  ASSERT_TRUE(limiter_.Update(2'000'000'000, 2'000'000'000));  // on
  SetLive(15 * kMiB);
  EXPECT_EQ(DebtFor(kMiB), 0);
  SetLive(21 * kMiB);  // past the cycle's goal: assists pay again
  EXPECT_GT(DebtFor(kMiB), 0);
}

TEST_F(AssistTest, DebtIsPaidByScanningGreyObjects) {
  // 5000 grey objects in the pool: 80 KB of scanning (a header object
  // counts its Type's size).
  std::vector<void*> objs;
  for (int i = 0; i < 5000; i++) {
    objs.push_back(AllocWithHeader(heap_, env_.cache(), kNode));
  }
  env_.cache()->ReleaseAll();  // publish them to markers
  Marker feeder(&heap_, &pool_);
  for (void* p : objs) feeder.Grey(reinterpret_cast<uintptr_t>(p));
  feeder.work().Flush();
  SetLive(12 * kMiB);
  int64_t debt = 0;
  assists_.Assist(m_, &debt, kMiB / 16);  // owes 64 KiB at a ratio of 1
  // It scans its step, 64 KiB, in batches of 64 objects, and keeps the
  // surplus as credit (a negative debt); the rest stays grey in the pool.
  const auto batch = static_cast<int64_t>(64 * kNode.size());
  EXPECT_LE(debt, 0);
  EXPECT_GT(debt, -batch);
  const size_t scanned = static_cast<size_t>((64 << 10) - debt) / kNode.size();
  EXPECT_EQ(assists_.active(), 0);
  Marker rest(&heap_, &pool_);
  EXPECT_EQ(rest.Drain(SIZE_MAX), 5000 - scanned);
}

}  // namespace
}  // namespace gcheap::internal
