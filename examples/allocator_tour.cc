// A guided tour of the gcheap allocator (see docs/allocator.md).
//
// The program builds one heap and one allocation cache, allocates a handful
// of objects of different sizes and prints, for each, what the allocator
// did with it: which tier served it, which size class, how much of the slot
// is wasted, and where in its span it landed. It then shows neighbouring
// objects, tiny-block packing, a large object, a sweep and a scavenge.
// Every number printed is read back from the live allocator.
//
//   bazel run //examples:allocator_tour
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "alloc/malloc.h"

namespace {

using gcheap::internal::AllocStatsSnapshot;
using gcheap::internal::kMaxSmallSize;
using gcheap::internal::kNumSizeClasses;
using gcheap::internal::kNumSpanClasses;
using gcheap::internal::kPageSize;
using gcheap::internal::kTinySize;
using gcheap::internal::MCache;
using gcheap::internal::MHeap;
using gcheap::internal::MHeapOptions;
using gcheap::internal::MSpan;

// Stops the tour if the allocator does not behave as the text claims.
void Expect(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "allocator_tour: unexpected: %s\n", what);
    std::abort();
  }
}

uintptr_t Addr(const void* p) { return reinterpret_cast<uintptr_t>(p); }

// The tier MCache::Alloc picks for a request, by its own rule.
bool IsTiny(size_t size, bool noscan) {
  return noscan && size > 0 && size < kTinySize;
}

const char* Tier(size_t size, bool noscan) {
  if (IsTiny(size, noscan)) return "tiny";
  if (size <= kMaxSmallSize) return "small";
  return "large";
}

constexpr size_t kLargeRequest = 40000;

void Section(const char* title) { std::printf("\n== %s\n\n", title); }

// One row of the allocation table, read back from the span that holds p.
void PrintRow(MHeap& heap, size_t size, bool noscan, void* p) {
  Expect(p != nullptr, "allocation failed");
  MSpan* s = heap.SpanOf(Addr(p));
  Expect(s != nullptr, "no span for an allocated address");
  const bool tiny = IsTiny(size, noscan);
  // The tier column follows MCache::Alloc's rule; the span must agree.
  Expect(s->is_large() == (size > kMaxSmallSize), "tier and span disagree");
  Expect(!tiny || (s->elemsize == kTinySize && s->spanclass.noscan()),
         "tiny object not in a 16-byte noscan slot");
  const uintptr_t idx = s->ObjIndex(Addr(p));
  const uintptr_t slot_base = s->ObjBase(idx);

  char waste[32];
  char where[32];
  if (tiny) {
    // Several tiny objects share one 16-byte slot (the tiny block): the
    // slot column is the block, and the object is at an offset inside it.
    std::snprintf(waste, sizeof waste, "%11s", "shared");
    std::snprintf(where, sizeof where, "block #%zu +%zu",
                  static_cast<size_t>(idx),
                  static_cast<size_t>(Addr(p) - slot_base));
  } else {
    const size_t w = s->elemsize - size;
    std::snprintf(
        waste, sizeof waste, "%5zu %4.1f%%", w,
        100.0 * static_cast<double>(w) / static_cast<double>(s->elemsize));
    std::snprintf(where, sizeof where, "#%zu", static_cast<size_t>(idx));
  }
  std::printf("%7zu  %-6s  %-5s  %5d  %5d  %6zu  %s  %5zu  %9u  %s\n", size,
              noscan ? "noscan" : "scan", Tier(size, noscan),
              s->spanclass.sizeclass(), s->spanclass.raw(), s->elemsize, waste,
              s->npages, static_cast<unsigned>(s->nelems), where);
}

void PrintStatsHeader() {
  std::printf("%-24s %12s %11s %11s %10s %14s\n", "", "heap_objects",
              "heap_alloc", "heap_inuse", "heap_sys", "heap_released");
}

void PrintStats(const char* label, const AllocStatsSnapshot& st) {
  std::printf("%-24s %12llu %11llu %11llu %10llu %14llu\n", label,
              static_cast<unsigned long long>(st.heap_objects),
              static_cast<unsigned long long>(st.heap_alloc),
              static_cast<unsigned long long>(st.heap_inuse),
              static_cast<unsigned long long>(st.heap_sys),
              static_cast<unsigned long long>(st.heap_released));
}

}  // namespace

