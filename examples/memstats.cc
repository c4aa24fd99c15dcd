// The classic Go MemStats program, on a gcheap heap:
//
//   var m runtime.MemStats
//   runtime.ReadMemStats(&m)              // "start"
//   data := make([][]byte, 50000)
//   for i := range data { data[i] = make([]byte, 24) }
//   runtime.ReadMemStats(&m)              // "after"
//   data = nil
//   runtime.GC()
//   runtime.ReadMemStats(&m)              // "gc"
//
// with the same shapes: the backing array of 50,000 24-byte slice headers
// (pointer, length, capacity: 1.2 MB, a large object), each pointing at a
// 24-byte pointer-free object (50,000 more, 1.2 MB in the 24-byte size
// class). Every heap store goes through the write barrier. The printed
// figures line up with Go's: about 2,344 KB after the loop (README.md
// explains the arithmetic).
//
//   bazel run //examples:memstats        (or ./gcheap.sh example)
#include <cstddef>
#include <cstdint>
#include <cstdio>

#include "gcheap/gcheap.h"

namespace {

// A Go []byte: its header is three words, the first a pointer.
struct ByteSlice {
  gcheap::Ref<uint8_t> data;
  int64_t len;
  int64_t cap;
};
constexpr gcheap::Type kSliceHeader = GCHEAP_TYPE(ByteSlice, data);

// `data`, a global as in Go: a registered root.
ByteSlice* data = nullptr;

void Fill(gcheap::Mutator& m, int n) {
  data = static_cast<ByteSlice*>(m.AllocateArray(kSliceHeader, n));
  for (int i = 0; i < n; i++) {
    data[i].data = static_cast<uint8_t*>(m.AllocateNoscan(24));
    data[i].len = 24;
    data[i].cap = 24;
  }
}

void Print(const char* label, const gcheap::MemStats& s) {
  std::printf(
      "%-7s HeapAlloc=%4llu KB Mallocs=%llu Frees=%llu HeapObjects=%llu\n",
      label, static_cast<unsigned long long>(s.heap_alloc / 1024),
      static_cast<unsigned long long>(s.mallocs),
      static_cast<unsigned long long>(s.frees),
      static_cast<unsigned long long>(s.heap_objects));
}

}  // namespace

int main() {
  // Precise stack scanning, as Go's: stacks hold no roots here (`data` is
  // a registered root, and each new object is stored into the array before
  // the next allocation), so no stale word on a stack keeps an object.
  gcheap::Options options;
  options.stack_scanning = gcheap::StackScanning::kPrecise;
  // Count what each allocation path did (gcheap::AllocPathStats).
  options.alloc_path_counters = true;
  gcheap::Heap heap(options);
  gcheap::Mutator& m = heap.AttachCurrentThread();
  heap.AddRoot(&data);

  Print("start", heap.ReadMemStats());

  Fill(m, 50000);
  Print("after", heap.ReadMemStats());

  // What the classic explanation claims but never shows: how the 50,000
  // byte slices were allocated. (Read before the collection frees them.)
  const gcheap::AllocPathStats paths = heap.ReadAllocPathStats();

  data = nullptr;  // drop the slice and everything it holds
  heap.Collect();
  const gcheap::MemStats after_gc = heap.ReadMemStats();
  Print("gc", after_gc);

  for (const auto& c : paths.by_size) {
    if (c.size != 24) continue;
    std::printf(
        "24-byte class: %llu allocations: %llu on the fast path, %llu on the "
        "slow path (%llu refills from mcentral: %llu spans swept there, %llu "
        "new spans from the heap, %llu after an OS commit)\n",
        static_cast<unsigned long long>(c.mallocs),
        static_cast<unsigned long long>(c.fast),
        static_cast<unsigned long long>(c.slow),
        static_cast<unsigned long long>(c.refills),
        static_cast<unsigned long long>(c.central_sweeps),
        static_cast<unsigned long long>(c.grows),
        static_cast<unsigned long long>(c.os_commits));
  }
  for (const auto& c : after_gc.by_size) {
    if (c.size != 24) continue;
    std::printf("BySize   Size=%u Mallocs=%llu Frees=%llu\n", c.size,
                static_cast<unsigned long long>(c.mallocs),
                static_cast<unsigned long long>(c.frees));
  }

  heap.RemoveRoot(&data);
  heap.DetachCurrentThread();
  return 0;
}
