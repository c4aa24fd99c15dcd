// Marking: greying objects and scanning them. See gc/gc.h for the map.
//
// Tricolor: an object is white (mark bit clear), grey (mark bit set, in a
// work buffer waiting to be scanned) or black (mark bit set, scanned).
// Grey(p) resolves p through the address map (interior pointers find their
// object; anything else is ignored), sets the mark bit atomically and, if
// the object can hold pointers, queues it; noscan objects turn black at
// once. Scan(obj) reads the span's layout (one mask, or type bits) or the
// object's header (gc/object.h) and greys what they say are pointers; the
// common cases, a small object in a span of one layout or in a span of
// conservative objects alone, are inlined into Drain, the loop every
// marker runs (docs/collector.md, "One marker's inner loop", has the
// measurements). Objects over 128 KiB
// whose pointers are found by map or conservatively are scanned in 128 KiB
// pieces ("oblets") queued separately, so one huge array does not keep one
// marker busy while the others idle.
//
// Span-based marking (the default; Options::span_marking, after Go 1.26's
// "Green Tea" collector): greying an object of a small scan span (objects
// of at most 512 bytes) sets its mark bit and, only for the marker that
// finds the span not yet waiting (MSpan::mark_queued), queues the span, not
// the object. Spans wait in a FIFO ring (gc/gcwork.h) while others are
// scanned, so by the time a marker takes one, several of its objects are
// usually marked: ScanSpan scans every object marked and not yet scanned
// (mark bits and not scan bits, claimed with one atomic OR per word), in
// address order, prefetched together, sharing cache lines and the span's
// metadata. Clearing mark_queued before reading the mark bits (both
// sequentially consistent) means a mark set by a greyer that saw the span
// still queued is always seen. Objects over 512 bytes, large objects and
// oblets are queued one by one, as every object is in object mode
// (span_marking = false, kept for comparison and teaching).
//
// Sparse spans: a span that markers took from the queue twice this cycle
// for a single object (MSpan::mark_sparse, zeroed by the sweep) lies in a
// part of the heap linked at random, where its queue state and scan bits
// cost more than they share; its objects are queued one by one for the
// rest of the cycle, each marked object either queued itself or covered
// by its span's queue state as before. An object of a span that turns
// sparse while a span entry of it waits (or is queued by a greyer that
// read the count just before) may be scanned twice, by the span's scan and
// by its own entry, in either order: a wasted scan, never a missed one.
//
// A Marker is one marking thread's state: its GcWork and its counters. Any
// number of Markers may run at once over one heap.
#ifndef GCHEAP_GC_MARK_H_
#define GCHEAP_GC_MARK_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include "absl/base/attributes.h"
#include "alloc/mheap.h"
#include "base/sanitizers.h"
#include "gc/barrier_check.h"
#include "gc/gcwork.h"
#include "gc/object.h"
#include "gcheap/type.h"

namespace gcheap::internal {

constexpr size_t kObletBytes = 128 << 10;

// For messages: what kind of object slot idx of s holds (its Type's name,
// or how its layout is kept) and, in *start if given, where the object the
// program sees begins (past a header).
const char* DescribeObject(MSpan* s, uintptr_t idx, uintptr_t* start = nullptr);

// Cache-line aligned: markers on different threads write their counters and
// referrer for every object they scan.
class alignas(64) Marker {
 public:
  Marker(MHeap* heap, WorkPool* pool)
      : heap_(heap), work_(pool), visitor_(this, &VisitThunk, &RangeThunk) {}

