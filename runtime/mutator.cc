// Allocation slow paths: safepoint polls, GC triggers, objects with headers,
// arrays, large objects, out-of-memory handling. See include/gcheap/mutator.h.
#include <string.h>

#include "base/check.h"
#include "gc/object.h"
#include "runtime/heap_impl.h"

namespace gcheap {

using internal::kArrayHeaderBytes;
using internal::kObjectHeaderBytes;
using internal::MSpan;
using internal::SpanClass;

namespace {

// Multiplies and adds without overflow; false if the result overflows.
bool SizeOf(size_t count, size_t size, size_t header, size_t* out) {
  size_t bytes;
  if (__builtin_mul_overflow(count, size, &bytes)) return false;
  if (__builtin_add_overflow(bytes, header, &bytes)) return false;
  if (bytes > (SIZE_MAX >> 2)) return false;
  *out = bytes;
  return true;
}

}  // namespace

Heap& Mutator::heap() const { return *heap_->heap(); }

void* Mutator::AllocateNoscanSlow(size_t bytes, bool or_null) {
  static constexpr Type kBytes = Type::Noscan("bytes", 0);
  internal::ProgramReturn program(state_, __builtin_return_address(0));
  return AllocateSlow(kBytes, bytes, /*array=*/true, or_null);
}

void* Mutator::AllocateConservativeSlow(size_t bytes, bool or_null) {
  static constexpr Type kWords = Type::Conservative("conservative bytes", 1);
  internal::ProgramReturn program(state_, __builtin_return_address(0));
  return AllocateSlow(kWords, bytes, /*array=*/true, or_null);
}

// The entry from the inline fast paths (RuntimeFrames in
// runtime/heap_impl.h): __builtin_unwind_init saves every callee-saved
// register, some of which may hold the program's only copy of a pointer,
// in this frame, which the stack scan keeps.
ABSL_ATTRIBUTE_NOINLINE void* Mutator::AllocateSlow(const Type& t, size_t count,
                                                    bool array, bool or_null) {
  __builtin_unwind_init();
  internal::ProgramReturn program(state_, __builtin_return_address(0));
  void* p = AllocateSlowWork(t, count, array, or_null);
  // Not a tail call: this frame, with the registers, must stay below the
  // program's while the work runs.
  asm volatile("" : : : "memory");
  return p;
}

ABSL_ATTRIBUTE_NOINLINE void* Mutator::AllocateSlowWork(const Type& t,
                                                        size_t count,
                                                        bool array,
                                                        bool or_null) {
  heap_->CheckRunning(*this, "allocation");
  internal::RuntimeFrames runtime(state_, __builtin_frame_address(0));
  if (heap_->options().stack_scanning == StackScanning::kConservative) {
    internal::ClearStaleStack(
        state_, reinterpret_cast<uintptr_t>(__builtin_frame_address(0)));
  }
  Safepoint();
  heap_->StressTick(*this);
  heap_->MaybeTrigger(*this);

  // Layout: noscan payloads (no destructor) have no header and live in
  // noscan spans; small pointer-map objects use type bits; everything else
  // (trace callbacks, conservative words, destructors, arrays, objects over
  // 512 bytes) carries a header (arrays: two words).
  const bool raw_bytes = t.size() == 0 && array;  // AllocateNoscan
  const bool noscan = t.kind() == Type::Kind::kNoscan && !t.destructor();
  size_t elem = raw_bytes ? 1 : (t.size() == 0 ? 1 : t.size());
  size_t n = array ? count : 1;
  size_t payload = 0;
  bool ok = SizeOf(n, elem, 0, &payload);
  bool bitmap = !array && t.kind() == Type::Kind::kPointerMap &&
                !t.destructor() && payload <= MSpan::kMaxHeapBitsObject;
  // Small conservative objects and arrays need no header either: their
  // span is flagged conservative and every word of the slot is scanned.
  const bool conservative_bits = t.kind() == Type::Kind::kConservative &&
                                 !t.destructor() && payload != 0 &&
                                 payload <= MSpan::kMaxHeapBitsObject;
  bitmap = bitmap || conservative_bits;
  size_t header =
      (noscan || bitmap) ? 0 : (array ? kArrayHeaderBytes : kObjectHeaderBytes);
  size_t bytes = 0;
  ok = ok && SizeOf(1, payload, header, &bytes);
  if (bytes == 0) bytes = 1;
  // A request larger than any object this heap can hold fails at once: no
  // collection, callback or reservation could serve it.
  const char* why = nullptr;
  const size_t largest = heap_->mheap().max_object_bytes(&why);
  if (ok && bytes > largest) {
    if (or_null) return nullptr;
    GCHEAP_FATAL(
        "out of memory: cannot allocate %zu bytes for %s: the largest object "
        "is %zu bytes (%s)",
        bytes, t.name(), largest, why);
  }

  // Mark assists come first, as in Go: an assist may stop at a safepoint,
  // and the object it would be charged for is not allocated yet, so no
  // frame below the program's holds it (RuntimeFrames). The charge is what
  // the program was handed since its last slow path: the free slots of
  // the small spans' words its mcache moved to (a word of a span swept
  // partly full holds fewer than 64), plus a large object. The mcache
  // forgets what it handed before the mark (its spans are all handed back
  // when a mark begins).
  if (ok) {
    const uint64_t handed =
        internal::HeapImpl::RealCache(*this)->TakeHandedBytes();
    if (marking()) {
      const bool large = bytes > internal::kMaxSmallSize;
      heap_->AssistAlloc(*this, handed + (large ? bytes : 0));
    }
  }

  void* p = nullptr;
  internal::MCache* c = internal::HeapImpl::RealCache(*this);
  for (int attempt = 0; ok && attempt < 3; attempt++) {
    if (noscan && bytes < internal::kTinySize) {
      p = c->AllocTiny(bytes);
    } else if (bytes <= internal::kMaxSmallSize) {
      p = c->AllocSmall(SpanClass::Make(internal::SizeToClass(bytes), noscan));
    } else {
      p = c->AllocLarge(bytes, noscan);
    }
    if (p != nullptr) break;
    // Out of memory: collect and retry; then ask the embedder; then retry.
    if (attempt == 0) {
      heap_->CollectFrom(this, internal::GcReason::kForced);
      c = internal::HeapImpl::RealCache(*this);
    } else if (attempt == 1 && heap_->options().on_out_of_memory) {
      internal::ProgramFrames program(state_);  // scanned in full
      heap_->options().on_out_of_memory(bytes,
                                        heap_->options().out_of_memory_arg);
      // The callback may have given up the P and taken another (a
      // BlockingScope, a fork).
      c = internal::HeapImpl::RealCache(*this);
    }
  }
  // An allocation sample (heap profiles): the allocator chose this object.
  size_t sample_size = 0;
  if (void* sampled = c->TakeSample(&sample_size);
      sampled != nullptr && sampled == p) {
    heap_->RecordAllocSample(*this, p, static_cast<char*>(p) + header,
                             sample_size);
  }
  if (p == nullptr) {
    if (or_null) return nullptr;
    internal::AllocStatsSnapshot st = heap_->mheap().ReadStats();
    if (!ok) {
      GCHEAP_FATAL(
          "allocation size overflows: %zu x %zu bytes of %s (plus header)", n,
          elem, t.name());
    }
    GCHEAP_FATAL(
        "out of memory: cannot allocate %zu bytes for %s (heap: %llu bytes "
        "obtained from the OS, %llu in use, hard limit %zu)",
        bytes, t.name(), static_cast<unsigned long long>(st.heap_sys),
        static_cast<unsigned long long>(st.heap_inuse),
        heap_->options().hard_memory_limit);
  }
  // Allocate black is the allocator's work: while the collector marks, an
  // mcache marks the free slots of each span it takes
  // (MSpan::MarkFreeSlots) and the page heap marks each large object
  // (MHeap::AllocLarge).
  if (GCHEAP_DCHECK_IS_ON && marking()) {
    MSpan* ms = heap_->mheap().SpanOf(reinterpret_cast<uintptr_t>(p));
    GCHEAP_CHECK(ms->IsMarked(ms->ObjIndex(reinterpret_cast<uintptr_t>(p))),
                 "allocate black: an object allocated during the mark is not "
                 "marked");
  }
  // No safepoint from here on: the object exists.
  if (noscan) return p;
  auto slot = reinterpret_cast<uintptr_t>(p);
  MSpan* s = heap_->mheap().SpanOf(slot);
  uintptr_t idx = s->ObjIndex(slot);
  if (conservative_bits) {
    c->SetConservativeBits(s, idx);
    return p;
  }
  if (bitmap) {
    c->SetTypeBits(s, idx, false, t.pointer_mask(), &t);
    return p;
  }
  if (s->small_scan) c->SetTypeBits(s, idx, true, 0);
  if (t.destructor() != nullptr) s->has_destructors = true;
  if (array) reinterpret_cast<size_t*>(slot)[1] = n;
  internal::HeaderOf(slot) =
      reinterpret_cast<uintptr_t>(&t) | (array ? internal::kHeaderArrayBit : 0);
  return reinterpret_cast<void*>(slot + header);
}

}  // namespace gcheap
