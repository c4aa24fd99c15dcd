#include "alloc/page_alloc.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <random>
#include <utility>
#include <vector>

#include "gtest/gtest.h"

namespace gcheap::internal {
namespace {

constexpr uintptr_t kPage = kPageAllocPageSize;
// Addresses are never touched, so any aligned values will do.
constexpr uintptr_t kBase = uintptr_t{1} << 40;

using Runs = std::vector<std::pair<uintptr_t, size_t>>;

Runs ScavengeAll(PageAlloc* pa, size_t max_pages, size_t* done = nullptr) {
  Runs runs;
  size_t n = pa->Scavenge(max_pages, [&](uintptr_t base, size_t npages) {
    runs.emplace_back(base, npages);
  });
  if (done != nullptr) *done = n;
  return runs;
}

// One region of `npages`, fully grown and unscavenged (the fresh pages are
// allocated and freed once).
void AddGrownRegion(PageAlloc* pa, uintptr_t base, size_t npages) {
  ASSERT_TRUE(pa->AddRegion(base, npages));
  pa->Grow(base, npages);
}

TEST(PageAllocTest, EmptyAllocatorFindsNothing) {
  PageAlloc pa;
  size_t scav = 99;
  EXPECT_EQ(pa.Alloc(1, &scav), 0u);
  EXPECT_EQ(scav, 0u);
  EXPECT_FALSE(pa.IsFree(kBase));
  EXPECT_EQ(pa.free_pages(), 0u);
  EXPECT_EQ(ScavengeAll(&pa, 100).size(), 0u);
  ASSERT_TRUE(pa.AddRegion(kBase, 64));
  EXPECT_EQ(pa.Alloc(1, &scav), 0u);  // region not grown
  EXPECT_FALSE(pa.IsFree(kBase));
  pa.Verify();
}

TEST(PageAllocTest, BasicFirstFit) {
  PageAlloc pa;
  AddGrownRegion(&pa, kBase, 512);
  EXPECT_EQ(pa.free_pages(), 512u);
  EXPECT_EQ(pa.grown_pages(), 512u);
  size_t scav;
  uintptr_t a = pa.Alloc(1, &scav);
  uintptr_t b = pa.Alloc(3, &scav);
  uintptr_t c = pa.Alloc(2, &scav);
  EXPECT_EQ(a, kBase);
  EXPECT_EQ(b, kBase + 1 * kPage);
  EXPECT_EQ(c, kBase + 4 * kPage);
  EXPECT_EQ(pa.free_pages(), 506u);
  EXPECT_FALSE(pa.IsFree(b));
  EXPECT_FALSE(pa.IsFree(b + 2 * kPage + 100));
  EXPECT_TRUE(pa.IsFree(c + 2 * kPage));

  pa.Free(b, 3);
  EXPECT_TRUE(pa.IsFree(b));
  // A 2-page run fits in the hole; 4 pages do not.
  EXPECT_EQ(pa.Alloc(2, &scav), b);
  EXPECT_EQ(pa.Alloc(4, &scav), kBase + 6 * kPage);
  EXPECT_EQ(pa.Alloc(1, &scav), b + 2 * kPage);
  pa.Verify();
}

TEST(PageAllocTest, RunsSpanManyWordsAndCrossTreeChildren) {
  PageAlloc pa;
  AddGrownRegion(&pa, kBase, 1024);  // 16 words, 4 tree levels
  size_t scav;
  // Leave a free run from page 100 to 1000 only: it crosses the root's
  // children (boundary at 512) and many words.
  ASSERT_EQ(pa.Alloc(1024, &scav), kBase);
  pa.Free(kBase + 100 * kPage, 900);
  pa.Verify();
  EXPECT_EQ(pa.Alloc(901, &scav), 0u);
  EXPECT_EQ(pa.Alloc(900, &scav), kBase + 100 * kPage);
  EXPECT_EQ(pa.free_pages(), 0u);
  pa.Free(kBase + 100 * kPage, 900);

  // Now everything is in use; open holes and check first fit picks the
  // lowest one that fits, including one straddling the root's children.
  ASSERT_EQ(pa.Alloc(900, &scav), kBase + 100 * kPage);
  pa.Free(kBase + 60 * kPage, 40);  // straddles words 0 and 1
  pa.Verify();
  EXPECT_EQ(pa.Alloc(40, &scav), kBase + 60 * kPage);
  pa.Free(kBase + 500 * kPage, 30);  // straddles the 512 boundary
  pa.Free(kBase + 700 * kPage, 200);
  EXPECT_EQ(pa.Alloc(25, &scav), kBase + 500 * kPage);
  EXPECT_EQ(pa.Alloc(6, &scav), kBase + 700 * kPage);
  EXPECT_EQ(pa.Alloc(5, &scav), kBase + 525 * kPage);
  EXPECT_EQ(pa.Alloc(194, &scav), kBase + 706 * kPage);
  EXPECT_EQ(pa.Alloc(1, &scav), 0u);
  pa.Verify();
}

TEST(PageAllocTest, ExactWordRunsAndWholeRegion) {
  PageAlloc pa;
  AddGrownRegion(&pa, kBase, 64 * 7);  // not a power of two of words
  size_t scav;
  EXPECT_EQ(pa.Alloc(64, &scav), kBase);
  EXPECT_EQ(pa.Alloc(128, &scav), kBase + 64 * kPage);
  EXPECT_EQ(pa.Alloc(64 * 4 + 1, &scav), 0u);
  EXPECT_EQ(pa.Alloc(64 * 4, &scav), kBase + 192 * kPage);
  EXPECT_EQ(pa.free_pages(), 0u);
  pa.Free(kBase, 64);
  pa.Free(kBase + 64 * kPage, 128);
  pa.Free(kBase + 192 * kPage, 256);
  EXPECT_EQ(pa.Alloc(64 * 7, &scav), kBase);
  pa.Verify();
}

TEST(PageAllocTest, RegionsOutOfAddressOrder) {
  PageAlloc pa;
  uintptr_t r0 = kBase, r1 = kBase + (1 << 30),
            r2 = kBase + (uintptr_t{2} << 30);
  AddGrownRegion(&pa, r2, 128);
  AddGrownRegion(&pa, r0, 64);
  AddGrownRegion(&pa, r1, 256);
  EXPECT_EQ(pa.num_regions(), 3u);
  size_t scav;
  EXPECT_EQ(pa.Alloc(10, &scav), r0);  // lowest address first
  EXPECT_EQ(pa.Alloc(60, &scav), r1);  // 54 left in r0
  EXPECT_EQ(pa.Alloc(54, &scav), r0 + 10 * kPage);
  EXPECT_EQ(pa.Alloc(200, &scav), 0u);  // r1 has 196, r2 128
  EXPECT_EQ(pa.Alloc(196, &scav), r1 + 60 * kPage);
  EXPECT_EQ(pa.Alloc(1, &scav), r2);
  pa.Free(r0 + 5 * kPage, 1);
  EXPECT_EQ(pa.Alloc(1, &scav), r0 + 5 * kPage);
  pa.Verify();
}

TEST(PageAllocTest, NeverCrossesRegionBoundaries) {
  PageAlloc pa;
  // Two address-adjacent regions: a run may not span them.
  AddGrownRegion(&pa, kBase + 64 * kPage, 64);
  AddGrownRegion(&pa, kBase, 64);
  size_t scav;
  ASSERT_EQ(pa.Alloc(64, &scav), kBase);
  ASSERT_EQ(pa.Alloc(64, &scav), kBase + 64 * kPage);
  // Free the top half of region 0 and the bottom half of region 1: the 64
  // pages [kBase + 32, kBase + 96) are free in addresses but split.
  pa.Free(kBase + 32 * kPage, 32);
  pa.Free(kBase + 64 * kPage, 32);
  EXPECT_EQ(pa.Alloc(33, &scav), 0u);
  EXPECT_EQ(pa.Alloc(64, &scav), 0u);
  // Scavenge does not merge runs across the two regions either.
  Runs runs = ScavengeAll(&pa, 1000);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0], std::make_pair(kBase + 64 * kPage, size_t{32}));
  EXPECT_EQ(runs[1], std::make_pair(kBase + 32 * kPage, size_t{32}));
  EXPECT_EQ(pa.Alloc(32, &scav), kBase + 32 * kPage);
  EXPECT_EQ(scav, 32u);
  pa.Verify();
}

