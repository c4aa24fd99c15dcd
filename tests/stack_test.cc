// Conservative and precise stack scanning.
#include <atomic>
#include <cstdint>
#include <thread>
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

// Counts the scans of the calling thread's stack (the one whose frame
// `here` is): how many left the runtime's frames out (started above the
// saved stack pointer) and how many left out the program's frame at `here`.
struct OwnStackScans {
  OwnStackScans(Heap& heap, const void* here_frame)
      : heap_(heap), here(reinterpret_cast<uintptr_t>(here_frame)) {
    testing_hooks::SetStackScanHook(
        heap_, [this](uintptr_t start, uintptr_t base, uintptr_t saved_sp) {
          if (here >= base || here < saved_sp) return;  // another thread
          scans++;
          if (start > saved_sp) left_out++;
          if (start > here) missed_program++;
        });
  }
  void Stop() { testing_hooks::SetStackScanHook(heap_, nullptr); }
  Heap& heap_;
  const uintptr_t here;
  std::atomic<int> scans{0}, left_out{0}, missed_program{0};
};

#if defined(__x86_64__)
// Heap::Collect, ReadMemStats and heap walks give the calling thread's P up
// and go on running runtime code on it (the collection itself, a stop of
// the world). Each operation here runs with the only pointers to its
// objects in the callee-saved registers rbx and r12-r15, as optimized code
// keeps them, and nowhere on the stack; the collections meanwhile (its own
// or, for the others, forced ones) must keep them. They were freed while
// the stack scan began where the P was given up, deep in the runtime: the
// runtime's prologues had saved the registers there, and its next calls
// overwrote them.
template <class Op>
__attribute__((noinline)) bool HoldOnlyInRegistersAcross(Mutator& m, Op op) {
  register Pair* rbx asm("rbx") = MakePair(m, 1);
  register Pair* r12 asm("r12") = MakePair(m, 2);
  register Pair* r13 asm("r13") = MakePair(m, 3);
  register Pair* r14 asm("r14") = MakePair(m, 4);
  register Pair* r15 asm("r15") = MakePair(m, 5);
  asm volatile("" : "+r"(rbx), "+r"(r12), "+r"(r13), "+r"(r14), "+r"(r15));
  op();
  asm volatile("" : "+r"(rbx), "+r"(r12), "+r"(r13), "+r"(r14), "+r"(r15));
  // Freed slots would be handed out again, and overwritten, by now.
  for (int i = 0; i < 4; i++) MakeGarbage(m, 20000);
  asm volatile("" : "+r"(rbx), "+r"(r12), "+r"(r13), "+r"(r14), "+r"(r15));
  return rbx->value == 1 && r12->value == 2 && r13->value == 3 &&
         r14->value == 4 && r15->value == 5;
}

// The mechanism behind the two tests below, which a lucky register
// allocation can pass without it: while the calling thread collects, the
// scan of its stack starts above the runtime's frames (whose slots the
// runtime reuses), below the program's.
TEST(StackTest, StackScanLeavesOutTheRuntimeWhileTheCallingThreadCollects) {
  Heap heap(With(StackScanning::kConservative));
  Mutator& m = heap.AttachCurrentThread();
  OwnStackScans own(heap, __builtin_frame_address(0));
  for (int i = 0; i < 5; i++) heap.Collect();
  MakeGarbage(m, 10);
  own.Stop();
  EXPECT_EQ(own.scans, 5);
  EXPECT_EQ(own.left_out, own.scans);
  EXPECT_EQ(own.missed_program, 0);
  heap.DetachCurrentThread();
}

TEST(StackTest, RegistersAreRootsWhileTheCallingThreadCollects) {
  Options o = With(StackScanning::kConservative);
  o.gc_percent = -1;  // only the collections asked for
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  for (int i = 0; i < 20; i++) {
    EXPECT_TRUE(HoldOnlyInRegistersAcross(m, [&] { heap.Collect(); }))
        << "round " << i;
  }
  heap.DetachCurrentThread();
}

