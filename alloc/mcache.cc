#include "alloc/mcache.h"

#include "alloc/mheap.h"
#include "base/check.h"

namespace gcheap::internal {

MCache::MCache(MHeap* heap)
    : gch_internal_mcache{}, heap_(heap), flush_gen_(heap->sweepgen()) {
  for (gch_internal_span*& s : alloc) s = heap_->empty_span();
}

MCache::~MCache() {
  for (const gch_internal_span* s : alloc) {
    GCHEAP_DCHECK(s == heap_->empty_span(), "mcache destroyed holding spans");
  }
}

void* MCache::AllocSmallSlow(SpanClass spc) {
  if (AllocPathCounters* pc = heap_->path_counters()) {
    pc->slow[spc.sizeclass()].fetch_add(1, std::memory_order_relaxed);
  }
  MSpan* s = cached_span(spc);
  // Move the cache to a later word of this span, or take a new span (a
  // partly used one may also start with a spent word).
  while (s == heap_->empty_span() || !s->NextFreeWordSlow()) {
    if (!Refill(spc)) return nullptr;
    GCHEAP_CHECK(cached_span(spc) != s, "mcentral returned the same span");
    s = cached_span(spc);
  }
  return AllocSmall(spc);
}

void MCache::SetTypeBitsSlow(MSpan* s, uintptr_t idx, bool with_header,
                             uint64_t ptrmask) {
  s->BecomeMixed(heap_->AllocTypeBits(s), idx, with_header, ptrmask);
}

}  // namespace gcheap::internal

// The inline fast path's out-of-line half (gcheap/internal/fast_path.h).
void gch_internal_set_type_bits_slow(gch_internal_mcache* c,
                                     gch_internal_span* span, uintptr_t idx,
                                     bool with_header, uint64_t ptrmask,
                                     const void* type) {
  using gcheap::internal::MSpan;
  MSpan* s = static_cast<MSpan*>(span);
  if (!s->SetTypeBits(idx, with_header, ptrmask, type)) {
    static_cast<gcheap::internal::MCache*>(c)->SetTypeBitsSlow(
        s, idx, with_header, ptrmask);
  }
}

namespace gcheap::internal {

void MCache::Uncache(SpanClass spc) {
  MSpan* s = cached_span(spc);
  if (s == heap_->empty_span()) return;
  if (s->black_cached) {
    s->MarkFreeSlots(false);  // what was not allocated is free again
    s->black_cached = false;
  }
  // Small mallocs are counted here, from the span, not on the fast path.
  uint16_t before = s->alloc_count_at_cache;
  s->SyncAllocCount();
  heap_->counters().small_mallocs[spc.sizeclass()].fetch_add(
      s->alloc_count - before, std::memory_order_relaxed);
  alloc[spc.raw()] = heap_->empty_span();
  heap_->central(spc).UncacheSpan(s);
}

bool MCache::Refill(SpanClass spc) {
  if (AllocPathCounters* pc = heap_->path_counters()) {
    pc->refills[spc.sizeclass()].fetch_add(1, std::memory_order_relaxed);
  }
  Uncache(spc);
  MSpan* s = heap_->central(spc).CacheSpan();
  if (s == nullptr) return false;
  GCHEAP_DCHECK(s->alloc_count < s->nelems, "mcentral handed out a full span");
  if (heap_->allocate_black()) {
    s->MarkFreeSlots(true);
    s->black_cached = true;
  }
  alloc[spc.raw()] = s;
  return true;
}

void* MCache::AllocTinySlow(size_t size) {
  void* block = AllocSmall(SpanClass::Make(kTinySpanClass, /*noscan=*/true));
  if (block == nullptr) return nullptr;
  gch_internal_keep_tiny_block(this, block, size);
  return block;
}

void* MCache::AllocLarge(size_t size, bool noscan) {
  MSpan* s = heap_->AllocLarge(size, noscan);
  if (s == nullptr) return nullptr;
  stats_.large_mallocs++;
  stats_.large_bytes += s->elemsize;
  return reinterpret_cast<void*>(s->start_addr);
}

void MCache::FlushStats() {
  stats_.tiny_allocs += tiny_allocs;  // counted by the inline fast path
  tiny_allocs = 0;
  heap_->counters().Flush(&stats_);
}

void MCache::ReleaseAll() {
  for (int i = 0; i < kNumSpanClasses; i++) {
    Uncache(SpanClass(static_cast<uint8_t>(i)));
  }
  tiny = 0;
  tiny_offset = 0;
  FlushStats();
  flush_gen_ = heap_->sweepgen();
}

void MCache::PrepareForSweep() {
  if (flush_gen_ != heap_->sweepgen()) ReleaseAll();
}

void AllocCounters::Flush(LocalAllocStats* l) {
  large_mallocs.fetch_add(l->large_mallocs, std::memory_order_relaxed);
  large_alloc_bytes.fetch_add(l->large_bytes, std::memory_order_relaxed);
  tiny_allocs.fetch_add(l->tiny_allocs, std::memory_order_relaxed);
  l->large_mallocs = l->large_bytes = l->tiny_allocs = 0;
}

}  // namespace gcheap::internal