TEST(PageAllocTest, GrowPartialRegions) {
  PageAlloc pa;
  ASSERT_TRUE(pa.AddRegion(kBase, 8192));
  pa.Grow(kBase, 100);
  EXPECT_EQ(pa.grown_pages(), 100u);
  EXPECT_EQ(pa.free_pages(), 100u);
  EXPECT_TRUE(pa.IsFree(kBase + 99 * kPage));
  EXPECT_FALSE(pa.IsFree(kBase + 100 * kPage));
  size_t scav;
  EXPECT_EQ(pa.Alloc(101, &scav), 0u);
  EXPECT_EQ(pa.Alloc(60, &scav), kBase);
  pa.Grow(kBase + 100 * kPage, 50);  // adjoins the free tail of 40
  EXPECT_EQ(pa.Alloc(90, &scav), kBase + 60 * kPage);
  pa.Grow(kBase + 4000 * kPage, 4192);  // grow the top, leaving a gap
  EXPECT_EQ(pa.Alloc(200, &scav), kBase + 4000 * kPage);
  EXPECT_EQ(pa.grown_pages(), 4342u);
  pa.Verify();
}

TEST(PageAllocTest, ScavengedAccounting) {
  PageAlloc pa;
  ASSERT_TRUE(pa.AddRegion(kBase, 256));
  pa.Grow(kBase, 256);
  EXPECT_EQ(pa.scavenged_pages(), 256u);  // fresh pages count as scavenged
  EXPECT_TRUE(pa.IsScavenged(kBase + 10 * kPage));
  size_t scav;
  EXPECT_EQ(pa.Alloc(10, &scav), kBase);
  EXPECT_EQ(scav, 10u);  // all scavenged: known zero
  EXPECT_EQ(pa.scavenged_pages(), 246u);
  EXPECT_FALSE(pa.IsScavenged(kBase));
  pa.Free(kBase + 2 * kPage, 4);  // freed pages are not scavenged
  EXPECT_TRUE(pa.IsFree(kBase + 2 * kPage));
  EXPECT_FALSE(pa.IsScavenged(kBase + 2 * kPage));
  EXPECT_EQ(pa.scavenged_pages(), 246u);
  EXPECT_EQ(pa.free_pages(), 250u);
  // The 4-page hole is reused unscavenged; 6 pages go past it.
  EXPECT_EQ(pa.Alloc(6, &scav), kBase + 10 * kPage);
  EXPECT_EQ(scav, 6u);
  EXPECT_EQ(pa.Alloc(4, &scav), kBase + 2 * kPage);
  EXPECT_EQ(scav, 0u);
  EXPECT_EQ(pa.scavenged_pages(), 240u);
  pa.Verify();
}

