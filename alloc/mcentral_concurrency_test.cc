// Several threads refilling from the same mcentrals while sweeps run
// concurrently: lazy sweeping in CacheSpan races with a background sweeper.
// Meant for the tsan configuration; it checks payloads in every build.
#include <atomic>
#include <barrier>
#include <mutex>
#include <thread>
#include <vector>

#include "alloc/mcache.h"
#include "alloc/mheap.h"
#include "gtest/gtest.h"

namespace gcheap::internal {
namespace {

TEST(MCentralConcurrencyTest, ThreadsRefillAndSweepConcurrently) {
  constexpr int kThreads = 4, kCycles = 8, kPerCycle = 6000;
  MHeapOptions o;
  o.background_scavenger = true;  // runs alongside, touching the heap lock
  MHeap heap(o);
  std::vector<MCache*> caches;
  for (int t = 0; t < kThreads; t++) caches.push_back(heap.NewMCache());
  // Per thread: its kept objects, each filled with its own address.
  std::vector<std::vector<uint64_t*>> kept(kThreads);
  // The background sweeper sweeps only while allowed; main takes sweep_mu
  // to stop it before marking.
  std::mutex sweep_mu;
  bool allowed = false;  // guarded by sweep_mu
  std::atomic<bool> done{false};
  std::barrier sync(kThreads + 1);

  auto worker = [&](int t) {
    MCache* c = caches[t];
    for (int cycle = 0; cycle < kCycles; cycle++) {
      c->PrepareForSweep();
      std::vector<uint64_t*> mine;
      for (int i = 0; i < kPerCycle; i++) {
        // Few classes, so threads share mcentrals.
        size_t size = (i % 3 == 0) ? 16 : (i % 3 == 1) ? 64 : 512;
        auto* p = static_cast<uint64_t*>(c->Alloc(size, false));
        ASSERT_NE(p, nullptr);
        ASSERT_EQ(p[0], 0u);
        p[0] = reinterpret_cast<uint64_t>(p);
        if (i % 4 == 0) mine.push_back(p);
      }
      for (uint64_t* p : kept[t])
        ASSERT_EQ(p[0], reinterpret_cast<uint64_t>(p));
      kept[t].insert(kept[t].end(), mine.begin(), mine.end());
      c->ReleaseAll();
      sync.arrive_and_wait();  // world "stopped": main marks
      sync.arrive_and_wait();  // sweep cycle started
    }
  };
  std::vector<std::thread> ts;
  for (int t = 0; t < kThreads; t++) ts.emplace_back(worker, t);
  std::thread sweeper([&] {
    while (!done.load()) {
      size_t swept = 0;
      {
        std::lock_guard<std::mutex> l(sweep_mu);
        if (allowed) swept = heap.SweepOne();
      }
      if (swept == 0) std::this_thread::yield();
    }
  });
  for (int cycle = 0; cycle < kCycles; cycle++) {
    sync.arrive_and_wait();
    std::unique_lock<std::mutex> l(sweep_mu);
    allowed = false;
    heap.SweepAll();  // finish the previous cycle's sweep
    for (int t = 0; t < kThreads; t++) {
      // Keep half of each thread's kept objects; drop the rest.
      std::vector<uint64_t*> still;
      for (size_t i = 0; i < kept[t].size(); i++) {
        if (i % 2 == 0 || cycle == kCycles - 1) {
          heap.MarkObject(kept[t][i]);
          still.push_back(kept[t][i]);
        }
      }
      kept[t] = still;
    }
    heap.BeginSweepCycle();
    allowed = true;
    l.unlock();
    sync.arrive_and_wait();
  }
  for (auto& t : ts) t.join();
  done.store(true);
  sweeper.join();
  heap.SweepAll();
  AllocStatsSnapshot st = heap.ReadStats();
  size_t live = 0;
  for (auto& k : kept) {
    live += k.size();
    for (uint64_t* p : k) {
      ASSERT_EQ(heap.FindObject(p), p);
      ASSERT_EQ(p[0], reinterpret_cast<uint64_t>(p));
    }
  }
  EXPECT_EQ(st.heap_objects, live);
  for (MCache* c : caches) heap.FreeMCache(c);
}

}  // namespace
}  // namespace gcheap::internal