int main() {
  MHeapOptions opts;
  opts.background_scavenger = false;  // scavenge only when asked, below
  MHeap heap(opts);
  MCache* cache = heap.NewMCache();
  Expect(cache != nullptr, "no mcache");

  std::printf("gcheap allocator tour\n");
  std::printf(
      "pages of %zu B; %d size classes for objects up to %zu B (class 0 = "
      "large);\n%d span classes (each size class in a scan and a noscan "
      "flavour); tiny blocks of %zu B\n",
      kPageSize, kNumSizeClasses - 1, kMaxSmallSize, kNumSpanClasses,
      kTinySize);

  // --- 1. The table.
  Section("1. Where each request goes: one row per allocation");
  std::printf("%7s  %-6s  %-5s  %5s  %5s  %6s  %11s  %5s  %9s  %s\n", "request",
              "kind", "tier", "class", "spc", "slot", "waste", "pages",
              "objs/span", "slot in span");
  std::printf("%7s  %-6s  %-5s  %5s  %5s  %6s  %11s  %5s  %9s  %s\n", "-------",
              "------", "-----", "-----", "-----", "------", "-----------",
              "-----", "---------", "------------");
  struct Request {
    size_t size;
    bool noscan;
  };
  const Request requests[] = {{1, false},
                              {8, false},
                              {24, false},
                              {33, false},
                              {100, false},
                              {1000, false},
                              {kLargeRequest, false},
                              {1, true},
                              {8, true}};
  void* obj33 = nullptr;
  void* large = nullptr;
  for (const Request& r : requests) {
    void* p = cache->Alloc(r.size, r.noscan);
    PrintRow(heap, r.size, r.noscan, p);
    if (r.size == 33) obj33 = p;
    if (r.size == kLargeRequest) large = p;
  }
  std::printf(
      "\nkind          scan: may hold pointers (the collector scans it); "
      "noscan: pointer-free\n"
      "tier          tiny: noscan and < %zu B; small: <= %zu B; large: "
      "bigger\n"
      "class         size class (0 = large: a span of its own)\n"
      "spc           span class = class * 2 + (noscan ? 1 : 0)\n"
      "slot          bytes reserved for the object (the span's elemsize)\n"
      "waste         slot bytes the request leaves unused, and their share "
      "of the slot\n"
      "pages         8 KiB pages in the span\n"
      "objs/span     slots the span is cut into\n"
      "slot in span  index of the object's slot; for tiny objects, the "
      "16-byte block they\n"
      "              share and the byte offset inside it\n",
      kTinySize, kMaxSmallSize);

  // --- 2. Neighbours in one span.
  Section("2. Same size class, same span: slots are laid out back to back");
  void* obj33b = cache->Alloc(33, /*noscan=*/false);
  Expect(obj33b != nullptr, "allocation failed");
  MSpan* s33 = heap.SpanOf(Addr(obj33));
  MSpan* s33b = heap.SpanOf(Addr(obj33b));
  std::printf("first  33 B object: span offset %5zu, slot #%zu\n",
              static_cast<size_t>(Addr(obj33) - s33->start_addr),
              static_cast<size_t>(s33->ObjIndex(Addr(obj33))));
  std::printf("second 33 B object: span offset %5zu, slot #%zu\n",
              static_cast<size_t>(Addr(obj33b) - s33b->start_addr),
              static_cast<size_t>(s33b->ObjIndex(Addr(obj33b))));
  std::printf(
      "distance: %td B (= the %zu-byte slot of class %d); same span: "
      "%s\n",
      static_cast<char*>(obj33b) - static_cast<char*>(obj33), s33->elemsize,
      s33->spanclass.sizeclass(), s33 == s33b ? "yes" : "no");
  std::printf(
      "the span holds %u slots of %zu B = %zu B; the last %zu B of its %zu "
      "are the tail\n",
      static_cast<unsigned>(s33->nelems), s33->elemsize,
      s33->nelems * s33->elemsize, s33->bytes() - s33->nelems * s33->elemsize,
      s33->bytes());

  // --- 3. Tiny packing.
  Section("3. Tiny allocator: pointer-free requests under 16 B share a block");
  std::printf("%7s  %-22s  %6s\n", "request", "block (slot in span)", "offset");
  const size_t tiny_sizes[] = {1, 2, 4, 8};
  uintptr_t first_block = 0;
  bool one_block = true;
  size_t tiny_bytes = 0;
  for (size_t size : tiny_sizes) {
    void* p = cache->Alloc(size, /*noscan=*/true);
    Expect(p != nullptr, "allocation failed");
    MSpan* s = heap.SpanOf(Addr(p));
    uintptr_t idx = s->ObjIndex(Addr(p));
    uintptr_t block = s->ObjBase(idx);
    if (first_block == 0) first_block = block;
    if (block != first_block) one_block = false;
    tiny_bytes += size;
    std::printf("%7zu  #%-21zu  %6zu\n", size, static_cast<size_t>(idx),
                static_cast<size_t>(Addr(p) - block));
  }
  std::printf(
      "all four in one %zu-byte block: %s (%zu B used; each object "
      "aligned to its size)\n",
      kTinySize, one_block ? "yes" : "no", tiny_bytes);
  std::printf(
      "the block is one class-%d noscan slot; it is freed when every object "
      "in it is dead\n",
      heap.SpanOf(first_block)->spanclass.sizeclass());

  // --- 4. A large object.
  Section("4. Large object: a span of its own, straight from the page heap");
  MSpan* ls = heap.SpanOf(Addr(large));
  bool all_pages = true;
  for (size_t i = 0; i < ls->npages; i++) {
    if (heap.SpanOf(ls->start_addr + i * kPageSize) != ls) all_pages = false;
  }
  std::printf(
      "%zu B -> %zu pages = %zu B, %u object, size class %d; object at "
      "the span start: %s\n",
      kLargeRequest, ls->npages, ls->bytes(), static_cast<unsigned>(ls->nelems),
      ls->spanclass.sizeclass(), Addr(large) == ls->start_addr ? "yes" : "no");
  std::printf(
      "address map: every one of its %zu pages points to this span: %s\n",
      ls->npages, all_pages ? "yes" : "no");
  char* last_byte = static_cast<char*>(large) + kLargeRequest - 1;
  std::printf("an interior pointer (object + %zu) resolves to the object: %s\n",
              kLargeRequest - 1,
              heap.FindObject(last_byte) == large ? "yes" : "no");

  // --- 5. Sweep and scavenge.
  Section(
      "5. Sweeping and scavenging: the collector marks, the allocator "
      "sweeps");
  // Cached spans go back to their mcentrals; counters are flushed.
  cache->ReleaseAll();
  AllocStatsSnapshot before = heap.ReadStats();
  Expect(heap.MarkObject(obj33), "MarkObject did not mark");
  std::printf(
      "ReleaseAll() returned the cached spans; MarkObject() marked the first "
      "33 B object\n(the only survivor: nothing else is marked)\n");
  uint32_t sg0 = heap.sweepgen();
  heap.BeginSweepCycle();
  uint32_t sg1 = heap.sweepgen();
  heap.SweepAll();
  AllocStatsSnapshot after = heap.ReadStats();
  std::printf(
      "BeginSweepCycle(): sweepgen %u -> %u, every span now unswept; "
      "SweepAll() swept them\n",
      sg0, sg1);
  std::printf(
      "marked 33 B object still allocated: %s; its unmarked neighbour: %s\n",
      heap.FindObject(obj33) == obj33 ? "yes" : "no",
      heap.FindObject(obj33b) == nullptr ? "freed" : "still allocated");
  std::printf("large object's span: %s\n\n",
              heap.SpanOf(Addr(large)) == nullptr
                  ? "freed, its pages back in the page heap"
                  : "still in use");
  size_t released = heap.ScavengeAll();
  AllocStatsSnapshot scavenged = heap.ReadStats();
  PrintStatsHeader();
  PrintStats("before sweep", before);
  PrintStats("after sweep", after);
  PrintStats("after ScavengeAll()", scavenged);
  std::printf(
      "\nScavengeAll() returned %zu B of free pages to the OS.\n"
      "heap_objects: live objects (a tiny block counts once); heap_alloc: "
      "bytes in their slots\n"
      "heap_inuse: pages in in-use spans; heap_sys: pages obtained from the "
      "OS\n"
      "heap_released: free pages not backed by memory (pages never used yet "
      "start out that way)\n",
      released);

  heap.FreeMCache(cache);
  return 0;
}
