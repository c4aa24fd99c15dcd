// The page heap, the address map, sweeping by sweepgen and the scavenger.
#include "alloc/mheap.h"

#include <stdio.h>
#include <string.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "alloc/mcache.h"
#include "alloc/scavenger.h"
#include "alloc/testing.h"
#include "gtest/gtest.h"

namespace gcheap::internal {
namespace {

using testing::NoScavenger;

class MHeapTest : public ::testing::Test {
 protected:
  MHeapTest() : heap_(NoScavenger()), c_(heap_.NewMCache()) {}
  ~MHeapTest() override { heap_.FreeMCache(c_); }
  MHeap heap_;
  MCache* c_;
};

TEST_F(MHeapTest, FindObjectResolvesInteriorPointersAndRejectsTheRest) {
  // 33 B -> 48 B class: 170 objects and a 32-byte tail in an 8 KiB span.
  char* p = static_cast<char*>(c_->Alloc(33, false));
  char* q = static_cast<char*>(c_->Alloc(33, false));
  EXPECT_EQ(q - p, 48);
  EXPECT_EQ(heap_.FindObject(p), p);
  EXPECT_EQ(heap_.FindObject(p + 1), p);
  EXPECT_EQ(heap_.FindObject(p + 47), p);
  EXPECT_EQ(heap_.FindObject(p + 48), q);
  MSpan* s = heap_.SpanOf(reinterpret_cast<uintptr_t>(p));
  ASSERT_NE(s, nullptr);
  // The next slot has not been handed out: free.
  EXPECT_EQ(heap_.FindObject(q + 48), nullptr);
  // The span's tail (past the last slot) is no object.
  EXPECT_EQ(heap_.FindObject(reinterpret_cast<void*>(s->limit)), nullptr);
  EXPECT_EQ(
      heap_.FindObject(reinterpret_cast<void*>(s->start_addr + kPageSize - 1)),
      nullptr);
  // Addresses outside the heap.
  int local = 0;
  EXPECT_EQ(heap_.FindObject(&local), nullptr);
  EXPECT_EQ(heap_.FindObject(nullptr), nullptr);
  EXPECT_EQ(heap_.FindObject(reinterpret_cast<void*>(~uintptr_t{0})), nullptr);
  EXPECT_EQ(heap_.FindObject(this), nullptr);
  // A free page inside the arena (beyond every span so far).
  EXPECT_EQ(
      heap_.FindObject(reinterpret_cast<void*>(s->start_addr + 64 * kPageSize)),
      nullptr);
}

TEST_F(MHeapTest, SweptSlotsAreFreeForFindObject) {
  char* a = static_cast<char*>(c_->Alloc(64, false));
  char* b = static_cast<char*>(c_->Alloc(64, false));
  c_->ReleaseAll();
  EXPECT_TRUE(heap_.MarkObject(a + 10));  // interior pointer marks a
  EXPECT_FALSE(heap_.MarkObject(a));      // already marked
  heap_.BeginSweepCycle();
  heap_.SweepAll();
  EXPECT_EQ(heap_.FindObject(a + 5), a);
  EXPECT_EQ(heap_.FindObject(b), nullptr);  // b died
}

TEST(MHeapDeathTest, MarkingANonObjectFailsClearly) {
  MHeap heap(NoScavenger());
  int x;
  EXPECT_DEATH(heap.MarkObject(&x), "not an allocated heap object");
}

TEST_F(MHeapTest, LazySweepInCacheSpanAndSweepgenStates) {
  // Fill two spans of the 16 B class, keep every other object of one.
  std::vector<char*> objs;
  for (int i = 0; i < 1024; i++) {
    objs.push_back(static_cast<char*>(c_->Alloc(16, false)));
  }
  c_->ReleaseAll();
  SpanClass spc = SpanClass::Make(2, false);
  MSpan* s0 = heap_.SpanOf(reinterpret_cast<uintptr_t>(objs[0]));
  for (int i = 0; i < 512; i += 2) heap_.MarkObject(objs[i]);
  MCentral::Counts before = heap_.central(spc).CountSpans();
  EXPECT_EQ(before.full_swept, 2u);
  heap_.BeginSweepCycle();
  uint32_t sg = heap_.sweepgen();
  EXPECT_EQ(s0->sweepgen.load(), sg - 2);  // needs sweeping
  MCentral::Counts after = heap_.central(spc).CountSpans();
  EXPECT_EQ(after.full_unswept, 2u);  // roles flipped, nothing moved
  EXPECT_EQ(after.full_swept, 0u);
  // Allocating sweeps lazily: the mcentral claims an unswept span.
  char* p = static_cast<char*>(c_->Alloc(16, false));
  MSpan* got = heap_.SpanOf(reinterpret_cast<uintptr_t>(p));
  EXPECT_EQ(got->sweepgen.load(), sg + 3);  // swept, then cached
  // Live objects survived wherever the sweep happened.
  heap_.SweepAll();
  for (int i = 0; i < 512; i += 2)
    EXPECT_EQ(heap_.FindObject(objs[i]), objs[i]);
  for (int i = 1; i < 512; i += 2) {
    if (objs[i] != p) {
      EXPECT_EQ(heap_.FindObject(objs[i]), nullptr);
    }
  }
  EXPECT_EQ(s0->sweepgen.load() == sg || s0->sweepgen.load() == sg + 3, true);
}

TEST_F(MHeapTest, SpanCachedAcrossASweepCycleIsSweptWhenUncached) {
  char* a = static_cast<char*>(c_->Alloc(32, false));
  char* b = static_cast<char*>(c_->Alloc(32, false));
  MSpan* s = heap_.SpanOf(reinterpret_cast<uintptr_t>(a));
  heap_.MarkObject(a);
  heap_.BeginSweepCycle();  // without flushing the mcache first
  uint32_t sg = heap_.sweepgen();
  EXPECT_EQ(s->sweepgen.load(), sg + 1);  // cached before the sweep began
  c_->PrepareForSweep();                  // the P notices and flushes
  EXPECT_EQ(s->sweepgen.load(), sg);      // swept on uncache
  EXPECT_EQ(heap_.FindObject(a), a);
  EXPECT_EQ(heap_.FindObject(b), nullptr);
}

TEST_F(MHeapTest, SpansCachedWhileMarkingAllocateBlackAndFreeTheRest) {
  // A span with old objects, some of them marked by the collector.
  std::vector<char*> old;
  for (int i = 0; i < 10; i++) {
    old.push_back(static_cast<char*>(c_->Alloc(48, false)));
  }
  MSpan* s = heap_.SpanOf(reinterpret_cast<uintptr_t>(old[0]));
  c_->ReleaseAll();
  heap_.MarkObject(old[0]);  // a cycle: only old[0] lives on
  heap_.BeginSweepCycle();
  heap_.SweepAll();
  EXPECT_EQ(s->CountMarked(), 0);

  // A mark begins; the mcache takes the span again (slot 0 holds the
  // survivor, slots 1..9 are free again: it allocates from slot 1).
  heap_.SetAllocateBlack(true);
  std::vector<char*> young;
  for (int i = 0; i < 5; i++) {
    young.push_back(static_cast<char*>(c_->Alloc(48, false)));
    ASSERT_EQ(heap_.SpanOf(reinterpret_cast<uintptr_t>(young.back())), s);
  }
  EXPECT_TRUE(s->black_cached);
  for (char* p : young) {
    EXPECT_TRUE(s->IsMarked(s->ObjIndex(reinterpret_cast<uintptr_t>(p))))
        << "an object allocated during the mark is not black";
  }
  // The old survivor is not marked by allocation: tracing must find it.
  EXPECT_FALSE(s->IsMarked(s->ObjIndex(reinterpret_cast<uintptr_t>(old[0]))));
  heap_.MarkObject(old[0]);

  // Mark termination: the mcache hands the span back; the slots it did
  // not allocate are unmarked again, and the sweep keeps exactly the old
  // survivor and the young objects (it would fail on a marked free slot).
  heap_.SetAllocateBlack(false);
  c_->ReleaseAll();
  EXPECT_FALSE(s->black_cached);
  EXPECT_EQ(s->CountMarked(), 6);
  heap_.BeginSweepCycle();
  heap_.SweepAll();
  EXPECT_EQ(s->alloc_count, 6);
  EXPECT_EQ(heap_.FindObject(old[0]), old[0]);
  for (char* p : young) EXPECT_EQ(heap_.FindObject(p), p);
  EXPECT_EQ(heap_.FindObject(young.back() + 48), nullptr);
  // After the mark, spans are cached without marks.
  char* later = static_cast<char*>(c_->Alloc(48, false));
  MSpan* ls = heap_.SpanOf(reinterpret_cast<uintptr_t>(later));
  EXPECT_FALSE(ls->black_cached);
  EXPECT_FALSE(ls->IsMarked(ls->ObjIndex(reinterpret_cast<uintptr_t>(later))));
}

TEST_F(MHeapTest, LargeObjectsAllocatedWhileMarkingAreBlack) {
  heap_.SetAllocateBlack(true);
  void* during = c_->Alloc(100 << 10, false);
  heap_.SetAllocateBlack(false);
  void* after = c_->Alloc(100 << 10, false);
  MSpan* sd = heap_.SpanOf(reinterpret_cast<uintptr_t>(during));
  MSpan* sa = heap_.SpanOf(reinterpret_cast<uintptr_t>(after));
  ASSERT_TRUE(sd->is_large());
  EXPECT_TRUE(sd->IsMarked(0));
  EXPECT_FALSE(sa->IsMarked(0));
  c_->ReleaseAll();
  heap_.BeginSweepCycle();
  heap_.SweepAll();
  EXPECT_EQ(heap_.FindObject(during), during);  // survived its cycle
  EXPECT_EQ(heap_.FindObject(after), nullptr);  // unmarked: freed
}

TEST_F(MHeapTest, EmptySpansGoBackToThePageHeap) {
  std::vector<void*> objs;
  for (int i = 0; i < 20000; i++) objs.push_back(c_->Alloc(128, false));
  c_->ReleaseAll();
  AllocStatsSnapshot st = heap_.ReadStats();
  size_t inuse = st.heap_inuse;
  EXPECT_GE(inuse, 20000u * 128);
  heap_.MarkObject(objs[0]);
  heap_.BeginSweepCycle();
  heap_.SweepAll();
  st = heap_.ReadStats();
  EXPECT_EQ(st.heap_inuse, kPageSize);  // one span keeps objs[0]
  EXPECT_EQ(st.heap_idle, st.heap_sys - kPageSize);
  EXPECT_EQ(st.heap_objects, 1u);
  EXPECT_EQ(st.heap_alloc, 128u);
}

TEST_F(MHeapTest, ScavengeAllReleasesFreePagesAndTheyComeBackZero) {
  std::vector<char*> objs;
  for (int i = 0; i < 4000; i++) {
    char* p = static_cast<char*>(c_->Alloc(2048, false));
    memset(p, 0x77, 2048);
    objs.push_back(p);
  }
  c_->ReleaseAll();
  heap_.BeginSweepCycle();
  heap_.SweepAll();  // everything dies
  AllocStatsSnapshot st = heap_.ReadStats();
  uint64_t released_before = st.heap_released;
  size_t released = heap_.ScavengeAll();
  EXPECT_GE(released, 4000u * 2048);
  st = heap_.ReadStats();
  EXPECT_EQ(st.heap_released, released_before + released);
  EXPECT_EQ(st.heap_released, st.heap_idle);  // all free memory released
  // Reuse: released pages are handed out again, zeroed.
  for (int i = 0; i < 4000; i++) {
    char* p = static_cast<char*>(c_->Alloc(2048, false));
    for (int j = 0; j < 2048; j += 64) ASSERT_EQ(p[j], 0);
  }
  c_->ReleaseAll();
  st = heap_.ReadStats();
  EXPECT_LT(st.heap_released, released_before + released);
}

// The VmFlags of the mapping holding addr in /proc/self/smaps ("" if none).
std::string VmFlagsOf(uintptr_t addr) {
  FILE* f = fopen("/proc/self/smaps", "r");
  if (f == nullptr) return "";
  char line[512];
  bool in = false;
  std::string flags;
  while (fgets(line, sizeof line, f) != nullptr) {
    unsigned long lo, hi;
    if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2 && strchr(line, '-') &&
        line[0] != 'V') {
      in = addr >= lo && addr < hi;
    } else if (in && strncmp(line, "VmFlags:", 8) == 0) {
      flags = line + 8;
      break;
    }
  }
  fclose(f);
  return flags;
}

// Past huge_pages_above, the heap's new memory asks for transparent huge
// pages (the "hg" flag: MADV_HUGEPAGE); the memory before stays on small
// pages, and so does a heap that never gets that large.
TEST(MHeapHugePagesTest, MemoryCommittedPastTheThresholdAsksForHugePages) {
  MHeapOptions o;
  o.background_scavenger = false;
  o.huge_pages_above = 8 << 20;
  MHeap heap(o);
  MSpan* first = heap.AllocSpan(1, SpanClass::Make(0, true));
  ASSERT_NE(first, nullptr);
  std::vector<MSpan*> spans;
  while (heap.ReadStats().heap_sys <= (16u << 20)) {
    spans.push_back(heap.AllocSpan(16, SpanClass::Make(0, true)));  // 128 KiB
    ASSERT_NE(spans.back(), nullptr);
  }
  EXPECT_EQ(VmFlagsOf(first->start_addr).find(" hg"), std::string::npos)
      << VmFlagsOf(first->start_addr);
  const std::string late = VmFlagsOf(spans.back()->start_addr);
  EXPECT_NE(late, "");
  EXPECT_NE(late.find(" hg"), std::string::npos) << late;

  MHeapOptions never = o;
  never.huge_pages_above = 0;
  MHeap small(never);
  std::vector<MSpan*> more;
  while (small.ReadStats().heap_sys <= (16u << 20)) {
    more.push_back(small.AllocSpan(16, SpanClass::Make(0, true)));
    ASSERT_NE(more.back(), nullptr);
  }
  EXPECT_EQ(VmFlagsOf(more.back()->start_addr).find(" hg"), std::string::npos);
}

TEST(ScavengerTest, BackgroundScavengerReleasesWithinItsBudget) {
  MHeapOptions o;
  o.background_scavenger = true;
  MHeap heap(o);
  MCache* c = heap.NewMCache();
  for (int i = 0; i < 16000; i++) c->Alloc(1024, false);  // ~16 MiB
  c->ReleaseAll();
  heap.BeginSweepCycle();
  heap.SweepAll();
  heap.scavenger()->Wake();
  // Wait (bounded) until retained memory is back under the goal.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  AllocStatsSnapshot st;
  do {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    st = heap.ReadStats();
  } while (st.heap_sys - st.heap_released > 0 &&
           std::chrono::steady_clock::now() < deadline);
  EXPECT_EQ(st.heap_sys - st.heap_released, 0u);
  EXPECT_GE(heap.scavenger()->released_bytes(), 15u << 20);
  // Each step releases at most 64 KiB.
  EXPECT_GE(heap.scavenger()->steps(),
            heap.scavenger()->released_bytes() / Scavenger::kStepBytes);
  heap.FreeMCache(c);
}

}  // namespace
}  // namespace gcheap::internal