TEST(PageAllocTest, AllocReportsPartialScavengedCount) {
  PageAlloc pa;
  ASSERT_TRUE(pa.AddRegion(kBase, 256));
  pa.Grow(kBase, 256);
  size_t scav;
  ASSERT_EQ(pa.Alloc(10, &scav), kBase);
  pa.Free(kBase + 6 * kPage, 4);  // pages 6..9 unscavenged, 10.. scavenged
  EXPECT_EQ(pa.Alloc(7, &scav), kBase + 6 * kPage);
  EXPECT_EQ(scav, 3u);
  EXPECT_EQ(pa.scavenged_pages(), 243u);
  EXPECT_EQ(pa.free_pages(), 243u);
  pa.Verify();
}

TEST(PageAllocTest, ScavengeHighestFirstCoalescedAndBounded) {
  PageAlloc pa;
  AddGrownRegion(&pa, kBase, 256);
  size_t scav, done;
  ASSERT_EQ(pa.Alloc(256, &scav), kBase);
  EXPECT_EQ(pa.scavenged_pages(), 0u);
  // Free runs: [10, 20), [60, 140) (crosses two word boundaries), [200, 256).
  pa.Free(kBase + 10 * kPage, 10);
  pa.Free(kBase + 60 * kPage, 30);
  pa.Free(kBase + 90 * kPage, 50);  // adjacent to the previous: one run
  pa.Free(kBase + 200 * kPage, 56);
  EXPECT_EQ(pa.scavenged_pages(), 0u);

  Runs runs = ScavengeAll(&pa, 20, &done);
  EXPECT_EQ(done, 20u);
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0], std::make_pair(kBase + 236 * kPage, size_t{20}));
  EXPECT_TRUE(pa.IsScavenged(kBase + 236 * kPage));
  EXPECT_FALSE(pa.IsScavenged(kBase + 235 * kPage));

  runs = ScavengeAll(&pa, 100, &done);
  EXPECT_EQ(done, 100u);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0], std::make_pair(kBase + 200 * kPage, size_t{36}));
  EXPECT_EQ(runs[1], std::make_pair(kBase + 76 * kPage, size_t{64}));

  runs = ScavengeAll(&pa, 1000, &done);
  EXPECT_EQ(done, 26u);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0], std::make_pair(kBase + 60 * kPage, size_t{16}));
  EXPECT_EQ(runs[1], std::make_pair(kBase + 10 * kPage, size_t{10}));
  EXPECT_EQ(pa.scavenged_pages(), pa.free_pages());

  runs = ScavengeAll(&pa, 1000, &done);
  EXPECT_EQ(done, 0u);
  EXPECT_TRUE(runs.empty());

  // Reallocating reports the scavenged pages, which stop being scavenged.
  EXPECT_EQ(pa.Alloc(80, &scav), kBase + 60 * kPage);
  EXPECT_EQ(scav, 80u);
  EXPECT_EQ(pa.scavenged_pages(), 66u);
  pa.Verify();
}

