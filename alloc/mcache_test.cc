// Allocation through an MCache: tiers, zeroing, tiny packing, large
// objects, refill, counters, bad input.
#include "alloc/mcache.h"

#include <string.h>

#include <algorithm>
#include <set>
#include <vector>

#include "alloc/mheap.h"
#include "alloc/testing.h"
#include "gtest/gtest.h"

namespace gcheap::internal {
namespace {

using testing::NoScavenger;

class MCacheTest : public ::testing::Test {
 protected:
  MCacheTest() : heap_(NoScavenger()), c_(heap_.NewMCache()) {}
  ~MCacheTest() override { heap_.FreeMCache(c_); }

  // Marks nothing, starts a sweep cycle and sweeps everything: all
  // objects die.
  void CollectAll() {
    c_->ReleaseAll();
    heap_.BeginSweepCycle();
    heap_.SweepAll();
  }

  MHeap heap_;
  MCache* c_;
};

TEST_F(MCacheTest, SmallObjectsComeFromTheirSizeClass) {
  for (size_t size : {1, 8, 24, 33, 100, 1000, 20000, 32768}) {
    for (bool noscan : {false, true}) {
      if (noscan && size < kTinySize) continue;
      void* p = c_->Alloc(size, noscan);
      ASSERT_NE(p, nullptr);
      MSpan* s = heap_.SpanOf(reinterpret_cast<uintptr_t>(p));
      ASSERT_NE(s, nullptr);
      EXPECT_EQ(s->spanclass, SpanClass::Make(SizeToClass(size), noscan));
      EXPECT_GE(s->elemsize, size);
      EXPECT_EQ(heap_.FindObject(p), p);
      EXPECT_EQ((reinterpret_cast<uintptr_t>(p) - s->start_addr) % s->elemsize,
                0u);
    }
  }
}

TEST_F(MCacheTest, EverythingHandedOutIsZeroedEvenAfterReuse) {
  for (int round = 0; round < 3; round++) {
    std::vector<std::pair<char*, size_t>> objs;
    for (int i = 0; i < 3000; i++) {
      size_t size = 1 + (i * 37) % 3000;
      char* p = static_cast<char*>(c_->Alloc(size, i % 2 == 0));
      ASSERT_NE(p, nullptr);
      for (size_t j = 0; j < size; j++) ASSERT_EQ(p[j], 0) << round << " " << i;
      memset(p, 0xEE, size);  // dirty it for the next round
      objs.push_back({p, size});
    }
    CollectAll();  // all die; spans and slots are reused dirty
  }
}

TEST_F(MCacheTest, ObjectsDoNotOverlap) {
  std::set<std::pair<uintptr_t, uintptr_t>> ranges;
  for (int i = 0; i < 5000; i++) {
    size_t size = 1 + (i * 131) % 2048;
    auto p = reinterpret_cast<uintptr_t>(c_->Alloc(size, i % 3 == 0));
    auto it = ranges.lower_bound({p, 0});
    if (it != ranges.end()) {
      ASSERT_GE(it->first, p + size);
    }
    if (it != ranges.begin()) {
      ASSERT_LE(std::prev(it)->second, p);
    }
    ranges.insert({p, p + size});
  }
}

TEST_F(MCacheTest, TinyAllocationsShareABlockWithAlignment) {
  // The classic sequence: 1, 2, 4, 8 byte pointer-free requests.
  auto a = reinterpret_cast<uintptr_t>(c_->Alloc(1, true));
  auto b = reinterpret_cast<uintptr_t>(c_->Alloc(2, true));
  auto d = reinterpret_cast<uintptr_t>(c_->Alloc(4, true));
  auto e = reinterpret_cast<uintptr_t>(c_->Alloc(8, true));
  EXPECT_EQ(c_->tiny_block(), a);  // a started the block
  EXPECT_EQ(b, a + 2);             // aligned to 2
  EXPECT_EQ(d, a + 4);             // aligned to 4
  EXPECT_EQ(e, a + 8);             // aligned to 8, fills the block
  // Next request does not fit: a new block.
  auto f = reinterpret_cast<uintptr_t>(c_->Alloc(3, true));
  EXPECT_EQ(f % 16, 0u);
  EXPECT_NE(f / 16, a / 16);
  MSpan* s = heap_.SpanOf(a);
  EXPECT_EQ(s->spanclass, SpanClass::Make(2, true));
  // FindObject maps every sub-object to its block.
  EXPECT_EQ(heap_.FindObject(reinterpret_cast<void*>(e)),
            reinterpret_cast<void*>(a));
  c_->FlushStats();
  AllocStatsSnapshot st = heap_.ReadStats();
  EXPECT_EQ(st.tiny_allocs, 3u);  // b, d, e fit in a's block
}

TEST_F(MCacheTest, TinyKeepsTheBlockWithMoreRoom) {
  auto a = reinterpret_cast<uintptr_t>(c_->Alloc(12, true));
  auto b = reinterpret_cast<uintptr_t>(c_->Alloc(8, true));  // new block
  EXPECT_NE(a / 16, b / 16);
  EXPECT_EQ(c_->tiny_block(), b);  // 8 left in b's block vs 4 in a's
  auto d = reinterpret_cast<uintptr_t>(c_->Alloc(8, true));
  EXPECT_EQ(d, b + 8);
}

TEST_F(MCacheTest, TinyFastPathTakesNewBlocksUntilTheSpansWordIsSpent) {
  // The mutator's fast path (TryAllocTinyOrBlock) packs as AllocTiny does
  // and takes fresh blocks itself; it gives up (null: the caller's slow
  // path) only when the 16-byte span's current 64-slot word is spent.
  auto first = reinterpret_cast<uintptr_t>(c_->Alloc(8, true));  // refill
  MSpan* s = heap_.SpanOf(first);
  ASSERT_EQ(s->spanclass, SpanClass::Make(2, true));
  std::vector<uintptr_t> got{first};
  while (true) {
    void* p = c_->TryAllocTinyOrBlock(8);
    if (p == nullptr) break;
    got.push_back(reinterpret_cast<uintptr_t>(p));
    ASSERT_LT(got.size(), 200u) << "the fast path never gave up";
  }
  // Two 8-byte pieces per block, blocks in slot order, all in one word.
  ASSERT_EQ(got.size() % 2, 0u);
  for (size_t i = 0; i < got.size(); i++) {
    EXPECT_EQ(got[i], first + 8 * i) << i;
    EXPECT_EQ(heap_.SpanOf(got[i]), s);
  }
  EXPECT_EQ(got.size(), 2u * (64 - (first - s->start_addr) / 16));
  // The slow path moves on to the next word.
  auto next = reinterpret_cast<uintptr_t>(c_->Alloc(8, true));
  EXPECT_EQ(next, got.back() + 8);
  c_->FlushStats();
  EXPECT_EQ(heap_.ReadStats().tiny_allocs, got.size() / 2);  // second halves
}

TEST_F(MCacheTest, PointerfulSmallRequestsSkipTheTinyAllocator) {
  auto a = c_->Alloc(8, false);
  auto b = c_->Alloc(8, false);
  EXPECT_EQ(heap_.SpanOf(reinterpret_cast<uintptr_t>(a))->spanclass,
            SpanClass::Make(1, false));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b) - reinterpret_cast<uintptr_t>(a),
            8u);
  EXPECT_EQ(c_->tiny_block(), 0u);
}

