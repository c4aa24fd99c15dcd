// PageAlloc: which 8 KiB heap pages are free, over discontiguous regions of
// address space, with address-ordered first fit in O(log) time.
//
// Map
// ---
// The heap registers regions (typically 64 MiB arenas of 8192 pages, larger
// for huge objects; any multiple of 64 pages). Each region keeps three
// bitmaps with one bit per page, word w covering pages [64w, 64w + 64):
//
//   avail  page was made available by Grow (never cleared)
//   free   page is free (avail and not in use)
//   scav   page is free and scavenged (released to the OS: zero, not resident)
//
// and a summary tree over the 64-page words: a complete binary tree stored
// as an implicit heap (node 1 is the root, children of i are 2i and 2i+1,
// leaf for word w is node L + w, L = word count rounded up to a power of
// two; padding leaves are all-zero and never change). Every node summarizes
// the pages below it:
//
//                 [1] root: (start, max, end, unscav) of 256 pages
//                /                      \   (each level halves the range)
//      [2] pages 0-127             [3] pages 128-255
//       /          \                 /            \   (leaves: one word)
//   [4] word 0    [5] word 1     [6] word 2     [7] word 3
//   pages 0-63    pages 64-127   pages 128-191  pages 192-255
//
//   start  free run at the low-address end of the node, in pages
//   max    longest free run inside the node
//   end    free run at the high-address end
//   unscav free pages that are not scavenged (drives Scavenge)
//
// A parent with children l and r, each covering c pages, has
//   start = l.start == c ? c + r.start : l.start
//   end   = r.end == c ? c + l.end : r.end
//   max   = max(l.max, r.max, l.end + r.start)
//
// Over the regions (kept sorted by base address in a growable array) sits
// a second implicit binary tree, the region index, whose leaf i holds the
// root max and root unscav of region i; inner nodes hold the max of max and
// the sum of unscav. A region's root summary is copied into its index leaf
// whenever it changes.
//
// Alloc(n): descend the region index to the lowest-address region whose
// max >= n (go left when the left child's max >= n), then descend that
// region's tree: at a node, if left.max >= n go left; else if
// left.end + right.start >= n the run starts at the left child's high-end
// run; else go right. A leaf finds the first run of n set bits in its word
// by shift-and (n <= 64 there). Runs never cross region boundaries.
//
// Scavenge: walk the region index from the highest-address region with
// unscav > 0 downwards, and inside a region walk words from high to low,
// jumping between words with unscav > 0 through the tree (predecessor
// search). Contiguous pages are coalesced into one release call; runs are
// not coalesced across regions even if those happen to be adjacent.
//
// Complexity (R regions, W = words in the region touched, n pages):
//   Alloc          O(log R + log W + n/64)   (search, then bit updates and
//   Free, Grow     O(log R + log W + n/64)    ancestors of the changed words)
//   Scavenge       O(log R + log W + k/64 + runs*log W), k pages released
//   IsFree etc.    O(log R)                   (binary search over regions)
//   AddRegion      O(R) (sorted insert, index rebuild) + the new metadata
// No operation scans pages linearly.
//
// Invariants: scav is a subset of free, free a subset of avail; every tree
// node matches its children (and leaves their words); the counters equal
// the popcounts of the bitmaps.
//
// Memory: per-region metadata (bitmaps and tree, about 3 bits plus 32 bytes
// per 64 pages) is one OsAllocMetadata block; the region array and region
// index are OsAllocMetadata blocks reallocated (copied) when regions are
// added. Nothing calls malloc. Everything is unmapped by the destructor.
//
// Locking: none. PageAlloc is not synchronized; the caller (the heap)
// holds the heap lock around every call, including the const queries. The
// release callback of Scavenge runs under that lock and must not call back
// into this PageAlloc.
#ifndef GCHEAP_ALLOC_PAGE_ALLOC_H_
#define GCHEAP_ALLOC_PAGE_ALLOC_H_

#include <cstddef>
#include <cstdint>

#include "absl/functional/function_ref.h"

namespace gcheap::internal {

constexpr size_t kPageAllocPageShift = 13;  // 8 KiB pages
constexpr size_t kPageAllocPageSize = size_t{1} << kPageAllocPageShift;
// Region sizes must be a multiple of this many pages (one bitmap word).
constexpr size_t kPageAllocRegionQuantum = 64;

class PageAlloc {
 public:
  PageAlloc();
  ~PageAlloc();  // frees all metadata
  PageAlloc(const PageAlloc&) = delete;
  PageAlloc& operator=(const PageAlloc&) = delete;