TEST(PageAllocTest, ScavengeWalksRegionsHighestFirst) {
  PageAlloc pa;
  uintptr_t lo = kBase, hi = kBase + (1 << 30);
  AddGrownRegion(&pa, hi, 64);
  AddGrownRegion(&pa, lo, 64);
  size_t scav;
  ASSERT_EQ(pa.Alloc(64, &scav), lo);
  ASSERT_EQ(pa.Alloc(64, &scav), hi);
  pa.Free(lo, 64);
  pa.Free(hi, 64);
  Runs runs = ScavengeAll(&pa, 70);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0], std::make_pair(hi, size_t{64}));
  EXPECT_EQ(runs[1], std::make_pair(lo + 58 * kPage, size_t{6}));
  pa.Verify();
}

TEST(PageAllocTest, LargeRegion) {
  PageAlloc pa;
  AddGrownRegion(&pa, kBase, 64 * 1000);  // a huge-object region
  size_t scav;
  EXPECT_EQ(pa.Alloc(64 * 1000, &scav), kBase);
  EXPECT_EQ(scav, 64u * 1000);
  pa.Free(kBase + 12345 * kPage, 40000);
  EXPECT_EQ(pa.Alloc(40000, &scav), kBase + 12345 * kPage);
  EXPECT_EQ(scav, 0u);
  pa.Verify();
}

TEST(PageAllocTest, ManyRegionsInShuffledOrder) {
  PageAlloc pa;
  std::vector<uintptr_t> bases;
  for (uintptr_t i = 0; i < 300; i++) bases.push_back(kBase + i * 128 * kPage);
  std::mt19937_64 rng(7);
  std::shuffle(bases.begin(), bases.end(), rng);
  for (uintptr_t b : bases) AddGrownRegion(&pa, b, 64);
  EXPECT_EQ(pa.num_regions(), 300u);
  size_t scav;
  for (uintptr_t i = 0; i < 300; i++) {
    ASSERT_EQ(pa.Alloc(40, &scav), kBase + i * 128 * kPage);
  }
  for (uintptr_t i = 0; i < 300; i++) {
    ASSERT_EQ(pa.Alloc(24, &scav), kBase + (i * 128 + 40) * kPage);
  }
  EXPECT_EQ(pa.Alloc(1, &scav), 0u);
  pa.Free(kBase + (17 * 128 + 3) * kPage, 5);
  pa.Free(kBase + (250 * 128 + 50) * kPage, 5);
  Runs runs = ScavengeAll(&pa, 7);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0],
            std::make_pair(kBase + (250 * 128 + 50) * kPage, size_t{5}));
  EXPECT_EQ(runs[1], std::make_pair(kBase + (17 * 128 + 6) * kPage, size_t{2}));
  EXPECT_EQ(pa.Alloc(5, &scav), kBase + (17 * 128 + 3) * kPage);
  EXPECT_EQ(scav, 2u);
  pa.Verify();
}

