#include "alloc/mspan.h"

#include <vector>

#include "gtest/gtest.h"

namespace gcheap::internal {
namespace {

// A span over a plain buffer, for testing the bitmap logic alone.
struct TestSpan {
  explicit TestSpan(int sizeclass) {
    s.spanclass = SpanClass::Make(sizeclass, false);
    s.elemsize = kClassToSize[sizeclass];
    s.nelems = kClassToNObjects[sizeclass];
    s.div_mul = kClassToDivMagic[sizeclass];
    s.npages = kClassToAllocNPages[sizeclass];
    mem.resize(s.npages * kPageSize);
    s.start_addr = reinterpret_cast<uintptr_t>(mem.data());
    s.limit = s.start_addr + s.nelems * s.elemsize;
    s.bitmap_words = (s.nelems + 63) / 64;
    bits.assign(3 * s.bitmap_words, 0);
    s.alloc_bits = bits.data();
    s.gcmark_bits = bits.data() + s.bitmap_words;
    s.scan_bits = bits.data() + 2 * s.bitmap_words;
    s.InitAllocState();
  }
  // The allocator's fast + slow path, without an mcache.
  int Next() {
    if (s.alloc_cache == 0 && !s.NextFreeWordSlow()) return -1;
    uint64_t c = s.alloc_cache;
    s.alloc_cache = c & (c - 1);
    return s.cache_base + __builtin_ctzll(c);
  }
  MSpan s;
  std::vector<char> mem;
  std::vector<uint64_t> bits;
};

TEST(MSpanTest, FreshSpanHandsOutEverySlotInOrder) {
  for (int cls : {1, 2, 3, 5, 26, 67}) {
    TestSpan t(cls);
    for (int i = 0; i < t.s.nelems; i++) ASSERT_EQ(t.Next(), i) << cls;
    EXPECT_EQ(t.Next(), -1);
    EXPECT_EQ(t.s.FreeIndex(), t.s.nelems);
    t.s.SyncAllocCount();
    EXPECT_EQ(t.s.alloc_count, t.s.nelems);
  }
}

TEST(MSpanTest, SweepFreesUnmarkedAndReusesThemInOrder) {
  TestSpan t(3);  // 24 B, 341 objects: several words and a ragged tail
  for (int i = 0; i < t.s.nelems; i++) t.Next();
  std::vector<int> keep;
  for (int i = 0; i < t.s.nelems; i++) {
    if (i % 3 == 0 || i == 340) keep.push_back(i);
  }
  t.s.SyncAllocCount();
  for (int i : keep) EXPECT_TRUE(t.s.TryMark(i));
  EXPECT_FALSE(t.s.TryMark(keep[0]));     // already marked
  t.s.mark_sparse = MSpan::kSparseAfter;  // this cycle's marking found it so
  SweepResult r = SweepSpanBits(&t.s);
  EXPECT_EQ(r.nlive, static_cast<int>(keep.size()));
  EXPECT_EQ(r.nfreed, t.s.nelems - static_cast<int>(keep.size()));
  EXPECT_FALSE(r.empty);
  EXPECT_TRUE(t.s.needzero);
  EXPECT_EQ(t.s.CountMarked(), 0);  // fresh mark bits
  EXPECT_EQ(t.s.mark_sparse, 0);    // judged afresh each cycle
  for (int i : keep) EXPECT_TRUE(t.s.IsAllocated(i));
  // The free slots come back lowest first, skipping the live ones.
  int prev = -1;
  int n = 0;
  for (int idx; (idx = t.Next()) >= 0; n++) {
    EXPECT_GT(idx, prev);
    EXPECT_NE(idx % 3, 0);
    EXPECT_NE(idx, 340);
    prev = idx;
  }
  EXPECT_EQ(n, r.nfreed);
}

TEST(MSpanTest, SweepOfUnmarkedSpanIsEmpty) {
  TestSpan t(1);
  for (int i = 0; i < 100; i++) t.Next();
  t.s.SyncAllocCount();
  SweepResult r = SweepSpanBits(&t.s);
  EXPECT_TRUE(r.empty);
  EXPECT_EQ(r.nfreed, 100);
}

TEST(MSpanTest, ObjIndexResolvesInteriorOffsets) {
  TestSpan t(5);  // 48 B
  for (uintptr_t i = 0; i < t.s.nelems; i++) {
    uintptr_t base = t.s.ObjBase(i);
    EXPECT_EQ(t.s.ObjIndex(base), i);
    EXPECT_EQ(t.s.ObjIndex(base + 47), i);
  }
}

TEST(MSpanTest, AllocCountCatchesUpAcrossHoles) {
  TestSpan t(3);
  for (int i = 0; i < t.s.nelems; i++) t.Next();
  t.s.SyncAllocCount();
  for (int i = 0; i < t.s.nelems; i += 5) t.s.TryMark(i);
  SweepResult r = SweepSpanBits(&t.s);
  EXPECT_EQ(t.s.alloc_count, r.nlive);
  t.s.NoteCached();
  for (int i = 0; i < 100; i++) ASSERT_GE(t.Next(), 0);
  t.s.SyncAllocCount();
  EXPECT_EQ(t.s.alloc_count, r.nlive + 100);
  EXPECT_TRUE(t.s.IsAllocated(t.s.FreeIndex() - 1));
  EXPECT_FALSE(t.s.IsAllocated(t.s.FreeIndex()));
}

TEST(MSpanDeathTest, MarkedFreeSlotIsAZombie) {
  TestSpan t(2);
  t.Next();
  t.s.TryMark(5);  // slot 5 was never allocated
  EXPECT_DEATH(SweepSpanBits(&t.s),
               "found pointer to free object: .*slot 5\\) is marked but not "
               "allocated");
}

// MCache::SetTypeBits without a heap: the test's bitmaps, dirty as a
// recycled span's may be, when the layout turns mixed.
struct TypeBitsSpan : TestSpan {
  explicit TypeBitsSpan(int sizeclass)
      : TestSpan(sizeclass), tb(2 * MSpan::kHeapBitsWords, ~uint64_t{0}) {
    s.small_scan = true;
  }
  void Set(uintptr_t idx, bool with_header, uint64_t ptrmask) {
    if (!s.SetTypeBits(idx, with_header, ptrmask)) {
      s.BecomeMixed(tb.data(), idx, with_header, ptrmask);
    }
  }
  std::vector<uint64_t> tb;
};

TEST(MSpanTest, TypeBitsStayUniformUntilALayoutDiffers) {
  for (int cls : {2, 3, 26}) {  // 16 B, 24 B (bits straddle words), 416 B
    TypeBitsSpan t(cls);
    const uint64_t words = t.s.SlotWordsMask();
    EXPECT_EQ(t.s.SlotPointerBits(0), 0u) << "empty: nothing to scan";

    // One type: the span's mask alone, no bitmaps.
    for (int i = 0; i < 10; i++) t.Set(i, false, 0b10 | ~words);
    EXPECT_EQ(t.s.LoadLayout(), MSpan::kLayoutUniform) << cls;
    EXPECT_EQ(t.s.heap_bits, nullptr);
    for (int i = 0; i < 10; i++) {
      EXPECT_TRUE(t.s.SlotUsesTypeBits(i));
      EXPECT_EQ(t.s.SlotPointerBits(i), 0b10u) << cls << " slot " << i;
    }

    // A second pointer layout and a header object: every slot spelled out.
    t.Set(10, false, 0b01);
    EXPECT_EQ(t.s.heap_bits, t.tb.data());
    t.Set(11, true, 0);
    EXPECT_EQ(t.s.LoadLayout(), MSpan::kLayoutMixed) << cls;
    for (int i = 0; i < 10; i++) {
      EXPECT_TRUE(t.s.SlotUsesTypeBits(i));
      EXPECT_EQ(t.s.SlotPointerBits(i), 0b10u) << cls << " slot " << i;
    }
    EXPECT_EQ(t.s.SlotPointerBits(10), 0b01u) << cls;
    EXPECT_FALSE(t.s.SlotUsesTypeBits(11)) << cls;
    // Reusing a slot rewrites its bits.
    t.Set(11, false, 0b11);
    EXPECT_TRUE(t.s.SlotUsesTypeBits(11)) << cls;
    EXPECT_EQ(t.s.SlotPointerBits(11), 0b11u) << cls;
    EXPECT_EQ(t.s.SlotPointerBits(10), 0b01u) << cls;
  }
}

TEST(MSpanTest, AHeaderObjectFirstMakesTheLayoutMixed) {
  TypeBitsSpan t(2);
  t.Set(5, true, 0);
  EXPECT_EQ(t.s.LoadLayout(), MSpan::kLayoutMixed);
  EXPECT_FALSE(t.s.SlotUsesTypeBits(5));
  EXPECT_TRUE(t.s.SlotUsesTypeBits(4));  // stale header bits were cleared
  t.Set(4, false, 0b11);
  EXPECT_EQ(t.s.SlotPointerBits(4), 0b11u);
}

TEST(MSpanListTest, PushRemovePop) {
  MSpan a, b, c;
  MSpanList l;
  l.Push(&a);
  l.Push(&b);
  l.Push(&c);
  EXPECT_EQ(l.size(), 3u);
  l.Remove(&b);
  EXPECT_EQ(l.Pop(), &c);
  EXPECT_EQ(l.Pop(), &a);
  EXPECT_TRUE(l.empty());
  EXPECT_EQ(l.Pop(), nullptr);
}

}  // namespace
}  // namespace gcheap::internal