TEST_F(MCacheTest, LargeObjectsGetTheirOwnSpan) {
  const size_t kSize = 40000;
  char* p = static_cast<char*>(c_->Alloc(kSize, false));
  ASSERT_NE(p, nullptr);
  MSpan* s = heap_.SpanOf(reinterpret_cast<uintptr_t>(p));
  ASSERT_NE(s, nullptr);
  EXPECT_TRUE(s->is_large());
  EXPECT_EQ(s->start_addr, reinterpret_cast<uintptr_t>(p));
  EXPECT_EQ(s->npages, (kSize + kPageSize - 1) / kPageSize);
  for (size_t i = 0; i < kSize; i++) ASSERT_EQ(p[i], 0);
  EXPECT_EQ(heap_.FindObject(p + kSize - 1), p);  // interior
  memset(p, 1, kSize);
  // Dies, and its pages come back zeroed for the next large object.
  CollectAll();
  EXPECT_EQ(heap_.FindObject(p), nullptr);
  char* q = static_cast<char*>(c_->Alloc(kSize, false));
  for (size_t i = 0; i < kSize; i++) ASSERT_EQ(q[i], 0);
}

TEST_F(MCacheTest, HugeObjectBeyondOneArena) {
  const size_t kSize = 100 << 20;  // 100 MiB: its own reservation
  char* p = static_cast<char*>(c_->Alloc(kSize, true));
  ASSERT_NE(p, nullptr);
  p[0] = 1;
  p[kSize - 1] = 2;
  EXPECT_EQ(heap_.FindObject(p + kSize / 2), p);
  c_->FlushStats();
  EXPECT_GE(heap_.ReadStats().heap_sys, kSize);
}

