// MCache: one P's allocation cache. See alloc/malloc.h for the map.
//
// An mcache holds one span per span class (136 slots; an empty sentinel
// until first use), the tiny block, and the P's counter deltas. Only the
// thread holding the P touches it, so the fast path takes no lock: read the
// span for the class, ctz its alloc_cache, clear that bit, return. When the
// cache word is spent it looks at the span's next word (slow path); when the
// span is full it hands it back to its mcentral and takes another (refill).
//
// Tiny allocator: pointer-free requests under 16 B are packed into a shared
// 16-byte block (a class-2 noscan object), aligned by the size's factors.
// The block is freed only when every sub-object in it is dead.
#ifndef GCHEAP_ALLOC_MCACHE_H_
#define GCHEAP_ALLOC_MCACHE_H_

#include <string.h>

#include <cstddef>
#include <cstdint>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "alloc/heap_stats.h"
#include "alloc/mspan.h"
#include "alloc/size_classes.h"
#include "base/sanitizers.h"

namespace gcheap::internal {

class MHeap;

class MCache {
 public:
  explicit MCache(MHeap* heap);
  ~MCache();  // the owner calls ReleaseAll first (MHeap::FreeMCache does)
  MCache(const MCache&) = delete;
  MCache& operator=(const MCache&) = delete;

  // Allocates `size` zeroed bytes. noscan: the object holds no heap
  // pointers (tiny-allocator eligible, kept in noscan spans). Returns null
  // if the size overflows or memory is exhausted (the heap is unchanged).
  ABSL_ATTRIBUTE_ALWAYS_INLINE void* Alloc(size_t size, bool noscan) {
    if (noscan && size < kTinySize && size > 0) return AllocTiny(size);
    if (ABSL_PREDICT_TRUE(size <= kMaxSmallSize)) {
      int sizeclass = SizeToClass(size == 0 ? 1 : size);
      return AllocSmall(SpanClass::Make(sizeclass, noscan));
    }
    return AllocLarge(size, noscan);
  }

  // The small-object fast path for a known span class.
  ABSL_ATTRIBUTE_ALWAYS_INLINE void* AllocSmall(SpanClass spc) {
    MSpan* s;
    uintptr_t idx;
    void* p = TryAllocSmall(spc, &s, &idx);
    if (ABSL_PREDICT_TRUE(p != nullptr)) return p;
    return AllocSmallSlow(spc);
  }

  // The fast path alone: null when the cached span's current word is
  // spent (the caller then takes the slow path, AllocSmallSlow). Reports
  // the span and slot index for callers that record type bits.
  ABSL_ATTRIBUTE_ALWAYS_INLINE void* TryAllocSmall(SpanClass spc,
                                                   MSpan** span_out,
                                                   uintptr_t* idx_out) {
    MSpan* s = alloc_[spc.raw()];
    uint64_t cache = s->alloc_cache;
    if (ABSL_PREDICT_FALSE(cache == 0)) return nullptr;
    s->alloc_cache = cache & (cache - 1);
    uintptr_t idx = s->cache_base + __builtin_ctzll(cache);
    s->PublishFreeIndex(idx + 1);
    void* p = reinterpret_cast<void*>(s->start_addr + idx * s->elemsize);
    UnpoisonMemory(p, s->elemsize);
    if (s->needzero) ZeroObject(p, s->elemsize);
    *span_out = s;
    *idx_out = idx;
    return p;
  }

  // Finds a free slot in the cached span's next words, or refills the
  // class from its mcentral; null if memory is exhausted.
  void* AllocSmallSlow(SpanClass spc);

  ABSL_ATTRIBUTE_ALWAYS_INLINE void* AllocTiny(size_t size) {
    void* p = TryAllocTiny(size);
    if (ABSL_PREDICT_TRUE(p != nullptr)) return p;
    return AllocTinySlow(size);
  }

