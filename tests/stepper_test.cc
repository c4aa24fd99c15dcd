// CycleStepper (gcheap/stepper.h): a cycle one step at a time, the colours
// and grey queue between steps, the barrier's shades in a concurrent
// cycle, the state export, and misuse.
#include <string>
#include <vector>

#include "gcheap/gcheap.h"
#include "gtest/gtest.h"
#include "tests/test_types.h"

namespace {

using gcheap::CycleStepper;
using gcheap::testing::kPairType;
using gcheap::testing::Pair;
using Color = CycleStepper::Color;
using Phase = CycleStepper::Phase;

Pair* root = nullptr;

// root -> a; a -> b (car), a -> c (cdr), b -> c; d <-> e. With chain:
// root -> a -> b -> c (a's cdr is null).
struct Graph {
  Pair *a, *b, *c, *d, *e;
};
Graph Build(gcheap::Mutator& m, bool chain) {
  Graph g;
  g.a = m.New<Pair>(kPairType);
  g.b = m.New<Pair>(kPairType);
  g.c = m.New<Pair>(kPairType);
  g.d = m.New<Pair>(kPairType);
  g.e = m.New<Pair>(kPairType);
  g.a->car = g.b;
  if (!chain) g.a->cdr = g.c;
  g.b->car = g.c;
  g.d->cdr = g.e;
  g.e->cdr = g.d;
  root = g.a;
  return g;
}

class StepperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The heap's threads are running: death tests re-run the binary.
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    gcheap::Options o;
    o.stack_scanning = gcheap::StackScanning::kPrecise;
    o.checkmark = true;  // every cycle verified, the stepped ones too
    o.max_procs = 2;
    heap_ = new gcheap::Heap(o);
    m_ = &heap_->AttachCurrentThread();
    heap_->AddRoot(&root);
  }
  void TearDown() override {
    root = nullptr;
    heap_->RemoveRoot(&root);
    heap_->DetachCurrentThread();
    delete heap_;
  }
  std::string Colors(CycleStepper& c, const Graph& g) {
    std::string s;
    for (Pair* p : {g.a, g.b, g.c, g.d, g.e}) {
      const Color k = c.ColorOf(p);
      s += k == Color::kWhite   ? 'w'
           : k == Color::kGrey  ? 'g'
           : k == Color::kBlack ? 'b'
                                : 'f';
    }
    return s;
  }
  gcheap::Heap* heap_ = nullptr;
  gcheap::Mutator* m_ = nullptr;
};

TEST_F(StepperTest, StopTheWorldWalkThrough) {
  Graph g = Build(*m_, /*chain=*/false);
  const uint64_t frees0 = heap_->ReadMemStats().frees;
  const uint32_t gc0 = heap_->ReadMemStats().num_gc;
  CycleStepper c(*heap_, CycleStepper::Mode::kStopTheWorld);
  EXPECT_EQ(c.phase(), Phase::kSweepTermination);
  EXPECT_TRUE(c.world_stopped());
  EXPECT_EQ(Colors(c, g), "wwwww");
  ASSERT_EQ(c.Roots().size(), 1u);
  EXPECT_EQ(c.Roots()[0], g.a);

  ASSERT_TRUE(c.FinishPhase());  // to the roots
  EXPECT_EQ(c.phase(), Phase::kRoots);
  ASSERT_TRUE(c.Step());  // grey the root's object
  EXPECT_EQ(Colors(c, g), "gwwww");
  EXPECT_EQ(c.GreyQueue(), std::vector<const void*>{g.a});
  ASSERT_TRUE(c.Step());  // the mark phase begins
  EXPECT_EQ(c.phase(), Phase::kMark);
  EXPECT_TRUE(c.world_stopped());

  ASSERT_TRUE(c.Step());  // scan A: B and C turn grey; C is next (LIFO)
  EXPECT_EQ(Colors(c, g), "bggww");
  EXPECT_EQ(c.GreyQueue(), (std::vector<const void*>{g.c, g.b}));
  c.Name(g.a, "A");
  c.Name(g.b, "B");
  c.Name(g.c, "C");
  EXPECT_EQ(c.Describe(), "scan A: grey B and C");
  ASSERT_TRUE(c.Step());  // scan C
  EXPECT_EQ(Colors(c, g), "bgbww");
  EXPECT_EQ(c.Describe(), "scan C: no white referents");
  ASSERT_TRUE(c.Step());  // scan B: C already black
  EXPECT_EQ(Colors(c, g), "bbbww");
  EXPECT_TRUE(c.GreyQueue().empty());

  ASSERT_TRUE(c.Step());
  EXPECT_EQ(c.phase(), Phase::kMarkTermination);
  ASSERT_TRUE(c.Step());
  EXPECT_EQ(c.phase(), Phase::kSweep);
  EXPECT_FALSE(c.world_stopped());
  EXPECT_EQ(Colors(c, g), "bbbww");  // not swept yet: D and E are garbage
  size_t swept = 0;
  while (c.Step() && c.phase() == Phase::kSweep) swept++;
  EXPECT_GE(swept, 1u);
  EXPECT_TRUE(c.done());
  EXPECT_FALSE(c.Step());
  // Swept: D and E are free; A, B and C white again, for the next cycle.
  EXPECT_EQ(Colors(c, g), "wwwff");
  EXPECT_EQ(heap_->ReadMemStats().frees - frees0, 2u);
  EXPECT_EQ(heap_->ReadMemStats().num_gc, gc0 + 1);
}

