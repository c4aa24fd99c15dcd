// Heap profiles (Options::mem_profile_rate, Heap::HeapProfile): what a
// program reads back from the profile it wrote. The profile is decoded
// here from its bytes (gzip member, profile.proto), so these tests check
// the format as well as the sampling; tests/pprof_test.sh checks it with
// go tool pprof.
#include <stdlib.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "gcheap/gcheap.h"
#include "gtest/gtest.h"

namespace {

// ---- A small profile.proto reader.

struct Field {
  int number = 0;
  uint64_t varint = 0;
  std::string bytes;
};

bool ReadVarint(const std::string& s, size_t* at, uint64_t* v) {
  *v = 0;
  for (int shift = 0; *at < s.size() && shift < 64; shift += 7) {
    const auto b = static_cast<unsigned char>(s[(*at)++]);
    *v |= uint64_t{b & 0x7fu} << shift;
    if ((b & 0x80) == 0) return true;
  }
  return false;
}

std::vector<Field> Fields(const std::string& s) {
  std::vector<Field> out;
  size_t at = 0;
  while (at < s.size()) {
    uint64_t tag;
    if (!ReadVarint(s, &at, &tag)) break;
    Field f;
    f.number = static_cast<int>(tag >> 3);
    if ((tag & 7) == 0) {
      ReadVarint(s, &at, &f.varint);
    } else if ((tag & 7) == 2) {
      uint64_t n;
      ReadVarint(s, &at, &n);
      f.bytes = s.substr(at, n);
      at += n;
    } else {
      ADD_FAILURE() << "unexpected wire type " << (tag & 7);
      break;
    }
    out.push_back(f);
  }
  return out;
}

std::vector<uint64_t> Packed(const std::string& s) {
  std::vector<uint64_t> out;
  size_t at = 0;
  uint64_t v;
  while (at < s.size() && ReadVarint(s, &at, &v)) out.push_back(v);
  return out;
}

// The gzip member's data (stored or not: only stored blocks are read).
std::string Gunzip(const std::string& z) {
  EXPECT_GE(z.size(), 18u);
  EXPECT_EQ(static_cast<unsigned char>(z[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(z[1]), 0x8b);
  EXPECT_EQ(z[2], 8);  // deflate
  std::string out;
  size_t at = 10;
  for (bool last = false; !last && at + 5 <= z.size();) {
    const auto head = static_cast<unsigned char>(z[at]);
    last = head & 1;
    EXPECT_EQ(head >> 1, 0) << "not a stored block";
    const size_t n = static_cast<unsigned char>(z[at + 1]) |
                     static_cast<unsigned char>(z[at + 2]) << 8;
    const size_t nn = static_cast<unsigned char>(z[at + 3]) |
                      static_cast<unsigned char>(z[at + 4]) << 8;
    EXPECT_EQ(n ^ 0xffff, nn);
    out += z.substr(at + 5, n);
    at += 5 + n;
  }
  EXPECT_EQ(at + 8, z.size());
  uint32_t isize = 0;
  for (int i = 0; i < 4; i++) {
    isize |= uint32_t{static_cast<unsigned char>(z[at + 4 + i])} << (8 * i);
  }
  EXPECT_EQ(isize, out.size());
  return out;
}

struct Sample {
  std::vector<uint64_t> locations;
  std::vector<int64_t> values;  // alloc_objects, alloc_space, inuse_*
  int64_t bytes_label = 0;
};

struct Profile {
  std::vector<std::string> strings;
  std::vector<std::string> sample_types;
  std::vector<Sample> samples;
  std::map<uint64_t, std::string> function_names;          // by function id
  std::map<uint64_t, std::vector<uint64_t>> location_fns;  // loc -> fn ids
  int64_t period = 0;
  std::string drop_frames;

  // The name of a sample's leaf function, or "".
  std::string Leaf(const Sample& s) const {
    if (s.locations.empty()) return "";
    auto it = location_fns.find(s.locations[0]);
    if (it == location_fns.end() || it->second.empty()) return "";
    auto fn = function_names.find(it->second[0]);
    return fn == function_names.end() ? "" : fn->second;
  }
  // Sum of value i over samples whose leaf function's name contains fn.
  int64_t Sum(size_t i, const std::string& fn) const {
    int64_t total = 0;
    for (const Sample& s : samples) {
      if (Leaf(s).find(fn) != std::string::npos) total += s.values[i];
    }
    return total;
  }
};

Profile Decode(const std::string& gz) {
  Profile p;
  const std::vector<Field> top = Fields(Gunzip(gz));
  for (const Field& f : top) {
    if (f.number == 6) p.strings.push_back(f.bytes);
  }
  auto str = [&](uint64_t i) {
    return i < p.strings.size() ? p.strings[i] : std::string("?");
  };
  for (const Field& f : top) {
    if (f.number == 1) {  // sample_type
      for (const Field& g : Fields(f.bytes)) {
        if (g.number == 1) p.sample_types.push_back(str(g.varint));
      }
    } else if (f.number == 2) {
      Sample s;
      for (const Field& g : Fields(f.bytes)) {
        if (g.number == 1) s.locations = Packed(g.bytes);
        if (g.number == 2) {
          for (uint64_t v : Packed(g.bytes)) {
            s.values.push_back(static_cast<int64_t>(v));
          }
        }
        if (g.number == 3) {
          for (const Field& l : Fields(g.bytes)) {
            if (l.number == 3) s.bytes_label = static_cast<int64_t>(l.varint);
          }
        }
      }
      p.samples.push_back(s);
    } else if (f.number == 4) {  // location
      uint64_t id = 0;
      std::vector<uint64_t> fns;
      for (const Field& g : Fields(f.bytes)) {
        if (g.number == 1) id = g.varint;
        if (g.number == 4) {
          for (const Field& l : Fields(g.bytes)) {
            if (l.number == 1) fns.push_back(l.varint);
          }
        }
      }
      p.location_fns[id] = fns;
    } else if (f.number == 5) {  // function
      uint64_t id = 0;
      std::string name;
      for (const Field& g : Fields(f.bytes)) {
        if (g.number == 1) id = g.varint;
        if (g.number == 2) name = str(g.varint);
      }
      p.function_names[id] = name;
    } else if (f.number == 7) {
      p.drop_frames = str(f.varint);
    } else if (f.number == 12) {
      p.period = static_cast<int64_t>(f.varint);
    }
  }
  return p;
}

// A file's bytes; the file is removed.
std::string ReadAndRemove(const char* path) {
  std::string data;
  FILE* f = fopen(path, "rb");
  EXPECT_NE(f, nullptr) << path;
  if (f == nullptr) return data;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, f)) > 0;) data.append(buf, n);
  fclose(f);
  unlink(path);
  return data;
}

