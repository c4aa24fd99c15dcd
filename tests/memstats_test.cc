// MemStats invariants and gctrace output.
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cctype>
#include <string>
#include <thread>
#include <vector>

#include "gcheap/gcheap.h"
#include "gtest/gtest.h"
#include "tests/test_types.h"

namespace gcheap::testing {
namespace {

void CheckInvariants(const MemStats& s) {
  EXPECT_EQ(s.heap_objects, s.mallocs - s.frees);
  EXPECT_EQ(s.alloc, s.heap_alloc);
  EXPECT_LE(s.heap_alloc, s.heap_inuse);
  EXPECT_LE(s.heap_inuse, s.heap_sys);
  EXPECT_EQ(s.heap_idle, s.heap_sys - s.heap_inuse);
  EXPECT_LE(s.heap_released, s.heap_idle);
  EXPECT_EQ(s.sys, s.heap_sys + s.stack_sys + s.mspan_sys + s.mcache_sys +
                       s.buck_hash_sys + s.gc_sys + s.other_sys);
  EXPECT_LE(s.mspan_inuse, s.mspan_sys);
  EXPECT_LE(s.mcache_inuse, s.mcache_sys);
  EXPECT_GE(s.total_alloc, s.heap_alloc);
  uint64_t by_mallocs = 0, by_frees = 0;
  for (const auto& c : s.by_size) {
    by_mallocs += c.mallocs;
    by_frees += c.frees;
    EXPECT_LE(c.frees, c.mallocs);
  }
  EXPECT_LE(by_mallocs, s.mallocs);
  EXPECT_LE(by_frees, s.frees);
  EXPECT_EQ(s.lookups, 0u);
  EXPECT_TRUE(s.enable_gc);
}

TEST(MemStatsTest, InvariantsHoldThroughAllocationAndCollection) {
  Options o;
  o.max_procs = 2;
  o.stack_scanning = StackScanning::kPrecise;
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  MemStats s0 = heap.ReadMemStats();
  CheckInvariants(s0);
  for (int i = 0; i < 50000; i++) m.New<Pair>(kPairType);  // 24 B -> 24
  for (int i = 0; i < 100; i++) m.AllocateNoscan(5);       // tiny
  for (int i = 0; i < 10; i++) m.AllocateNoscan(100000);   // large
  MemStats s1 = heap.ReadMemStats();
  CheckInvariants(s1);
  EXPECT_EQ(s1.mallocs - s0.mallocs, 50000u + 100 + 10);
  EXPECT_EQ(s1.by_size[3].size, 24u);
  EXPECT_EQ(s1.by_size[3].mallocs - s0.by_size[3].mallocs, 50000u);
  EXPECT_GE(s1.heap_alloc - s0.heap_alloc, 50000u * 24 + 10 * 100000);
  heap.Collect();
  MemStats s2 = heap.ReadMemStats();
  CheckInvariants(s2);
  EXPECT_EQ(s2.num_gc, s1.num_gc + 1);
  EXPECT_EQ(s2.num_forced_gc, s1.num_forced_gc + 1);
  EXPECT_EQ(s2.heap_objects, s0.heap_objects);  // everything died
  // Tiny sub-allocations count as mallocs and frees at once (as in Go),
  // so the frees since s0 equal the mallocs since s0.
  EXPECT_EQ(s2.frees - s0.frees, s2.mallocs - s0.mallocs);
  // The latest pause sits at (num_gc + 255) % 256.
  uint32_t latest = (s2.num_gc + 255) % 256;
  EXPECT_GT(s2.pause_ns[latest], 0u);
  EXPECT_EQ(s2.pause_end[latest], s2.last_gc);
  EXPECT_GE(s2.pause_total_ns, s2.pause_ns[latest]);
  EXPECT_GE(s2.next_gc, 4u << 20);
  EXPECT_GT(s2.gc_cpu_fraction, 0.0);
  EXPECT_LT(s2.gc_cpu_fraction, 1.0);
  heap.FreeOSMemory();
  MemStats s3 = heap.ReadMemStats();
  CheckInvariants(s3);
  EXPECT_EQ(s3.heap_released, s3.heap_idle);
  heap.DetachCurrentThread();
}

TEST(MemStatsTest, NextGcFollowsSetGcPercent) {
  Heap heap;
  EXPECT_EQ(heap.ReadMemStats().next_gc, 4u << 20);
  heap.SetGCPercent(300);
  EXPECT_EQ(heap.ReadMemStats().next_gc, 12u << 20);
  heap.SetGCPercent(-1);
  EXPECT_EQ(heap.ReadMemStats().next_gc, 0u);  // no goal: collection is off
}

TEST(MemStatsTest, NextGcFollowsSetMemoryLimit) {
  Heap heap;
  EXPECT_EQ(heap.SetMemoryLimit(2u << 20), 0u);  // under the 4 MiB floor
  EXPECT_LT(heap.ReadMemStats().next_gc, 2u << 20);
  EXPECT_EQ(heap.SetMemoryLimit(0), 2u << 20);
  EXPECT_EQ(heap.ReadMemStats().next_gc, 4u << 20);
  EXPECT_EQ(heap.options().soft_memory_limit, 0u);  // as made
}

TEST(MemStatsTest, ReadableFromInsideABlockingScope) {
  Options o;
  o.max_procs = 1;
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  m.New<Pair>(kPairType);
  {
    BlockingScope b(m);
    MemStats s = heap.ReadMemStats();  // holds no P, takes none
    EXPECT_GE(s.mallocs, 1u);
  }
  m.New<Pair>(kPairType);  // the P came back exactly once
  heap.Collect();
  heap.DetachCurrentThread();
}

TEST(GcTraceTest, OptionPrintsOneGoFormatLinePerCycle) {
  char* buf = nullptr;
  size_t len = 0;
  FILE* out = open_memstream(&buf, &len);
  {
    Options o;
    o.max_procs = 2;
    o.gctrace = true;
    o.trace_output = out;
    Heap heap(o);
    Mutator& m = heap.AttachCurrentThread();
    for (int i = 0; i < 3; i++) {
      for (int j = 0; j < 1000; j++) m.New<Pair>(kPairType);
      heap.Collect();
    }
    heap.DetachCurrentThread();
  }
  fclose(out);
  std::string text(buf, len);
  free(buf);
  // Parse each line with the fields of Go's format.
  int n = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    ASSERT_NE(nl, std::string::npos) << "unterminated line";
    std::string l = text.substr(pos, nl - pos);
    pos = nl + 1;
    unsigned num, secs, msecs, pct, h0, h1, h2, goal, stacks, globals, procs;
    float a, b, c, d, e, f, g, h;
    char forced[16] = {};
    int got = sscanf(l.c_str(),
                     "gc %u @%u.%3us %u%%: %f+%f+%f ms clock, %f+%f/%f/%f+%f "
                     "ms cpu, %u->%u->%u MB, %u MB goal, %u MB stacks, %u MB "
                     "globals, %u P %15s",
                     &num, &secs, &msecs, &pct, &a, &b, &c, &d, &e, &f, &g, &h,
                     &h0, &h1, &h2, &goal, &stacks, &globals, &procs, forced);
    EXPECT_EQ(got, 20) << l;
    EXPECT_EQ(num, static_cast<unsigned>(++n));
    EXPECT_EQ(procs, 2u);
    EXPECT_STREQ(forced, "(forced)");
    EXPECT_GE(h1, h2);
  }
  EXPECT_EQ(n, 3) << text;
}

// The pacer's line: one per cycle, its numbers those the heap reports.
TEST(GcTraceTest, PacerTracePrintsTheGoalItSets) {
  char* buf = nullptr;
  size_t len = 0;
  FILE* out = open_memstream(&buf, &len);
  uint64_t next_gc = 0;
  {
    Options o;
    o.max_procs = 2;
    o.gcpacertrace = true;
    o.trace_output = out;
    Heap heap(o);
    Mutator& m = heap.AttachCurrentThread();
    Persistent<Pair> keep(heap, nullptr);
    for (int i = 0; i < 3; i++) {
      for (int j = 0; j < 20000; j++) {
        Pair* p = m.New<Pair>(kPairType);
        if (j % 2 == 0) {
          p->cdr = keep.Get();
          keep = Persistent<Pair>(heap, p);
        }
      }
      heap.Collect();
    }
    next_gc = heap.ReadMemStats().next_gc;
    keep.Reset();
    heap.DetachCurrentThread();
  }
  fclose(out);
  std::string text(buf, len);
  free(buf);
  int n = 0;
  size_t pos = 0;
  float last_goal = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    ASSERT_NE(nl, std::string::npos);
    std::string l = text.substr(pos, nl - pos);
    pos = nl + 1;
    unsigned num, gogc;
    float marked, scanned, black, over, roots, h0, h1, goal, ratio, cm, a, b, c,
        ng, nt, from, runway;
    unsigned way;
    int got = sscanf(
        l.c_str(),
        "pacer: gc %u: GOGC=%u limit=off: marked %f MB (scanned %f, black %f, "
        "over goal %f) + roots %f MB; heap %f->%f MB, goal %f MB (H1/G %f); "
        "cons/mark %f; mark CPU: assists %f%%, background %f%%, idle %f%%; "
        "next: goal %f MB, trigger %f MB (%u%% of the way from %f), runway "
        "%f MB",
        &num, &gogc, &marked, &scanned, &black, &over, &roots, &h0, &h1, &goal,
        &ratio, &cm, &a, &b, &c, &ng, &nt, &way, &from, &runway);
    EXPECT_EQ(got, 20) << l;
    EXPECT_EQ(num, static_cast<unsigned>(++n));
    EXPECT_EQ(gogc, 100u);
    EXPECT_GE(ng, nt) << l;
    EXPECT_GE(nt, from) << l;
    EXPECT_LE(way, 95u) << l;
    last_goal = ng;
  }
  EXPECT_EQ(n, 3) << text;
  EXPECT_NEAR(last_goal, static_cast<double>(next_gc) / (1 << 20), 0.06);
}