  // Registers [base, base + npages * 8 KiB); base is 8 KiB aligned, npages a
  // nonzero multiple of 64. Regions never overlap and may come in any
  // address order. Every page of a new region is unavailable. Returns false
  // (and changes nothing) if metadata memory could not be obtained.
  bool AddRegion(uintptr_t base, size_t npages);

  // Makes [base, base + npages * 8 KiB), inside one registered region and
  // currently unavailable, free and scavenged.
  void Grow(uintptr_t base, size_t npages);

  // Finds the lowest-address run of npages free pages inside one region,
  // marks it in use and returns its base, or 0 if there is none.
  // *scavenged_pages receives how many pages of the run were scavenged.
  uintptr_t Alloc(size_t npages, size_t* scavenged_pages);

  // Marks an in-use run free (not scavenged). CHECK-fails unless every page
  // is in use.
  void Free(uintptr_t base, size_t npages);

  // Marks up to max_pages free, unscavenged pages scavenged, highest
  // addresses first, calling release(base, npages) for each maximal
  // contiguous run (within a region). Returns the pages scavenged.
  size_t Scavenge(size_t max_pages,
                  absl::FunctionRef<void(uintptr_t, size_t)> release);

  bool IsFree(uintptr_t addr) const;       // page containing addr is free
  bool IsScavenged(uintptr_t addr) const;  // free and scavenged

  size_t free_pages() const { return free_pages_; }
  size_t scavenged_pages() const { return scavenged_pages_; }
  size_t grown_pages() const { return grown_pages_; }
  size_t num_regions() const { return nregions_; }
  // Bytes of metadata obtained from the OS.
  size_t metadata_bytes() const { return metadata_bytes_; }

  // Recomputes every summary and counter from the bitmaps and CHECK-fails
  // on any mismatch. O(pages); for tests.
  void Verify() const;

 private:
  struct Summary {
    uint32_t start;
    uint32_t max;
    uint32_t end;
    uint32_t unscav;
  };
  struct Region {
    uintptr_t base;
    size_t npages;
    size_t nwords;
    size_t nleaves;  // nwords rounded up to a power of two
    uint64_t* avail;
    uint64_t* free;
    uint64_t* scav;
    Summary* tree;  // 2 * nleaves nodes, node 0 unused
    void* meta;
    size_t meta_bytes;
  };
  struct IndexNode {
    uint64_t max;
    uint64_t unscav;
  };

  static Summary LeafSummary(uint64_t free, uint64_t scav);
  static Summary Combine(const Summary& l, const Summary& r, uint32_t len);
  // Recomputes leaves [wlo, whi] of r and their ancestors.
  static void UpdateWords(Region* r, size_t wlo, size_t whi);
  // Lowest page index of a run of n free pages in r; r must have one.
  static size_t FindInRegion(const Region& r, size_t n);
  // Largest word index below w whose leaf has unscav > 0, or SIZE_MAX.
  static size_t PrevUnscavWord(const Region& r, size_t w);
  size_t PrevUnscavRegion(size_t i) const;
  size_t ScavengeRegion(Region* r, size_t max_pages,
                        absl::FunctionRef<void(uintptr_t, size_t)> release);

  // Index of the region containing addr, or SIZE_MAX.
  size_t FindRegion(uintptr_t addr) const;
  // Region containing [base, base + npages pages); CHECK-fails if none.
  size_t RegionFor(uintptr_t base, size_t npages, const char* op) const;
  void UpdateIndex(size_t i);
  void RebuildIndex();
  bool Reserve(size_t nregions);

  Region* regions_ = nullptr;  // sorted by base
  size_t nregions_ = 0;
  size_t cap_regions_ = 0;
  IndexNode* index_ = nullptr;  // 2 * cap_regions_ nodes, node 0 unused
  size_t free_pages_ = 0;
  size_t scavenged_pages_ = 0;
  size_t grown_pages_ = 0;
  size_t metadata_bytes_ = 0;
};

}  // namespace gcheap::internal

#endif  // GCHEAP_ALLOC_PAGE_ALLOC_H_