// ---- The program.

struct Cell {
  gcheap::Ref<Cell> next;
  long payload[3];  // 32 bytes in all
};
constexpr gcheap::Type kCellType = GCHEAP_TYPE(Cell, next);

// Allocates n cells; keeps them in a list from *head when head is given.
__attribute__((noinline)) void AllocateCellsHere(
    gcheap::Mutator& m, long n, gcheap::Persistent<Cell>* head) {
  for (long i = 0; i < n; i++) {
    Cell* c = m.New<Cell>(kCellType);
    c->payload[0] = i;
    if (head != nullptr) {
      c->next = head->Get();
      head->Set(c);
    }
  }
}

__attribute__((noinline)) void AllocateBytesHere(gcheap::Mutator& m, long n,
                                                 size_t size) {
  for (long i = 0; i < n; i++) {
    auto* b = static_cast<char*>(m.AllocateNoscan(size));
    b[0] = static_cast<char>(i);
  }
}

class HeapProfileTest : public ::testing::Test {
 protected:
  gcheap::Heap* NewHeap(int64_t rate) {
    gcheap::Options o;
    o.mem_profile_rate = rate;
    heap_ = new gcheap::Heap(o);
    m_ = &heap_->AttachCurrentThread();
    return heap_;
  }
  void TearDown() override {
    if (heap_ == nullptr) return;
    heap_->DetachCurrentThread();
    delete heap_;
  }
  gcheap::Heap* heap_ = nullptr;
  gcheap::Mutator* m_ = nullptr;
};

