#include "alloc/mspan.h"

#include <string.h>

namespace gcheap::internal {

void MSpan::RefillAllocCache() {
  uint32_t word = freeindex / 64;
  uint64_t free = ~alloc_bits[word];
  uint32_t valid = nelems - word * 64;  // slots present in this word
  if (valid < 64) free &= (uint64_t{1} << valid) - 1;
  alloc_cache = free >> (freeindex % 64);
}

uint32_t MSpan::NextFreeIndexSlow() {
  // alloc_cache is empty. If freeindex sits on a word boundary, the fast
  // path has just used up the previous word and this word's bits were never
  // loaded; otherwise the slots from freeindex to the end of its word are
  // taken. Move word by word until a free slot shows up.
  bool loaded = freeindex % 64 != 0;
  while (true) {
    if (alloc_cache != 0) return freeindex + __builtin_ctzll(alloc_cache);
    uint32_t next = loaded ? (freeindex + 64u) & ~63u : freeindex;
    if (next >= nelems) {
      freeindex = nelems;
      return nelems;
    }
    freeindex = static_cast<uint16_t>(next);
    RefillAllocCache();
    loaded = true;
  }
}

void MSpan::InitAllocState() {
  freeindex = 0;
  alloc_count = 0;
  alloc_count_at_cache = 0;
  RefillAllocCache();
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
  // Zombie check: a marked slot must be an allocated one.
  for (uint32_t w = 0; w < s->bitmap_words; w++) {
    uint64_t marks = s->gcmark_bits[w];
    if (marks == 0) continue;
    uint64_t allocated = s->alloc_bits[w];
    uint32_t lo = w * 64;
    if (s->freeindex > lo) {
      uint32_t below = s->freeindex - lo;
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
  s->alloc_count = static_cast<uint16_t>(r.nlive);
  if (r.nfreed > 0) s->needzero = true;
  s->freeindex = 0;
  s->RefillAllocCache();
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
