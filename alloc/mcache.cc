#include "alloc/mcache.h"

#include "alloc/mheap.h"
#include "base/check.h"
#include "base/math.h"

namespace gcheap::internal {

MCache::MCache(MHeap* heap)
    : gch_internal_mcache{},
      heap_(heap),
      flush_gen_(heap->sweepgen()),
      rng_((reinterpret_cast<uintptr_t>(this) * 0x9E3779B97F4A7C15ull) | 1) {
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
  if (held_[spc.raw()] != 0) {
    // The fast path ran dry at a sample point: give the held slots back;
    // the first of them is the sample.
    s->alloc_cache = held_[spc.raw()];
    held_[spc.raw()] = 0;
    MSpan* got;
    uintptr_t idx;
    void* p = TryAllocSmall(spc, &got, &idx);
    GCHEAP_DCHECK(p != nullptr, "held slots gave no slot");
    const int64_t rate = heap_->mem_profile_rate();
    if (rate > 0) {
      Sampled(p, s->elemsize, rate);
      ArmSample(s, spc);
    }
    return p;
  }
  // Move the cache to a later word of this span, or take a new span (a
  // partly used one may also start with a spent word).
  while (s == heap_->empty_span() || !s->NextFreeWordSlow()) {
    if (!Refill(spc)) return nullptr;
    GCHEAP_CHECK(cached_span(spc) != s, "mcentral returned the same span");
    s = cached_span(spc);
  }
  handed_bytes_ +=
      static_cast<uint64_t>(__builtin_popcountll(s->alloc_cache)) * s->elemsize;
  ArmSample(s, spc);
  return AllocSmall(spc);
}

void MCache::ArmSample(MSpan* s, SpanClass spc) {
  const int64_t rate = heap_->mem_profile_rate();
  if (rate <= 0) return;
  const uint64_t cache = s->alloc_cache;
  const int64_t size = static_cast<int64_t>(s->elemsize);
  const int64_t bytes = __builtin_popcountll(cache) * size;
  if (bytes <= next_sample_) {
    next_sample_ -= bytes;
    return;
  }
  // The sample point falls in this word: the fast path may take the slots
  // wholly before it; the one that crosses it is the sample.
  uint64_t keep = 0, rest = cache;
  for (int64_t n = next_sample_ / size; n > 0; n--) {
    keep |= rest & (~rest + 1);
    rest &= rest - 1;
  }
  next_sample_ -= __builtin_popcountll(keep) * size;
  s->alloc_cache = keep;
  held_[spc.raw()] = rest;
}

void MCache::Sampled(void* p, size_t size, int64_t rate) {
  sampled_ = p;
  sampled_size_ = size;
  next_sample_ = NextSampleDistance(rate);
}

int64_t MCache::NextSampleDistance(int64_t rate) {
  if (rate == 1) return 0;  // every allocation
  // Exponentially distributed with mean `rate`: a sample is then equally
  // likely at every byte, whatever the pattern of sizes.
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  const double u = (static_cast<double>(rng_ >> 11) + 1.0) * 0x1p-53;  // (0,1]
  const double d = -Log(u) * static_cast<double>(rate);
  return d > 0x1p62 ? int64_t{1} << 62 : static_cast<int64_t>(d);
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
  if (s->slot_types != nullptr)
    s->slot_types[idx] = with_header ? nullptr : type;
}

namespace gcheap::internal {

void MCache::Uncache(SpanClass spc) {
  MSpan* s = cached_span(spc);
  if (s == heap_->empty_span()) return;
  // The slots of the current word were charged to the sample countdown
  // when handed to the fast path; those not taken are credited back. Held
  // slots were not charged; they go back to the span.
  if (heap_->mem_profile_rate() > 0) {
    next_sample_ += __builtin_popcountll(s->alloc_cache) *
                    static_cast<int64_t>(s->elemsize);
  }
  s->alloc_cache |= held_[spc.raw()];
  held_[spc.raw()] = 0;
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
  if (heap_->record_types() && s->small_scan) {
    // Every typed allocation then takes gch_internal_set_type_bits_slow,
    // which records the slot's Type.
    GCHEAP_DCHECK(s->nelems <= 1024, "more slots than type records");
    if (s->slot_types == nullptr) s->slot_types = heap_->AllocSlotTypes();
    if ((s->LoadLayout() & MSpan::kLayoutStateMask) != MSpan::kLayoutMixed) {
      const uint8_t l = s->LoadLayout();
      const uint64_t m = (l & MSpan::kLayoutStateMask) == MSpan::kLayoutUniform
                             ? s->uniform_mask
                             : 0;
      // Slot FreeIndex() gets the layout the span had (it is free: it is
      // rewritten when allocated).
      s->BecomeMixed(heap_->AllocTypeBits(s), s->FreeIndex(), false, m);
    }
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
  void* p = reinterpret_cast<void*>(s->start_addr);
  const int64_t rate = heap_->mem_profile_rate();
  if (rate > 0) {
    next_sample_ -= static_cast<int64_t>(s->elemsize);
    if (next_sample_ < 0) Sampled(p, s->elemsize, rate);
  }
  return p;
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
  handed_bytes_ = 0;
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