// A JSON value starting at s[*i] (RFC 8259, enough to validate a trace);
// false on a syntax error.
bool JsonValue(const std::string& s, size_t* i);
void JsonSpace(const std::string& s, size_t* i) {
  while (*i < s.size() && isspace(static_cast<unsigned char>(s[*i]))) ++*i;
}
bool JsonString(const std::string& s, size_t* i) {
  if (s[*i] != '"') return false;
  for (++*i; *i < s.size(); ++*i) {
    if (s[*i] == '\\') {
      ++*i;
    } else if (s[*i] == '"') {
      ++*i;
      return true;
    } else if (static_cast<unsigned char>(s[*i]) < 0x20) {
      return false;
    }
  }
  return false;
}
bool JsonValue(const std::string& s, size_t* i) {
  JsonSpace(s, i);
  if (*i >= s.size()) return false;
  const char c = s[*i];
  if (c == '"') return JsonString(s, i);
  if (c == '{' || c == '[') {
    const char close = c == '{' ? '}' : ']';
    ++*i;
    JsonSpace(s, i);
    if (s[*i] == close) {
      ++*i;
      return true;
    }
    while (true) {
      if (c == '{') {
        JsonSpace(s, i);
        if (!JsonString(s, i)) return false;
        JsonSpace(s, i);
        if (s[(*i)++] != ':') return false;
      }
      if (!JsonValue(s, i)) return false;
      JsonSpace(s, i);
      if (s[*i] == ',') {
        ++*i;
        continue;
      }
      if (s[*i] != close) return false;
      ++*i;
      return true;
    }
  }
  size_t start = *i;
  while (*i < s.size() && (isalnum(static_cast<unsigned char>(s[*i])) ||
                           s[*i] == '-' || s[*i] == '.' || s[*i] == '+')) {
    ++*i;
  }
  return *i > start;
}
bool ValidJson(const std::string& s) {
  size_t i = 0;
  if (!JsonValue(s, &i)) return false;
  JsonSpace(s, &i);
  return i == s.size();
}

