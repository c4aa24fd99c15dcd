// Why an object is alive (Heap::FindRetentionPath) through each kind of
// root, and the heap dump (Heap::WriteHeapDump) read back.
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gcheap/gcheap.h"
#include "gtest/gtest.h"
#include "tests/test_types.h"

namespace {

using gcheap::testing::kPairType;
using gcheap::testing::Pair;

// Runs fn on a new thread whose stack is freshly mapped, all zeroes. The
// collector scans stacks conservatively, and a reused stack (the main
// thread's, or one the C library kept from a thread that ended) can still
// hold addresses that an earlier heap's objects had.
void OnFreshStack(const std::function<void()>& fn) {
  constexpr size_t kSize = 1 << 20;
  void* stack = mmap(nullptr, kSize, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(stack, MAP_FAILED);
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstack(&attr, stack, kSize);
  pthread_t t;
  auto run = [](void* arg) -> void* {
    (*static_cast<const std::function<void()>*>(arg))();
    return nullptr;
  };
  ASSERT_EQ(
      pthread_create(&t, &attr, run, const_cast<std::function<void()>*>(&fn)),
      0);
  pthread_join(t, nullptr);
  pthread_attr_destroy(&attr);
  munmap(stack, kSize);
}

// Three pairs in a row: a -> (cdr, offset 8) b -> (car, offset 0) c.
struct Chain {
  Pair* a;
  Pair* b;
  Pair* c;
};
__attribute__((noinline)) Chain MakeChain(gcheap::Mutator& m) {
  Chain ch;
  ch.a = m.New<Pair>(kPairType);
  ch.b = m.New<Pair>(kPairType);
  ch.c = m.New<Pair>(kPairType);
  ch.a->cdr = ch.b;
  ch.b->car = ch.c;
  return ch;
}

void ExpectChain(const gcheap::RetentionPath& p, const Chain& ch) {
  ASSERT_TRUE(p.found) << p.ToString();
  ASSERT_EQ(p.chain.size(), 3u) << p.ToString();
  EXPECT_EQ(p.chain[0].object, ch.a);
  EXPECT_EQ(p.chain[1].object, ch.b);
  EXPECT_EQ(p.chain[2].object, ch.c);
  EXPECT_EQ(p.chain[1].offset, 8) << "b is a's cdr";
  EXPECT_EQ(p.chain[2].offset, 0) << "c is b's car";
  EXPECT_EQ(p.chain[2].type, "Pair");
  EXPECT_EQ(p.chain[2].size, sizeof(Pair));
}

class RetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    gcheap::Options o;
    o.max_procs = 2;
    heap_ = new gcheap::Heap(o);
    m_ = &heap_->AttachCurrentThread();
  }
  void TearDown() override {
    heap_->DetachCurrentThread();
    delete heap_;
  }
  gcheap::Heap* heap_;
  gcheap::Mutator* m_;
};

TEST_F(RetentionTest, ThroughAPersistentHandle) {
  Chain ch = MakeChain(*m_);
  gcheap::Persistent<Pair> root(*heap_, ch.a);
  const gcheap::RetentionPath p = heap_->FindRetentionPath(ch.c);
  ExpectChain(p, ch);
  EXPECT_EQ(p.root_kind, "persistent handle");
  EXPECT_NE(p.root_address, nullptr);
  const std::string text = p.ToString();
  EXPECT_NE(text.find("is reachable from persistent handle"), std::string::npos)
      << text;
  EXPECT_NE(text.find("+8 -> "), std::string::npos) << text;
}

Pair* g_slot;
TEST_F(RetentionTest, ThroughARootSlot) {
  Chain ch = MakeChain(*m_);
  g_slot = ch.a;
  heap_->AddRoot(&g_slot);
  const gcheap::RetentionPath p = heap_->FindRetentionPath(ch.c);
  ExpectChain(p, ch);
  EXPECT_EQ(p.root_kind, "root slot");
  EXPECT_EQ(p.root_address, static_cast<const void*>(&g_slot));
  heap_->RemoveRoot(&g_slot);
  g_slot = nullptr;
}