TEST_F(HeapProfileTest, OffByDefaultTheProfileIsEmpty) {
  NewHeap(0);
  AllocateCellsHere(*m_, 10000, nullptr);
  const Profile p = Decode(heap_->HeapProfile());
  EXPECT_EQ(p.samples.size(), 0u);
  EXPECT_EQ(p.sample_types,
            (std::vector<std::string>{"alloc_objects", "alloc_space",
                                      "inuse_objects", "inuse_space"}));
}

TEST_F(HeapProfileTest, RateOneRecordsEveryAllocationWithItsFunction) {
  NewHeap(1);
  gcheap::Persistent<Cell> keep(*heap_, nullptr);
  AllocateCellsHere(*m_, 3000, &keep);
  AllocateBytesHere(*m_, 1000, 100);  // the 112-byte class
  const Profile p = Decode(heap_->HeapProfile());
  EXPECT_EQ(p.period, 1);
  EXPECT_EQ(p.Sum(0, "AllocateCellsHere"), 3000);
  EXPECT_EQ(p.Sum(1, "AllocateCellsHere"), 3000 * 32);
  EXPECT_EQ(p.Sum(0, "AllocateBytesHere"), 1000);
  EXPECT_EQ(p.Sum(1, "AllocateBytesHere"), 1000 * 112);
  for (const Sample& s : p.samples) {
    const std::string leaf = p.Leaf(s);
    EXPECT_TRUE(leaf.find("AllocateCellsHere") != std::string::npos ||
                leaf.find("AllocateBytesHere") != std::string::npos)
        << "a sample's stack starts in " << leaf
        << ", not in the program's function that allocated";
    EXPECT_TRUE(s.bytes_label == 32 || s.bytes_label == 112);
  }
  EXPECT_EQ(p.drop_frames, "gcheap::.*|gch_.*");
}

TEST_F(HeapProfileTest, InUseDropsWhatTheCollectorFreed) {
  NewHeap(1);
  gcheap::Persistent<Cell> keep(*heap_, nullptr);
  AllocateCellsHere(*m_, 2000, &keep);
  AllocateCellsHere(*m_, 5000, nullptr);  // garbage, same stack
  heap_->Collect();
  const Profile p = Decode(heap_->HeapProfile());
  EXPECT_EQ(p.Sum(0, "AllocateCellsHere"), 7000);
  // A stale word on the stack may keep a cell or two.
  EXPECT_GE(p.Sum(2, "AllocateCellsHere"), 2000);
  EXPECT_LE(p.Sum(2, "AllocateCellsHere"), 2010);
  keep.Set(nullptr);
  heap_->Collect();
  EXPECT_LE(Decode(heap_->HeapProfile()).Sum(2, "AllocateCellsHere"), 10);
}

TEST_F(HeapProfileTest, SampledEstimatesAreCloseToWhatWasAllocated) {
  NewHeap(8 * 1024);
  const long kCells = 500000;  // 16 MB; about 2000 samples
  AllocateCellsHere(*m_, kCells, nullptr);
  const long kLarge = 64;  // 64 objects of 40 KB: large, own spans
  AllocateBytesHere(*m_, kLarge, 40000);
  const Profile p = Decode(heap_->HeapProfile());
  const double cells = static_cast<double>(p.Sum(1, "AllocateCellsHere"));
  EXPECT_NEAR(cells / (kCells * 32.0), 1.0, 0.1);
  EXPECT_NEAR(static_cast<double>(p.Sum(0, "AllocateCellsHere")) / kCells, 1.0,
              0.1);
  // Each 40 KB object is sampled with probability 1 - exp(-40960/8192):
  // nearly all are, and each counts about once.
  const double large = static_cast<double>(p.Sum(1, "AllocateBytesHere"));
  EXPECT_NEAR(large / (kLarge * 40960.0), 1.0, 0.15);
}

