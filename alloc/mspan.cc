#include "alloc/mspan.h"

#include <string.h>

namespace gcheap::internal {

void MSpan::RefillAllocCache(uint32_t freeindex) {
  uint32_t word = freeindex / 64;
  cache_base = static_cast<uint16_t>(word * 64);
  if (cache_base >= nelems) {
    alloc_cache = 0;
    return;
  }
  uint64_t free = ~alloc_bits[word];
  uint32_t valid = nelems - cache_base;  // slots present in this word
  if (valid < 64) free &= (uint64_t{1} << valid) - 1;
  alloc_cache = free & (~uint64_t{0} << (freeindex % 64));
}

bool MSpan::NextFreeWordSlow() {
  while (alloc_cache == 0) {
    uint32_t next = cache_base + 64u;
    if (next >= nelems) return false;
    RefillAllocCache(next);
  }
  return true;
}

void MSpan::MarkFreeSlots(bool set) {
  for (uint32_t i = FreeIndex(); i < nelems;) {
    uint32_t w = i / 64, lo = i % 64;
    uint32_t hi = nelems - w * 64 < 64 ? nelems - w * 64 : 64;
    uint64_t free = ~alloc_bits[w] &
                    (hi == 64 ? ~uint64_t{0} : (uint64_t{1} << hi) - 1) &
                    (~uint64_t{0} << lo);
    if (free != 0) {
      if (set) {
        // Scan bits before mark bits: a marker that sees the mark (acquire)
        // sees the scan bit too, and leaves the free slot alone.
        __atomic_fetch_or(&scan_bits[w], free, __ATOMIC_RELAXED);
        __atomic_fetch_or(&gcmark_bits[w], free, __ATOMIC_RELEASE);
      } else {
        __atomic_fetch_and(&gcmark_bits[w], ~free, __ATOMIC_RELAXED);
      }
    }
    i = w * 64 + hi;
  }
}

void MSpan::SyncAllocCount() {
  // Slots taken since caching are the ones free in alloc_bits (which
  // allocation does not change) between the two free indexes.
  uint32_t from = freeindex_at_cache, to = FreeIndex();
  uint32_t taken = 0;
  for (uint32_t i = from; i < to;) {
    uint32_t w = i / 64, lo = i % 64;
    uint32_t hi = to - w * 64 < 64 ? to - w * 64 : 64;
    uint64_t mask = (hi == 64 ? ~uint64_t{0} : (uint64_t{1} << hi) - 1) &
                    (~uint64_t{0} << lo);
    taken += __builtin_popcountll(~alloc_bits[w] & mask);
    i = w * 64 + hi;
  }
  alloc_count = static_cast<uint16_t>(alloc_count_at_cache + taken);
  alloc_count_at_cache = alloc_count;
  freeindex_at_cache = static_cast<uint16_t>(to);
}

void MSpan::InitAllocState() {
  alloc_count = 0;
  PublishFreeIndex(0);
  RefillAllocCache(0);
  NoteCached();
}

void MSpan::BecomeMixed(uint64_t* bitmaps, uintptr_t idx, bool with_header,
                        uint64_t ptrmask) {
  heap_bits = bitmaps;
  header_bits = bitmaps + kHeapBitsWords;
  // What the layout said so far, for every slot (free slots included: they
  // are rewritten when allocated); markers read the bits once the release
  // store below shows them the mixed layout.
  const uint8_t raw = __atomic_load_n(&layout, __ATOMIC_RELAXED);
  const uint64_t m =
      (raw & kLayoutStateMask) == kLayoutUniform ? uniform_mask : 0;
  for (uint32_t w = 0; w < bitmap_words; w++) {
    __atomic_store_n(&header_bits[w], uint64_t{0}, __ATOMIC_RELAXED);
  }
  for (uint32_t i = 0; i < nelems; i++) WriteTypeBits(i, false, m);
  StoreLayout((raw & kLayoutConservative) | kLayoutMixed);
  WriteTypeBits(idx, with_header, ptrmask);
}

void MSpan::WriteTypeBits(uintptr_t idx, bool with_header, uint64_t ptrmask) {
  uint64_t hb = uint64_t{1} << (idx % 64);
  uint64_t* hw = &header_bits[idx / 64];
  uint64_t hv = __atomic_load_n(hw, __ATOMIC_RELAXED);
  __atomic_store_n(hw, with_header ? hv | hb : hv & ~hb, __ATOMIC_RELAXED);
  if (with_header) return;
  const size_t words = elemsize / 8;  // <= 64
  const uint64_t all = SlotWordsMask();
  ptrmask &= all;
  size_t pos = idx * words;
  size_t w = pos / 64, sh = pos % 64;
  uint64_t* p = &heap_bits[w];
  uint64_t v = __atomic_load_n(p, __ATOMIC_RELAXED);
  __atomic_store_n(p, (v & ~(all << sh)) | (ptrmask << sh), __ATOMIC_RELAXED);
  if (sh + words > 64) {  // the object's bits straddle two words
    uint64_t* q = p + 1;
    uint64_t v2 = __atomic_load_n(q, __ATOMIC_RELAXED);
    __atomic_store_n(q, (v2 & ~(all >> (64 - sh))) | (ptrmask >> (64 - sh)),
                     __ATOMIC_RELAXED);
  }
}

int MSpan::CountMarked() const {
  int n = 0;
  for (uint32_t w = 0; w < bitmap_words; w++) {
    n += __builtin_popcountll(
        __atomic_load_n(&gcmark_bits[w], __ATOMIC_RELAXED));
  }
  return n;
}

SweepResult SweepSpanBits(MSpan* s) {
  SweepResult r;
  // Span-based marking takes every span it queued out of the queue before
  // the mark ends; one left queued would never be queued again.
  GCHEAP_DCHECK(
      s->mark_queued.load(std::memory_order_relaxed) == MSpan::kNotQueued,
      "span %#lx swept while queued for marking",
      static_cast<unsigned long>(s->start_addr));
  const uint32_t freeindex = s->FreeIndex();
  // Zombie check: a marked slot must be an allocated one.
  for (uint32_t w = 0; w < s->bitmap_words; w++) {
    uint64_t marks = s->gcmark_bits[w];
    if (marks == 0) continue;
    uint64_t allocated = s->alloc_bits[w];
    uint32_t lo = w * 64;
    if (freeindex > lo) {
      uint32_t below = freeindex - lo;
      allocated |= below >= 64 ? ~uint64_t{0} : (uint64_t{1} << below) - 1;
    }
    uint64_t zombies = marks & ~allocated;
    if (ABSL_PREDICT_FALSE(zombies != 0)) {
      uint32_t idx = lo + __builtin_ctzll(zombies);
      GCHEAP_FATAL(
          "found pointer to free object: span [%#lx, %#lx) class %d elemsize "
          "%zu, object %#lx (slot %u) is marked but not allocated",
          static_cast<unsigned long>(s->start_addr),
          static_cast<unsigned long>(s->start_addr + s->bytes()),
          s->spanclass.sizeclass(), s->elemsize,
          static_cast<unsigned long>(s->ObjBase(idx)), idx);
    }
  }
  r.nlive = s->CountMarked();
  r.nfreed = static_cast<int>(s->alloc_count) - r.nlive;
  GCHEAP_CHECK(r.nfreed >= 0, "span %#lx: %d marked > %u allocated",
               static_cast<unsigned long>(s->start_addr), r.nlive,
               s->alloc_count);
  uint64_t* old_alloc = s->alloc_bits;
  s->alloc_bits = s->gcmark_bits;
  s->gcmark_bits = old_alloc;
  memset(s->gcmark_bits, 0, s->bitmap_words * sizeof(uint64_t));
  memset(s->scan_bits, 0, s->bitmap_words * sizeof(uint64_t));
  s->mark_sparse = 0;
  s->alloc_count = static_cast<uint16_t>(r.nlive);
  if (r.nfreed > 0) s->needzero = true;
  s->RefillAllocCache(0);
  s->NoteCached();
  s->PublishFreeIndex(0);  // the live objects are in alloc_bits now
  r.empty = r.nlive == 0;
  return r;
}

void MSpanList::Push(MSpan* s) {
  GCHEAP_DCHECK(s->list == nullptr, "span already in a list");
  s->prev = nullptr;
  s->next = first_;
  if (first_ != nullptr) first_->prev = s;
  first_ = s;
  s->list = this;
  n_++;
}

void MSpanList::Remove(MSpan* s) {
  GCHEAP_DCHECK(s->list == this, "span not in this list");
  if (s->prev != nullptr) {
    s->prev->next = s->next;
  } else {
    first_ = s->next;
  }
  if (s->next != nullptr) s->next->prev = s->prev;
  s->next = s->prev = nullptr;
  s->list = nullptr;
  n_--;
}

}  // namespace gcheap::internal