Pair* g_range[4];
TEST_F(RetentionTest, ThroughARootRange) {
  Chain ch = MakeChain(*m_);
  g_range[2] = ch.a;
  heap_->AddRootRange(g_range, g_range + 4);
  const gcheap::RetentionPath p = heap_->FindRetentionPath(ch.c);
  ExpectChain(p, ch);
  EXPECT_EQ(p.root_kind, "root range");
  EXPECT_EQ(p.root_address, static_cast<const void*>(g_range));
  heap_->RemoveRootRange(g_range, g_range + 4);
  g_range[2] = nullptr;
}

Pair* g_traced;
void VisitTraced(gcheap::Visitor& v, void*) { v.Visit(g_traced); }
TEST_F(RetentionTest, ThroughARootCallback) {
  Chain ch = MakeChain(*m_);
  g_traced = ch.a;
  heap_->AddRootCallback(&VisitTraced, nullptr);
  const gcheap::RetentionPath p = heap_->FindRetentionPath(ch.c);
  ExpectChain(p, ch);
  EXPECT_EQ(p.root_kind, "root callback");
  heap_->RemoveRootCallback(&VisitTraced, nullptr);
  g_traced = nullptr;
}

TEST_F(RetentionTest, ThroughAnotherThreadsStack) {
  Chain ch = MakeChain(*m_);
  std::mutex mu;
  std::condition_variable cv;
  bool holding = false, done = false;
  std::atomic<Pair*> handoff{ch.a};
  std::thread t([&] {
    pthread_setname_np(pthread_self(), "holder");
    gcheap::Mutator& m = heap_->AttachCurrentThread();
    Pair* volatile mine = handoff.exchange(nullptr);  // on this stack only
    {
      gcheap::BlockingScope blocking(m);
      std::unique_lock<std::mutex> l(mu);
      holding = true;
      cv.notify_all();
      cv.wait(l, [&] { return done; });
    }
    EXPECT_NE(mine, nullptr);
    heap_->DetachCurrentThread();
  });
  {
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return holding; });
  }
  ch.a = nullptr;  // this thread's copy goes (the chain's a is t's now)
  const gcheap::RetentionPath p = heap_->FindRetentionPath(ch.c);
  ASSERT_TRUE(p.found) << p.ToString();
  EXPECT_TRUE(p.root_kind == "thread stack" ||
              p.root_kind == "thread registers")
      << p.ToString();
  EXPECT_NE(p.root_detail.find("(holder)"), std::string::npos) << p.ToString();
  {
    std::lock_guard<std::mutex> l(mu);
    done = true;
  }
  cv.notify_all();
  t.join();
}

// Globals, which the collector does not scan (no static data roots): the
// test reads the addresses without keeping the objects.
std::atomic<Pair*> g_fa, g_fb, g_fc;

