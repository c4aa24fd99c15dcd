// Arenas and the address -> span map. See alloc/malloc.h for the map of the
// allocator.
//
// The heap's address space comes in 64 MiB arenas, each aligned to 64 MiB.
// For every arena that belongs to the heap, a HeapArena record (off-heap
// metadata) holds one MSpan pointer per 8 KiB page. An ArenaMap is a flat
// array of HeapArena pointers indexed by address >> 26, covering the whole
// 48-bit user address space: 4 Mi entries, reserved with mmap and touched
// only where arenas exist, so lookup is two dependent loads:
//
//   addr ──> arenas_[addr >> 26] ──> HeapArena::spans[(addr >> 13) % 8192]
//            (null: not our heap)    (null: free page or not yet used)
//
// Each Heap owns its own ArenaMap, so heaps in one process are independent.
//
// Concurrency: entries are written under the heap lock when an arena is
// added or a span is created or freed, and read without locks by FindObject
// (atomics with acquire/release order). A span's page entries are set
// before the span is published and cleared before its pages are reused.
#ifndef GCHEAP_ALLOC_ARENA_H_
#define GCHEAP_ALLOC_ARENA_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/base/attributes.h"
#include "alloc/mspan.h"
#include "alloc/size_classes.h"

namespace gcheap::internal {

constexpr size_t kArenaShift = 26;
constexpr size_t kArenaBytes = size_t{1} << kArenaShift;    // 64 MiB
constexpr size_t kPagesPerArena = kArenaBytes / kPageSize;  // 8192
constexpr size_t kAddressBits = 48;
constexpr size_t kArenaMapEntries = size_t{1} << (kAddressBits - kArenaShift);

struct HeapArena {
  std::atomic<MSpan*> spans[kPagesPerArena];
  HeapArena* next_arena;  // all of a map's records, for teardown
};

class ArenaMap {
 public:
  ArenaMap();   // CHECK-fails if the map cannot be reserved
  ~ArenaMap();  // frees the HeapArena records, not the arenas' memory
  ArenaMap(const ArenaMap&) = delete;
  ArenaMap& operator=(const ArenaMap&) = delete;

  // Registers [base, base + bytes) (arena aligned). False if metadata could
  // not be obtained. Caller holds the heap lock.
  bool AddArenas(uintptr_t base, size_t bytes);

  // Points every page of [base, base + npages pages) at s (or null).
  void SetSpan(uintptr_t base, size_t npages, MSpan* s);

  // The span owning addr's page, or null.
  ABSL_ATTRIBUTE_ALWAYS_INLINE MSpan* SpanOf(uintptr_t addr) const {
    uintptr_t ai = addr >> kArenaShift;
    if (ABSL_PREDICT_FALSE(ai >= kArenaMapEntries)) return nullptr;
    HeapArena* a = arenas_[ai].load(std::memory_order_acquire);
    if (a == nullptr) return nullptr;
    return a->spans[(addr >> kPageShift) % kPagesPerArena].load(
        std::memory_order_acquire);
  }

  bool Contains(uintptr_t addr) const {
    uintptr_t ai = addr >> kArenaShift;
    return ai < kArenaMapEntries &&
           arenas_[ai].load(std::memory_order_acquire) != nullptr;
  }

  size_t metadata_bytes() const { return metadata_bytes_; }

 private:
  std::atomic<HeapArena*>* arenas_;
  HeapArena* all_arenas_ = nullptr;
  size_t metadata_bytes_ = 0;  // HeapArena records, for MemStats.GCSys
};

}  // namespace gcheap::internal

#endif  // GCHEAP_ALLOC_ARENA_H_
