// Misuse checks on stores of heap pointers: a pointer into another Heap,
// and (debug builds of the program: GCHEAP_DEBUG_CHECKS=1) a barriered
// store into a word its object's Type does not list as a pointer.
//
// Every live HeapImpl is in a process-wide list, so a pointer can be told
// apart as "this heap's", "another heap's" or "not a heap object"; the
// fork handlers (runtime/fork.cc) quiesce the heaps on it.
#include <optional>
#include <vector>

#include "base/check.h"
#include "gc/mark.h"
#include "gc/object.h"
#include "gcheap/ref.h"
#include "runtime/heap_impl.h"

namespace gcheap::internal {
namespace {

std::vector<HeapImpl*>& Heaps() {
  static auto* heaps = new std::vector<HeapImpl*>;
  return *heaps;
}

// Runs fn with the fork lock held. A thread holding a P (of another heap)
// gives it up meanwhile: a fork may be waiting for it to stop.
template <class Fn>
void UnderForkLock(Fn fn) {
  Mutator* m = CurrentMutator();
  std::optional<BlockingScope> released;
  if (m != nullptr && HeapImpl::HeldP(*m) != nullptr) released.emplace(*m);
  MutexLock f(&ForkMutex());
  fn();
}

}  // namespace

Mutex& HeapListMutex() {
  static Mutex mu(LockRank::kLeaf);
  return mu;
}

void RegisterHeap(HeapImpl* h) {
  UnderForkLock([h] {
    InstallForkHandlers();
    MutexLock l(&HeapListMutex());
    Heaps().push_back(h);
  });
}

void UnregisterHeap(HeapImpl* h) {
  UnderForkLock([h] {
    MutexLock l(&HeapListMutex());
    auto& v = Heaps();
    for (size_t i = 0; i < v.size(); i++) {
      if (v[i] == h) {
        v.erase(v.begin() + static_cast<ptrdiff_t>(i));
        return;
      }
    }
  });
}

std::vector<HeapImpl*> LiveHeaps() {
  MutexLock l(&HeapListMutex());
  return Heaps();
}

void CheckNotAnotherHeaps(const HeapImpl* h, const void* value,
                          const char* what) {
  if (value == nullptr ||
      h->mheap().SpanOf(reinterpret_cast<uintptr_t>(value)) != nullptr) {
    return;  // null or this heap's
  }
  // No signal stop while the list's lock is held: a fork takes it with
  // the world stopped.
  NoPreempt no_preempt;
  MutexLock l(&HeapListMutex());
  for (const HeapImpl* other : Heaps()) {
    if (other != h &&
        other->mheap().SpanOf(reinterpret_cast<uintptr_t>(value)) != nullptr) {
      GCHEAP_FATAL(
          "%s: %p points into another Heap: one heap's collector does not "
          "see references held by another heap's objects or roots, so the "
          "object could be freed while still referenced",
          what, value);
    }
  }
}

}  // namespace gcheap::internal

void gch_internal_debug_check_store(void** slot, const void* value) {
  using namespace gcheap;
  using namespace gcheap::internal;
  Mutator* m = CurrentMutator();
  if (m == nullptr) return;
  HeapImpl* h = HeapImpl::ImplOf(*m);
  CheckNotAnotherHeaps(h, value, "pointer store");
  // The slot's span, without FindObject's allocation check (which may
  // sweep): the program is storing into an object it holds.
  const uintptr_t addr = reinterpret_cast<uintptr_t>(slot);
  MSpan* s = h->mheap().SpanOf(addr);
  if (s == nullptr ||
      s->state.load(std::memory_order_acquire) != SpanState::kInUse ||
      addr < s->start_addr || addr >= s->limit) {
    return;  // not in the heap: a C++ object's Ref field
  }
  const uintptr_t idx = s->ObjIndex(addr);
  const uintptr_t base = s->ObjBase(idx);
  uintptr_t start = base;  // the object as the program sees it
  const char* type = DescribeObject(s, idx, &start);
  bool pointer_word = false;
  if (s->spanclass.noscan()) {
    // No word of a pointer-free object is a pointer word.
  } else if (s->small_scan && s->SlotUsesTypeBits(idx)) {
    size_t word = (addr - base) / 8;
    pointer_word = (addr & 7) == 0 && word < 64 &&
                   ((s->SlotPointerBits(idx) >> word) & 1) != 0;
  } else {
    uintptr_t header = HeaderOf(base);
    if (header == 0) return;  // being initialized
    const Type* t = HeaderType(header);
    switch (t->kind()) {
      case Type::Kind::kNoscan:
        break;
      case Type::Kind::kTraced:
      case Type::Kind::kConservative:
        pointer_word = addr >= start;
        break;
      case Type::Kind::kPointerMap: {
        size_t off = t->size() == 0 ? 0 : (addr - start) % t->size();
        pointer_word = addr >= start && off % 8 == 0 &&
                       off / 8 < Type::kMaxMapWords &&
                       ((t->pointer_mask() >> (off / 8)) & 1) != 0;
        break;
      }
    }
  }
  GCHEAP_CHECK(pointer_word,
               "pointer store into %p, byte %lu of object %#lx (%s), which "
               "its Type does not list as a pointer word: the collector will "
               "not see the stored pointer (list the field in Pointers(), or "
               "declare the Type with GCHEAP_TYPE)",
               static_cast<void*>(slot),
               static_cast<unsigned long>(addr - start),
               static_cast<unsigned long>(start), type);
}