TEST(RetentionFinalizerTest, ThroughAFinalizersObjectThenTheQueue) {
  gcheap::Options o;
  o.finalizer_mode = gcheap::FinalizerMode::kEmbedderDrains;
  gcheap::Heap heap(o);
  // Another thread makes the chain, gives a a finalizer and goes: no stack
  // but the finalizer's keeps anything.
  std::atomic<Pair*>& a = g_fa;
  std::atomic<Pair*>& b = g_fb;
  std::atomic<Pair*>& c = g_fc;
  std::thread([&] {
    gcheap::Mutator& m = heap.AttachCurrentThread();
    Chain ch = MakeChain(m);
    heap.SetFinalizer(ch.a, [](void*, void*) {});
    a = ch.a;
    b = ch.b;
    c = ch.c;
    heap.DetachCurrentThread();
  }).join();
  // The rest runs on a fresh stack, which keeps nothing it did not write.
  OnFreshStack([&] {
    heap.AttachCurrentThread();
    // a is alive (nothing has collected it); what it reaches is kept by its
    // finalizer record. Asked from a thread that goes away, so no stack
    // keeps the answer's addresses.
    std::string kind, text;
    bool at_a = false, from_b = false;
    std::thread([&] {
      const gcheap::RetentionPath p = heap.FindRetentionPath(c.load());
      kind = p.root_kind;
      text = p.ToString();
      at_a = p.root_address == a.load();
      from_b = p.chain.size() == 2 && p.chain[0].object == b.load();
    }).join();
    EXPECT_EQ(kind, "finalizer or cleanup of object") << text;
    EXPECT_TRUE(at_a) << text;
    EXPECT_TRUE(from_b) << text;
    // A collection finds a unreachable and queues its finalizer when it
    // sweeps a's span (the next cycle's start sweeps what is left): a is
    // then kept by the queue, until the program runs it.
    heap.Collect();
    heap.Collect();
    const gcheap::RetentionPath p = heap.FindRetentionPath(c.load());
    EXPECT_TRUE(p.found) << p.ToString();
    EXPECT_EQ(p.root_kind, "finalizer queue") << p.ToString();
    EXPECT_EQ(p.chain.size(), 3u) << p.ToString();
    EXPECT_EQ(p.chain.empty() ? nullptr : p.chain[0].object, a.load());
    EXPECT_EQ(heap.RunFinalizers(), 1u);
    heap.DetachCurrentThread();
  });
}

// A traced object whose pointers live in a side array outside the heap.
struct Holder {
  Pair** side;
  size_t n;
};
void TraceHolder(void* obj, gcheap::Visitor& v) {
  auto* h = static_cast<Holder*>(obj);
  for (size_t i = 0; i < h->n; i++) v.Visit(h->side[i]);
}
constexpr gcheap::Type kHolderType =
    gcheap::Type::Traced("Holder", sizeof(Holder), &TraceHolder);

TEST_F(RetentionTest, TraceCallbacksLinksHaveNoOffset) {
  Pair* side[3] = {};
  Holder* h = m_->New<Holder>(kHolderType);
  h->side = side;
  h->n = 3;
  gcheap::Persistent<Holder> root(*heap_, h);
  side[1] = m_->New<Pair>(kPairType);
  const gcheap::RetentionPath p = heap_->FindRetentionPath(side[1]);
  ASSERT_TRUE(p.found) << p.ToString();
  ASSERT_EQ(p.chain.size(), 2u) << p.ToString();
  EXPECT_EQ(p.chain[0].type, "Holder");
  EXPECT_EQ(p.chain[1].offset, -1);
  EXPECT_NE(p.ToString().find("(traced) -> "), std::string::npos);
  h->n = 0;
}

std::atomic<Pair*> g_garbage;
TEST_F(RetentionTest, GarbageIsNotReachable) {
  // Each test's heap may take the address range the last one freed, and
  // the main thread's stack may still hold a stale copy of an earlier
  // test's object (conservatively scanned, it would retain whatever now
  // lies there). So the first span of this size goes to the main thread,
  // and the chain comes later in the heap:
  Pair* first = m_->New<Pair>(kPairType);
  ASSERT_NE(first, nullptr);
  // made on a thread that goes away: no stack keeps a stale copy.
  std::thread([&] {
    gcheap::Mutator& m = heap_->AttachCurrentThread();
    g_garbage = MakeChain(m).c;
    heap_->DetachCurrentThread();
  }).join();
  Pair* c = g_garbage.load();
  const gcheap::RetentionPath p = heap_->FindRetentionPath(c);
  EXPECT_FALSE(p.found) << p.ToString();
  ASSERT_EQ(p.chain.size(), 1u);
  EXPECT_EQ(p.chain[0].object, c);
  EXPECT_NE(p.ToString().find("is not reachable from any root"),
            std::string::npos);
}