// The search hint (lowest word that may hold a free page) must never skip
// a page that first fit would return: it is lowered by Free and Grow and
// shifted by AddRegion. Verify checks the hint's invariant directly.
TEST(PageAllocTest, SearchHintNeverSkipsFreePages) {
  PageAlloc pa;
  uintptr_t hi = kBase + (uintptr_t{1} << 30);
  AddGrownRegion(&pa, hi, 256);
  size_t scav;
  // Fill the first three words one page at a time: the hint walks up.
  for (uintptr_t i = 0; i < 192; i++) {
    ASSERT_EQ(pa.Alloc(1, &scav), hi + i * kPage);
  }
  pa.Verify();
  // Frees below the hint lower it.
  pa.Free(hi + 70 * kPage, 1);
  pa.Free(hi + 3 * kPage, 1);
  pa.Verify();
  EXPECT_EQ(pa.Alloc(1, &scav), hi + 3 * kPage);
  EXPECT_EQ(pa.Alloc(1, &scav), hi + 70 * kPage);
  EXPECT_EQ(pa.Alloc(2, &scav), hi + 192 * kPage);
  // A region below the hint region, then grown: found first.
  ASSERT_TRUE(pa.AddRegion(kBase, 128));
  pa.Verify();
  EXPECT_EQ(pa.Alloc(1, &scav), hi + 194 * kPage);
  pa.Grow(kBase + 100 * kPage, 5);
  pa.Verify();
  EXPECT_EQ(pa.Alloc(1, &scav), kBase + 100 * kPage);
  EXPECT_EQ(pa.Alloc(4, &scav), kBase + 101 * kPage);
  EXPECT_EQ(pa.Alloc(1, &scav), hi + 195 * kPage);
  // Exhaust everything: the hint goes past the last region, and a later
  // Free brings it back.
  EXPECT_EQ(pa.Alloc(60, &scav), hi + 196 * kPage);
  EXPECT_EQ(pa.Alloc(1, &scav), 0u);
  pa.Verify();
  pa.Free(hi + 255 * kPage, 1);
  EXPECT_EQ(pa.Alloc(1, &scav), hi + 255 * kPage);
  // A run that fits inside the hint word beats one that crosses out of it.
  pa.Free(hi + 124 * kPage, 4);  // crosses into word 2 (128..)
  pa.Free(hi + 128 * kPage, 1);
  pa.Free(hi + 64 * kPage, 1);  // hint word 1
  pa.Free(hi + 66 * kPage, 3);
  EXPECT_EQ(pa.Alloc(3, &scav), hi + 66 * kPage);
  EXPECT_EQ(pa.Alloc(5, &scav), hi + 124 * kPage);
  EXPECT_EQ(pa.Alloc(1, &scav), hi + 64 * kPage);
  EXPECT_EQ(pa.Alloc(1, &scav), 0u);
  pa.Verify();
}

// One-word changes are applied to the summaries lazily (pending words,
// flushed before any search or scavenge, or when the list fills up). Many
// scattered single-page frees, then searches that need the summaries.
TEST(PageAllocTest, DeferredSummariesAreFlushedBeforeSearches) {
  PageAlloc pa;
  AddGrownRegion(&pa, kBase, 64 * 200);
  size_t scav;
  ASSERT_EQ(pa.Alloc(64 * 200, &scav), kBase);
  // 200 pending words (more than fit in the list), one free page each, and
  // in word 150 a 40-page hole.
  for (uintptr_t w = 0; w < 200; w++) pa.Free(kBase + (w * 64 + 7) * kPage, 1);
  pa.Free(kBase + (150 * 64 + 10) * kPage, 40);
  EXPECT_EQ(pa.Alloc(2, &scav), kBase + (150 * 64 + 10) * kPage);
  EXPECT_EQ(pa.Alloc(38, &scav), kBase + (150 * 64 + 12) * kPage);
  EXPECT_EQ(pa.Alloc(2, &scav), 0u);
  // Scavenging sees every freed page.
  size_t done;
  Runs runs = ScavengeAll(&pa, 1000, &done);
  EXPECT_EQ(done, 200u);
  EXPECT_EQ(runs.size(), 200u);
  for (uintptr_t w = 0; w < 200; w++) {
    ASSERT_EQ(pa.Alloc(1, &scav), kBase + (w * 64 + 7) * kPage);
    ASSERT_EQ(scav, 1u);
  }
  EXPECT_EQ(pa.Alloc(1, &scav), 0u);
  pa.Verify();
}

