#include "alloc/page_alloc.h"

#include <algorithm>
#include <bit>
#include <cstring>

#include "base/check.h"
#include "base/os_mem.h"

namespace gcheap::internal {
namespace {

constexpr size_t kWordPages = 64;
constexpr size_t kNone = SIZE_MAX;
constexpr size_t kMaxRegionPages = kPageAllocMaxRegionPages;

// Bits [lo, hi) of a word, 0 <= lo < hi <= 64.
inline uint64_t BitRange(size_t lo, size_t hi) {
  uint64_t upper = hi == 64 ? ~uint64_t{0} : (uint64_t{1} << hi) - 1;
  return upper & ~((uint64_t{1} << lo) - 1);
}

// Calls fn(word, mask) for each word overlapping pages [p, p + n).
template <typename Fn>
inline void ForEachWord(size_t p, size_t n, Fn fn) {
  size_t end = p + n;
  while (p < end) {
    size_t w = p / kWordPages;
    size_t lo = p % kWordPages;
    size_t hi = std::min(kWordPages, end - w * kWordPages);
    fn(w, BitRange(lo, hi));
    p = w * kWordPages + hi;
  }
}

// Lowest bit index i such that bits [i, i + n) of x are all set, or 64.
inline size_t FirstRun(uint64_t x, size_t n) {
  size_t have = 1;
  while (have < n && x != 0) {
    size_t s = std::min(have, n - have);
    x &= x >> s;
    have += s;
  }
  return x == 0 ? 64 : static_cast<size_t>(std::countr_zero(x));
}

inline size_t RoundUpPow2(size_t x) { return std::bit_ceil(x); }

inline size_t RoundUpOsPage(size_t x) {
  return (x + kOsPageSize - 1) & ~(kOsPageSize - 1);
}

void FreeMetadata(void* p, size_t bytes) {
  if (p == nullptr) return;
  OsResult res = OsUnreserve(p, bytes);
  GCHEAP_CHECK(res.ok, "munmap of page allocator metadata failed");
}

}  // namespace

PageAlloc::PageAlloc() = default;

PageAlloc::~PageAlloc() {
  for (size_t i = 0; i < nregions_; i++) {
    FreeMetadata(regions_[i].meta, regions_[i].meta_bytes);
  }
  FreeMetadata(regions_, RoundUpOsPage(cap_regions_ * sizeof(Region)));
  FreeMetadata(index_, RoundUpOsPage(2 * cap_regions_ * sizeof(IndexNode)));
}

// ---------------------------------------------------------------------------
// Summaries.

PageAlloc::Summary PageAlloc::LeafSummary(uint64_t free) {
  Summary s{};
  if (free == ~uint64_t{0}) {
    s.start = s.max = s.end = kWordPages;
    return s;
  }
  s.start = static_cast<uint32_t>(std::countr_one(free));
  s.end = static_cast<uint32_t>(std::countl_one(free));
  uint32_t best = std::max(s.start, s.end);
  // Middle runs: there is at least one zero bit, so no shift reaches 64.
  uint64_t x = free >> s.start;
  while (x != 0) {
    x >>= std::countr_zero(x);
    int ones = std::countr_one(x);
    best = std::max(best, static_cast<uint32_t>(ones));
    x = ones == 64 ? 0 : x >> ones;
  }
  s.max = best;
  return s;
}

inline PageAlloc::Summary PageAlloc::Combine(const Summary& l, const Summary& r,
                                             uint32_t len) {
  Summary s;
  s.start = l.start == len ? len + r.start : l.start;
  s.end = r.end == len ? len + l.end : r.end;
  s.max = std::max(std::max(l.max, r.max), l.end + r.start);
  return s;
}

void PageAlloc::UpdateWords(Region* r, size_t wlo, size_t whi) {
  Summary* t = r->tree;
  uint32_t* u = r->unscav;
  size_t L = r->nleaves;
  int64_t delta = 0;     // change in unscav of every node covering [wlo, whi]
  bool changed = false;  // some summary on the level below changed
  for (size_t w = wlo; w <= whi; w++) {
    Summary s = LeafSummary(r->free[w]);
    auto c = static_cast<uint32_t>(std::popcount(r->free[w] & ~r->scav[w]));
    changed |= !(s == t[L + w]);
    delta += int64_t{c} - u[L + w];
    t[L + w] = s;
    u[L + w] = c;
  }
  uint32_t len = kWordPages;  // pages covered by each child
  size_t i = (L + wlo) >> 1;
  // While a level has several nodes to update, recompute them all.
  for (size_t hi = (L + whi) >> 1; i < hi; i >>= 1, hi >>= 1, len <<= 1) {
    for (size_t j = i; j <= hi; j++) {
      t[j] = Combine(t[2 * j], t[2 * j + 1], len);
      u[j] = u[2 * j] + u[2 * j + 1];
    }
    changed = true;
  }
  // One node per level from here on (i == 0 above the root). Its summary
  // depends only on its children, of which at most one changed: stop
  // recomputing at the first node that comes out the same. The unscavenged
  // count of every ancestor moves by the same delta.
  for (; i >= 1 && changed; i >>= 1, len <<= 1) {
    Summary s = Combine(t[2 * i], t[2 * i + 1], len);
    changed = !(s == t[i]);
    t[i] = s;
    u[i] = static_cast<uint32_t>(u[i] + delta);
  }
  if (delta != 0) {
    for (; i >= 1; i >>= 1) u[i] = static_cast<uint32_t>(u[i] + delta);
  }
}

size_t PageAlloc::FindInRegion(const Region& r, size_t n) {
  const Summary* t = r.tree;
  size_t L = r.nleaves;
  GCHEAP_DCHECK(t[1].max >= n, "region has no run of %zu pages", n);
  size_t i = 1;
  size_t off = 0;  // first page covered by node i
  size_t len = L * kWordPages;
  while (i < L) {
    size_t half = len / 2;
    const Summary& l = t[2 * i];
    const Summary& rt = t[2 * i + 1];
    if (l.max >= n) {
      i = 2 * i;
    } else if (size_t{l.end} + rt.start >= n) {
      return off + half - l.end;
    } else {
      i = 2 * i + 1;
      off += half;
    }
    len = half;
  }
  size_t bit = FirstRun(r.free[i - L], n);
  GCHEAP_CHECK(bit < kWordPages, "summary tree out of sync with bitmap");
  return off + bit;
}

size_t PageAlloc::PrevUnscavWord(const Region& r, size_t w) {
  if (w == 0) return kNone;
  const uint32_t* u = r.unscav;
  size_t L = r.nleaves;
  size_t i = L + w - 1;
  // Visit maximal subtrees covering [0, w) right to left.
  while (u[i] == 0) {
    while ((i & 1) == 0) i >>= 1;  // climb while a left child
    if (i == 1) return kNone;
    i--;  // the left sibling
  }
  while (i < L) i = u[2 * i + 1] > 0 ? 2 * i + 1 : 2 * i;
  return i - L;
}

size_t PageAlloc::PrevUnscavRegion(size_t k) const {
  if (k == 0) return kNone;
  size_t L = cap_regions_;
  size_t i = L + k - 1;
  while (index_[i].unscav == 0) {
    while ((i & 1) == 0) i >>= 1;
    if (i == 1) return kNone;
    i--;
  }
  while (i < L) i = index_[2 * i + 1].unscav > 0 ? 2 * i + 1 : 2 * i;
  return i - L;
}

void PageAlloc::RefreshPath(Region* r, size_t w, size_t next) {
  Summary* t = r->tree;
  uint32_t* u = r->unscav;
  size_t L = r->nleaves;
  t[L + w] = LeafSummary(r->free[w]);
  u[L + w] = static_cast<uint32_t>(std::popcount(r->free[w] & ~r->scav[w]));
  uint32_t len = kWordPages;
  for (size_t h = 1; (L + w) >> h >= 1; h++, len <<= 1) {
    size_t i = (L + w) >> h;
    if (next != kNone && (L + next) >> h == i) return;  // next one does it
    t[i] = Combine(t[2 * i], t[2 * i + 1], len);
    u[i] = u[2 * i] + u[2 * i + 1];
  }
}

// ---------------------------------------------------------------------------
// Deferred summary updates.

void PageAlloc::MarkDirty(size_t k, size_t w) {
  uint64_t* d = &regions_[k].dirty[w / 64];
  uint64_t bit = uint64_t{1} << (w % 64);
  if (*d & bit) return;
  if (npending_ == kMaxPending) Flush();
  *d |= bit;
  pending_[npending_++] = {k, w};
}

void PageAlloc::Changed(size_t k, size_t first, size_t npages) {
  size_t wlo = first / kWordPages;
  size_t whi = (first + npages - 1) / kWordPages;
  if (wlo == whi) {
    MarkDirty(k, wlo);
    return;
  }
  Flush();
  UpdateWords(&regions_[k], wlo, whi);
  UpdateIndex(k);
}

void PageAlloc::Flush() const {
  if (npending_ == 0) return;
  // Address order, so that each ancestor is recomputed once, by the last
  // pending word below it (RefreshPath stops where the next one joins).
  std::sort(pending_, pending_ + npending_);
  for (size_t j = 0; j < npending_; j++) {
    auto [k, w] = pending_[j];
    Region* r = &regions_[k];
    r->dirty[w / 64] &= ~(uint64_t{1} << (w % 64));
    bool more = j + 1 < npending_ && pending_[j + 1].region == k;
    RefreshPath(r, w, more ? pending_[j + 1].word : kNone);
    if (!more) UpdateIndex(k);
  }
  npending_ = 0;
}

// ---------------------------------------------------------------------------
// Region array and index.

void PageAlloc::UpdateIndex(size_t k) const {
  size_t i = cap_regions_ + k;
  uint64_t max = regions_[k].tree[1].max;
  uint64_t unscav = regions_[k].unscav[1];
  // As in UpdateWords: max until it stops changing, unscav by a delta.
  bool changed = index_[i].max != max;
  uint64_t delta = unscav - index_[i].unscav;  // modulo 2^64
  index_[i] = {max, unscav};
  for (i >>= 1; i >= 1 && changed; i >>= 1) {
    max = std::max(index_[2 * i].max, index_[2 * i + 1].max);
    changed = index_[i].max != max;
    index_[i].max = max;
    index_[i].unscav += delta;
  }
  if (delta != 0) {
    for (; i >= 1; i >>= 1) index_[i].unscav += delta;
  }
}

void PageAlloc::RebuildIndex() {
  size_t L = cap_regions_;
  for (size_t k = 0; k < L; k++) {
    if (k < nregions_) {
      index_[L + k] = {regions_[k].tree[1].max, regions_[k].unscav[1]};
    } else {
      index_[L + k] = {0, 0};
    }
  }
  for (size_t i = L - 1; i >= 1; i--) {
    index_[i].max = std::max(index_[2 * i].max, index_[2 * i + 1].max);
    index_[i].unscav = index_[2 * i].unscav + index_[2 * i + 1].unscav;
  }
}

bool PageAlloc::Reserve(size_t n) {
  if (n <= cap_regions_) return true;
  size_t cap = RoundUpPow2(std::max<size_t>(n, 8));
  size_t rbytes = RoundUpOsPage(cap * sizeof(Region));
  size_t ibytes = RoundUpOsPage(2 * cap * sizeof(IndexNode));
  OsResult res;
  auto* regions = static_cast<Region*>(OsAllocMetadata(rbytes, &res));
  if (regions == nullptr) return false;
  auto* index = static_cast<IndexNode*>(OsAllocMetadata(ibytes, &res));
  if (index == nullptr) {
    FreeMetadata(regions, rbytes);
    return false;
  }
  if (nregions_ > 0) {
    memcpy(static_cast<void*>(regions), regions_, nregions_ * sizeof(Region));
  }
  size_t old_rbytes = RoundUpOsPage(cap_regions_ * sizeof(Region));
  size_t old_ibytes = RoundUpOsPage(2 * cap_regions_ * sizeof(IndexNode));
  FreeMetadata(regions_, old_rbytes);
  FreeMetadata(index_, old_ibytes);
  metadata_bytes_ += rbytes + ibytes;
  metadata_bytes_ -= old_rbytes + old_ibytes;
  regions_ = regions;
  index_ = index;
  cap_regions_ = cap;
  RebuildIndex();
  return true;
}

size_t PageAlloc::FindRegion(uintptr_t addr) const {
  // First region with base > addr, then step back one.
  size_t lo = 0, hi = nregions_;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (regions_[mid].base <= addr) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  if (lo == 0) return kNone;
  const Region& r = regions_[lo - 1];
  if (addr - r.base >= r.npages * kPageAllocPageSize) return kNone;
  return lo - 1;
}

size_t PageAlloc::RegionFor(uintptr_t base, size_t npages,
                            const char* op) const {
  GCHEAP_CHECK(npages > 0, "%s of zero pages", op);
  GCHEAP_CHECK((base & (kPageAllocPageSize - 1)) == 0,
               "%s: base %#zx not aligned", op, static_cast<size_t>(base));
  size_t k = FindRegion(base);
  GCHEAP_CHECK(k != kNone, "%s: %#zx is in no region", op,
               static_cast<size_t>(base));
  const Region& r = regions_[k];
  size_t first = (base - r.base) >> kPageAllocPageShift;
  GCHEAP_CHECK(npages <= r.npages - first,
               "%s: [%#zx, +%zu pages) crosses the end of its region", op,
               static_cast<size_t>(base), npages);
  return k;
}

bool PageAlloc::AddRegion(uintptr_t base, size_t npages) {
  GCHEAP_CHECK(base != 0 && (base & (kPageAllocPageSize - 1)) == 0,
               "region base %#zx not page aligned", static_cast<size_t>(base));
  GCHEAP_CHECK(npages > 0 && (npages & (kPageAllocRegionQuantum - 1)) == 0,
               "region of %zu pages is not a positive multiple of %zu", npages,
               kPageAllocRegionQuantum);
  GCHEAP_CHECK(npages <= kMaxRegionPages, "region of %zu pages too large",
               npages);
  size_t bytes = npages * kPageAllocPageSize;
  GCHEAP_CHECK(base + bytes - 1 >= base, "region wraps the address space");

  // Insertion point and overlap checks.
  size_t pos = 0;
  while (pos < nregions_ && regions_[pos].base < base) pos++;
  if (pos > 0) {
    const Region& prev = regions_[pos - 1];
    GCHEAP_CHECK(prev.base + prev.npages * kPageAllocPageSize <= base,
                 "region %#zx overlaps region %#zx", static_cast<size_t>(base),
                 static_cast<size_t>(prev.base));
  }
  if (pos < nregions_) {
    GCHEAP_CHECK(base + bytes <= regions_[pos].base,
                 "region %#zx overlaps region %#zx", static_cast<size_t>(base),
                 static_cast<size_t>(regions_[pos].base));
  }

  Region r{};
  r.base = base;
  r.npages = npages;
  r.nwords = npages / kWordPages;
  r.nleaves = RoundUpPow2(r.nwords);
  size_t bitmap_bytes = r.nwords * sizeof(uint64_t);
  size_t dirty_bytes = (r.nwords + 63) / 64 * sizeof(uint64_t);
  size_t tree_bytes = 2 * r.nleaves * sizeof(Summary);
  size_t unscav_bytes = 2 * r.nleaves * sizeof(uint32_t);
  r.meta_bytes =
      RoundUpOsPage(3 * bitmap_bytes + dirty_bytes + tree_bytes + unscav_bytes);
  OsResult res;
  r.meta = OsAllocMetadata(r.meta_bytes, &res);
  if (r.meta == nullptr) return false;
  char* p = static_cast<char*>(r.meta);
  r.avail = reinterpret_cast<uint64_t*>(p);
  r.free = reinterpret_cast<uint64_t*>(p + bitmap_bytes);
  r.scav = reinterpret_cast<uint64_t*>(p + 2 * bitmap_bytes);
  r.dirty = reinterpret_cast<uint64_t*>(p + 3 * bitmap_bytes);
  p += 3 * bitmap_bytes + dirty_bytes;
  r.tree = reinterpret_cast<Summary*>(p);
  r.unscav = reinterpret_cast<uint32_t*>(p + tree_bytes);
  // Fresh mmap memory is zero: all pages unavailable, all summaries and
  // counts zero.

  Flush();  // pending entries name regions by index
  if (!Reserve(nregions_ + 1)) {
    FreeMetadata(r.meta, r.meta_bytes);
    return false;
  }
  metadata_bytes_ += r.meta_bytes;
  memmove(static_cast<void*>(regions_ + pos + 1), regions_ + pos,
          (nregions_ - pos) * sizeof(Region));
  regions_[pos] = r;
  nregions_++;
  // The new region has no free page, so the hint only shifts with the
  // regions at or above it.
  if (pos <= search_region_) search_region_++;
  RebuildIndex();
  return true;
}

// ---------------------------------------------------------------------------
// Operations.

void PageAlloc::Grow(uintptr_t base, size_t npages) {
  size_t k = RegionFor(base, npages, "Grow");
  Region* r = &regions_[k];
  size_t first = (base - r->base) >> kPageAllocPageShift;
  ForEachWord(first, npages, [&](size_t w, uint64_t mask) {
    GCHEAP_CHECK((r->avail[w] & mask) == 0,
                 "Grow of [%#zx, +%zu pages): pages already available",
                 static_cast<size_t>(base), npages);
    r->avail[w] |= mask;
    r->free[w] |= mask;
    r->scav[w] |= mask;
  });
  Changed(k, first, npages);
  LowerSearchHint(k, first / kWordPages);
  grown_pages_ += npages;
  free_pages_ += npages;
  scavenged_pages_ += npages;
}

void PageAlloc::LowerSearchHint(size_t k, size_t w) {
  if (k < search_region_ || (k == search_region_ && w < search_word_)) {
    search_region_ = k;
    search_word_ = w;
  }
}

uintptr_t PageAlloc::Alloc(size_t npages, size_t* scavenged_pages) {
  GCHEAP_CHECK(npages > 0, "Alloc of zero pages");
  *scavenged_pages = 0;
  size_t k = kNone;
  size_t first = 0;
  // Fast path: nothing is free below the hint word, so a run of n <= 64
  // pages inside it is the first fit (a run crossing into the next word
  // starts above any run that fits inside this one).
  if (npages <= kWordPages && search_region_ < nregions_) {
    const Region& r = regions_[search_region_];
    if (search_word_ < r.nwords) {
      size_t bit = FirstRun(r.free[search_word_], npages);
      if (bit < kWordPages) {
        k = search_region_;
        first = search_word_ * kWordPages + bit;
      }
    }
  }
  if (k == kNone) {
    Flush();
    if (nregions_ == 0 || index_[1].max < npages) {
      if (npages == 1) {  // no free page anywhere
        search_region_ = nregions_;
        search_word_ = 0;
      }
      return 0;
    }
    size_t i = 1;
    while (i < cap_regions_) {
      i = index_[2 * i].max >= npages ? 2 * i : 2 * i + 1;
    }
    k = i - cap_regions_;
    first = FindInRegion(regions_[k], npages);
    if (npages == 1) {  // the lowest free page of all
      search_region_ = k;
      search_word_ = first / kWordPages;
    }
  }
  Region* r = &regions_[k];
  size_t scav = 0;
  ForEachWord(first, npages, [&](size_t w, uint64_t mask) {
    GCHEAP_DCHECK((r->free[w] & mask) == mask, "Alloc found pages in use");
    scav += std::popcount(r->scav[w] & mask);
    r->free[w] &= ~mask;
    r->scav[w] &= ~mask;
  });
  // Step past the hint word once it fills up (the next word may be nwords:
  // the fast path then falls through to the search).
  if (k == search_region_ && search_word_ < r->nwords &&
      r->free[search_word_] == 0) {
    search_word_++;
  }
  Changed(k, first, npages);
  free_pages_ -= npages;
  scavenged_pages_ -= scav;
  *scavenged_pages = scav;
  return r->base + (first << kPageAllocPageShift);
}

void PageAlloc::Free(uintptr_t base, size_t npages) {
  size_t k = RegionFor(base, npages, "Free");
  Region* r = &regions_[k];
  size_t first = (base - r->base) >> kPageAllocPageShift;
  ForEachWord(first, npages, [&](size_t w, uint64_t mask) {
    GCHEAP_CHECK((r->avail[w] & mask) == mask && (r->free[w] & mask) == 0,
                 "Free of [%#zx, +%zu pages): double free or pages not in use",
                 static_cast<size_t>(base), npages);
  });
  ForEachWord(first, npages,
              [&](size_t w, uint64_t mask) { r->free[w] |= mask; });
  Changed(k, first, npages);
  LowerSearchHint(k, first / kWordPages);
  free_pages_ += npages;
}

size_t PageAlloc::ScavengeRegion(
    Region* r, size_t max_pages,
    absl::FunctionRef<void(uintptr_t, size_t)> release) {
  size_t done = 0;
  // Pending run [run_lo, run_hi) in page indices, grown downwards.
  size_t run_lo = 0, run_hi = 0;
  auto flush = [&] {
    if (run_hi > run_lo) {
      release(r->base + (run_lo << kPageAllocPageShift), run_hi - run_lo);
    }
  };
  for (size_t w = PrevUnscavWord(*r, r->nwords); w != kNone && done < max_pages;
       w = PrevUnscavWord(*r, w)) {
    uint64_t b = r->free[w] & ~r->scav[w];
    while (b != 0 && done < max_pages) {
      size_t top = 63 - std::countl_zero(b);
      uint64_t zeros = ~b & BitRange(0, top + 1);
      size_t low = zeros == 0 ? 0 : 64 - std::countl_zero(zeros);
      size_t len = top + 1 - low;
      if (len > max_pages - done) {
        len = max_pages - done;
        low = top + 1 - len;
      }
      uint64_t mask = BitRange(low, top + 1);
      r->scav[w] |= mask;
      b &= ~mask;
      done += len;
      size_t hi_page = w * kWordPages + top + 1;
      size_t lo_page = w * kWordPages + low;
      if (run_hi > run_lo && run_lo == hi_page) {
        run_lo = lo_page;
      } else {
        flush();
        run_lo = lo_page;
        run_hi = hi_page;
      }
    }
    UpdateWords(r, w, w);
  }
  flush();
  return done;
}

size_t PageAlloc::Scavenge(size_t max_pages,
                           absl::FunctionRef<void(uintptr_t, size_t)> release) {
  Flush();
  size_t done = 0;
  for (size_t k = PrevUnscavRegion(nregions_); k != kNone && done < max_pages;
       k = PrevUnscavRegion(k)) {
    done += ScavengeRegion(&regions_[k], max_pages - done, release);
    UpdateIndex(k);
  }
  scavenged_pages_ += done;
  return done;
}

bool PageAlloc::IsFree(uintptr_t addr) const {
  size_t k = FindRegion(addr);
  if (k == kNone) return false;
  const Region& r = regions_[k];
  size_t p = (addr - r.base) >> kPageAllocPageShift;
  return (r.free[p / kWordPages] >> (p % kWordPages)) & 1;
}

bool PageAlloc::IsScavenged(uintptr_t addr) const {
  size_t k = FindRegion(addr);
  if (k == kNone) return false;
  const Region& r = regions_[k];
  size_t p = (addr - r.base) >> kPageAllocPageShift;
  return (r.scav[p / kWordPages] >> (p % kWordPages)) & 1;
}

void PageAlloc::Verify() const {
  // Each pending entry has its dirty bit and vice versa (counted below).
  size_t ndirty = 0;
  for (size_t j = 0; j < npending_; j++) {
    auto [k, w] = pending_[j];
    GCHEAP_CHECK(k < nregions_ && w < regions_[k].nwords,
                 "pending entry %zu out of range", j);
    GCHEAP_CHECK(regions_[k].dirty[w / 64] >> (w % 64) & 1,
                 "pending word %zu of region %zu not marked dirty", w, k);
  }
  for (size_t k = 0; k < nregions_; k++) {
    for (size_t i = 0; i < (regions_[k].nwords + 63) / 64; i++) {
      ndirty += std::popcount(regions_[k].dirty[i]);
    }
  }
  GCHEAP_CHECK(ndirty == npending_, "%zu dirty words, %zu pending", ndirty,
               npending_);
  // Every word whose bitmaps changed is pending: after the flush the
  // summaries must match the bitmaps exactly.
  Flush();
  size_t free = 0, scav = 0, avail = 0;
  for (size_t k = 0; k < nregions_; k++) {
    const Region& r = regions_[k];
    if (k > 0) {
      const Region& prev = regions_[k - 1];
      GCHEAP_CHECK(prev.base + prev.npages * kPageAllocPageSize <= r.base,
                   "regions out of order");
    }
    size_t L = r.nleaves;
    for (size_t w = 0; w < L; w++) {
      Summary want{};
      uint32_t want_unscav = 0;
      if (w < r.nwords) {
        GCHEAP_CHECK((r.free[w] & ~r.avail[w]) == 0, "free page not available");
        GCHEAP_CHECK((r.scav[w] & ~r.free[w]) == 0, "scavenged page not free");
        free += std::popcount(r.free[w]);
        scav += std::popcount(r.scav[w]);
        avail += std::popcount(r.avail[w]);
        want = LeafSummary(r.free[w]);
        want_unscav = std::popcount(r.free[w] & ~r.scav[w]);
        bool below_hint =
            k < search_region_ || (k == search_region_ && w < search_word_);
        GCHEAP_CHECK(!below_hint || r.free[w] == 0,
                     "free page in word %zu of region %zu, below the search "
                     "hint (%zu, %zu)",
                     w, k, search_region_, search_word_);
      }
      GCHEAP_CHECK(r.tree[L + w] == want && r.unscav[L + w] == want_unscav,
                   "leaf %zu of region %zu stale", w, k);
    }
    uint32_t len = kWordPages;
    for (size_t lo = L / 2; lo >= 1; lo /= 2, len *= 2) {
      for (size_t i = lo; i < 2 * lo; i++) {
        GCHEAP_CHECK(
            r.tree[i] == Combine(r.tree[2 * i], r.tree[2 * i + 1], len) &&
                r.unscav[i] == r.unscav[2 * i] + r.unscav[2 * i + 1],
            "node %zu of region %zu stale", i, k);
      }
    }
    const IndexNode& leaf = index_[cap_regions_ + k];
    GCHEAP_CHECK(leaf.max == r.tree[1].max && leaf.unscav == r.unscav[1],
                 "index leaf %zu stale", k);
  }
  GCHEAP_CHECK(search_region_ <= nregions_, "search hint past the regions");
  for (size_t i = 1; i < cap_regions_; i++) {
    GCHEAP_CHECK(
        index_[i].max == std::max(index_[2 * i].max, index_[2 * i + 1].max) &&
            index_[i].unscav == index_[2 * i].unscav + index_[2 * i + 1].unscav,
        "index node %zu stale", i);
  }
  GCHEAP_CHECK(free == free_pages_, "free_pages %zu, bitmaps say %zu",
               free_pages_, free);
  GCHEAP_CHECK(scav == scavenged_pages_, "scavenged_pages %zu, bitmaps say %zu",
               scavenged_pages_, scav);
  GCHEAP_CHECK(avail == grown_pages_, "grown_pages %zu, bitmaps say %zu",
               grown_pages_, avail);
}

void PageAlloc::ForEachRun(
    absl::FunctionRef<void(uintptr_t, size_t, bool, size_t)> fn) const {
  auto bit = [](const uint64_t* bits, size_t i) {
    return (bits[i / 64] >> (i % 64)) & 1;
  };
  for (size_t k = 0; k < nregions_; k++) {
    const Region& r = regions_[k];
    size_t i = 0;
    while (i < r.npages) {
      if (!bit(r.avail, i)) {
        i++;
        continue;
      }
      const bool free = bit(r.free, i);
      size_t j = i, scav = 0;
      while (j < r.npages && bit(r.avail, j) && bit(r.free, j) == free) {
        scav += free && bit(r.scav, j);
        j++;
      }
      fn(r.base + i * kPageAllocPageSize, j - i, free, scav);
      i = j;
    }
  }
}

}  // namespace gcheap::internal
