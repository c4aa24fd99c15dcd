// MSpan: a run of pages holding objects of one span class. See alloc/malloc.h
// for the map of the allocator.
//
// A span's objects are slots of elemsize bytes at start_addr + i*elemsize,
// i < nelems. Which slots are taken is told by two bitmaps and an index:
//
//   alloc_bits   1 = slot was live at the last sweep
//   gcmark_bits  1 = slot was marked by the collector this cycle
//   scan_bits    1 = slot's object was claimed by a span scan this cycle
//                    (span-based marking, gc/mark.h; small scan spans
//                    only; objects of sparse spans are scanned without)
//   freeindex    every slot below it is allocated; the allocator only
//                    looks at slots >= freeindex
//   alloc_cache  the free slots at or above freeindex in the 64-slot word
//                    starting at cache_base (~alloc_bits, low bits cleared)
//
// The fast path takes slot cache_base + ctz(alloc_cache) and clears that
// bit (alloc_cache &= alloc_cache - 1): the only value carried from one
// allocation to the next is alloc_cache, so consecutive allocations are
// not serialised on more than one load-modify-store. freeindex is not
// stored; it is derived (FreeIndex()) from the cache: everything below the
// lowest free bit is taken. alloc_count is not bumped per allocation
// either: it is brought up to date (SyncAllocCount) when an mcache hands
// the span back, by counting the slots taken since it was cached.
//
// No free list is ever built: sweeping makes gcmark_bits the new alloc_bits
// and clears a fresh gcmark_bits, so the free slots are simply the unmarked
// ones. A slot is allocated iff i < FreeIndex() || alloc_bits[i].
//
// Ownership: a span is in exactly one place at a time: an mcentral set, an
// mcache slot (sweepgen = sg+3 or sg+1), the hands of a sweeper (sg-1), or
// the mheap's free pages (state kDead). Only the owner writes freeindex,
// alloc_cache, alloc_bits and alloc_count. gcmark_bits are set atomically by
// markers, and by an mcache that takes the span while the collector marks
// (allocate black for the free slots, cleared again, atomically, when the
// mcache hands it back: MarkFreeSlots); otherwise they are cleared only by
// the sweeper that owns the span.
#ifndef GCHEAP_ALLOC_MSPAN_H_
#define GCHEAP_ALLOC_MSPAN_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "alloc/size_classes.h"
#include "base/check.h"
#include "gcheap/internal/fast_path.h"

namespace gcheap::internal {

class MSpanList;

enum class SpanState : uint8_t {
  kDead = 0,   // pages are free; the MSpan is unused or being recycled
  kInUse = 1,  // holds heap objects (small or large)
};

// The fields the public headers' inline allocation path reads and writes
// are the base, gch_internal_span (gcheap/internal/fast_path.h): start_addr,
// elemsize (the slot size; npages * kPageSize for large spans), alloc_cache,
// cache_base, freeindex_for_scan, needzero, small_scan, has_destructors,
// and the layout fields below (layout, uniform_mask, uniform_type,
// heap_bits, header_bits).
struct MSpan : gch_internal_span {
  MSpan() : gch_internal_span{} {}

  // --- identity: written once when the span is created, before it is
  // published (state = kInUse with release order).
  size_t npages = 0;
  uintptr_t limit = 0;        // start_addr + nelems * elemsize
  uint32_t div_mul = 0;       // object index = (offset * div_mul) >> 32
  uint16_t nelems = 0;        // slots in the span (1 for a large span)
  uint16_t bitmap_words = 0;  // 64-bit words per bitmap
  SpanClass spanclass;
  std::atomic<SpanState> state{SpanState::kDead};
  // A small scan span (elemsize <= kMaxHeapBitsObject): its objects'
  // layouts are kept per span (layout, uniform_mask) or in type bits.