TEST(PageAllocDeathTest, DoubleFree) {
  PageAlloc pa;
  AddGrownRegion(&pa, kBase, 128);
  size_t scav;
  uintptr_t a = pa.Alloc(70, &scav);
  ASSERT_EQ(a, kBase);
  pa.Free(a + 10 * kPage, 5);
  EXPECT_DEATH(pa.Free(a + 10 * kPage, 5), "double free");
  EXPECT_DEATH(pa.Free(a, 20), "double free");               // partly free
  EXPECT_DEATH(pa.Free(a + 100 * kPage, 1), "double free");  // never used
  EXPECT_DEATH(pa.Free(a + 60 * kPage, 100), "end of its region");
  EXPECT_DEATH(pa.Free(kBase + (1 << 30), 1), "in no region");
}

TEST(PageAllocDeathTest, BadRegionsAndGrow) {
  PageAlloc pa;
  EXPECT_DEATH(pa.AddRegion(kBase, 100), "multiple of 64");
  ASSERT_TRUE(pa.AddRegion(kBase, 128));
  EXPECT_DEATH(pa.AddRegion(kBase + 64 * kPage, 64), "overlaps");
  EXPECT_DEATH(pa.AddRegion(kBase - 64 * kPage, 128), "overlaps");
  pa.Grow(kBase, 10);
  EXPECT_DEATH(pa.Grow(kBase + 5 * kPage, 10), "already available");
}

// A reference model: one state per page, linear first fit.
class Model {
 public:
  enum State : uint8_t { kUnavailable, kInUse, kFree, kFreeScavenged };

  void AddRegion(uintptr_t base, size_t npages) {
    regions_[base].assign(npages, kUnavailable);
  }
  void Grow(uintptr_t base, size_t npages) {
    for (size_t i = 0; i < npages; i++)
      *Page(base + i * kPage) = kFreeScavenged;
  }
  uintptr_t Alloc(size_t n, size_t* scav) {
    *scav = 0;
    for (auto& [base, pages] : regions_) {
      size_t run = 0;
      for (size_t p = 0; p < pages.size(); p++) {
        run = pages[p] >= kFree ? run + 1 : 0;
        if (run == n) {
          size_t first = p + 1 - n;
          for (size_t q = first; q <= p; q++) {
            *scav += pages[q] == kFreeScavenged;
            pages[q] = kInUse;
          }
          return base + first * kPage;
        }
      }
    }
    return 0;
  }
  void Free(uintptr_t base, size_t npages) {
    for (size_t i = 0; i < npages; i++) {
      State* s = Page(base + i * kPage);
      ASSERT_EQ(*s, kInUse);
      *s = kFree;
    }
  }
  size_t Scavenge(size_t max_pages, Runs* runs) {
    size_t done = 0;
    for (auto it = regions_.rbegin(); it != regions_.rend(); ++it) {
      auto& [base, pages] = *it;
      size_t run_lo = 0, run_hi = 0;
      for (size_t p = pages.size(); p-- > 0 && done < max_pages;) {
        if (pages[p] != kFree) continue;
        pages[p] = kFreeScavenged;
        done++;
        if (run_hi > run_lo && run_lo == p + 1) {
          run_lo = p;
        } else {
          if (run_hi > run_lo) {
            runs->emplace_back(base + run_lo * kPage, run_hi - run_lo);
          }
          run_lo = p;
          run_hi = p + 1;
        }
      }
      if (run_hi > run_lo) {
        runs->emplace_back(base + run_lo * kPage, run_hi - run_lo);
      }
      if (done == max_pages) break;
    }
    return done;
  }
  State Get(uintptr_t addr) { return *Page(addr); }
  size_t Count(State s) const {
    size_t n = 0;
    for (auto& [base, pages] : regions_)
      n += std::count(pages.begin(), pages.end(), s);
    return n;
  }
  const std::map<uintptr_t, std::vector<State>>& regions() const {
    return regions_;
  }

 private:
  State* Page(uintptr_t addr) {
    auto it = std::prev(regions_.upper_bound(addr));
    return &it->second[(addr - it->first) / kPage];
  }
  std::map<uintptr_t, std::vector<State>> regions_;
};

