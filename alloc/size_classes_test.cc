#include "alloc/size_classes.h"

#include <bit>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "alloc/size_class_gen.h"
#include "gcheap/internal/fast_path.h"
#include "gtest/gtest.h"

namespace gcheap::internal {
namespace {

// Go's table (runtime/sizeclasses.go, 1.25), written out independently of
// the generator: {size, pages, objects}.
struct GoClass {
  uint32_t size;
  uint32_t npages;
  uint32_t nobjs;
};
constexpr GoClass kGoTable[kNumSizeClasses] = {
    {0, 0, 0},      {8, 1, 1024},  {16, 1, 512},  {24, 1, 341},  {32, 1, 256},
    {48, 1, 170},   {64, 1, 128},  {80, 1, 102},  {96, 1, 85},   {112, 1, 73},
    {128, 1, 64},   {144, 1, 56},  {160, 1, 51},  {176, 1, 46},  {192, 1, 42},
    {208, 1, 39},   {224, 1, 36},  {240, 1, 34},  {256, 1, 32},  {288, 1, 28},
    {320, 1, 25},   {352, 1, 23},  {384, 1, 21},  {416, 1, 19},  {448, 1, 18},
    {480, 1, 17},   {512, 1, 16},  {576, 1, 14},  {640, 1, 12},  {704, 1, 11},
    {768, 1, 10},   {896, 1, 9},   {1024, 1, 8},  {1152, 1, 7},  {1280, 1, 6},
    {1408, 2, 11},  {1536, 1, 5},  {1792, 2, 9},  {2048, 1, 4},  {2304, 2, 7},
    {2688, 1, 3},   {3072, 3, 8},  {3200, 2, 5},  {3456, 3, 7},  {4096, 1, 2},
    {4864, 3, 5},   {5376, 2, 3},  {6144, 3, 4},  {6528, 4, 5},  {6784, 5, 6},
    {6912, 6, 7},   {8192, 1, 1},  {9472, 7, 6},  {9728, 6, 5},  {10240, 5, 4},
    {10880, 4, 3},  {12288, 3, 2}, {13568, 5, 3}, {14336, 7, 4}, {16384, 2, 1},
    {18432, 9, 4},  {19072, 7, 3}, {20480, 5, 2}, {21760, 8, 3}, {24576, 3, 1},
    {27264, 10, 3}, {28672, 7, 2}, {32768, 4, 1},
};

size_t SpanBytes(int c) { return size_t{kClassToAllocNPages[c]} * kPageSize; }

TEST(SizeClassesTest, Constants) {
  EXPECT_EQ(kPageSize, 8192u);
  EXPECT_EQ(kNumSpanClasses, 136);
  EXPECT_EQ(std::size(gch_internal_size_to_class8), 129u);
  EXPECT_EQ(std::size(gch_internal_size_to_class128), 249u);
  EXPECT_EQ(kClassToSize[kNumSizeClasses - 1], kMaxSmallSize);
  EXPECT_EQ(kClassToSize[0], 0u);
  EXPECT_EQ(kClassToAllocNPages[0], 0u);
  EXPECT_EQ(kClassToNObjects[0], 0u);
  EXPECT_EQ(kClassToDivMagic[0], 0u);
}

// (a) The checked-in table is what the generator produces today.
TEST(SizeClassesTest, CheckedInTableMatchesGenerator) {
  std::vector<SizeClassInfo> gen = GenerateSizeClasses();
  ASSERT_EQ(gen.size(), size_t{kNumSizeClasses});
  for (int c = 0; c < kNumSizeClasses; ++c) {
    SCOPED_TRACE(c);
    EXPECT_EQ(gen[c].size, kClassToSize[c]);
    EXPECT_EQ(gen[c].npages, kClassToAllocNPages[c]);
    EXPECT_EQ(gen[c].nobjs, kClassToNObjects[c]);
    EXPECT_EQ(gen[c].tail_waste,
              SpanBytes(c) - size_t{kClassToNObjects[c]} * kClassToSize[c]);
    EXPECT_EQ(DivMagic(gen[c].size), kClassToDivMagic[c]);
  }
  std::vector<uint8_t> t8 = MakeSizeToClass8(gen);
  EXPECT_EQ(t8, std::vector<uint8_t>(std::begin(gch_internal_size_to_class8),
                                     std::end(gch_internal_size_to_class8)));
  std::vector<uint8_t> t128 = MakeSizeToClass128(gen);
  EXPECT_EQ(t128,
            std::vector<uint8_t>(std::begin(gch_internal_size_to_class128),
                                 std::end(gch_internal_size_to_class128)));
}

TEST(SizeClassesTest, CheckedInFileIsCurrent) {
  // The test runs in the runfiles root; size_classes.cc is a data dep.
  std::ifstream in("alloc/size_classes.cc", std::ios::binary);
  ASSERT_TRUE(in.good()) << "cannot open alloc/size_classes.cc";
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_EQ(text.str(), RenderSizeClassesCc(GenerateSizeClasses()))
      << "alloc/size_classes.cc is stale; regenerate it with\n"
         "  bazel run //alloc:mksizeclasses > alloc/size_classes.cc";
}

// (b) An independent oracle: Go's own table.
TEST(SizeClassesTest, MatchesGoTable) {
  for (int c = 0; c < kNumSizeClasses; ++c) {
    SCOPED_TRACE(c);
    EXPECT_EQ(kClassToSize[c], kGoTable[c].size);
    EXPECT_EQ(kClassToAllocNPages[c], kGoTable[c].npages);
    EXPECT_EQ(kClassToNObjects[c], kGoTable[c].nobjs);
    if (c > 0) {
      EXPECT_EQ(kClassToDivMagic[c], UINT32_MAX / kGoTable[c].size + 1);
    }
  }
}

// (c) SizeToClass picks the smallest class that fits.
TEST(SizeClassesTest, SizeToClassIsSmallestFit) {
  for (size_t size = 1; size <= kMaxSmallSize; ++size) {
    int c = SizeToClass(size);
    ASSERT_GE(c, 1) << size;
    ASSERT_LT(c, kNumSizeClasses) << size;
    ASSERT_GE(kClassToSize[c], size) << size;
    ASSERT_LT(kClassToSize[c - 1], size) << size;
  }
  EXPECT_EQ(SizeToClass(1), 1);
  EXPECT_EQ(SizeToClass(8), 1);
  EXPECT_EQ(SizeToClass(9), 2);
  EXPECT_EQ(SizeToClass(1016), 32);
  EXPECT_EQ(SizeToClass(1024), 32);
  EXPECT_EQ(SizeToClass(1025), 33);
  EXPECT_EQ(SizeToClass(kMaxSmallSize), kNumSizeClasses - 1);
}

// The constant-expression forms the C API's static types use
// (gcheap/internal/fast_path.h) agree with the table and with the plan the
// run-time types get, for every size.
TEST(SizeClassesTest, ConstantFormsMatchTheTable) {
  for (size_t size = 1; size <= kMaxSmallSize; ++size) {
    ASSERT_EQ(GCH_INTERNAL_SIZE_CLASS_CONST(size), SizeToClass(size)) << size;
  }
  EXPECT_EQ(GCH_INTERNAL_SIZE_CLASS_CONST(kMaxSmallSize + 1), 0);
  static_assert(GCH_INTERNAL_SIZE_CLASS_CONST(24) == 3);
  for (size_t size = 0; size <= kMaxSmallSize + 16; ++size) {
    const gch_internal_plan want = GCH_INTERNAL_POINTER_MAP_PLAN(size);
    gch_internal_type t{"T", size,    GCH_INTERNAL_KIND_POINTER_MAP,
                        0,   nullptr, nullptr};
    const gch_internal_plan got = gch_internal_plan_of(&t);
    ASSERT_EQ(want.path, got.path) << size;
    ASSERT_EQ(want.span_class, got.span_class) << size;
  }
}

// (d) Waste bounds, as they actually hold for Go's table.
TEST(SizeClassesTest, WasteBounds) {
  for (int c = 1; c < kNumSizeClasses; ++c) {
    SCOPED_TRACE(c);
    size_t size = kClassToSize[c], prev = kClassToSize[c - 1];
    ASSERT_GT(size, prev);
    // Tail: at most 1/8 of the span, and less than one object.
    size_t tail = SpanBytes(c) - size_t{kClassToNObjects[c]} * size;
    EXPECT_LE(tail * 8, SpanBytes(c));
    EXPECT_LT(tail, size);
    // Note: the span is the fewest pages meeting the tail bound only for
    // the size the class had before merging and growth, not for its final
    // size (1792 B would fit 4 objects in 1 page with a 1/8 tail, but the
    // class keeps 2 pages and 9 objects), so that is not asserted here.
    // Round-up waste, the worst request being prev + 1 bytes. The 1/8 step
    // rule holds it near 12.5%; merging and growth stretch a few gaps, so
    // the bound that holds is 16% from 128 B on, 16 bytes below.
    if (size >= 128) {
      EXPECT_LE((size - prev - 1) * 100, size * 16)
          << size << " after " << prev;
    } else {
      EXPECT_LE(size - prev, 16u);
    }
  }
  // The worst case is 4864 after 4096 (15.77%).
  EXPECT_GT((4864 - 4096 - 1) * 100, 4864 * 15);
}

TEST(SizeClassesTest, Alignment) {
  for (int c = 1; c < kNumSizeClasses; ++c) {
    SCOPED_TRACE(c);
    size_t size = kClassToSize[c];
    EXPECT_EQ(size % 8, 0u);
    // Heap bitmaps assume 16-byte alignment from 32 B on; only 8 and 24 are
    // not multiples of 16.
    if (size >= 16 && size != 24) {
      EXPECT_EQ(size % 16, 0u);
    }
    // The coarse lookup table needs 128-byte class boundaries above 1 KiB.
    if (size > kSmallSizeMax) {
      EXPECT_EQ(size % kLargeSizeDiv, 0u);
    }
    // Spans are page aligned, so every object is aligned to
    // min(lowest set bit of size, page); for a power of two that is
    // min(size, page).
    size_t align = std::min(size_t{1} << std::countr_zero(size), kPageSize);
    if (std::has_single_bit(size)) {
      EXPECT_EQ(align, std::min(size, kPageSize));
    }
    for (size_t i = 0; i < kClassToNObjects[c]; ++i) {
      ASSERT_EQ(i * size % align, 0u) << i;
      if (size % 16 == 0) {
        ASSERT_EQ(i * size % 16, 0u) << i;
      }
    }
  }
}

// (e) The multiply-shift division is exact at every byte offset of a span.
TEST(SizeClassesTest, DivMagicExact) {
  uint64_t checked = 0, expected = 0;
  for (int c = 1; c < kNumSizeClasses; ++c) {
    const uint64_t size = kClassToSize[c];
    const uint64_t magic = kClassToDivMagic[c];
    ASSERT_EQ(magic, uint64_t{UINT32_MAX} / size + 1);
    for (uint64_t i = 0; i < kClassToNObjects[c]; ++i) {
      for (uint64_t o = i * size; o < (i + 1) * size; ++o) {
        if (((o * magic) >> 32) != i) {
          FAIL() << "class " << c << " offset " << o << " object " << i;
        }
        ++checked;
      }
    }
    expected += kClassToNObjects[c] * size;
  }
  EXPECT_EQ(checked, expected);
  EXPECT_GT(checked, uint64_t{1} << 20);  // every offset, ~1.3M checks
}

// (f) Span classes.
TEST(SizeClassesTest, SpanClassRoundTrip) {
  EXPECT_EQ(SpanClass().raw(), 0);
  for (int raw = 0; raw < kNumSpanClasses; ++raw) {
    SpanClass sc(static_cast<uint8_t>(raw));
    EXPECT_EQ(sc.raw(), raw);
    EXPECT_EQ(sc.sizeclass(), raw >> 1);
    EXPECT_EQ(sc.noscan(), (raw & 1) != 0);
    EXPECT_EQ(SpanClass::Make(sc.sizeclass(), sc.noscan()), sc);
    EXPECT_EQ(sc, SpanClass(static_cast<uint8_t>(raw)));
    EXPECT_FALSE(sc == SpanClass(static_cast<uint8_t>(raw ^ 1)));
  }
  for (int c = 0; c < kNumSizeClasses; ++c) {
    for (bool noscan : {false, true}) {
      SpanClass sc = SpanClass::Make(c, noscan);
      EXPECT_EQ(sc.sizeclass(), c);
      EXPECT_EQ(sc.noscan(), noscan);
      EXPECT_LT(sc.raw(), kNumSpanClasses);
    }
  }
  static_assert(SpanClass::Make(67, true).raw() == 135);
  static_assert(SpanClass::Make(1, false).sizeclass() == 1);
}

}  // namespace
}  // namespace gcheap::internal