TEST(EventTraceTest, ValidJsonWithTheCycleWorkersAndNamedThreads) {
  char* buf = nullptr;
  size_t len = 0;
  FILE* out = open_memstream(&buf, &len);
  {
    Options o;
    o.max_procs = 2;
    o.event_trace_output = out;
    Heap heap(o);
    std::vector<std::thread> threads;
    for (int t = 0; t < 2; t++) {
      threads.emplace_back([&heap, t] {
        char name[16];
        snprintf(name, sizeof name, "interp \"%d\"", t);  // to be escaped
        pthread_setname_np(pthread_self(), name);
        Mutator& m = heap.AttachCurrentThread();
        Persistent<Pair> keep(heap, nullptr);
        for (int i = 0; i < 200000; i++) {
          Pair* p = m.New<Pair>(kPairType);
          if (i % 4 == 0) {
            p->cdr = keep.Get();
            keep = Persistent<Pair>(heap, i % 40000 == 0 ? nullptr : p);
          }
        }
        heap.Collect();
        keep.Reset();
        heap.DetachCurrentThread();
      });
    }
    for (auto& th : threads) th.join();
  }
  fclose(out);
  std::string text(buf, len);
  free(buf);
  EXPECT_TRUE(ValidJson(text)) << text.substr(0, 2000);
  auto has = [&](const std::string& s) {
    return text.find(s) != std::string::npos;
  };
  EXPECT_TRUE(has("\"name\":\"GC 1\",\"cat\":\"gc\",\"ph\":\"X\""));
  EXPECT_TRUE(has("\"name\":\"STW sweep termination\""));
  EXPECT_TRUE(has("\"name\":\"mark (concurrent)\""));
  EXPECT_TRUE(has("\"name\":\"STW mark termination\""));
  EXPECT_TRUE(has("\"reason\":\"forced\""));
  EXPECT_TRUE(has("\"name\":\"mark (fractional)\"") ||
              has("\"name\":\"mark (dedicated)\""));
  EXPECT_TRUE(has("\"name\":\"heap\",\"ph\":\"C\""));
  EXPECT_TRUE(has("\"name\":\"GC CPU\",\"ph\":\"C\""));
  EXPECT_TRUE(has("\"args\":{\"name\":\"interp \\\"0\\\"\"}"));
  EXPECT_TRUE(has("\"args\":{\"name\":\"gcheap mark worker 1\"}"));
}

