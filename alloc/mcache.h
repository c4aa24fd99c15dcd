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
//
// Allocation sampling (heap profiles; MHeap::mem_profile_rate), at no cost
// on the fast path: the cache counts down the bytes to the next sample
// (an exponential draw with the rate as mean, as Go's nextSample) one
// 64-slot word at a time, when the slow path hands a word to the fast
// path. If the sample point falls inside the word, the slots from the
// sampled one on are held back (held_), so the fast path runs dry exactly
// at the sampled allocation; the slow path gives the slots back, makes that
// allocation and reports it (TakeSample) to the caller, which records the
// stack. Held slots are returned before the span leaves the cache.
#ifndef GCHEAP_ALLOC_MCACHE_H_
#define GCHEAP_ALLOC_MCACHE_H_

#include <cstddef>
#include <cstdint>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "alloc/heap_stats.h"
#include "alloc/mspan.h"
#include "alloc/size_classes.h"
#include "gcheap/internal/fast_path.h"

namespace gcheap::internal {

class MHeap;

// The fields the public headers' inline allocation path uses are the base,
// gch_internal_mcache (gcheap/internal/fast_path.h): alloc (the cached span
// of each span class; MSpans), tiny and tiny_offset (the tiny block), and
// tiny_allocs (a counter delta, flushed with the others).
class MCache : public gch_internal_mcache {
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
  // the span and slot index for callers that record type bits. The public
  // headers' inline path (gcheap/internal/fast_path.h).
  ABSL_ATTRIBUTE_ALWAYS_INLINE void* TryAllocSmall(SpanClass spc,
                                                   MSpan** span_out,
                                                   uintptr_t* idx_out) {
    gch_internal_span* s = nullptr;
    void* p = gch_internal_try_alloc_small(this, spc.raw(), &s, idx_out);
    *span_out = static_cast<MSpan*>(s);
    return p;
  }

  // Finds a free slot in the cached span's next words, or refills the
  // class from its mcentral; null if memory is exhausted.
  void* AllocSmallSlow(SpanClass spc);

  ABSL_ATTRIBUTE_ALWAYS_INLINE void* AllocTiny(size_t size) {
    void* p = gch_internal_try_alloc_tiny(this, size);
    if (ABSL_PREDICT_TRUE(p != nullptr)) return p;
    return AllocTinySlow(size);
  }
  // The tiny fast path, taking a new block from the cached 16-byte span's
  // current word when the request does not fit: null only when that word
  // is spent too, once per 64 blocks. size in [1, kTinySize).
  ABSL_ATTRIBUTE_ALWAYS_INLINE void* TryAllocTinyOrBlock(size_t size) {
    return gch_internal_try_alloc_tiny_or_block(this, size);
  }

  void* AllocLarge(size_t size, bool noscan);
  void SetTypeBitsSlow(MSpan* s, uintptr_t idx, bool with_header,
                       uint64_t ptrmask);
  // The tiny allocator's slow path: a new 16-byte block.
  void* AllocTinySlow(size_t size);
  // The size class of tiny blocks (16 bytes).
  static constexpr int kTinySpanClass = GCH_INTERNAL_TINY_SIZE_CLASS;

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
    gch_internal_set_type_bits(this, s, idx, with_header, ptrmask, type);
  }

  // The same for a conservative object without a header (every word of
  // the slot may be a pointer): flags the span conservative first, so
  // markers check each word it names (MSpan::kLayoutConservative).
  ABSL_ATTRIBUTE_ALWAYS_INLINE void SetConservativeBits(MSpan* s,
                                                        uintptr_t idx) {
    gch_internal_mark_conservative(s);
    SetTypeBits(s, idx, false, ~uint64_t{0});
  }

  // The bytes of the slots handed to the fast path (64-slot words of small
  // spans, as the slow path moves to them) since the last call or
  // ReleaseAll; the call resets it. Mark assists charge this: a word of a
  // span swept partly full holds fewer free slots than 64.
  uint64_t TakeHandedBytes() {
    const uint64_t b = handed_bytes_;
    handed_bytes_ = 0;
    return b;
  }

  // The object the last slow path chose as an allocation sample (its slot
  // start, and the slot's size), or null; cleared by the call.
  void* TakeSample(size_t* size) {
    void* p = sampled_;
    *size = sampled_size_;
    sampled_ = nullptr;
    return p;
  }

  MHeap* heap() const { return heap_; }
  MSpan* cached_span(SpanClass spc) const {
    return static_cast<MSpan*>(alloc[spc.raw()]);
  }
  uintptr_t tiny_block() const { return tiny; }

 private:
  bool Refill(SpanClass spc);
  void Uncache(SpanClass spc);
  // Sampling (see the file comment). ArmSample charges the cached span's
  // current word to the countdown, holding back slots past a sample point.
  void ArmSample(MSpan* s, SpanClass spc);
  // Records p (a slot of `size` bytes) as the sample and draws the next.
  void Sampled(void* p, size_t size, int64_t rate);
  int64_t NextSampleDistance(int64_t rate);

  MHeap* const heap_;
  uint32_t flush_gen_;  // heap sweepgen at the last ReleaseAll
  LocalAllocStats stats_;
  int64_t next_sample_ = 0;  // bytes still to allocate before a sample
  uint64_t rng_;             // xorshift state for the sample distances
  void* sampled_ = nullptr;
  size_t sampled_size_ = 0;
  uint64_t held_[kNumSpanClasses] = {};  // slots held back, per span class
  uint64_t handed_bytes_ = 0;            // see TakeHandedBytes
};

}  // namespace gcheap::internal

#endif  // GCHEAP_ALLOC_MCACHE_H_
