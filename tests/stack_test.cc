// Conservative and precise stack scanning.
#include <vector>

#include "gcheap/gcheap.h"
#include "gtest/gtest.h"
#include "tests/test_types.h"

namespace gcheap::testing {
namespace {

Options With(StackScanning mode) {
  Options o;
  o.max_procs = 2;
  o.stack_scanning = mode;
  o.background_scavenger = false;
  return o;
}

// Allocates in a frame of its own so no stale copy stays in the caller's.
__attribute__((noinline)) void MakeGarbage(Mutator& m, int n) {
  for (int i = 0; i < n; i++) m.New<Pair>(kPairType)->value = i;
}

__attribute__((noinline)) Pair* MakePair(Mutator& m, uint64_t v) {
  Pair* p = m.New<Pair>(kPairType);
  p->value = v;
  return p;
}

TEST(StackTest, ConservativeStackKeepsObjectsAlive) {
  Heap heap(With(StackScanning::kConservative));
  Mutator& m = heap.AttachCurrentThread();
  Pair* volatile local = MakePair(m, 77);
  MakeGarbage(m, 50000);
  heap.Collect();
  MakeGarbage(m, 50000);  // would reuse the slot if it had been freed
  EXPECT_EQ(heap.ObjectStart(local), local);
  EXPECT_EQ(local->value, 77u);
  heap.DetachCurrentThread();
}

TEST(StackTest, InteriorPointerOnTheStackKeepsTheWholeObject) {
  Heap heap(With(StackScanning::kConservative));
  Mutator& m = heap.AttachCurrentThread();
  Big* big = m.New<Big>(kBigType);  // header object
  big->tail[39] = 0xfeed;
  // Only a pointer into the middle of the object survives on the stack.
  uint64_t* volatile inner = &big->tail[39];
  big = nullptr;
  MakeGarbage(m, 20000);
  heap.Collect();
  MakeGarbage(m, 20000);
  EXPECT_EQ(*inner, 0xfeedu);
  EXPECT_NE(heap.ObjectStart(inner), nullptr);
  heap.DetachCurrentThread();
}

// Returns the number of pairs still allocated after dropping a list that
// only the stack held, in the given mode.
uint64_t SurvivorsAfterDrop(StackScanning mode) {
  Heap heap(With(mode));
  Mutator& m = heap.AttachCurrentThread();
  heap.Collect();
  uint64_t base = heap.ReadMemStats().heap_objects;
  // The list's head stays in a stack slot that is never cleared.
  Pair* volatile head = nullptr;
  for (int i = 0; i < 1000; i++) {
    Pair* p = m.New<Pair>(kPairType);
    p->cdr = head;
    head = p;
  }
  heap.Collect();
  uint64_t left = heap.ReadMemStats().heap_objects - base;
  heap.DetachCurrentThread();
  return left;
}

TEST(StackTest, PreciseModeFreesWhatConservativeModeKeeps) {
  EXPECT_EQ(SurvivorsAfterDrop(StackScanning::kConservative), 1000u);
  EXPECT_EQ(SurvivorsAfterDrop(StackScanning::kPrecise), 0u);
}

TEST(StackTest, PreciseModeKeepsLocals) {
  Heap heap(With(StackScanning::kPrecise));
  Mutator& m = heap.AttachCurrentThread();
  {
    HandleScope outer(m);
    Local<Pair> a(m, MakePair(m, 1));
    {
      HandleScope inner(m);
      Local<Pair> b(m, MakePair(m, 2));
      heap.Collect();
      EXPECT_EQ(b->value, 2u);
    }
    MakeGarbage(m, 20000);
    heap.Collect();
    MakeGarbage(m, 20000);
    EXPECT_EQ(a->value, 1u);
  }
  heap.DetachCurrentThread();
}

TEST(StackTest, CalleeSavedRegistersAreRoots) {
  // Keep many live pointers in locals so some land in callee-saved
  // registers across the collection call.
  Heap heap(With(StackScanning::kConservative));
  Mutator& m = heap.AttachCurrentThread();
  Pair* p[12];
  for (int i = 0; i < 12; i++) p[i] = MakePair(m, 100 + i);
  heap.Collect();
  MakeGarbage(m, 30000);
  for (int i = 0; i < 12; i++) EXPECT_EQ(p[i]->value, 100u + i);
  heap.DetachCurrentThread();
}

}  // namespace
}  // namespace gcheap::testing
