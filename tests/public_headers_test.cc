// The public headers as an embedder's build sees them: each compiles alone
// (the generated public_header_*.cc files beside this test), with
// -fno-exceptions and -fno-rtti, as C++17 and C++20. Bad pointer offsets
// in a constexpr Type are compile errors.
#include <cstddef>

#include "gcheap/gcheap.h"
#include "gtest/gtest.h"

namespace {

struct Cell {
  gcheap::Ref<Cell> next;
  long value;
};

#if defined(__cpp_concepts)
// Whether Type::Of<Cell>().Pointers(kOffset) is a constant expression.
template <size_t kOffset>
concept ConstantType = requires {
  typename std::integral_constant<
      uint64_t,
      gcheap::Type::Of<Cell>("Cell").Pointers(kOffset).pointer_mask()>;
};
static_assert(ConstantType<offsetof(Cell, next)>);
static_assert(!ConstantType<4>, "a misaligned offset must not compile");
static_assert(!ConstantType<16>, "an offset past the object must not compile");
static_assert(!ConstantType<64 * 8>, "an offset past the map must not compile");
#endif

constexpr gcheap::Type kCellType =
    gcheap::Type::Of<Cell>("Cell").Pointers(offsetof(Cell, next));

// GCHEAP_TYPE: the same map from the field names, checked to be slots.
struct Mixed {
  gcheap::Ref<Mixed> a;
  long n;
  Cell* raw;
  gcheap::Ref<Cell> b;
};
constexpr gcheap::Type kMixedType = GCHEAP_TYPE(Mixed, a, raw, b);
static_assert(kMixedType.pointer_mask() == 0b1101);
static_assert(kMixedType.size() == sizeof(Mixed));
static_assert(GCHEAP_TYPE(Cell, next).pointer_mask() ==
              kCellType.pointer_mask());
static_assert(gcheap::IsPointerSlot<gcheap::Ref<Cell>>::value);
static_assert(gcheap::IsPointerSlot<Cell*>::value);
static_assert(!gcheap::IsPointerSlot<long>::value);
static_assert(!gcheap::IsPointerSlot<uintptr_t>::value);
// (GCHEAP_TYPE(Mixed, n) does not compile: "a listed field is not a pointer
// slot".)

TEST(PublicHeadersTest, TypeNamesComeFromTheMacro) {
  EXPECT_STREQ(kMixedType.name(), "Mixed");
}

TEST(PublicHeadersTest, ALinkedListWithoutExceptionsOrRtti) {
  gcheap::Heap heap;
  gcheap::Mutator& m = heap.AttachCurrentThread();
  {
    gcheap::HandleScope scope(m);
    gcheap::Local<Cell> head(m, nullptr);
    for (int i = 0; i < 10000; i++) {
      Cell* c = m.New<Cell>(kCellType);
      c->value = i;
      c->next = head.Get();
      head.Set(c);
    }
    heap.Collect();
    long sum = 0;
    for (Cell* c = head.Get(); c != nullptr; c = c->next.Get()) sum += c->value;
    EXPECT_EQ(sum, 10000L * 9999 / 2);
  }
  heap.DetachCurrentThread();
}

}  // namespace
