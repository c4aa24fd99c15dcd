// Object types shared by the end-to-end tests.
#ifndef GCHEAP_TESTS_TEST_TYPES_H_
#define GCHEAP_TESTS_TEST_TYPES_H_

#include <cstddef>
#include <cstdint>

#include "gcheap/gcheap.h"

namespace gcheap::testing {

// A cons cell with a payload checksum.
struct Pair {
  Ref<Pair> car;
  Ref<Pair> cdr;
  uint64_t value;
};
inline constexpr Type kPairType = GCHEAP_TYPE(Pair, car, cdr);

// A big object with a pointer map: header path (over 512 bytes).
struct Big {
  Ref<Pair> first;
  uint64_t pad[30];
  Ref<Pair> last;
  uint64_t tail[40];
};
inline constexpr Type kBigType = GCHEAP_TYPE(Big, first, last);

// A node whose slots hold tagged values: low bit 1 = small integer, else a
// heap pointer. Traced by callback.
struct Tagged {
  uintptr_t slots[4];
};
inline void TraceTagged(void* obj, Visitor& v) {
  for (uintptr_t s : static_cast<Tagged*>(obj)->slots) {
    if ((s & 1) == 0) v.Visit(reinterpret_cast<void*>(s));
  }
}
inline constexpr Type kTaggedType =
    Type::Traced("Tagged", sizeof(Tagged), &TraceTagged);

// Builds a list of n pairs with value = i * 7 + seed.
inline Pair* MakeList(Mutator& m, int n, uint64_t seed) {
  Pair* head = nullptr;
  for (int i = n - 1; i >= 0; i--) {
    Pair* p = m.New<Pair>(kPairType);
    p->value = i * 7 + seed;
    p->cdr = head;
    head = p;
  }
  return head;
}

// Exact reachability for tests that count objects: precise stacks, no
// scavenger thread, finalizers run only when the test drains them.
inline Options PreciseDrainsOptions() {
  Options o;
  o.max_procs = 2;
  o.stack_scanning = StackScanning::kPrecise;
  o.background_scavenger = false;
  o.finalizer_mode = FinalizerMode::kEmbedderDrains;
  return o;
}

inline constexpr Type kPtrArrayElem = Type::Of<void*>("Slot").Pointers(0);

// A binary tree of depth d whose every node's value is tag.
inline Pair* TaggedTree(Mutator& m, int d, uint64_t tag) {
  Pair* p = m.New<Pair>(kPairType);
  p->value = tag;
  if (d > 0) {
    p->car = TaggedTree(m, d - 1, tag);
    p->cdr = TaggedTree(m, d - 1, tag);
  }
  return p;
}

// The nodes of a TaggedTree, or UINT64_MAX if one of them has lost its tag
// (freed and reused: a missing root or barrier).
inline uint64_t CountTagged(const Pair* p, uint64_t tag) {
  if (p == nullptr) return 0;
  if (p->value != tag) return UINT64_MAX;
  uint64_t l = CountTagged(p->car, tag), r = CountTagged(p->cdr, tag);
  return l == UINT64_MAX || r == UINT64_MAX ? UINT64_MAX : 1 + l + r;
}

}  // namespace gcheap::testing

#endif  // GCHEAP_TESTS_TEST_TYPES_H_
