// Conservative and precise stack scanning.
#include <atomic>
#include <cstdint>
#include <vector>

#include "gcheap/gcheap.h"
#include "gcheap/testing.h"
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

Options StressEverySlowPath() {
  Options o = With(StackScanning::kConservative);
  o.gc_stress = 1;  // every allocation slow path runs a collection
  return o;
}

// The allocation slow path's own frames (large, and full of slots that
// earlier calls left behind) are not scanned; the program's frames are.
TEST(StackTest, StackScanLeavesOutTheAllocationSlowPath) {
  Heap heap(StressEverySlowPath());
  Mutator& m = heap.AttachCurrentThread();
  const auto here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  std::atomic<int> scans{0}, left_out{0}, missed_program{0};
  testing_hooks::SetStackScanHook(
      heap, [&](uintptr_t start, uintptr_t base, uintptr_t saved_sp) {
        if (here >= base || here < saved_sp) return;  // another thread
        scans++;
        if (start > saved_sp) left_out++;
        if (start > here) missed_program++;
      });
  MakeGarbage(m, 2000);  // slow paths, each collecting from inside
  testing_hooks::SetStackScanHook(heap, nullptr);
  EXPECT_GT(scans, 10);
  EXPECT_EQ(left_out, scans);  // always inside the slow path here
  EXPECT_EQ(missed_program, 0);
  heap.DetachCurrentThread();
}

// Holds three objects across allocation slow paths that collect, so the
// compiler keeps them in callee-saved registers (or spills them to this
// frame): both are program state the scan must keep.
__attribute__((noinline)) bool HoldAcrossSlowPaths(Heap& heap, Mutator& m) {
  Pair* a = MakePair(m, 11);
  Pair* b = MakePair(m, 22);
  Pair* c = MakePair(m, 33);
  for (int i = 0; i < 3000; i++) m.New<Pair>(kPairType)->value = i;
  return heap.ObjectStart(a) == a && heap.ObjectStart(b) == b &&
         heap.ObjectStart(c) == c && a->value == 11 && b->value == 22 &&
         c->value == 33;
}

TEST(StackTest, RegistersAreRootsWhileTheSlowPathCollects) {
  Heap heap(StressEverySlowPath());
  Mutator& m = heap.AttachCurrentThread();
  EXPECT_TRUE(HoldAcrossSlowPaths(heap, m));
  heap.DetachCurrentThread();
}

}  // namespace
}  // namespace gcheap::testing
