// The classic MemStats walk-through, on a gcheap heap: take a snapshot,
// allocate 50,000 24-byte objects kept alive by one array, take another,
// drop the array, collect, take a third. Mallocs rises by about 50,000;
// then Frees catches up and HeapObjects and HeapAlloc fall back.
//
//   bazel run //examples:memstats        (or ./gcheap.sh example)
#include <cstdint>
#include <cstdio>

#include "gcheap/gcheap.h"

namespace {

// A 24-byte object: three words, none of them a pointer.
struct Record {
  int64_t id;
  int64_t a;
  int64_t b;
};
constexpr gcheap::Type kRecordType =
    gcheap::Type::Noscan("Record", sizeof(Record));
// The array's elements are pointers to Records, held in Ref<Record> slots:
// a store into a heap object goes through the write barrier.
constexpr gcheap::Type kRecordPtr =
    gcheap::Type::Of<gcheap::Ref<Record>>("Ref<Record>").Pointers(0);

// The array lives in a registered root slot, like a Go global.
gcheap::Ref<Record>* records = nullptr;

// Allocates in a frame of its own: with conservative stack scanning (the
// default), a pointer left in a live frame or register keeps its object.
__attribute__((noinline)) void AllocateRecords(gcheap::Mutator& m, int n) {
  records = static_cast<gcheap::Ref<Record>*>(m.AllocateArray(kRecordPtr, n));
  for (int i = 0; i < n; i++) {
    records[i] = m.New<Record>(kRecordType);
    records[i]->id = i;
  }
}

void Print(const char* label, const gcheap::MemStats& s) {
  std::printf(
      "%-7s HeapAlloc=%llu KB Mallocs=%llu Frees=%llu HeapObjects=%llu "
      "NumGC=%u\n",
      label, static_cast<unsigned long long>(s.heap_alloc / 1024),
      static_cast<unsigned long long>(s.mallocs),
      static_cast<unsigned long long>(s.frees),
      static_cast<unsigned long long>(s.heap_objects), s.num_gc);
}

}  // namespace

int main() {
  gcheap::Heap heap;
  gcheap::Mutator& m = heap.AttachCurrentThread();
  heap.AddRoot(&records);

  Print("start", heap.ReadMemStats());

  AllocateRecords(m, 50000);
  Print("alloc", heap.ReadMemStats());

  records = nullptr;  // drop the array and everything it holds
  heap.Collect();
  Print("freed", heap.ReadMemStats());

  heap.RemoveRoot(&records);
  heap.DetachCurrentThread();
  return 0;
}