TEST(StackTest, RegistersAreRootsWhileAnotherThreadCollects) {
  // Collections run by another thread while this one reads the heap's
  // statistics or walks the heap, its P given up.
  Options o = With(StackScanning::kConservative);
  o.gc_percent = -1;
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  std::atomic<bool> done{false};
  std::thread collector([&] {
    Mutator& cm = heap.AttachCurrentThread();
    while (!done.load()) {
      heap.Collect();
      MakeGarbage(cm, 100);
    }
    heap.DetachCurrentThread();
  });
  for (int i = 0; i < 200; i++) {
    EXPECT_TRUE(HoldOnlyInRegistersAcross(m,
                                          [&] {
                                            for (int k = 0; k < 20; k++)
                                              heap.ReadMemStats();
                                          }))
        << "round " << i;
  }
  done = true;
  {
    BlockingScope blocked(m);
    collector.join();
  }
  heap.DetachCurrentThread();
}
#endif

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
  OwnStackScans own(heap, __builtin_frame_address(0));
  MakeGarbage(m, 2000);  // slow paths, each collecting from inside
  own.Stop();
  EXPECT_GT(own.scans, 10);
  EXPECT_EQ(own.left_out, own.scans);  // always inside the slow path here
  EXPECT_EQ(own.missed_program, 0);
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

// Stale pointers from deeper calls. A call chain that held a pointer in
// every frame returns; later frames at the same depth leave slots
// unwritten. Those slots must not keep the dropped data alive once the
// program has allocated at a shallower depth (the slow path clears the
// stack the deeper calls left, as Boehm's GC_clear_stack does).
constexpr int kStaleDepth = 40;
constexpr int kPadWords = 32;

// Each frame fills its slots with p, allocates at the bottom (a large
// object: always the slow path, which notes how deep the stack went).
__attribute__((noinline)) void HoldInEveryFrame(Mutator& m, int depth,
                                                Pair* p) {
  Pair* volatile slots[kPadWords];
  for (auto& s : slots) s = p;
  if (depth > 0) {
    HoldInEveryFrame(m, depth - 1, p);
  } else {
    m.AllocateNoscan(64 << 10);
  }
  asm volatile("" : : "r"(slots) : "memory");
}

// Builds a list and leaves pointers to it in kStaleDepth frames, below
// `pad` frames that hold none: the stale slots lie deeper than the frames
// of the shallow allocation's own slow path, which no clearing can reach
// while they run.
__attribute__((noinline)) void PlantStalePointers(Mutator& m, int pad) {
  if (pad > 0) {
    uintptr_t zeros[kPadWords] = {};
    asm volatile("" : : "r"(zeros) : "memory");
    PlantStalePointers(m, pad - 1);
    asm volatile("" : : "r"(zeros) : "memory");
    return;
  }
  Pair* head = nullptr;
  for (int i = 0; i < 1000; i++) {
    Pair* p = m.New<Pair>(kPairType);
    p->cdr = head;
    head = p;
  }
  HoldInEveryFrame(m, kStaleDepth, head);
}

// Frames as large, whose slots are never written: the scan at the bottom
// reads whatever the stack held before.
__attribute__((noinline)) void CollectUnderUnwrittenFrames(Heap& heap,
                                                           int depth) {
  uintptr_t slots[kPadWords];
  asm volatile("" : : "r"(slots) : "memory");  // exists, never written
  if (depth > 0) {
    CollectUnderUnwrittenFrames(heap, depth - 1);
  } else {
    heap.Collect();
  }
  asm volatile("" : : "r"(slots) : "memory");
}

TEST(StackTest, AllocatingShallowerClearsStalePointersFromDeeperCalls) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer gives locals frames of its own";
#else
  Heap heap(With(StackScanning::kConservative));
  Mutator& m = heap.AttachCurrentThread();
  heap.Collect();
  const uint64_t base = heap.ReadMemStats().heap_objects;
  PlantStalePointers(m, /*pad=*/16);
  // Back at this depth: an allocation slow path here clears below it.
  m.AllocateNoscan(64 << 10);
  CollectUnderUnwrittenFrames(heap, kStaleDepth);
  // None of the list survives (the large objects are garbage too, but
  // the last may still be in a register).
  EXPECT_LE(heap.ReadMemStats().heap_objects - base, 1u)
      << "a list only stale stack slots pointed at survived";
  heap.DetachCurrentThread();
#endif
}

}  // namespace
}  // namespace gcheap::testing