TEST(EventTraceTest, EnvironmentWritesAFile) {
  char path[] = "/tmp/gcheap_events_XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  std::string env = std::string("gcevents=") + path;
  setenv("GCHEAP_DEBUG", env.c_str(), 1);
  {
    Heap heap;
    unsetenv("GCHEAP_DEBUG");
    EXPECT_NE(heap.options().event_trace_output, nullptr);
    Mutator& m = heap.AttachCurrentThread();
    for (int i = 0; i < 1000; i++) m.New<Pair>(kPairType);
    heap.Collect();
    heap.DetachCurrentThread();
  }
  FILE* f = fopen(path, "r");
  ASSERT_NE(f, nullptr);
  std::string text;
  char chunk[4096];
  for (size_t n; (n = fread(chunk, 1, sizeof chunk, f)) > 0;) {
    text.append(chunk, n);
  }
  fclose(f);
  unlink(path);
  EXPECT_TRUE(ValidJson(text)) << text;
  EXPECT_NE(text.find("\"name\":\"GC 1\""), std::string::npos) << text;
  Heap quiet;
  EXPECT_EQ(quiet.options().event_trace_output, nullptr);
}

// The allocation-path counters: off, nothing; on, each class's counts add
// up, and a run of 24-byte objects shows the refills a span's worth apart.
TEST(AllocPathTest, CountsAddUp) {
  {
    Heap off;
    EXPECT_FALSE(off.ReadAllocPathStats().enabled);
  }
  Options o;
  o.max_procs = 1;
  o.alloc_path_counters = true;
  o.gc_percent = -1;
  Heap heap(o);
  Mutator& m = heap.AttachCurrentThread();
  for (int i = 0; i < 34100; i++) m.AllocateNoscan(24);
  const AllocPathStats s = heap.ReadAllocPathStats();
  ASSERT_TRUE(s.enabled);
  const AllocPathStats::SizeClass& c = s.by_size[3];
  EXPECT_EQ(c.size, 24u);
  EXPECT_EQ(c.mallocs, 34100u);
  EXPECT_EQ(c.fast + c.slow, c.mallocs);
  EXPECT_EQ(c.refills, 100u);  // 341 slots per 8 KiB span
  EXPECT_EQ(c.grows, 100u);    // a fresh heap: every span is new
  EXPECT_EQ(c.central_sweeps, 0u);
  EXPECT_GE(c.slow, c.refills);
  EXPECT_LE(c.os_commits, c.grows);
  EXPECT_GE(c.os_commits, 1u);  // the first span needed memory
  EXPECT_GT(c.fast, 30000u);
  heap.DetachCurrentThread();
}

TEST(GcTraceTest, EnvironmentTurnsItOn) {
  setenv("GCHEAP_DEBUG", "gctrace=1", 1);
  Heap heap;
  unsetenv("GCHEAP_DEBUG");
  EXPECT_TRUE(heap.options().gctrace);
  Heap quiet;
  EXPECT_FALSE(quiet.options().gctrace);
  EXPECT_TRUE(quiet.options().concurrent_mark);
  setenv("GCHEAP_DEBUG", "gccheckmark=1,gcstoptheworld=1,gcpacertrace=1", 1);
  Heap debug;
  unsetenv("GCHEAP_DEBUG");
  EXPECT_TRUE(debug.options().checkmark);
  EXPECT_TRUE(debug.options().gcpacertrace);
  EXPECT_FALSE(quiet.options().gcpacertrace);
  EXPECT_FALSE(debug.options().concurrent_mark);
}

}  // namespace
}  // namespace gcheap::testing