class PageAllocModelTest : public ::testing::TestWithParam<uint32_t> {};

TEST_P(PageAllocModelTest, MatchesReferenceModel) {
  std::mt19937_64 rng(GetParam());
  auto rand = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  PageAlloc pa;
  Model model;

  // Regions of assorted sizes in shuffled address order; two of them are
  // address-adjacent.
  std::vector<std::pair<uintptr_t, size_t>> regions = {
      {kBase, 8192},
      {kBase + 8192 * kPage, 192},  // adjacent to the first
      {kBase + (uintptr_t{1} << 32), 64},
      {kBase + (uintptr_t{2} << 32), 640},
      {kBase + (uintptr_t{3} << 32), 2048 + 64},
      {kBase + (uintptr_t{4} << 32), 128},
  };
  // Enough small ones that the region index is reallocated twice.
  for (uintptr_t i = 0; i < 14; i++) {
    regions.emplace_back(kBase + ((8 + i) << 32), 64 * (1 + rand(3)));
  }
  std::shuffle(regions.begin(), regions.end(), rng);
  // Ungrown chunks, grown in random order as the test goes.
  std::vector<std::pair<uintptr_t, size_t>> ungrown;
  for (auto [base, npages] : regions) {
    ASSERT_TRUE(pa.AddRegion(base, npages));
    model.AddRegion(base, npages);
    for (size_t p = 0; p < npages;) {
      size_t n = std::min(npages - p, 1 + rand(600));
      ungrown.emplace_back(base + p * kPage, n);
      p += n;
    }
  }
  std::shuffle(ungrown.begin(), ungrown.end(), rng);
  auto grow_one = [&] {
    if (ungrown.empty()) return;
    auto [base, n] = ungrown.back();
    ungrown.pop_back();
    pa.Grow(base, n);
    model.Grow(base, n);
  };
  for (int i = 0; i < 4; i++) grow_one();

  std::vector<std::pair<uintptr_t, size_t>> live;
  size_t allocs_ok = 0, big_allocs_ok = 0, scavenge_runs = 0;
  for (int op = 0; op < 10000; op++) {
    size_t kind = rand(100);
    if (kind < 45) {
      size_t n;
      size_t r = rand(100);
      if (r < 60) {
        n = 1 + rand(8);
      } else if (r < 90) {
        n = 1 + rand(130);
      } else if (r < 98) {
        n = 1 + rand(1000);
      } else {
        n = 1 + rand(9000);
      }
      size_t s1, s2;
      uintptr_t got = pa.Alloc(n, &s1);
      uintptr_t want = model.Alloc(n, &s2);
      ASSERT_EQ(got, want) << "op " << op << " Alloc(" << n << ")";
      ASSERT_EQ(s1, s2) << "op " << op;
      if (got != 0) {
        live.emplace_back(got, n);
        allocs_ok++;
        if (n > 64) big_allocs_ok++;
      }
    } else if (kind < 85) {
      if (live.empty()) continue;
      size_t i = rand(live.size());
      auto [base, n] = live[i];
      live[i] = live.back();
      live.pop_back();
      // Sometimes free only part, keeping the rest live.
      if (n > 1 && rand(4) == 0) {
        size_t cut = 1 + rand(n - 1);
        if (rand(2) == 0) {
          live.emplace_back(base + cut * kPage, n - cut);
          n = cut;
        } else {
          live.emplace_back(base, cut);
          base += cut * kPage;
          n -= cut;
        }
      }
      pa.Free(base, n);
      model.Free(base, n);
    } else if (kind < 95) {
      size_t max_pages = rand(3) == 0 ? SIZE_MAX : 1 + rand(300);
      Runs got, want;
      size_t d1 = pa.Scavenge(
          max_pages, [&](uintptr_t b, size_t n) { got.emplace_back(b, n); });
      size_t d2 = model.Scavenge(max_pages, &want);
      ASSERT_EQ(d1, d2) << "op " << op;
      ASSERT_EQ(got, want) << "op " << op;
      scavenge_runs += got.size();
    } else {
      grow_one();
    }
    if (op % 16 != 0) continue;
    ASSERT_EQ(pa.free_pages(),
              model.Count(Model::kFree) + model.Count(Model::kFreeScavenged));
    ASSERT_EQ(pa.scavenged_pages(), model.Count(Model::kFreeScavenged));
    if (op % 500 == 0) {
      pa.Verify();
      for (auto& [base, pages] : model.regions()) {
        for (size_t p = 0; p < pages.size(); p++) {
          uintptr_t a = base + p * kPage + rand(kPage);
          ASSERT_EQ(pa.IsFree(a), pages[p] >= Model::kFree);
          ASSERT_EQ(pa.IsScavenged(a), pages[p] == Model::kFreeScavenged);
        }
      }
    }
  }
  pa.Verify();
  // The workload must exercise the interesting paths.
  EXPECT_GT(allocs_ok, 1000u);
  EXPECT_GT(big_allocs_ok, 50u);
  EXPECT_GT(scavenge_runs, 100u);
  size_t live_pages = 0;
  for (auto& [b, len] : live) live_pages += len;
  EXPECT_EQ(pa.grown_pages(), pa.free_pages() + live_pages);
  std::printf("allocs %zu (big %zu), scavenge runs %zu\n", allocs_ok,
              big_allocs_ok, scavenge_runs);
}