TEST_F(RetentionTest, ShortestPathWins) {
  // A list of 1000 pairs from one root; a second root holds the 999th's
  // neighbour directly: the path goes through the short way.
  Pair* list = gcheap::testing::MakeList(*m_, 1000, 1);
  gcheap::Persistent<Pair> head(*heap_, list);
  Pair* p998 = list;
  for (int i = 0; i < 998; i++) p998 = p998->cdr.Get();
  gcheap::Persistent<Pair> near(*heap_, p998);
  Pair* last = p998->cdr.Get();
  const gcheap::RetentionPath p = heap_->FindRetentionPath(last);
  ASSERT_TRUE(p.found);
  EXPECT_EQ(p.chain.size(), 2u) << p.ToString();
}

TEST_F(RetentionTest, ThroughAWeakMapEntry) {
  // The value lives as long as its key: the path goes through the key.
  gcheap::WeakMap<Pair, Pair> map(*heap_);
  Chain ch = MakeChain(*m_);
  gcheap::Persistent<Pair> key(*heap_, m_->New<Pair>(kPairType));
  map.Set(*m_, key.Get(), ch.a);
  const gcheap::RetentionPath p = heap_->FindRetentionPath(ch.c);
  ASSERT_TRUE(p.found) << p.ToString();
  ASSERT_EQ(p.chain.size(), 4u) << p.ToString();
  EXPECT_EQ(p.root_kind, "persistent handle");
  EXPECT_EQ(p.chain[0].object, key.Get());
  EXPECT_EQ(p.chain[1].object, ch.a);
  EXPECT_EQ(p.chain[1].offset, -1) << "a WeakMap value, not a field";
  map.Delete(*m_, key.Get());
}

TEST_F(RetentionTest, BadInputIsAClearError) {
  static int not_heap;
  EXPECT_DEATH(heap_->FindRetentionPath(&not_heap),
               "FindRetentionPath.*not a pointer to an allocated object");
  Pair* p = m_->New<Pair>(kPairType);
  EXPECT_DEATH(heap_->FindRetentionPath(reinterpret_cast<char*>(p) + 8),
               "an interior pointer");
  EXPECT_FALSE(heap_->WriteHeapDump("/nonexistent-dir/dump.txt"));
}

TEST(RetentionPreciseTest, ThroughAHandle) {
  gcheap::Options o = gcheap::testing::PreciseDrainsOptions();
  gcheap::Heap heap(o);
  gcheap::Mutator& m = heap.AttachCurrentThread();
  {
    gcheap::HandleScope scope(m);
    Chain ch = MakeChain(m);
    gcheap::Local<Pair> a(m, ch.a);
    // Asked from another thread: the handle is this thread's, not the
    // caller's.
    gcheap::RetentionPath p;
    {
      gcheap::BlockingScope blocking(m);
      std::thread t([&] { p = heap.FindRetentionPath(ch.c); });
      t.join();
    }
    ExpectChain(p, ch);
    EXPECT_EQ(p.root_kind, "thread handles");
  }
  heap.DetachCurrentThread();
}

// Two 24-byte types of different layouts share a span: only recorded types
// tell them apart.
struct Tri {
  gcheap::Ref<Pair> only;
  long x, y;
};
constexpr gcheap::Type kTriType = GCHEAP_TYPE(Tri, only);

std::vector<std::string> TypesOnPath(bool record) {
  gcheap::Options o;
  o.record_types = record;
  gcheap::Heap heap(o);
  gcheap::Mutator& m = heap.AttachCurrentThread();
  std::vector<std::string> types;
  {
    gcheap::Persistent<Tri> root(heap, nullptr);
    for (int i = 0; i < 1000; i++) {  // interleaved: one span, mixed
      Tri* t = m.New<Tri>(kTriType);
      t->only = m.New<Pair>(kPairType);
      t->only->car = m.New<Pair>(kPairType);
      if (i == 500) root.Set(t);
    }
    heap.Collect();  // the layouts survive a cycle
    const gcheap::RetentionPath p =
        heap.FindRetentionPath(root->only->car.Get());
    for (const auto& l : p.chain) types.push_back(l.type);
  }
  heap.DetachCurrentThread();
  return types;
}

