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
// (start, max, end) is the Summary, 3 x uint32 compared and stored as one
// value; unscav is a separate count tree of the same shape. A parent with
// children l and r, each covering c pages, has
//   start  = l.start == c ? c + r.start : l.start
//   end    = r.end == c ? c + l.end : r.end
//   max    = max(l.max, r.max, l.end + r.start)
//   unscav = l.unscav + r.unscav
//
// Over the regions (kept sorted by base address in a growable array) sits
// a second implicit binary tree, the region index, whose leaf i holds the
// root max and root unscav of region i; inner nodes hold the max of max and
// the sum of unscav.
//
// Updating (UpdateWords, UpdateIndex): after leaves change, ancestors are
// recomputed level by level while a level has several nodes to update;
// once the path is one node per level, the Summary is recomputed only up
// to the first ancestor that comes out unchanged (its other child did not
// change, so nothing above can), and unscav is moved by the leaves' total
// delta all the way up. The index does the same with max and unscav.
//
// Deferred updates: a change confined to one word (every Alloc/Free/Grow
// of a run inside one word, i.e. all single-page spans) only sets the word
// in its region's dirty bitmap and appends (region, word) to pending_ (64
// entries). Flush sorts pending_ by address and recomputes each dirty leaf
// and its ancestors, each ancestor once (a path stops where the next
// pending word's path joins it), then each touched region's index path.
// Flush runs before anything reads a summary (the Alloc search, Scavenge,
// AddRegion, Verify, a wider update) and when pending_ is full.
//
// Search hint (Go's searchAddr): (search_region_, search_word_) is a word
// below which no page is free in address order. Free and Grow lower it,
// AddRegion shifts it with the regions, a 1-page Alloc found by the search
// raises it to the page's word, and filling the hint word steps it by one.
//
// Alloc(n): fast path for n <= 64: if the hint word has a run of n free
// bits, its lowest one is the first fit (nothing is free below, and a run
// crossing into the next word starts above any run inside this word); it
// reads only the bitmap. Otherwise Flush, then descend the region index to
// the lowest-address region whose max >= n (go left when the left child's
// max >= n), then descend that region's tree: at a node, if left.max >= n
// go left; else if left.end + right.start >= n the run starts at the left
// child's high-end run; else go right. A leaf finds the first run of n set
// bits in its word by shift-and (n <= 64 there). Runs never cross region
// boundaries.
//
// Scavenge: walk the region index from the highest-address region with
// unscav > 0 downwards, and inside a region walk words from high to low,
// jumping between words with unscav > 0 through the tree (predecessor
// search). Contiguous pages are coalesced into one release call; runs are
// not coalesced across regions even if those happen to be adjacent.
//
// Complexity (R regions, W = words in the region touched, n pages, P = 64
// pending words):
//   Alloc, fast    O(1) + O(n/64) bit updates, deferred summary update
//   Alloc, search  O(P log P + P (log W + log R))  (Flush, amortized over
//                  the ops that queued it) + O(log R + log W + n/64)
//   Free, Grow     O(log R) to find the region + O(n/64) bits; one word:
//                  deferred (amortized O(log W + log R) at Flush), wider:
//                  O(log R + log W + n/64) now
//   Scavenge       Flush + O(log R + log W + k/64 + runs*log W), k released
//   IsFree etc.    O(log R)                   (binary search over regions)
//   AddRegion      O(R) (sorted insert, index rebuild) + the new metadata
// No operation scans pages linearly.
//
// Invariants: scav is a subset of free, free a subset of avail; the
// counters equal the popcounts of the bitmaps; a word's dirty bit is set
// iff it is in pending_; every leaf matches its word and every inner node
// its children, except leaves in pending_ and their ancestors (and the
// index paths of their regions); no page is free below the search hint.
// Verify checks all of these (after a Flush, with no exceptions).
//
// Memory: per-region metadata (bitmaps and trees: 3 bits per page, plus
// 32 bytes and a dirty bit per 64 pages) is one OsAllocMetadata block; the
// region array and region index are OsAllocMetadata blocks reallocated (copied)
// when regions are added. Nothing calls malloc. Everything is unmapped by the
// destructor.
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
// Lengths are kept in 32 bits: a region may hold at most 2^31 pages
// (16 TiB), which bounds the largest span.
constexpr size_t kPageAllocMaxRegionPages = size_t{1} << 31;

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

  // Every run of pages Grow made available, in address order: free runs
  // (with how many of their pages are scavenged) and runs in use.
  void ForEachRun(absl::FunctionRef<void(uintptr_t base, size_t npages,
                                         bool free, size_t scavenged)>
                      fn) const;
  bool IsFree(uintptr_t addr) const;       // page containing addr is free
  bool IsScavenged(uintptr_t addr) const;  // free and scavenged

  size_t free_pages() const { return free_pages_; }
  size_t scavenged_pages() const { return scavenged_pages_; }
  size_t grown_pages() const { return grown_pages_; }
  size_t num_regions() const { return nregions_; }
  // Bytes of metadata obtained from the OS.
  size_t metadata_bytes() const { return metadata_bytes_; }

  // Recomputes every summary and counter from the bitmaps and CHECK-fails
  // on any mismatch, including the search hint's and pending list's
  // invariants. Applies deferred summary updates first. O(pages); for tests.
  void Verify() const;

 private:
  // Run lengths in pages; see the map. Compared and stored as a whole.
  struct Summary {
    uint32_t start;
    uint32_t max;
    uint32_t end;
    bool operator==(const Summary&) const = default;
  };
  struct Region {
    uintptr_t base;
    size_t npages;
    size_t nwords;
    size_t nleaves;  // nwords rounded up to a power of two
    uint64_t* avail;
    uint64_t* free;
    uint64_t* scav;
    uint64_t* dirty;   // one bit per word: the word is in pending_
    Summary* tree;     // 2 * nleaves nodes, node 0 unused
    uint32_t* unscav;  // same shape: free unscavenged pages below each node
    void* meta;
    size_t meta_bytes;
  };
  struct IndexNode {
    uint64_t max;
    uint64_t unscav;
  };

  static Summary LeafSummary(uint64_t free);
  static Summary Combine(const Summary& l, const Summary& r, uint32_t len);
  // Recomputes leaves [wlo, whi] of r and their ancestors, stopping the
  // summaries at the first unchanged ancestor.
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
  // Recomputes leaf w of r and its ancestors, up to (not including) the
  // first one that is also an ancestor of word `next` (kNone: to the root).
  static void RefreshPath(Region* r, size_t w, size_t next);
  // Copies region i's root into the index and updates the ancestors. const
  // like Flush: the index lives behind index_.
  void UpdateIndex(size_t i) const;
  // Records that word w of region k changed, flushing if pending_ is full.
  void MarkDirty(size_t k, size_t w);
  // Pages [first, first + npages) of region k changed: defers a one-word
  // change, applies a wider one now.
  void Changed(size_t k, size_t first, size_t npages);
  // Brings every summary and the index up to date with the bitmaps. const:
  // the summaries are a cache of the bitmaps, and flushing them changes
  // nothing a caller can observe.
  void Flush() const;
  // Lowers the search hint to (region k, word w) if that is below it.
  void LowerSearchHint(size_t k, size_t w);
  void RebuildIndex();
  bool Reserve(size_t nregions);

  Region* regions_ = nullptr;  // sorted by base
  size_t nregions_ = 0;
  size_t cap_regions_ = 0;
  IndexNode* index_ = nullptr;  // 2 * cap_regions_ nodes, node 0 unused
  // Search hint: no page is free in regions below search_region_ nor in
  // words below search_word_ of region search_region_. search_region_ may
  // be nregions_ and search_word_ the region's nwords (nothing free there).
  size_t search_region_ = 0;
  size_t search_word_ = 0;
  // Words whose bitmaps changed after their summaries were last computed,
  // each marked in its region's dirty bitmap. Only they and their ancestors
  // (and their regions' index paths) may be stale; Flush brings them up to
  // date before anything reads a summary.
  struct Pending {
    size_t region;
    size_t word;
    auto operator<=>(const Pending&) const = default;
  };
  static constexpr size_t kMaxPending = 64;
  mutable Pending pending_[kMaxPending];
  mutable size_t npending_ = 0;
  size_t free_pages_ = 0;
  size_t scavenged_pages_ = 0;
  size_t grown_pages_ = 0;
  size_t metadata_bytes_ = 0;
};

}  // namespace gcheap::internal

#endif  // GCHEAP_ALLOC_PAGE_ALLOC_H_