// Small runs only (the hint's fast path and deferred one-word updates),
// with regions added while the test runs, at addresses below and above the
// existing ones, and summaries checked often.
TEST_P(PageAllocModelTest, SmallRunsWithLateRegionsMatchModel) {
  std::mt19937_64 rng(GetParam() * 7919 + 1);
  auto rand = [&](size_t n) { return static_cast<size_t>(rng() % n); };
  PageAlloc pa;
  Model model;
  std::vector<uintptr_t> slots;
  for (uintptr_t i = 0; i < 12; i++) slots.push_back(kBase + (i << 32));
  std::shuffle(slots.begin(), slots.end(), rng);
  auto add_region = [&] {
    if (slots.empty()) return;
    uintptr_t base = slots.back();
    slots.pop_back();
    size_t npages = 64 * (1 + rand(4));
    ASSERT_TRUE(pa.AddRegion(base, npages));
    model.AddRegion(base, npages);
    // Grow some of it, in pieces.
    for (size_t p = 0; p < npages;) {
      size_t n = std::min(npages - p, 1 + rand(100));
      if (rand(4) != 0) {
        pa.Grow(base + p * kPage, n);
        model.Grow(base + p * kPage, n);
      }
      p += n;
    }
  };
  add_region();
  std::vector<std::pair<uintptr_t, size_t>> live;
  size_t fails = 0;
  for (int op = 0; op < 6000; op++) {
    size_t kind = rand(100);
    if (kind < 55) {
      size_t n = rand(8) == 0 ? 1 + rand(70) : 1 + rand(3);
      size_t s1, s2;
      uintptr_t got = pa.Alloc(n, &s1);
      uintptr_t want = model.Alloc(n, &s2);
      ASSERT_EQ(got, want) << "op " << op << " Alloc(" << n << ")";
      ASSERT_EQ(s1, s2) << "op " << op;
      if (got != 0) {
        live.emplace_back(got, n);
      } else {
        fails++;
      }
    } else if (kind < 95) {
      if (live.empty()) continue;
      size_t i = rand(live.size());
      auto [base, n] = live[i];
      live[i] = live.back();
      live.pop_back();
      pa.Free(base, n);
      model.Free(base, n);
    } else if (kind < 98) {
      Runs got, want;
      size_t max_pages = 1 + rand(50);
      ASSERT_EQ(
          pa.Scavenge(max_pages,
                      [&](uintptr_t b, size_t n) { got.emplace_back(b, n); }),
          model.Scavenge(max_pages, &want));
      ASSERT_EQ(got, want) << "op " << op;
    } else {
      add_region();
    }
    if (op % 13 == 0) pa.Verify();
  }
  pa.Verify();
  EXPECT_GT(fails, 10u);  // the heap ran full at times
  std::printf("failed allocs %zu\n", fails);
  EXPECT_TRUE(slots.empty());
}

INSTANTIATE_TEST_SUITE_P(Seeds, PageAllocModelTest,
                         ::testing::Values(1u, 2u, 3u, 42u, 2024u));

}  // namespace
}  // namespace gcheap::internal
