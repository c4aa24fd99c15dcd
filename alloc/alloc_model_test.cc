// A randomized model test of the allocator and sweeper: allocate, mark a
// random subset, sweep (eagerly, lazily, or with spans still cached),
// repeat; after every step compare the heap with a simple reference model
// of which objects are live.
#include <string.h>

#include <map>
#include <random>
#include <vector>

#include "alloc/mcache.h"
#include "alloc/mheap.h"
#include "gtest/gtest.h"

namespace gcheap::internal {
namespace {

struct ModelObject {
  size_t size;
  size_t slot;  // elemsize of its slot
  uint8_t fill;
};

class AllocModel {
 public:
  explicit AllocModel(uint32_t seed) : rng_(seed) {
    MHeapOptions o;
    o.background_scavenger = false;
    heap_ = std::make_unique<MHeap>(o);
    for (auto& c : caches_) c = heap_->NewMCache();
  }
  ~AllocModel() {
    for (auto* c : caches_) heap_->FreeMCache(c);
  }

  size_t RandomSize() {
    int r = rng_() % 100;
    if (r < 60) return 16 + rng_() % 240;
    if (r < 90) return 256 + rng_() % 4000;
    if (r < 98) return 4096 + rng_() % 28672;
    return 32769 + rng_() % 200000;  // large
  }

  void Allocate(int n) {
    for (int i = 0; i < n; i++) {
      size_t size = RandomSize();
      bool noscan = rng_() % 2;
      MCache* c = caches_[rng_() % 2];
      char* p = static_cast<char*>(c->Alloc(size, noscan));
      ASSERT_NE(p, nullptr);
      for (size_t j = 0; j < size; j += 7) ASSERT_EQ(p[j], 0) << "not zeroed";
      MSpan* s = heap_->SpanOf(reinterpret_cast<uintptr_t>(p));
      ASSERT_NE(s, nullptr);
      ASSERT_EQ(s->spanclass.noscan(), noscan);
      // No overlap with any live object.
      auto next = live_.lower_bound(p);
      if (next != live_.end()) {
        ASSERT_GE(next->first, p + size);
      }
      if (next != live_.begin()) {
        auto prev = std::prev(next);
        ASSERT_LE(prev->first + prev->second.size, p);
      }
      uint8_t fill = static_cast<uint8_t>(1 + rng_() % 255);
      memset(p, fill, size);
      live_[p] = ModelObject{size, s->elemsize, fill};
    }
  }

  // One collection: keep each object with probability keep_pct.
  void Collect(int keep_pct) {
    int mode = rng_() % 3;
    // Sweep termination: the last cycle's sweep must be finished before
    // marking begins, or stale mark bits would remain.
    heap_->SweepAll();
    if (mode != 2) {
      for (auto* c : caches_) c->ReleaseAll();
    }
    std::vector<char*> dead;
    for (auto& [p, o] : live_) {
      if (static_cast<int>(rng_() % 100) < keep_pct) {
        // Mark through a random interior pointer.
        EXPECT_TRUE(heap_->MarkObject(p + rng_() % o.size));
      } else {
        dead.push_back(p);
      }
    }
    heap_->BeginSweepCycle();
    if (mode == 2) {
      // Spans stayed cached across the cycle start: each P flushes them
      // (and sweeps them) when it notices.
      for (auto* c : caches_) c->PrepareForSweep();
    }
    for (char* p : dead) live_.erase(p);
    if (mode == 0) heap_->SweepAll();  // else lazily, while allocating
  }

  void Verify() {
    for (auto& [p, o] : live_) {
      ASSERT_EQ(heap_->FindObject(p), p);
      ASSERT_EQ(heap_->FindObject(p + o.size - 1), p);
      for (size_t j = 0; j < o.size; j += 13) {
        ASSERT_EQ(static_cast<uint8_t>(p[j]), o.fill) << "payload lost";
      }
    }
  }

  // With everything swept and flushed, the counters equal the model.
  void VerifyStats() {
    for (auto* c : caches_) c->ReleaseAll();
    heap_->SweepAll();
    AllocStatsSnapshot st = heap_->ReadStats();
    uint64_t bytes = 0;
    for (auto& [p, o] : live_) bytes += o.slot;
    EXPECT_EQ(st.heap_objects, live_.size());
    EXPECT_EQ(st.heap_alloc, bytes);
    EXPECT_EQ(st.mallocs - st.frees, live_.size());
    EXPECT_LE(st.heap_alloc, st.heap_inuse);
    EXPECT_LE(st.heap_inuse, st.heap_sys);
    EXPECT_EQ(st.heap_idle, st.heap_sys - st.heap_inuse);
    EXPECT_LE(st.heap_released, st.heap_idle);
  }

  MHeap& heap() { return *heap_; }

 private:
  std::mt19937 rng_;
  std::unique_ptr<MHeap> heap_;
  MCache* caches_[2];
  std::map<char*, ModelObject> live_;
};

TEST(AllocModelTest, RandomCyclesKeepExactlyTheMarkedObjects) {
  for (uint32_t seed = 1; seed <= 6; seed++) {
    SCOPED_TRACE(seed);
    AllocModel m(seed);
    for (int cycle = 0; cycle < 12; cycle++) {
      m.Allocate(1500);
      m.Verify();
      m.Collect(cycle % 4 == 3 ? 0 : 50);
      m.Verify();
      if (cycle % 3 == 2) {
        m.VerifyStats();
        if (cycle % 2 == 0) m.heap().ScavengeAll();
      }
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

}  // namespace
}  // namespace gcheap::internal