TEST_F(MCacheTest, OverflowingSizesFailCleanly) {
  void* keep = c_->Alloc(64, false);
  memset(keep, 7, 64);
  EXPECT_EQ(c_->Alloc(SIZE_MAX, false), nullptr);
  EXPECT_EQ(c_->Alloc(SIZE_MAX - kPageSize + 2, true), nullptr);
  EXPECT_EQ(c_->Alloc(size_t{1} << 62, true), nullptr);
  // Nothing was lost: the old object is intact and allocation goes on.
  for (int i = 0; i < 64; i++) EXPECT_EQ(static_cast<char*>(keep)[i], 7);
  EXPECT_NE(c_->Alloc(64, false), nullptr);
}

TEST(MCacheLimitTest, MemoryLimitExhaustionFailsAndLosesNothing) {
  MHeapOptions o = NoScavenger();
  o.memory_limit = 8 << 20;
  MHeap heap(o);
  MCache* c = heap.NewMCache();
  std::vector<uint64_t*> objs;
  while (true) {
    auto* p = static_cast<uint64_t*>(c->Alloc(1024, false));
    if (p == nullptr) break;
    *p = objs.size();
    objs.push_back(p);
    ASSERT_LT(objs.size(), 100000u) << "limit not enforced";
  }
  c->FlushStats();
  AllocStatsSnapshot st = heap.ReadStats();
  EXPECT_LE(st.heap_sys, o.memory_limit);
  EXPECT_GT(objs.size(), 5000u);  // most of the 8 MiB was usable
  for (size_t i = 0; i < objs.size(); i++) ASSERT_EQ(*objs[i], i);
  EXPECT_EQ(c->Alloc(1 << 20, false), nullptr);  // large fails too
  // After everything dies the memory is usable again.
  c->ReleaseAll();
  heap.BeginSweepCycle();
  heap.SweepAll();
  EXPECT_NE(c->Alloc(1024, false), nullptr);
  EXPECT_NE(c->Alloc(1 << 20, false), nullptr);
  heap.FreeMCache(c);
}

TEST_F(MCacheTest, CountersMatchWhatWasAllocated) {
  const int kN = 10000;
  for (int i = 0; i < kN; i++) c_->Alloc(48, false);
  for (int i = 0; i < 10; i++) c_->Alloc(50000, true);
  c_->ReleaseAll();
  AllocStatsSnapshot st = heap_.ReadStats();
  EXPECT_EQ(st.small_mallocs[SizeToClass(48)], static_cast<uint64_t>(kN));
  EXPECT_EQ(st.large_mallocs, 10u);
  EXPECT_EQ(st.mallocs, static_cast<uint64_t>(kN) + 10);
  EXPECT_EQ(st.heap_objects, static_cast<uint64_t>(kN) + 10);
  EXPECT_EQ(st.heap_alloc, kN * 48u + 10 * 7 * kPageSize);
  EXPECT_LE(st.heap_alloc, st.heap_inuse);
  EXPECT_LE(st.heap_inuse, st.heap_sys);
  heap_.BeginSweepCycle();
  heap_.SweepAll();
  st = heap_.ReadStats();
  EXPECT_EQ(st.frees, st.mallocs);
  EXPECT_EQ(st.heap_objects, 0u);
  EXPECT_EQ(st.heap_alloc, 0u);
  EXPECT_EQ(st.heap_inuse, 0u);
}