// The hybrid barrier's deletion half: an object taken out of a grey one
// while the mark runs, and held where the mark does not look again (the
// stacks were scanned at the start), stays alive. Checkmark (on) fails
// the cycle if it does not.
TEST_F(StepperTest, ConcurrentDeletionBarrierKeepsMovedObject) {
  Graph g = Build(*m_, /*chain=*/true);
  CycleStepper c(*heap_, CycleStepper::Mode::kConcurrent);
  while (c.phase() != Phase::kMark) ASSERT_TRUE(c.Step());
  EXPECT_FALSE(c.world_stopped());
  ASSERT_TRUE(c.Step());  // scan A
  EXPECT_EQ(Colors(c, g), "bgwww");
  Pair* held = g.b->car;
  g.b->car = nullptr;  // the deletion half shades C
  EXPECT_EQ(Colors(c, g), "bggww");
  const std::string state = c.StateJson();
  EXPECT_NE(state.find("\"by\":\"barrier old\""), std::string::npos) << state;
  g.a->cdr = held;  // the insertion half: C is grey already
  // A new object is allocated black.
  Pair* fresh = m_->New<Pair>(kPairType);
  EXPECT_EQ(c.ColorOf(fresh), Color::kBlack);
  g.c->car = fresh;
  c.Finish();  // checkmark: every reachable object was marked
  EXPECT_TRUE(c.done());
  EXPECT_EQ(c.ColorOf(g.c), Color::kWhite);  // alive, swept, white again
  EXPECT_EQ(c.ColorOf(fresh), Color::kWhite);
  EXPECT_EQ(c.ColorOf(g.d), Color::kFree);
  heap_->Collect();  // an ordinary cycle after it
  EXPECT_EQ(root->cdr.Get(), g.c);
}

TEST_F(StepperTest, StateJsonMatchesColors) {
  Graph g = Build(*m_, /*chain=*/false);
  CycleStepper c(*heap_, CycleStepper::Mode::kStopTheWorld);
  c.Name(g.a, "A");
  while (c.phase() != Phase::kMark) ASSERT_TRUE(c.Step());
  ASSERT_TRUE(c.Step());  // scan A
  const std::string s = c.StateJson();
  for (const char* key :
       {"\"phase\":\"mark\"", "\"mode\":\"stop-the-world\"",
        "\"world\":\"stopped\"", "\"spans\":[", "\"ps\":[", "\"mcentral\":[",
        "\"free_runs\":[", "\"roots\":[", "\"A\"", "\"counts\":{"}) {
    EXPECT_NE(s.find(key), std::string::npos) << key << " in " << s;
  }
  // The counts add up what the slots say: 2 grey (B, C), 1 black (A).
  EXPECT_NE(s.find("\"grey\":2,\"black\":1"), std::string::npos) << s;
  c.Finish();
}

TEST_F(StepperTest, RecordingHasEveryStep) {
  Build(*m_, /*chain=*/false);
  const std::string path = ::testing::TempDir() + "/stepper_recording.json";
  size_t steps = 1;
  {
    CycleStepper c(*heap_, CycleStepper::Mode::kConcurrent);
    c.Record("test");
    while (c.Step()) steps++;
    ASSERT_TRUE(c.WriteRecording(path));
    EXPECT_FALSE(c.WriteRecording("/nonexistent-dir/x.json"));
  }
  FILE* f = fopen(path.c_str(), "r");
  ASSERT_NE(f, nullptr);
  std::string text;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  fclose(f);
  EXPECT_EQ(text.rfind("{\"format\":\"gcheap heap state\",\"version\":1,", 0),
            0u);
  size_t count = 0;
  for (size_t at = 0; (at = text.find("{\"step\":", at)) != std::string::npos;
       at++) {
    count++;
  }
  EXPECT_EQ(count, steps);
  EXPECT_NE(text.find("{\"step\":" + std::to_string(steps - 1) + ","),
            std::string::npos);
}

TEST_F(StepperTest, DestructorFinishesTheCycle) {
  Build(*m_, /*chain=*/false);
  const uint32_t gc0 = heap_->ReadMemStats().num_gc;
  {
    CycleStepper c(*heap_, CycleStepper::Mode::kConcurrent);
    c.Step(3);
  }
  EXPECT_EQ(heap_->ReadMemStats().num_gc, gc0 + 1);
  // The program holds its P again and the heap works as before.
  root->cdr = m_->New<Pair>(kPairType);
  heap_->Collect();
  EXPECT_EQ(heap_->ReadMemStats().num_gc, gc0 + 2);
}

TEST_F(StepperTest, CollectDuringSteppedCycleFailsClearly) {
  Build(*m_, /*chain=*/false);
  EXPECT_DEATH(
      {
        CycleStepper c(*heap_, CycleStepper::Mode::kConcurrent);
        while (c.phase() != Phase::kMark) c.Step();
        heap_->Collect();
      },
      "CycleStepper is running a cycle");
  EXPECT_DEATH(
      {
        CycleStepper c(*heap_, CycleStepper::Mode::kConcurrent);
        while (c.phase() != Phase::kMark) c.Step();
        CycleStepper second(*heap_, CycleStepper::Mode::kConcurrent);
      },
      "already has one");
}

TEST_F(StepperTest, StopTheWorldStepsForbidAllocation) {
  Build(*m_, /*chain=*/false);
  EXPECT_DEATH(
      {
        CycleStepper c(*heap_, CycleStepper::Mode::kStopTheWorld);
        m_->New<Pair>(kPairType);
      },
      "BlockingScope");
}

TEST(StepperUnattached, NeedsAnAttachedThread) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  gcheap::Heap heap;
  EXPECT_DEATH(CycleStepper(heap, CycleStepper::Mode::kConcurrent),
               "CycleStepper");
}

}  // namespace