  // --- what markers read for every object, kept in the first cache line.
  // Layout of a small scan span's objects:
  //   kLayoutEmpty    no object has been given a layout yet;
  //   kLayoutUniform  every object so far has no header and the pointer
  //                   words uniform_mask: heap_bits and header_bits are not
  //                   kept (a span of one type, the common case, costs its
  //                   allocations and its markers no bitmap traffic);
  //   kLayoutMixed    heap_bits and header_bits describe every slot;
  // plus the flag kLayoutConservative: some object in the span has no
  // layout of its own (a conservative object without a header, whose type
  // bits name all its words), so every word the span's type bits name may
  // be a non-pointer: markers check each value (see gc/mark.h).
  // The state moves only forward while the span lives (see SetTypeBits),
  // and the flag, once set, stays; written by the allocating owner, read
  // by markers. A span whose layout byte is exactly kLayoutUniform is the
  // markers' inlined case.
  static constexpr uint8_t kLayoutEmpty = GCH_INTERNAL_LAYOUT_EMPTY;
  static constexpr uint8_t kLayoutUniform = GCH_INTERNAL_LAYOUT_UNIFORM;
  static constexpr uint8_t kLayoutMixed = GCH_INTERNAL_LAYOUT_MIXED;
  static constexpr uint8_t kLayoutStateMask = GCH_INTERNAL_LAYOUT_STATE_MASK;
  static constexpr uint8_t kLayoutConservative =
      GCH_INTERNAL_LAYOUT_CONSERVATIVE;
  // The type (a gcheap::Type) of the object that made the layout uniform,
  // or null: what diagnostics name for header-less objects (others of the
  // same mask may share the span). Relaxed atomic.
  // Type bits of a small scan span whose layout is mixed, else null
  // (allocated when the layout turns mixed, so spans of one layout carry
  // none): heap_bits has one bit per word of the span (1 = the word may
  // hold a heap pointer), header_bits one bit per slot (1 = the object
  // starts with a type header instead; see gc/object.h). Written by the
  // allocating owner for each new object, read by markers; relaxed atomics.
  uint64_t* gcmark_bits = nullptr;  // set atomically by markers
  // Span-based marking (gc/mark.h): the slots whose objects a span scan
  // has claimed this cycle (set atomically by markers, and with the mark
  // bits by allocate-black; zeroed by the sweep; a sparse span's objects,
  // queued one by one, are scanned without), and whether the span waits in
  // some marker's queue (1) or not (0): the marker that greys an object
  // of a span that does not wait queues it.
  uint64_t* scan_bits = nullptr;
  std::atomic<uint8_t> mark_queued{0};
  // Span-based marking: how many times this cycle a marker took the span
  // from the queue and scanned a single object (relaxed atomic; it only
  // grows, up to kSparseAfter). A span that waited that often for a single
  // object lies in a part of the heap linked at random: its objects are
  // queued one by one for the rest of the cycle (gc/mark.h, "Sparse
  // spans"). Zeroed by the sweep.
  static constexpr uint8_t kSparseAfter = 2;
  uint8_t mark_sparse = 0;
  // MHeapOptions::record_types: the gcheap::Type of each header-less slot
  // (nelems entries, from MHeap::AllocSlotTypes when the span is first
  // cached; null otherwise), so heap dumps and retention paths can name every
  // object.
  const void** slot_types = nullptr;

  // --- allocation state: written by the span's owner only.
  uint16_t alloc_count = 0;           // allocated slots; stale while cached
  uint16_t alloc_count_at_cache = 0;  // alloc_count when an mcache took it
  uint16_t freeindex_at_cache = 0;    // FreeIndex() when an mcache took it
  // A free index published for other threads: every slot below it is
  // allocated. The owner stores it (a relaxed atomic, a plain move) on
  // every allocation, so markers and FindObject on any thread read it, and
  // the alloc bits, instead of the owner's private cache fields.
  // Cached while the collector marked: every free slot at or above the
  // free index was marked when the mcache took the span, so what the
  // mcache allocates from it is black already (see MarkFreeSlots).
  bool black_cached = false;
  // Some object in the span has a destructor: the sweeper calls the
  // heap's SweepHook before freeing objects (set by the allocating owner).
  // Some object in the span has special records (finalizer, weak handle,
  // cleanup; gc/specials.h): the sweeper calls the heap's specials hook
  // first. Set and cleared under the records' lock, read by sweepers.
  std::atomic<bool> has_specials{false};
  uint64_t* alloc_bits = nullptr;