TEST_F(MCacheTest, HandedBytesCountTheFreeSlotsOfEachWord) {
  // Fill one span of 16-byte objects, keep every other one through a
  // sweep: each 64-slot word of the span then has 32 free slots.
  auto* first = static_cast<char*>(c_->Alloc(16, false));
  ASSERT_NE(first, nullptr);
  MSpan* s = heap_.SpanOf(reinterpret_cast<uintptr_t>(first));
  ASSERT_NE(s, nullptr);
  for (uint32_t i = 1; i < s->nelems; i++) {
    ASSERT_EQ(heap_.SpanOf(reinterpret_cast<uintptr_t>(c_->Alloc(16, false))),
              s);
  }
  EXPECT_EQ(c_->TakeHandedBytes(), uint64_t{s->nelems} * s->elemsize);
  EXPECT_EQ(c_->TakeHandedBytes(), 0u);  // the call resets it
  for (uint32_t i = 0; i < s->nelems; i += 2) s->TryMark(i);
  c_->ReleaseAll();
  heap_.BeginSweepCycle();
  heap_.SweepAll();
  ASSERT_EQ(s->alloc_count, s->nelems / 2);

  // Allocating the free half hands out its words at 32 slots each: the
  // count is what was handed, not 64 slots a word.
  for (uint32_t i = 0; i < s->nelems / 2; i++) {
    void* p = c_->Alloc(16, false);
    ASSERT_EQ(heap_.SpanOf(reinterpret_cast<uintptr_t>(p)), s);
    if (i == 0) {
      EXPECT_EQ(c_->TakeHandedBytes(), 32 * s->elemsize);
    }
  }
  EXPECT_EQ(c_->TakeHandedBytes(), (s->nelems / 2 - 32) * s->elemsize);
  // ReleaseAll forgets what was handed (a mark begins with empty caches).
  c_->Alloc(16, false);
  c_->ReleaseAll();
  EXPECT_EQ(c_->TakeHandedBytes(), 0u);
}

// A span that keeps live objects through a sweep hands out its freed slots
// dirty: each is cleared as it is handed out (gch_internal_zero_slot:
// stores up to 64 bytes, memset beyond), for every slot size.
TEST_F(MCacheTest, SlotsReusedInPartlyLiveSpansAreZeroed) {
  for (size_t size : {8, 16, 24, 32, 48, 64, 80, 96, 128, 256, 512}) {
    std::vector<char*> objs;
    for (int i = 0; i < 1500; i++) {
      auto* p = static_cast<char*>(c_->Alloc(size, false));
      ASSERT_NE(p, nullptr);
      memset(p, 0xEE, size);
      objs.push_back(p);
    }
    for (size_t i = 0; i < objs.size(); i += 2) {  // every other one lives
      const auto a = reinterpret_cast<uintptr_t>(objs[i]);
      MSpan* s = heap_.SpanOf(a);
      s->TryMark(s->ObjIndex(a));
    }
    c_->ReleaseAll();
    heap_.BeginSweepCycle();
    heap_.SweepAll();
    int reused = 0;
    for (int i = 0; i < 700; i++) {
      auto* p = static_cast<char*>(c_->Alloc(size, false));
      ASSERT_NE(p, nullptr);
      if (std::find(objs.begin(), objs.end(), p) != objs.end()) reused++;
      for (size_t j = 0; j < size; j++) {
        ASSERT_EQ(p[j], 0) << size << "-byte slot " << i << ", byte " << j;
      }
    }
    EXPECT_GT(reused, 0) << size << ": no freed slot was handed out again";
    CollectAll();
  }
}

TEST(TwoHeapsTest, HeapsAreIndependent) {
  MHeap a(NoScavenger()), b(NoScavenger());
  MCache* ca = a.NewMCache();
  MCache* cb = b.NewMCache();
  void* pa = ca->Alloc(100, false);
  void* pb = cb->Alloc(100, false);
  EXPECT_EQ(a.FindObject(pa), pa);
  EXPECT_EQ(b.FindObject(pb), pb);
  EXPECT_EQ(a.FindObject(pb), nullptr);  // not a's object
  EXPECT_EQ(b.FindObject(pa), nullptr);
  ca->ReleaseAll();
  a.BeginSweepCycle();
  a.SweepAll();  // frees pa; pb unaffected
  EXPECT_EQ(a.FindObject(pa), nullptr);
  EXPECT_EQ(b.FindObject(pb), pb);
  a.FreeMCache(ca);
  b.FreeMCache(cb);
}

TEST(MHeapDeathTest, DestroyingAHeapWithALiveMCacheIsAnError) {
  EXPECT_DEATH(
      {
        MHeap h(NoScavenger());
        h.NewMCache();
      },
      "heap destroyed with 1 mcache\\(s\\) still in use");
}

}  // namespace
}  // namespace gcheap::internal