  // Marks the object containing p (if any) and queues it for scanning.
  // Safe for any value: stale, made-up or non-heap pointers are ignored.
  void Grey(uintptr_t p) { GreyImpl<true>(p); }
  // The same for a pointer from a pointer map, which points at (or into)
  // an allocated object unless the program is broken: skips the
  // allocation check, one cache miss less per object.
  void GreyPrecise(uintptr_t p) { GreyImpl<false>(p); }
  // Grey for each of vals[0..n) (a write barrier buffer): consecutive
  // values in one span, the usual case, look the span up once.
  void GreyBatch(const uintptr_t* vals, size_t n);
  // Greys every word in [begin, end) that points into the heap.
  void ScanRange(const void* begin, const void* end);
  // The same for memory the marker does not own and that may be changing:
  // thread stacks and saved registers. Not instrumented by the sanitizers.
  void ScanRangeUnsafe(const void* begin, const void* end);
  // Scans grey objects, this marker's and then the pool's, until it has
  // scanned at least `budget` or there are none left; returns how many it
  // scanned (fewer than `budget`: out of work; more: a span's objects are
  // scanned together). Objects pass through a
  // small queue and are prefetched as they enter it, so their memory
  // arrives while earlier ones are scanned (a heap far larger than the
  // cache misses on every object); the queue is empty again on return.
  size_t Drain(size_t budget);
  // Scans one grey object (or oblet). Small objects in spans of one layout
  // (gc/object.h), nearly every object of a language heap, take an inlined
  // path; their pointers into the same span (a list or tree built in
  // allocation order) are greyed without the address map.
  ABSL_ATTRIBUTE_ALWAYS_INLINE void Scan(uintptr_t addr) {
    MSpan* s = heap_->SpanOf(addr);
    ScanInSpan(s, s->ObjIndex(addr), addr);
  }
  // Span-based marking: scans the objects of s that are marked and not yet
  // scanned (obj: the object its queue entry names); returns how many.
  size_t ScanSpan(MSpan* s, uintptr_t obj);
  // Takes span s out of the queue (its entry named obj) and claims the
  // objects to scan: obj alone if nothing else was marked since the span
  // was queued, else every object marked and not yet scanned. Calls
  // fn(first, bits) for each bitmap word with some, where bit i of bits is
  // slot first + i. The caller must scan them.
  template <class Fn>
  static void ClaimSpan(MSpan* s, uintptr_t obj, Fn fn) {
    // Out of the queue first: a mark set from here on queues the span
    // again (see the top of this file), so none is left unscanned.
    if (s->TakeQueued() == MSpan::kQueuedOne) {
      // One object, the usual case in a heap linked at random: its bit
      // alone, no bitmap walk. Claimed all the same, with an atomic OR: a
      // marker scanning the span from an earlier entry may have taken it,
      // and a plain store could erase the scan bits an mcache sets at the
      // same time for the span's free slots (allocate-black), which a
      // later scan of the span would then read as objects.
      const uintptr_t idx = s->ObjIndex(obj);
      const uint64_t bit = uint64_t{1} << (idx % 64);
      uint64_t* w = &s->scan_bits[idx / 64];
      if ((__atomic_load_n(w, __ATOMIC_RELAXED) & bit) == 0 &&
          (__atomic_fetch_or(w, bit, __ATOMIC_RELAXED) & bit) == 0) {
        fn(idx & ~uintptr_t{63}, bit);
      }
      return;
    }
    const uint32_t words = s->SlotWords();
    for (uint32_t w = 0; w < words; w++) {
      // Acquire (seq_cst): allocate-black sets a free slot's scan bit
      // before its mark bit, so a mark seen here comes with its scan bit.
      const uint64_t marks =
          __atomic_load_n(&s->gcmark_bits[w], __ATOMIC_SEQ_CST);
      if (marks == 0) continue;
      uint64_t todo =
          marks & ~__atomic_load_n(&s->scan_bits[w], __ATOMIC_RELAXED);
      if (todo == 0) continue;
      // Claimed: another marker scanning the span at the same time takes
      // the other bits.
      todo &= ~__atomic_fetch_or(&s->scan_bits[w], todo, __ATOMIC_RELAXED);
      if (todo != 0) fn(uintptr_t{w} * 64, todo);
    }
  }
  // Calls fn(address) for each object a work entry stands for: the
  // object (or oblet), or a span's claimed objects (ClaimSpan).
  template <class Fn>
  void ForEachEntryObject(uintptr_t e, Fn fn) {
    const uintptr_t obj = EntryAddress(e);
    if ((e & kSpanEntryBit) == 0) {
      fn(obj);
      return;
    }
    MSpan* s = heap_->SpanOf(obj);
    ClaimSpan(s, obj, [&](uintptr_t first, uint64_t bits) {
      for (; bits != 0; bits &= bits - 1) {
        fn(s->ObjBase(first + __builtin_ctzll(bits)));
      }
    });
  }
  // Greys small objects by queueing their spans (span-based marking)
  // while *on is true, one by one otherwise (the default). NewMarker points
  // it at the collector's switch: Options::span_marking, off during a
  // stepped cycle, whose steps show objects greyed one at a time.
  void SetSpanMarking(const std::atomic<bool>* on) { span_marking_ = on; }
  // Whether p is (inside) an object of the heap this mark has greyed,
  // scanned or allocated black; true for anything else (a non-heap
  // address is not the mark's to decide). Valid while marking.
  bool IsMarkedOrNotHeap(uintptr_t p) const;
  // Checkmark mode: instead of marking, verify that every object reached
  // is already marked, failing loudly (naming the object, its type and the
  // referrer) when one is not. `visited` records the objects seen.
  void EnableCheckmark(std::unordered_set<uintptr_t>* visited) {
    check_visited_ = visited;
    slow_scan_ = true;
  }
  // Barrier check mode (gc/barrier_check.h): every heap word this marker
  // reads from an object is logged with its value.
  void EnableBarrierCheck(BarrierCheck* check) {
    barrier_check_ = check;
    slow_scan_ = true;
    other_modes_ = true;
  }
  // Heap walks (gc/heap_walk.h): instead of marking, every object greyed
  // (or reached by a scan) is appended to *out, seen before or not, and
  // nothing is queued; the root code names each group of roots it greys
  // (LabelRoots) for `label`. Scan then reports an object's referents.
  using RootLabelFn = void (*)(void* ctx, const char* kind, uintptr_t where,
                               const std::string& detail);
  void EnableCollect(std::vector<uintptr_t>* out, RootLabelFn label, void* ctx);
  bool labeling() const { return label_fn_ != nullptr; }
  // Names the roots greyed from here on: kind ("persistent handle",
  // "thread stack", ...), where the root lives, and a detail (a thread's
  // id and name). Call only when labeling().
  void LabelRoots(const char* kind, uintptr_t where,
                  const std::string& detail = std::string()) {
    label_fn_(label_ctx_, kind, where, detail);
  }
  // The object being scanned, for checkmark messages; 0 while scanning
  // roots.
  void SetReferrer(uintptr_t slot) { referrer_ = slot; }
  // The heap's value encoding (include/gcheap/type.h): words read without a map
  // are greyed decoded too. Null or plain: pointers only.
  void SetValueEncoding(const ValueEncoding* values) {
    values_ = values != nullptr && !values->plain() ? values : nullptr;
    visitor_.SetValueEncoding(values_);
    other_modes_ = barrier_check_ != nullptr || values_ != nullptr;
  }
  // Set while scanning thread stacks conservatively. Checkmark then skips
  // unmarked objects instead of failing: a stack word that appeared after
  // the cycle began may be a stale value in a dead slot, pointing at an
  // object that was already garbage; a correct program never uses it.
  void SetConservativeRoots(bool on) { conservative_roots_ = on; }