  // Sweep generation relative to the heap's sweepgen sg (see mcentral.h).
  std::atomic<uint32_t> sweepgen{0};

  // --- links for the MSpanList the span is in; guarded by that list's
  // owner lock.
  MSpan* next = nullptr;
  MSpan* prev = nullptr;
  MSpanList* list = nullptr;

  static constexpr size_t kMaxHeapBitsObject =
      GCH_INTERNAL_MAX_HEAP_BITS_OBJECT;
  static constexpr size_t kHeapBitsWords = 16;  // one page of 8-byte words
  // The most 64-bit words a small span's bitmap needs (MHeap's bitmaps).
  static constexpr size_t kMaxBitmapWords = 16;

  bool is_large() const { return spanclass.sizeclass() == 0; }
  uintptr_t base() const { return start_addr; }
  size_t bytes() const { return npages * kPageSize; }

  // Index of the slot holding address p, which must lie in [start, limit).
  ABSL_ATTRIBUTE_ALWAYS_INLINE uintptr_t ObjIndex(uintptr_t p) const {
    return ((p - start_addr) * uint64_t{div_mul}) >> 32;
  }
  uintptr_t ObjBase(uintptr_t idx) const { return start_addr + idx * elemsize; }

  // Every slot below FreeIndex() is allocated. For the owner only.
  uint32_t FreeIndex() const {
    if (alloc_cache != 0) return cache_base + __builtin_ctzll(alloc_cache);
    uint32_t end = cache_base + 64u;
    return end < nelems ? end : nelems;
  }
  // Whether slot idx holds an allocated object; safe from any thread.
  bool IsAllocated(uintptr_t idx) const {
    return idx < __atomic_load_n(&freeindex_for_scan, __ATOMIC_RELAXED) ||
           ((alloc_bits[idx / 64] >> (idx % 64)) & 1);
  }
  void PublishFreeIndex(uint32_t fi) {  // as the inline fast path does
    __atomic_store_n(&freeindex_for_scan, static_cast<uint16_t>(fi),
                     __ATOMIC_RELAXED);
  }
  bool IsMarked(uintptr_t idx) const {
    return (__atomic_load_n(&gcmark_bits[idx / 64], __ATOMIC_RELAXED) >>
            (idx % 64)) &
           1;
  }
  // Sets the mark bit; returns true if this call set it (the caller greys).
  ABSL_ATTRIBUTE_ALWAYS_INLINE bool TryMark(uintptr_t idx) {
    uint64_t bit = uint64_t{1} << (idx % 64);
    uint64_t* w = &gcmark_bits[idx / 64];
    if (__atomic_load_n(w, __ATOMIC_RELAXED) & bit) return false;
    // Sequentially consistent for span-based marking (TryQueueForMarking);
    // on x86-64 the same locked instruction as relaxed.
    return (__atomic_fetch_or(w, bit, __ATOMIC_SEQ_CST) & bit) == 0;
  }
  int CountMarked() const;
  // The bitmap words that hold the span's slots (bitmap_words may be more).
  uint32_t SlotWords() const { return (uint32_t{nelems} + 63) / 64; }
  // Span-based marking: after marking a slot, notes that the span has an
  // object to scan; true if the caller must queue it (it did not wait
  // already). mark_queued: kNotQueued; kQueuedOne, waiting with one marked
  // object to scan, the one its queue entry names; kQueuedMany, more were
  // marked since. Sequentially consistent with TakeQueued and the mark
  // bits: a marker that takes the span (reading kQueuedMany) and then reads
  // the mark bits sees every mark set by a greyer that found it queued.
  static constexpr uint8_t kNotQueued = 0;
  static constexpr uint8_t kQueuedOne = 1;
  static constexpr uint8_t kQueuedMany = 2;
  ABSL_ATTRIBUTE_ALWAYS_INLINE bool TryQueueForMarking() {
    uint8_t st = mark_queued.load(std::memory_order_seq_cst);
    while (st != kQueuedMany) {
      const uint8_t next = st == kNotQueued ? kQueuedOne : kQueuedMany;
      if (mark_queued.compare_exchange_weak(st, next,
                                            std::memory_order_seq_cst)) {
        return st == kNotQueued;
      }
    }
    return false;
  }
  // The span left the queue (a mark from here on queues it again); returns
  // the state it left: kQueuedOne or kQueuedMany.
  uint8_t TakeQueued() {
    return mark_queued.exchange(kNotQueued, std::memory_order_seq_cst);
  }

