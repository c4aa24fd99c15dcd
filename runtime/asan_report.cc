// AddressSanitizer reports that name the heap object: when ASan reports a
// bad access (for example a use after sweep: freed slots are poisoned,
// alloc/mheap.cc), gcheap adds a line saying which slot of which span the
// address is in and whether that slot holds an object. Built only with
// AddressSanitizer.
#include "base/sanitizers.h"
#include "runtime/heap_impl.h"

#if defined(GCHEAP_ASAN)
#include <mutex>

#include "base/check.h"

namespace gcheap::internal {
namespace {

void DescribeForAsan(const char* /*report*/) {
  auto addr = reinterpret_cast<uintptr_t>(__asan_get_report_address());
  Mutator* m = CurrentMutator();  // the faulting thread's heap, if any
  if (m == nullptr || addr == 0) return;
  HeapImpl::DescribeAddress(*m, addr);
}

}  // namespace

void HeapImpl::DescribeAddress(const Mutator& m, uintptr_t addr) {
  MHeap& heap = m.heap_->mheap();
  MSpan* s = heap.SpanOf(addr);
  if (s == nullptr || s->state.load() != SpanState::kInUse) {
    RawLog("gcheap: address %#lx is not in an in-use span of this heap",
           static_cast<unsigned long>(addr));
    return;
  }
  if (addr >= s->limit) {
    RawLog(
        "gcheap: address %#lx is in the unused tail of a span of %zu-byte "
        "objects (size class %d)",
        static_cast<unsigned long>(addr), s->elemsize,
        s->spanclass.sizeclass());
    return;
  }
  uintptr_t idx = s->ObjIndex(addr);
  uintptr_t base = s->ObjBase(idx);
  RawLog(
      "gcheap: address %#lx is %lu bytes into slot %lu (object %#lx) of a "
      "%s span of %zu-byte objects (size class %d); the slot is %s",
      static_cast<unsigned long>(addr), static_cast<unsigned long>(addr - base),
      static_cast<unsigned long>(idx), static_cast<unsigned long>(base),
      s->spanclass.noscan() ? "noscan" : "scan", s->elemsize,
      s->spanclass.sizeclass(),
      s->IsAllocated(idx)
          ? "allocated"
          : "free: the object that was there was swept, so the collector "
            "found no pointer to it (a missing root, or a store that missed "
            "the write barrier)");
}

void InstallAsanReporter() {
  static std::once_flag once;
  std::call_once(once,
                 [] { __asan_set_error_report_callback(&DescribeForAsan); });
}

}  // namespace gcheap::internal

#else

namespace gcheap::internal {
void InstallAsanReporter() {}
}  // namespace gcheap::internal

#endif