  // A heap word the program may be storing to (see mark.cc).
  static uintptr_t LoadWordRelaxed(uintptr_t addr) {
    return __atomic_load_n(reinterpret_cast<const uintptr_t*>(addr),
                           __ATOMIC_RELAXED);
  }

  // A work entry: the address of a grey object (or oblet), which is
  // 8-byte aligned, with the cache lines past its first that Drain
  // prefetches (at most kPrefetchLines - 1) in the low two bits; with bit
  // 2 set (kSpanEntryBit), the span of that object waits to be scanned
  // (span-based marking), the object the first greyed there since it was
  // last queued. Entries read from work() give their address back through
  // EntryAddress.
  static constexpr uintptr_t kEntryHintMask = 3;
  static constexpr uintptr_t kSpanEntryBit = 4;
  static uintptr_t WorkEntry(uintptr_t addr, uintptr_t bytes) {
    const uintptr_t more = (bytes - 1) / 64;
    return addr | (more < kPrefetchLines - 1 ? more : kPrefetchLines - 1);
  }
  static uintptr_t EntryAddress(uintptr_t e) { return e & ~uintptr_t{7}; }

  GcWork& work() { return work_; }
  Visitor& visitor() { return visitor_; }
  uint64_t marked_bytes() const { return marked_bytes_; }
  uint64_t scanned_bytes() const { return scanned_bytes_; }
  void ResetCounters() { marked_bytes_ = scanned_bytes_ = 0; }
  void ResetScanned() { scanned_bytes_ = 0; }