  // Type bits (small scan spans only).
  // Whether slot idx's object is described by type bits (no header). For
  // a small scan span only.
  ABSL_ATTRIBUTE_ALWAYS_INLINE bool SlotUsesTypeBits(uintptr_t idx) const {
    return (LoadLayout() & kLayoutStateMask) != kLayoutMixed ||
           !HasHeaderBit(idx);
  }
  // Some object of the span is conservative (kLayoutConservative).
  bool conservative() const { return LoadLayout() & kLayoutConservative; }
  // Owner only: before the first conservative object is handed out.
  ABSL_ATTRIBUTE_ALWAYS_INLINE void MarkConservative() {
    gch_internal_mark_conservative(this);
  }
  // The pointer words of slot idx (bit i = word i of the object); the slot
  // must use type bits.
  ABSL_ATTRIBUTE_ALWAYS_INLINE uint64_t SlotPointerBits(uintptr_t idx) const {
    uint8_t l = LoadLayout() & kLayoutStateMask;
    if (l == kLayoutUniform) {
      return __atomic_load_n(&uniform_mask, __ATOMIC_RELAXED);
    }
    return l == kLayoutMixed ? PointerBits(idx) : 0;  // empty: nothing yet
  }
  // Records slot idx's layout: with_header, or pointer words `ptrmask`
  // (bit i = word i of the object; bits past the slot are ignored). While
  // every object has the same pointer words and no header, only the span's
  // uniform_mask says so; the first object that differs turns the layout
  // mixed. Returns false if that needs the type bits first: the caller
  // gets them from the heap and calls BecomeMixed. Owner only.
  ABSL_ATTRIBUTE_ALWAYS_INLINE bool SetTypeBits(uintptr_t idx, bool with_header,
                                                uint64_t ptrmask,
                                                const void* type = nullptr) {
    // The uniform and empty cases, as the public fast path does them.
    if (gch_internal_try_set_type_bits(this, with_header, ptrmask, type)) {
      return true;
    }
    if ((LoadLayout() & kLayoutStateMask) != kLayoutMixed) return false;
    WriteTypeBits(idx, with_header, ptrmask);
    return true;
  }
  uint8_t LoadLayout() const {
    return __atomic_load_n(&layout, __ATOMIC_ACQUIRE);
  }
  void StoreLayout(uint8_t l) {
    __atomic_store_n(&layout, l, __ATOMIC_RELEASE);
  }
  // Turns the layout mixed with type bits `bitmaps` (2 * kHeapBitsWords
  // words, any content): spells out what the layout said so far for every
  // slot, publishes, then records slot idx's layout. Owner only.
  void BecomeMixed(uint64_t* bitmaps, uintptr_t idx, bool with_header,
                   uint64_t ptrmask);
  // The raw bitmaps, meaningful once the layout is mixed.
  bool HasHeaderBit(uintptr_t idx) const {
    return (__atomic_load_n(&header_bits[idx / 64], __ATOMIC_RELAXED) >>
            (idx % 64)) &
           1;
  }
  uint64_t PointerBits(uintptr_t idx) const {
    size_t words = elemsize / 8;  // <= 64
    size_t pos = idx * words;
    size_t w = pos / 64, sh = pos % 64;
    uint64_t bits = __atomic_load_n(&heap_bits[w], __ATOMIC_RELAXED) >> sh;
    if (sh + words > 64) {
      bits |= __atomic_load_n(&heap_bits[w + 1], __ATOMIC_RELAXED) << (64 - sh);
    }
    return bits & SlotWordsMask();
  }
  // One bit per word of a slot.
  uint64_t SlotWordsMask() const { return gch_internal_slot_words_mask(this); }

