// Value encodings (Options::values): NaN-boxed and tagged words held where
// pointers go, through the write barrier, conservative objects, root
// ranges, thread stacks and trace callbacks.
#include <algorithm>
#include <cstdint>
#include <thread>

#include "gcheap/gcheap.h"
#include "gcheap/testing.h"
#include "gtest/gtest.h"
#include "tests/test_types.h"

namespace gcheap::testing {
namespace {

using testing_hooks::HeldMark;

// clox's NaN boxing: an object is the quiet-NaN bits and the sign bit
// around a 48-bit pointer.
constexpr uint64_t kNanTag = 0xfffc000000000000;
constexpr ValueEncoding kNan =
    ValueEncoding::NanBoxed(kNanTag, kNanTag, ~kNanTag);
// Low-bit tags: objects carry tag 1, small integers tag 3 (n << 3 | 3).
constexpr ValueEncoding kLowTags = ValueEncoding::Tagged(7, 1);

struct Encoding {
  const char* name;
  ValueEncoding values;
  uint64_t (*box)(const void* p);
};
const Encoding kEncodings[] = {
    {"NanBoxing", kNan,
     [](const void* p) { return kNanTag | reinterpret_cast<uint64_t>(p); }},
    {"LowTags", kLowTags,
     [](const void* p) { return reinterpret_cast<uint64_t>(p) | 1; }},
};

// A heap object holding four values: conservative, so the collector reads
// its words without a map (and decodes them).
struct Box {
  uint64_t v[4];
};
constexpr Type kBoxType = Type::Conservative("Box", sizeof(Box));

Options Precise(const ValueEncoding& values) {
  Options o = PreciseDrainsOptions();
  o.gc_percent = -1;  // only the cycles the test starts
  o.values = values;
  return o;
}

class ValuesTest : public ::testing::TestWithParam<Encoding> {
 protected:
  uint64_t Boxed(const void* p) const { return GetParam().box(p); }
};

// Whether the object w referred to survived the cycles since.
template <class T>
bool Alive(const WeakRef<T>& w) {
  return w.Get() != nullptr;
}

TEST_P(ValuesTest, RootRangesOfValuesKeepTheirObjects) {
  Heap heap(Precise(GetParam().values));
  Mutator& m = heap.AttachCurrentThread();
  static uint64_t roots[4];
  WeakRef<Pair> w(heap, m.New<Pair>(kPairType));
  roots[0] = uint64_t{42} << 3 | 3;  // an integer
  roots[1] = Boxed(w.Get());
  heap.AddRootRange(roots, roots + 4);
  heap.Collect();
  EXPECT_TRUE(Alive(w));
  roots[1] = 0;
  heap.Collect();
  EXPECT_FALSE(Alive(w));
  heap.RemoveRootRange(roots, roots + 4);
  heap.DetachCurrentThread();
}

TEST_P(ValuesTest, ConservativeObjectsHoldValues) {
  Heap heap(Precise(GetParam().values));
  Mutator& m = heap.AttachCurrentThread();
  {
    Persistent<Box> box(heap, m.New<Box>(kBoxType));
    WeakRef<Pair> w(heap, m.New<Pair>(kPairType));
    WriteBarrier(reinterpret_cast<void**>(&box.Get()->v[2]),
                 reinterpret_cast<void*>(Boxed(w.Get())));
    heap.Collect();
    EXPECT_TRUE(Alive(w));
    WriteBarrier(reinterpret_cast<void**>(&box.Get()->v[2]), nullptr);
    heap.Collect();
    EXPECT_FALSE(Alive(w));
  }
  heap.DetachCurrentThread();
}

// Traced objects report their values through Visitor::VisitValue.
struct Cell {
  uint64_t value;
};
void TraceCell(void* obj, Visitor& v) {
  v.VisitValue(static_cast<Cell*>(obj)->value);
}
constexpr Type kCellType = Type::Traced("Cell", sizeof(Cell), &TraceCell);

TEST_P(ValuesTest, TraceCallbacksVisitValues) {
  Heap heap(Precise(GetParam().values));
  Mutator& m = heap.AttachCurrentThread();
  {
    Persistent<Cell> cell(heap, m.New<Cell>(kCellType));
    WeakRef<Pair> w(heap, m.New<Pair>(kPairType));
    WriteBarrier(reinterpret_cast<void**>(&cell.Get()->value),
                 reinterpret_cast<void*>(Boxed(w.Get())));
    heap.Collect();
    EXPECT_TRUE(Alive(w));
  }
  heap.DetachCurrentThread();
}

// The write barrier on a value slot: during a concurrent mark the program
// moves the only reference to B, boxed, from a grey object into one
// allocated during the mark (black, never scanned) and clears the old
// slot. Only the barrier's record of the old value, decoded, keeps B.
// Returns whether B survived.
bool MoveBoxedValueDuringMark(const ValueEncoding& values,
                              uint64_t (*box)(const void*), bool checkmark) {
  Options o = Precise(values);
  o.checkmark = checkmark;
  // No signal stops: a thread stopped by a signal has its registers
  // scanned as plain pointers, which could find B's address there and
  // keep it in the control run (below) by chance.
  o.preempt_signal = 0;
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  bool alive;
  {
    Persistent<Box> root(heap, m.New<Box>(kBoxType));
    WeakRef<Pair> b(heap, m.New<Pair>(kPairType));
    WriteBarrier(reinterpret_cast<void**>(&root.Get()->v[0]),
                 reinterpret_cast<void*>(box(b.Get())));
    Persistent<Box> moved_to;
    {
      HeldMark mark(heap, m);
      Box* n = m.New<Box>(kBoxType);  // black
      moved_to = Persistent<Box>(heap, n);
      WriteBarrier(reinterpret_cast<void**>(&n->v[1]),
                   reinterpret_cast<void*>(root.Get()->v[0]));
      WriteBarrier(reinterpret_cast<void**>(&root.Get()->v[0]), nullptr);
      mark.Release(m);
    }
    alive = Alive(b);
    if (alive) {
      EXPECT_EQ(moved_to.Get()->v[1], box(b.Get()));
    }
  }
  heap.DetachCurrentThread();
  return alive;
}

TEST_P(ValuesTest, TheWriteBarrierShadesBoxedValues) {
  EXPECT_TRUE(MoveBoxedValueDuringMark(GetParam().values, GetParam().box,
                                       /*checkmark=*/true));
}

// Without the encoding, the same program loses B: the barrier's records
// are not addresses. (Low tags point inside the object, which keeps it
// either way; NaN-boxed words point nowhere.)
TEST(ValuesTest, WithoutTheEncodingABoxedValueIsLost) {
  EXPECT_FALSE(MoveBoxedValueDuringMark(ValueEncoding::Pointers(),
                                        kEncodings[0].box,
                                        /*checkmark=*/false));
}

// A boxed value in a C++ local is a root under conservative stack scanning.
__attribute__((noinline)) uint64_t BoxedLeaf(Mutator& m,
                                             uint64_t (*box)(const void*),
                                             WeakRef<Pair>* w) {
  Pair* p = m.New<Pair>(kPairType);
  *w = WeakRef<Pair>(m.heap(), p);
  return box(p);
}

TEST_P(ValuesTest, BoxedValuesInLocalsAreRoots) {
  Options o = Precise(GetParam().values);
  o.stack_scanning = StackScanning::kConservative;
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  {
    WeakRef<Pair> w;
    volatile uint64_t boxed = BoxedLeaf(m, GetParam().box, &w);
    for (int i = 0; i < 3; i++) {
      MakeList(m, 1000, i);  // churn the stack and the heap
      heap.Collect();
      ASSERT_TRUE(Alive(w));
    }
    EXPECT_EQ(boxed, GetParam().box(w.Get()));
  }
  heap.DetachCurrentThread();
}

// The trace-callback contract (docs/embedding.md, "What a trace callback
// may read"): a vector whose items are a heap array of values, grown by
// copying into a new array, while concurrent marks run over it (mark
// stress, checkmark on). CI runs it under ThreadSanitizer too.
struct Vec {
  uint64_t count;
  uint64_t capacity;
  uint64_t* items;  // a heap array of values
};
void TraceVec(void* obj, Visitor& v) {
  const Vec* vec = static_cast<const Vec*>(obj);
  v.Visit(__atomic_load_n(&vec->items, __ATOMIC_RELAXED));
}
constexpr Type kVecType = Type::Traced("Vec", sizeof(Vec), &TraceVec);
constexpr Type kValueType = Type::Conservative("Value", sizeof(uint64_t));

void StoreValue(uint64_t* slot, uint64_t v) {
  WriteBarrier(reinterpret_cast<void**>(slot), reinterpret_cast<void*>(v));
}

void Push(Mutator& m, Vec* vec, uint64_t value) {
  if (vec->count == vec->capacity) {
    const size_t cap = vec->capacity == 0 ? 8 : 2 * vec->capacity;
    auto* items = static_cast<uint64_t*>(m.AllocateArray(kValueType, cap));
    CopyPointers(reinterpret_cast<void**>(items),
                 reinterpret_cast<void* const*>(vec->items), vec->count);
    WriteBarrier(reinterpret_cast<void**>(&vec->items), items);
    vec->capacity = cap;
  }
  StoreValue(&vec->items[vec->count], value);
  vec->count++;
}

TEST(TraceContractTest, SideArraysGrowWhileMarksRun) {
  Options o = Precise(kNan);
  o.mark_stress = 50;
  o.mark_stress_hold = 300;
  o.checkmark = true;
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  {
    Persistent<Vec> vec(heap, m.New<Vec>(kVecType));
    constexpr int kN = 5000;
    for (int i = 0; i < kN; i++) {
      Pair* p = m.New<Pair>(kPairType);
      p->value = static_cast<uint64_t>(i);
      Push(m, vec.Get(), kNanTag | reinterpret_cast<uint64_t>(p));
    }
    heap.Collect();
    ASSERT_EQ(vec->count, static_cast<uint64_t>(kN));
    for (int i = 0; i < kN; i++) {
      auto* p = reinterpret_cast<Pair*>(kNan.Decode(vec->items[i]));
      ASSERT_EQ(heap.ObjectStart(p), p);
      ASSERT_EQ(p->value, static_cast<uint64_t>(i));
    }
    // At least one stress mark ran while the vector grew, then Collect.
    EXPECT_GE(heap.ReadMemStats().num_gc, 2u);
  }
  heap.DetachCurrentThread();
}

// A VM's bug: boxed values stored into a rooted conservative array, with
// or (skip_barrier) without the write barrier, while collections run as
// `o` asks. Returns once every value is checked.
void FillValues(Options o, bool skip_barrier, int n) {
  o.values = kNan;
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  {
    constexpr size_t kSlots = 1024;
    Persistent<uint64_t> slots(
        heap, static_cast<uint64_t*>(m.AllocateArray(kValueType, kSlots)));
    for (int i = 0; i < n; i++) {
      Pair* p = m.New<Pair>(kPairType);
      p->value = static_cast<uint64_t>(i);
      uint64_t* slot = &slots.Get()[i % kSlots];
      const uint64_t boxed = kNanTag | reinterpret_cast<uint64_t>(p);
      if (skip_barrier) {
        __atomic_store_n(slot, boxed, __ATOMIC_RELAXED);
      } else {
        StoreValue(slot, boxed);
      }
    }
    for (int i = std::max(0, n - static_cast<int>(kSlots)); i < n; i++) {
      auto* p = reinterpret_cast<Pair*>(kNan.Decode(slots.Get()[i % kSlots]));
      ASSERT_EQ(p->value, static_cast<uint64_t>(i));
    }
  }
  heap.DetachCurrentThread();
}

Options MarkStress() {
  Options o = PreciseDrainsOptions();
  o.mark_stress = 20;
  o.mark_stress_hold = 200;
  o.barrier_check = true;
  o.checkmark = true;
  return o;
}

// The concurrent stress mode finds a value store that skips the barrier...
TEST(ValueStressDeathTest, MarkStressCatchesAValueStoreWithoutTheBarrier) {
  EXPECT_DEATH(FillValues(MarkStress(), /*skip_barrier=*/true, 20000),
               "barrier check: the pointer word at 0x[0-9a-f]+ \\(byte "
               "[0-9]+ of object 0x[0-9a-f]+, Value\\) changed from "
               "(0|0x[0-9a-f]+) to 0xfffc[0-9a-f]+ during the concurrent mark");
}

// ...passes the same program with the barrier...
TEST(ValueStressTest, MarkStressPassesValueStoresThroughTheBarrier) {
  FillValues(MarkStress(), /*skip_barrier=*/false, 20000);
}

// ...where plain GC stress, whose collections stop the world, cannot see
// the missing barrier at all.
TEST(ValueStressTest, GcStressDoesNotSeeTheMissingBarrier) {
  Options o = PreciseDrainsOptions();
  o.gc_stress = 500;
  FillValues(o, /*skip_barrier=*/true, 5000);
}

TEST(ValueEncodingTest, Decodes) {
  const uint64_t p = 0x7f12345678f0;  // an 8-byte aligned address
  EXPECT_EQ(kNan.Decode(kNanTag | p), p);
  EXPECT_EQ(kNan.Decode(0x400921fb54442d18), 0u);  // the double 3.14159...
  EXPECT_EQ(kNan.Decode(0x7ffc000000000001), 0u);  // nil in clox
  EXPECT_EQ(kLowTags.Decode(p | 1), p);
  EXPECT_EQ(kLowTags.Decode(uint64_t{42} << 3 | 3), 0u);
  EXPECT_TRUE(ValueEncoding::Pointers().plain());
  EXPECT_EQ(ValueEncoding::Pointers().Decode(p), p);
  constexpr ValueEncoding custom =
      ValueEncoding::Custom([](uint64_t v) -> uintptr_t { return v >> 1; });
  EXPECT_FALSE(custom.plain());
  EXPECT_EQ(custom.Decode(p << 1), p);
}

INSTANTIATE_TEST_SUITE_P(Encodings, ValuesTest, ::testing::ValuesIn(kEncodings),
                         [](const ::testing::TestParamInfo<Encoding>& i) {
                           return std::string(i.param.name);
                         });

}  // namespace
}  // namespace gcheap::testing