TEST(RetentionTypesTest, RecordedTypesNameEveryObject) {
  EXPECT_EQ(TypesOnPath(true),
            (std::vector<std::string>{"Tri", "Pair", "Pair"}));
  // Without them, a span of mixed layouts names only how each is laid out.
  const std::vector<std::string> plain = TypesOnPath(false);
  ASSERT_EQ(plain.size(), 3u);
  EXPECT_EQ(plain[0], "an object with a pointer map (type bits)");
}

TEST(RetentionTypesTest, DebugSettingRecordsTypes) {
  setenv("GCHEAP_DEBUG", "gctypes=1", 1);
  gcheap::Heap heap;
  unsetenv("GCHEAP_DEBUG");
  EXPECT_TRUE(heap.options().record_types);
}

// ---- The heap dump.

struct Dump {
  std::set<std::string> objects;  // addresses
  std::vector<std::vector<std::string>> edges, roots;
  std::map<std::string, std::string> types;
};

Dump ReadDump(const char* path) {
  Dump d;
  FILE* f = fopen(path, "r");
  EXPECT_NE(f, nullptr);
  if (f == nullptr) return d;
  char line[4096];
  bool first = true;
  while (fgets(line, sizeof line, f) != nullptr) {
    std::string s(line);
    if (!s.empty() && s.back() == '\n') s.pop_back();
    if (first) {
      EXPECT_EQ(s, "gcheap heap dump 1");
      first = false;
      continue;
    }
    std::vector<std::string> cols;
    std::stringstream ss(s);
    for (std::string c; std::getline(ss, c, '\t');) cols.push_back(c);
    if (cols[0] == "object") {
      EXPECT_EQ(cols.size(), 4u);
      d.objects.insert(cols[1]);
      d.types[cols[1]] = cols[3];
    } else if (cols[0] == "edge") {
      EXPECT_EQ(cols.size(), 4u);
      d.edges.push_back(cols);
    } else if (cols[0] == "root") {
      EXPECT_EQ(cols.size(), 5u);
      d.roots.push_back(cols);
    } else {
      ADD_FAILURE() << "unknown line: " << s;
    }
  }
  fclose(f);
  return d;
}

std::string Addr(const void* p) {
  char buf[32];
  snprintf(buf, sizeof buf, "%#lx", reinterpret_cast<unsigned long>(p));
  return buf;
}

TEST_F(RetentionTest, HeapDumpHoldsObjectsEdgesAndRoots) {
  Chain ch = MakeChain(*m_);
  gcheap::Persistent<Pair> root(*heap_, ch.a);
  char path[] = "/tmp/gcheap_dump_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  ASSERT_TRUE(heap_->WriteHeapDump(path));
  const Dump d = ReadDump(path);
  unlink(path);
  for (const Pair* p : {ch.a, ch.b, ch.c}) {
    EXPECT_EQ(d.objects.count(Addr(p)), 1u) << Addr(p);
    EXPECT_EQ(d.types.at(Addr(p)), "Pair");
  }
  bool ab = false, bc = false, rooted = false;
  for (const auto& e : d.edges) {
    ab |= e[1] == Addr(ch.a) && e[2] == Addr(ch.b) && e[3] == "8";
    bc |= e[1] == Addr(ch.b) && e[2] == Addr(ch.c) && e[3] == "0";
    EXPECT_EQ(d.objects.count(e[1]), 1u);
    EXPECT_EQ(d.objects.count(e[2]), 1u);
  }
  for (const auto& r : d.roots) {
    rooted |= r[1] == "persistent handle" && r[4] == Addr(ch.a);
  }
  EXPECT_TRUE(ab);
  EXPECT_TRUE(bc);
  EXPECT_TRUE(rooted);
}

}  // namespace