 private:
  static void VisitThunk(void* ctx, const void* p) {
    static_cast<Marker*>(ctx)->Grey(reinterpret_cast<uintptr_t>(p));
  }
  static void RangeThunk(void* ctx, const void* b, const void* e) {
    static_cast<Marker*>(ctx)->ScanRange(b, e);
  }
  template <bool kCheckAllocated>
  void GreyImpl(uintptr_t p);
  MSpan* InUseSpanOf(uintptr_t p) const;
  // The object a value in the heap's encoding holds, if it is not the
  // word itself (values_ set).
  void GreyDecoded(uintptr_t v) {
    const uintptr_t d = values_->Decode(v);
    if (d != v && d >= kMinHeapAddress) Grey(d);
  }
  // GreyImpl once p's span is known to be in use and to hold p.
  template <bool kCheckAllocated>
  void GreyInSpan(MSpan* s, uintptr_t p);
  // Prefetches for a grey of p to come (a pointer-array scan): its
  // MSpan's first lines; the word of its span's mark bits (which reads the
  // MSpan).
  void PrefetchSpan(uintptr_t p) const;
  void PrefetchMarkWord(uintptr_t p) const;
  // Greys the words of the object at `slot` (in small scan span s) that
  // `mask` names (bit i = word i). With same_span, pointers into s itself
  // skip the address map (not in checkmark mode, which checks each one).
  // kConservative: the span holds conservative objects, whose words may be
  // anything: each value is checked against the address map and the
  // allocation bits before it is greyed.
  // kLog: the barrier check logs each word read. kValues (conservative
  // spans, values_ set): each word is greyed decoded too.
  template <bool kConservative = false, bool kLog = false, bool kValues = false>
  ABSL_ATTRIBUTE_ALWAYS_INLINE void ScanSlotBits(MSpan* s, uintptr_t slot,
                                                 uint64_t mask,
                                                 bool same_span) {
    const uintptr_t start = s->start_addr;
    const uintptr_t bytes = same_span ? s->limit - start : 0;
    for (uint64_t m = mask; m != 0; m &= m - 1) {
      const uintptr_t a = slot + 8 * __builtin_ctzll(m);
      uintptr_t v = LoadWordRelaxed(a);
      if (kLog) barrier_check_->Scanned(a, v);
      if (v - start < bytes) {
        if (kConservative && !s->IsAllocated(s->ObjIndex(v))) continue;
        GreyInScanSpan(s, v);
      } else if (kConservative) {
        if (v >= kMinHeapAddress) Grey(v);
        if (kValues) GreyDecoded(v);
      } else if (v != 0) {
        GreyPrecise(v);
      }
    }
    scanned_bytes_ += s->elemsize;
  }
  // Grey for p inside s, an in-use scan span (the object being scanned's).
  ABSL_ATTRIBUTE_ALWAYS_INLINE void GreyInScanSpan(MSpan* s, uintptr_t p) {
    uintptr_t idx = s->ObjIndex(p);
    if (s == local_span_) {
      // ScanSpan's own span: noted here, marked and scanned by ScanSpan
      // with one atomic OR per bitmap word, not one per object.
      const uint64_t bit = uint64_t{1} << (idx % 64);
      if ((__atomic_load_n(&s->gcmark_bits[idx / 64], __ATOMIC_RELAXED) &
           bit) == 0) {
        local_pending_[idx / 64] |= bit;
      }
      return;
    }
    if (!s->TryMark(idx)) return;
    marked_bytes_ += s->elemsize;
    Enqueue(s, idx);
  }
  // Queues slot idx of scan span s, just marked: its span (span-based
  // marking, small scan spans that have not turned out sparse this cycle;
  // only if the span is not waiting already) or the object itself.
  ABSL_ATTRIBUTE_ALWAYS_INLINE void Enqueue(MSpan* s, uintptr_t idx) {
    if (s->small_scan && span_marking_->load(std::memory_order_relaxed) &&
        __atomic_load_n(&s->mark_sparse, __ATOMIC_RELAXED) <
            MSpan::kSparseAfter) {
      if (s->TryQueueForMarking()) {
        work_.PutSpan(WorkEntry(s->ObjBase(idx), s->elemsize) | kSpanEntryBit);
      }
      return;
    }
    work_.Put(WorkEntry(s->ObjBase(idx), s->elemsize));
  }
  // Scan, once the object's span and slot are known (addr: the object or,
  // for an oblet, where it starts).
  ABSL_ATTRIBUTE_ALWAYS_INLINE void ScanInSpan(MSpan* s, uintptr_t idx,
                                               uintptr_t addr) {
    const uint8_t layout = s->LoadLayout();
    if (ABSL_PREDICT_TRUE(layout == MSpan::kLayoutUniform && !slow_scan_)) {
      ScanSlotBits(s, s->ObjBase(idx),
                   __atomic_load_n(&s->uniform_mask, __ATOMIC_RELAXED),
                   /*same_span=*/true);
      return;
    }
    if (layout == (MSpan::kLayoutUniform | MSpan::kLayoutConservative) &&
        !slow_scan_ && !other_modes_) {
      // A span of conservative objects alone (no layout, no header):
      // every word of the slot, inline too. The program stores
      // non-pointers into them with plain stores, which the marker's
      // relaxed loads race with by design (gc/mark.cc).
      IgnoreReadsBegin();
      ScanSlotBits<true>(s, s->ObjBase(idx),
                         __atomic_load_n(&s->uniform_mask, __ATOMIC_RELAXED),
                         /*same_span=*/true);
      IgnoreReadsEnd();
      return;
    }
    ScanSlow(s, idx, addr);
  }
  // Scan for everything else: spans of mixed layout, objects with a
  // header, oblets and large objects, and checkmark mode.
  void ScanSlow(MSpan* s, uintptr_t idx, uintptr_t addr);
  void CheckGrey(MSpan* s, uintptr_t idx);
  template <bool kLog = false, bool kValues = false>
  void ScanWords(uintptr_t from, uintptr_t to);
  template <bool kLog = false>
  void ScanMapped(const Type* t, uintptr_t payload, size_t count,
                  uintptr_t from, uintptr_t to);
  // ScanSlow's body; kLog: the barrier check logs each word read;
  // kValues: conservative words are greyed decoded too (values_ set).
  template <bool kLog, bool kValues>
  void ScanSlowImpl(MSpan* s, uintptr_t idx, uintptr_t addr);
  // ScanSlow with the barrier check or a value encoding on.
  void ScanSlowOtherModes(MSpan* s, uintptr_t idx, uintptr_t addr);