  // Points the cache at slot `freeindex`: its word, with the slots below
  // freeindex treated as taken.
  void RefillAllocCache(uint32_t freeindex);
  // The current word is spent: moves the cache to the next word with a
  // free slot. Returns false if the span is full.
  bool NextFreeWordSlow();
  // Brings alloc_count up to date after allocation from the cache: adds
  // the slots taken since the span was cached.
  void SyncAllocCount();
  // Allocate-black for a whole cached span: sets (or, when the mcache hands
  // the span back, clears again) the mark bits of the free slots at or
  // above FreeIndex(). Allocation takes exactly those slots, in order, so
  // while the span is cached each object it hands out is already marked,
  // and the fast path writes no mark bit. Clearing leaves the slots taken
  // meanwhile (now below FreeIndex()) marked and the rest free for the
  // sweep. Markers never set a free slot's bit (they check IsAllocated),
  // so the atomic read-modify-writes here and theirs touch different
  // bits of a word. The scan bits of those slots are set first (and stay
  // set): a span-based marker never scans a slot allocate-black marked.
  // For the owner only.
  void MarkFreeSlots(bool set);
  // Records the allocation state when an mcache takes the span.
  void NoteCached() {
    alloc_count_at_cache = alloc_count;
    freeindex_at_cache = static_cast<uint16_t>(FreeIndex());
  }

  // Writes slot idx's bits into the bitmaps.
  void WriteTypeBits(uintptr_t idx, bool with_header, uint64_t ptrmask);

  // Initializes a span's allocation state for `nelems` slots. The bitmaps
  // must hold bitmap_words words each and be zero.
  void InitAllocState();
};

// Result of sweeping one span.
struct SweepResult {
  int nfreed = 0;      // objects freed
  int nlive = 0;       // objects still allocated
  bool empty = false;  // no live objects remain
};

// Sweeps a span the caller owns (claimed at sweepgen sg-1, or exclusively
// owned by a test): marked slots become allocated, unmarked ones free,
// gcmark_bits are cleared for the next cycle, freeindex restarts at 0.
// Fails loudly on a "zombie": a slot marked but not allocated.
// Does not publish sweepgen or move the span; the caller does (mcentral.cc).
SweepResult SweepSpanBits(MSpan* s);

// An intrusive doubly-linked list of spans. Not synchronized: guarded by its
// owner's lock.
class MSpanList {
 public:
  bool empty() const { return first_ == nullptr; }
  MSpan* first() const { return first_; }
  size_t size() const { return n_; }
  void Push(MSpan* s);
  void Remove(MSpan* s);
  MSpan* Pop() {
    MSpan* s = first_;
    if (s != nullptr) Remove(s);
    return s;
  }

 private:
  MSpan* first_ = nullptr;
  size_t n_ = 0;
};

}  // namespace gcheap::internal

#endif  // GCHEAP_ALLOC_MSPAN_H_