  // The tiny fast path alone: null when the request does not fit in the
  // current block. size in [1, kTinySize).
  ABSL_ATTRIBUTE_ALWAYS_INLINE void* TryAllocTiny(size_t size) {
    uintptr_t off = tiny_offset_;
    if ((size & 7) == 0) {
      off = (off + 7) & ~uintptr_t{7};
    } else if ((size & 3) == 0) {
      off = (off + 3) & ~uintptr_t{3};
    } else if ((size & 1) == 0) {
      off = (off + 1) & ~uintptr_t{1};
    }
    if (ABSL_PREDICT_TRUE(off + size <= kTinySize && tiny_ != 0)) {
      tiny_offset_ = off + size;
      stats_.tiny_allocs++;
      return reinterpret_cast<void*>(tiny_ + off);
    }
    return nullptr;
  }
  // The same, taking a new block from the cached 16-byte span's current
  // word when the request does not fit (AllocTinySlow without its slow
  // path): null only when that word is spent too, once per 64 blocks.
  ABSL_ATTRIBUTE_ALWAYS_INLINE void* TryAllocTinyOrBlock(size_t size) {
    void* p = TryAllocTiny(size);
    if (ABSL_PREDICT_TRUE(p != nullptr)) return p;
    MSpan* s;
    uintptr_t idx;
    void* block =
        TryAllocSmall(SpanClass::Make(kTinySpanClass, true), &s, &idx);
    if (block != nullptr) KeepTinyBlock(block, size);
    return block;
  }

  void* AllocLarge(size_t size, bool noscan);
  void SetTypeBitsSlow(MSpan* s, uintptr_t idx, bool with_header,
                       uint64_t ptrmask);
  // The tiny allocator's slow path: a new 16-byte block.
  void* AllocTinySlow(size_t size);
  // The size class of tiny blocks (16 bytes).
  static constexpr int kTinySpanClass = 2;
  // A new block holds a `size`-byte object at its start: keeps whichever
  // of it and the current block has more room left.
  ABSL_ATTRIBUTE_ALWAYS_INLINE void KeepTinyBlock(void* block, size_t size) {
    if (tiny_ == 0 || size < tiny_offset_) {
      tiny_ = reinterpret_cast<uintptr_t>(block);
      tiny_offset_ = size;
    }
  }

  // Hands every cached span back to its mcentral, drops the tiny block and
  // flushes the counters. Called at GC time and when the P goes away.
  void ReleaseAll();
  // Releases everything if a sweep cycle began since the last flush, as
  // Go's prepareForSweep: a P resuming after a cycle calls this first.
  void PrepareForSweep();
  // Flushes counter deltas into the heap's totals.
  void FlushStats();

  // MSpan::SetTypeBits for a span this cache allocates from, getting the
  // span its type bits from the heap when the layout turns mixed.
  // type: the object's gcheap::Type, for diagnostics (MSpan::uniform_type).
  ABSL_ATTRIBUTE_ALWAYS_INLINE void SetTypeBits(MSpan* s, uintptr_t idx,
                                                bool with_header,
                                                uint64_t ptrmask,
                                                const void* type = nullptr) {
    if (ABSL_PREDICT_FALSE(!s->SetTypeBits(idx, with_header, ptrmask, type))) {
      SetTypeBitsSlow(s, idx, with_header, ptrmask);
    }
  }

  // The same for a conservative object without a header (every word of
  // the slot may be a pointer): flags the span conservative first, so
  // markers check each word it names (MSpan::kLayoutConservative).
  ABSL_ATTRIBUTE_ALWAYS_INLINE void SetConservativeBits(MSpan* s,
                                                        uintptr_t idx) {
    s->MarkConservative();
    SetTypeBits(s, idx, false, ~uint64_t{0});
  }

  MHeap* heap() const { return heap_; }
  MSpan* cached_span(SpanClass spc) const { return alloc_[spc.raw()]; }
  uintptr_t tiny_block() const { return tiny_; }

 private:
  static void ZeroObject(void* p, size_t n) {
    // Slots are multiples of 8 bytes; small ones are cleared inline.
    if (n <= 64) {
      uint64_t* w = static_cast<uint64_t*>(p);
      for (size_t i = 0; i < n / 8; i++) w[i] = 0;
    } else {
      memset(p, 0, n);
    }
  }
  bool Refill(SpanClass spc);
  void Uncache(SpanClass spc);

  MHeap* const heap_;
  MSpan* alloc_[kNumSpanClasses];
  uintptr_t tiny_ = 0;         // current tiny block, 0 if none
  uintptr_t tiny_offset_ = 0;  // next free byte in it
  uint32_t flush_gen_;         // heap sweepgen at the last ReleaseAll
  LocalAllocStats stats_;
};

}  // namespace gcheap::internal

#endif  // GCHEAP_ALLOC_MCACHE_H_