TEST_F(HeapProfileTest, SamplingLosesNoSlot) {
  // Held-back slots go back to their spans: every object is distinct, the
  // counters see every allocation, and objects stay where they were put.
  NewHeap(1000);
  gcheap::Persistent<Cell> keep(*heap_, nullptr);
  const gcheap::MemStats before = heap_->ReadMemStats();
  const long kN = 200000;
  AllocateCellsHere(*m_, kN, &keep);
  heap_->Collect();  // flushes the caches, with held slots in them
  AllocateCellsHere(*m_, kN, &keep);
  const gcheap::MemStats after = heap_->ReadMemStats();
  EXPECT_EQ(after.mallocs - before.mallocs, static_cast<uint64_t>(2 * kN));
  std::set<const Cell*> seen;
  long expect = kN - 1, count = 0;
  for (const Cell* c = keep.Get(); c != nullptr; c = c->next.Get()) {
    EXPECT_TRUE(seen.insert(c).second);
    EXPECT_EQ(c->payload[0], expect);
    expect = expect == 0 ? kN - 1 : expect - 1;
    count++;
  }
  EXPECT_EQ(count, 2 * kN);
  EXPECT_GT(heap_->SetMemProfileRate(0), 0);
}

TEST_F(HeapProfileTest, RateCanChangeWhileRunning) {
  NewHeap(0);
  AllocateCellsHere(*m_, 10000, nullptr);
  EXPECT_EQ(heap_->SetMemProfileRate(1), 0);
  AllocateCellsHere(*m_, 10000, nullptr);
  EXPECT_EQ(heap_->SetMemProfileRate(0), 1);
  AllocateCellsHere(*m_, 10000, nullptr);
  const int64_t sampled =
      Decode(heap_->HeapProfile()).Sum(0, "AllocateCellsHere");
  // The slots the caches handed out before the change are not sampled; at
  // most a word (64 slots) per cache either side.
  EXPECT_GE(sampled, 10000 - 128);
  EXPECT_LE(sampled, 10000 + 128);
}

TEST_F(HeapProfileTest, WritesAFileOrSaysWhyNot) {
  NewHeap(1);
  AllocateCellsHere(*m_, 100, nullptr);
  char path[] = "/tmp/gcheap_profile_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  ASSERT_TRUE(heap_->WriteHeapProfile(path));
  EXPECT_EQ(Decode(ReadAndRemove(path)).Sum(0, "AllocateCellsHere"), 100);
  testing::internal::CaptureStderr();
  EXPECT_FALSE(heap_->WriteHeapProfile("/nonexistent-dir/heap.pb.gz"));
  EXPECT_NE(testing::internal::GetCapturedStderr().find("cannot open"),
            std::string::npos);
}

TEST(HeapProfileEnvTest, DebugSettingWritesTheProfileWhenTheHeapGoes) {
  char path[] = "/tmp/gcheap_profile_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  const std::string env = std::string("memprofilerate=1,heapprofile=") + path;
  setenv("GCHEAP_DEBUG", env.c_str(), 1);
  {
    gcheap::Heap heap;
    unsetenv("GCHEAP_DEBUG");
    gcheap::Mutator& m = heap.AttachCurrentThread();
    AllocateCellsHere(m, 500, nullptr);
    heap.DetachCurrentThread();
  }
  EXPECT_EQ(Decode(ReadAndRemove(path)).Sum(0, "AllocateCellsHere"), 500);
}

TEST(HeapProfileErrorsTest, NegativeRateIsAnError) {
  gcheap::Heap heap;
  EXPECT_DEATH(heap.SetMemProfileRate(-1), "the rate is negative");
}

}  // namespace
