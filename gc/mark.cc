#include "gc/mark.h"

#include "base/check.h"
#include "base/sanitizers.h"
#include "gc/object.h"

// A marker reads heap words while the program may be storing into them
// (concurrent marking). Stores of pointers into heap objects go through the
// write barrier, which stores with a relaxed atomic, and the marker loads
// with one: the race is part of the design (the barrier, not the load,
// makes the mark correct), and on x86-64 both compile to plain moves.
// Trace callbacks read with plain loads, so ThreadSanitizer is told to
// ignore the reads they make during marking.
// (IgnoreReadsBegin/End: base/sanitizers.h.)

namespace gcheap::internal {

// The in-use span whose slots hold p, or null: stale, made-up and non-heap
// values are ignored.
inline MSpan* Marker::InUseSpanOf(uintptr_t p) const {
  MSpan* s = heap_->SpanOf(p);
  if (s == nullptr ||
      s->state.load(std::memory_order_acquire) != SpanState::kInUse ||
      p < s->start_addr || p >= s->limit) {
    return nullptr;
  }
  return s;
}

inline void Marker::PrefetchSpan(uintptr_t p) const {
  if (MSpan* s = heap_->SpanOf(p)) {
    // The fields a grey reads: the first two lines of the MSpan.
    __builtin_prefetch(s);
    __builtin_prefetch(reinterpret_cast<const char*>(s) + 64);
  }
}

inline void Marker::PrefetchMarkWord(uintptr_t p) const {
  if (MSpan* s = InUseSpanOf(p)) {
    __builtin_prefetch(&s->gcmark_bits[s->ObjIndex(p) / 64], 1);
  }
}

bool Marker::IsMarkedOrNotHeap(uintptr_t p) const {
  MSpan* s = InUseSpanOf(p);
  if (s == nullptr) return true;
  return s->IsMarked(s->ObjIndex(p));
}

template <bool kCheckAllocated>
inline void Marker::GreyInSpan(MSpan* s, uintptr_t p) {
  uintptr_t idx = s->ObjIndex(p);
  // Stale or made-up pointers are ignored. (The owner may be allocating
  // from the span right now: IsAllocated reads only what it publishes.)
  if (kCheckAllocated && !s->IsAllocated(idx)) return;
  if (ABSL_PREDICT_FALSE(check_visited_ != nullptr)) {
    CheckGrey(s, idx);
    return;
  }
  if (!s->TryMark(idx)) return;  // already grey or black
  marked_bytes_ += s->elemsize;
  if (s->spanclass.noscan()) return;  // black at once
  Enqueue(s, idx);
}

// Inlined into this file's scan loops on purpose (Drain's inner loop
// greys through it), whatever else the compiler weighs; the explicit
// instantiations below serve the callers in other files.
template <bool kCheckAllocated>
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void Marker::GreyImpl(uintptr_t p) {
  if (MSpan* s = InUseSpanOf(p)) GreyInSpan<kCheckAllocated>(s, p);
}

template void Marker::GreyImpl<true>(uintptr_t);
template void Marker::GreyImpl<false>(uintptr_t);

void Marker::GreyBatch(const uintptr_t* vals, size_t n) {
  if (ABSL_PREDICT_FALSE(values_ != nullptr)) {
    // Barrier buffers hold the words stored and overwritten: values too.
    for (size_t i = 0; i < n; i++) {
      Grey(vals[i]);
      GreyDecoded(vals[i]);
    }
    return;
  }
  // No span is freed while marking runs, so a span found in use stays in
  // use for the whole batch.
  MSpan* s = nullptr;
  uintptr_t start = 0, bytes = 0;
  for (size_t i = 0; i < n; i++) {
    uintptr_t p = vals[i];
    if (p - start >= bytes) {
      MSpan* t = InUseSpanOf(p);
      if (t == nullptr) continue;
      s = t;
      start = t->start_addr;
      bytes = t->limit - t->start_addr;
    }
    GreyInSpan<true>(s, p);
  }
}

void Marker::ScanRange(const void* begin, const void* end) {
  const auto b = reinterpret_cast<uintptr_t>(begin);
  const auto e = reinterpret_cast<uintptr_t>(end);
  if (values_ != nullptr) {
    ScanWords<false, true>(b, e);
  } else {
    ScanWords(b, e);
  }
}

// Reads [begin, end) as ScanRangeUnsafe does, calling fn for each word
// that may be a heap pointer.
template <class Fn>
ABSL_ATTRIBUTE_NO_SANITIZE_ADDRESS __attribute__((no_sanitize("thread")))
ABSL_ATTRIBUTE_ALWAYS_INLINE inline void
ForEachWordUnsafe(const void* begin, const void* end, Fn fn) {
  uintptr_t b = (reinterpret_cast<uintptr_t>(begin) + 7) & ~uintptr_t{7};
  uintptr_t e = reinterpret_cast<uintptr_t>(end) & ~uintptr_t{7};
  for (uintptr_t a = b; a < e; a += 8) {
    uintptr_t v = *reinterpret_cast<volatile const uintptr_t*>(a);
    TreatAsDefined(&v, sizeof(v));
    if (v >= kMinHeapAddress) fn(v);
  }
}

ABSL_ATTRIBUTE_NO_SANITIZE_ADDRESS __attribute__((no_sanitize("thread")))
ABSL_ATTRIBUTE_NOINLINE void
Marker::ScanRangeUnsafe(const void* begin, const void* end) {
  if (values_ == nullptr) {
    ForEachWordUnsafe(begin, end, [this](uintptr_t v) { Grey(v); });
  } else {
    ForEachWordUnsafe(begin, end, [this](uintptr_t v) {
      Grey(v);
      GreyDecoded(v);
    });
  }
}

template <bool kLog, bool kValues>
void Marker::ScanWords(uintptr_t from, uintptr_t to) {
  from = (from + 7) & ~uintptr_t{7};
  for (uintptr_t a = from; a + 8 <= to; a += 8) {
    uintptr_t v = LoadWordRelaxed(a);
    if (kLog) barrier_check_->Scanned(a, v);
    if (v >= kMinHeapAddress) Grey(v);
    if (kValues) GreyDecoded(v);
  }
  scanned_bytes_ += to > from ? to - from : 0;
}

template <bool kLog>
void Marker::ScanMapped(const Type* t, uintptr_t payload, size_t count,
                        uintptr_t from, uintptr_t to) {
  // Scans the pointer-map words of elements that lie in [from, to).
  size_t esize = t->size();
  uint64_t mask = t->pointer_mask();
  if (esize == 0 || mask == 0) return;
  if (esize % 8 == 0 && esize <= 8 * Type::kMaxMapWords &&
      mask == (esize == 8 * Type::kMaxMapWords
                   ? ~uint64_t{0}
                   : (uint64_t{1} << (esize / 8)) - 1)) {
    // Every word of every element is a pointer (a pointer array, a VM's
    // value slots): one pass over the words. Each pointer's span and mark
    // word are asked for ahead of its grey, in two stages (the MSpan kAhead
    // words ahead, its mark word kAhead / 2 ahead): a big array points all
    // over the heap, and the grey's locked OR lets no later load start
    // before it, so without them every grey waits out its own misses.
    constexpr uintptr_t kAhead = 32;
    for (uintptr_t a = (from + 7) & ~uintptr_t{7}; a + 8 <= to; a += 8) {
      if (a + 8 * (kAhead + 1) <= to) {
        PrefetchSpan(LoadWordRelaxed(a + 8 * kAhead));
      }
      if (a + 8 * (kAhead / 2 + 1) <= to) {
        PrefetchMarkWord(LoadWordRelaxed(a + 8 * (kAhead / 2)));
      }
      uintptr_t v = LoadWordRelaxed(a);
      if (kLog) barrier_check_->Scanned(a, v);
      if (v != 0) GreyPrecise(v);
    }
    scanned_bytes_ += to - from;
    return;
  }
  size_t first = (from - payload) / esize;
  for (size_t i = first; i < count; i++) {
    uintptr_t elem = payload + i * esize;
    if (elem >= to) break;
    for (uint64_t m = mask; m != 0; m &= m - 1) {
      uintptr_t slot = elem + 8 * __builtin_ctzll(m);
      if (slot < from || slot >= to || slot + 8 > elem + esize) continue;
      uintptr_t v = LoadWordRelaxed(slot);
      if (kLog) barrier_check_->Scanned(slot, v);
      if (v != 0) GreyPrecise(v);
    }
  }
  scanned_bytes_ += to - from;
}

const char* DescribeObject(MSpan* s, uintptr_t idx, uintptr_t* start) {
  const uintptr_t slot = s->ObjBase(idx);
  if (start != nullptr) *start = slot;
  if (s->spanclass.noscan()) return "a pointer-free object";
  if (s->small_scan && s->SlotUsesTypeBits(idx)) {
    if (s->conservative()) return "a conservative object without a header";
    // No header: name the type that set the span's layout, if one did (a
    // type of the same pointer map may share the span).
    if (s->slot_types != nullptr && s->slot_types[idx] != nullptr) {
      return static_cast<const Type*>(s->slot_types[idx])->name();
    }
    const uint8_t l = s->LoadLayout() & MSpan::kLayoutStateMask;
    const auto* t = static_cast<const Type*>(
        __atomic_load_n(&s->uniform_type, __ATOMIC_RELAXED));
    if (l == MSpan::kLayoutUniform && t != nullptr) return t->name();
    return "an object with a pointer map (type bits)";
  }
  uintptr_t header = HeaderOf(slot);
  if (header == 0) return "an uninitialized object";
  if (start != nullptr) *start = PayloadOf(slot, header);
  return HeaderType(header)->name();
}

void Marker::EnableCollect(std::vector<uintptr_t>* out, RootLabelFn label,
                           void* ctx) {
  // Greys go through CheckGrey (check_visited_ set), scans through
  // ScanSlow (slow_scan_): the paths checkmark takes, with no mark bit.
  static auto* unused = new std::unordered_set<uintptr_t>;
  collect_ = out;
  check_visited_ = unused;
  slow_scan_ = true;
  label_fn_ = label;
  label_ctx_ = ctx;
}

void Marker::CheckGrey(MSpan* s, uintptr_t idx) {
  uintptr_t slot = s->ObjBase(idx);
  if (collect_ != nullptr) {
    collect_->push_back(slot);
    return;
  }
  if (!s->IsMarked(idx)) {
    if (referrer_ == 0 && conservative_roots_) return;
    if (referrer_ == 0) {
      GCHEAP_FATAL(
          "checkmark: object %#lx (%s, %zu-byte slot) is reachable from a "
          "root but the concurrent mark did not mark it",
          static_cast<unsigned long>(slot), DescribeObject(s, idx),
          s->elemsize);
    }
    MSpan* rs = heap_->SpanOf(referrer_);
    uintptr_t ridx = rs->ObjIndex(referrer_);
    GCHEAP_FATAL(
        "checkmark: object %#lx (%s, %zu-byte slot) is reachable from object "
        "%#lx (%s) but the concurrent mark did not mark it: a pointer store "
        "into the referrer missed the write barrier",
        static_cast<unsigned long>(slot), DescribeObject(s, idx), s->elemsize,
        static_cast<unsigned long>(referrer_), DescribeObject(rs, ridx));
  }
  if (check_visited_->insert(slot).second && !s->spanclass.noscan()) {
    work_.Put(slot);
  }
}

void Marker::ScanSlow(MSpan* s, uintptr_t idx, uintptr_t addr) {
  // One instance per mode, so the common one (no log, plain pointers)
  // carries no test of either in its loops; the others are reached through
  // a call of their own, so this stays a test and a jump.
  if (ABSL_PREDICT_FALSE(other_modes_)) {
    ScanSlowOtherModes(s, idx, addr);
    return;
  }
  ScanSlowImpl<false, false>(s, idx, addr);
}

ABSL_ATTRIBUTE_NOINLINE void Marker::ScanSlowOtherModes(MSpan* s, uintptr_t idx,
                                                        uintptr_t addr) {
  if (barrier_check_ != nullptr) {
    if (values_ != nullptr) {
      ScanSlowImpl<true, true>(s, idx, addr);
    } else {
      ScanSlowImpl<true, false>(s, idx, addr);
    }
  } else {
    ScanSlowImpl<false, true>(s, idx, addr);
  }
}

template <bool kLog, bool kValues>
inline void Marker::ScanSlowImpl(MSpan* s, uintptr_t idx, uintptr_t addr) {
  uintptr_t slot = s->ObjBase(idx);
  referrer_ = slot;
  if (s->small_scan && s->SlotUsesTypeBits(idx)) {
    // A small object described by the span's type bits.
    const bool same_span = check_visited_ == nullptr;
    if (s->conservative()) {
      // The program stores non-pointers into conservative objects with
      // plain stores, which the marker's relaxed loads race with by
      // design (see the top of this file).
      IgnoreReadsBegin();
      ScanSlotBits<true, kLog, kValues>(s, slot, s->SlotPointerBits(idx),
                                        same_span);
      IgnoreReadsEnd();
    } else {
      ScanSlotBits<false, kLog>(s, slot, s->SlotPointerBits(idx), same_span);
    }
    return;
  }
  uintptr_t header = HeaderOf(slot);
  if (header == 0) return;  // not initialized yet: nothing to scan
  const Type* t = HeaderType(header);
  uintptr_t payload = PayloadOf(slot, header);
  size_t count = ElementCount(slot, header);
  uintptr_t end = payload + count * t->size();
  switch (t->kind()) {
    case Type::Kind::kNoscan:
      return;
    case Type::Kind::kTraced:
      for (size_t i = 0; i < count; i++) {
        IgnoreReadsBegin();
        t->trace()(reinterpret_cast<void*>(payload + i * t->size()), visitor_);
        IgnoreReadsEnd();
      }
      scanned_bytes_ += end - payload;
      return;
    case Type::Kind::kPointerMap:
    case Type::Kind::kConservative:
      break;
  }
  // Map and conservative objects: scan [from, to), splitting big ones.
  uintptr_t from = payload, to = end;
  if (addr != slot) {
    from = addr;  // an oblet queued by the first scan
    to = addr + kObletBytes < end ? addr + kObletBytes : end;
  } else if (end - payload > kObletBytes) {
    for (uintptr_t o = payload + kObletBytes; o < end; o += kObletBytes) {
      work_.Put(WorkEntry(o, kObletBytes));
    }
    to = payload + kObletBytes;
  }
  if (t->kind() == Type::Kind::kConservative) {
    IgnoreReadsBegin();
    ScanWords<kLog, kValues>(from, to);
    IgnoreReadsEnd();
  } else {
    ScanMapped<kLog>(t, payload, count, from, to);
  }
}

inline unsigned Marker::PrefetchObject(const char* p, uintptr_t size) {
  unsigned lines = 0;
  for (uintptr_t off = 0; off < size && lines < kPrefetchLines; off += 64) {
    __builtin_prefetch(p + off);
    lines++;
  }
  return lines;
}

size_t Marker::ScanSpan(MSpan* s, uintptr_t obj) {
  size_t n = 0;
  const uintptr_t size = s->elemsize;
  // Scans the objects `todo` names, slots first + i, asking for all their
  // memory before the first is scanned, so the misses overlap.
  auto scan = [&](uintptr_t first, uint64_t todo) {
    const uintptr_t base = s->ObjBase(first);
    for (uint64_t t = todo; t != 0; t &= t - 1) {
      const auto* p =
          reinterpret_cast<const char*>(base + size * __builtin_ctzll(t));
      PrefetchObject(p, size);
    }
    for (uint64_t t = todo; t != 0; t &= t - 1) {
      const uintptr_t idx = first + __builtin_ctzll(t);
      ScanInSpan(s, idx, s->ObjBase(idx));
      n++;
    }
  };
  const uint32_t words = s->SlotWords();
  local_span_ = s;
  ClaimSpan(s, obj, scan);
  // Pointers into s itself that the scans found (a tree or list allocated
  // in order): marked a word at a time and scanned here, until none are
  // left, instead of one atomic mark and a trip through the queue each.
  // A word is done before the next: a tree or list allocated in order
  // points forward, so one pass in address order usually finds it all,
  // and a second finds nothing.
  for (bool again = true; again;) {
    again = false;
    for (uint32_t w = 0; w < words; w++) {
      while (const uint64_t want = local_pending_[w]) {
        local_pending_[w] = 0;
        again = true;
        const uint64_t fresh =
            want &
            ~__atomic_fetch_or(&s->gcmark_bits[w], want, __ATOMIC_SEQ_CST);
        if (fresh == 0) continue;
        marked_bytes_ +=
            size * static_cast<uint64_t>(__builtin_popcountll(fresh));
        // Claimed as ClaimSpan claims (a marker that took the span from
        // the queue meanwhile may have claimed some).
        const uint64_t mine =
            fresh &
            ~__atomic_fetch_or(&s->scan_bits[w], fresh, __ATOMIC_RELAXED);
        if (mine != 0) scan(uintptr_t{w} * 64, mine);
      }
    }
  }
  local_span_ = nullptr;
  // Taken from the queue for one object: evidence that the span is linked
  // at random. Enough of it and its objects are queued one by one for the
  // rest of the cycle, without the queue flag and scan bits that buy
  // nothing here. (Not for none: with several markers, that is a span
  // queued again while another scanned it, which says nothing of its
  // layout.) A compare-and-swap, so the count never goes back down.
  if (n == 1) {
    uint8_t sparse = __atomic_load_n(&s->mark_sparse, __ATOMIC_RELAXED);
    if (sparse < MSpan::kSparseAfter) {
      __atomic_compare_exchange_n(
          &s->mark_sparse, &sparse, static_cast<uint8_t>(sparse + 1),
          /*weak=*/false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    }
  }
  return n;
}

void Marker::PrefetchSpanBits(const MSpan* s, uintptr_t obj) {
  if (s->mark_queued.load(std::memory_order_relaxed) != MSpan::kQueuedMany) {
    // One object: its scan-bit word is all ScanSpan reads.
    __builtin_prefetch(s->scan_bits + s->ObjIndex(obj) / 64, 1);
    return;
  }
  const uint32_t words = s->SlotWords();
  for (uint32_t w = 0; w < words; w += 8) {
    __builtin_prefetch(s->gcmark_bits + w);
    __builtin_prefetch(s->scan_bits + w, 1);
  }
}

void Marker::PrefetchSpanObjects(const MSpan* s) {
  if (s->mark_queued.load(std::memory_order_relaxed) != MSpan::kQueuedMany) {
    return;  // the entry's object alone (prefetched already), or taken
  }
  const uint32_t words = s->SlotWords();
  int budget = 16;  // lines: the queue's depth
  for (uint32_t w = 0; w < words && budget > 0; w++) {
    uint64_t todo = __atomic_load_n(&s->gcmark_bits[w], __ATOMIC_RELAXED) &
                    ~__atomic_load_n(&s->scan_bits[w], __ATOMIC_RELAXED);
    for (; todo != 0 && budget > 0; todo &= todo - 1) {
      budget -= static_cast<int>(
          PrefetchObject(reinterpret_cast<const char*>(
                             s->ObjBase(w * 64 + __builtin_ctzll(todo))),
                         s->elemsize));
    }
  }
}

size_t Marker::Drain(size_t budget) {
  // The queue lives in registers and on the stack: Scan's calls cannot
  // touch it, so the compiler keeps its indexes out of memory. Each object
  // is prefetched as it enters, every cache line of it up to
  // kPrefetchLines, as its work entry's hint says (a miss on a 136-byte
  // object's second line stalled its scan as long as one on the first).
  uintptr_t queue[kPrefetchDepth];
  unsigned head = 0, queued = 0;
  size_t done = 0;
  bool more = true;  // the buffers may hold work
  while (true) {
    while (more && queued < kPrefetchDepth && done + queued < budget) {
      const uintptr_t e = work_.TryGet();
      if (e == 0) {
        more = false;
        break;
      }
      const auto* p = reinterpret_cast<const char*>(EntryAddress(e));
      __builtin_prefetch(p);
      for (uintptr_t i = 1; i <= (e & kEntryHintMask); i++) {
        __builtin_prefetch(p + 64 * i);
      }
      if (e & kSpanEntryBit) {
        // The span's queue flag is written first thing: its line too.
        __builtin_prefetch(
            reinterpret_cast<const char*>(heap_->SpanOf(EntryAddress(e))) + 64,
            1);
      }
      queue[(head + queued) % kPrefetchDepth] = e;
      queued++;
    }
    if (queued == 0) return done;
    // A span entry's other objects are found in its bitmaps, which need
    // its MSpan first: two more prefetch stages down the queue, so that
    // what ScanSpan reads has arrived when it runs.
    if (queued > kPrefetchDepth / 2) {
      // Halfway: the MSpan (asked for on entry) has arrived; ask for the
      // scan and mark bits ScanSpan will read.
      const uintptr_t f = queue[(head + kPrefetchDepth / 2) % kPrefetchDepth];
      if (f & kSpanEntryBit) {
        const uintptr_t o = EntryAddress(f);
        PrefetchSpanBits(heap_->SpanOf(o), o);
      }
    }
    if (queued > kPrefetchDepth / 4) {
      // A quarter: the bits have arrived; ask for the objects ScanSpan
      // will claim if more than the entry's was marked.
      const uintptr_t f = queue[(head + kPrefetchDepth / 4) % kPrefetchDepth];
      if (f & kSpanEntryBit)
        PrefetchSpanObjects(heap_->SpanOf(EntryAddress(f)));
    }
    const uintptr_t e = queue[head];
    head = (head + 1) % kPrefetchDepth;
    queued--;
    if (e & kSpanEntryBit) {
      const uintptr_t o = EntryAddress(e);
      done += ScanSpan(heap_->SpanOf(o), o);
    } else {
      Scan(EntryAddress(e));
      done++;
    }
    more = true;  // scanning may have greyed more
  }
}

}  // namespace gcheap::internal