  // Drain's prefetch stages for a span entry down its queue: the span's
  // mark and scan bits, then the objects they say ScanSpan will claim.
  static void PrefetchSpanBits(const MSpan* s, uintptr_t obj);
  static void PrefetchSpanObjects(const MSpan* s);
  // Asks for every cache line of the object of `size` bytes at p, up to
  // kPrefetchLines; returns how many it asked for.
  static unsigned PrefetchObject(const char* p, uintptr_t size);

  static constexpr unsigned kPrefetchDepth = 16;
  static constexpr unsigned kPrefetchLines = 4;

  MHeap* heap_;
  GcWork work_;
  Visitor visitor_;
  std::unordered_set<uintptr_t>* check_visited_ = nullptr;
  std::vector<uintptr_t>* collect_ = nullptr;  // heap walks
  RootLabelFn label_fn_ = nullptr;
  void* label_ctx_ = nullptr;
  BarrierCheck* barrier_check_ = nullptr;
  bool slow_scan_ = false;  // checkmark or barrier check: Scan -> ScanSlow
  // While ScanSpan runs: its span, and the slots of that span its scans
  // found unmarked (see GreyInScanSpan); all zero between calls.
  MSpan* local_span_ = nullptr;
  uint64_t local_pending_[MSpan::kMaxBitmapWords] = {};
  static constexpr std::atomic<bool> kSpanMarkingOff{false};
  const std::atomic<bool>* span_marking_ = &kSpanMarkingOff;
  const ValueEncoding* values_ = nullptr;  // null: plain pointers
  // The barrier check or a value encoding is on: ScanSlowOtherModes.
  bool other_modes_ = false;
  uintptr_t referrer_ = 0;
  bool conservative_roots_ = false;
  uint64_t marked_bytes_ = 0;
  uint64_t scanned_bytes_ = 0;
};

}  // namespace gcheap::internal

#endif  // GCHEAP_GC_MARK_H_
