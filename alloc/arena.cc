#include "alloc/arena.h"

#include "base/check.h"
#include "base/os_mem.h"

namespace gcheap::internal {

ArenaMap::ArenaMap() {
  OsResult res;
  void* p = OsAllocMetadata(kArenaMapEntries * sizeof(arenas_[0]), &res);
  if (p == nullptr) {
    char buf[128];
    GCHEAP_FATAL("cannot reserve the arena map: %s",
                 OsErrorString(res, buf, sizeof(buf)));
  }
  arenas_ = static_cast<std::atomic<HeapArena*>*>(p);
}

ArenaMap::~ArenaMap() {
  while (all_arenas_ != nullptr) {
    HeapArena* next = all_arenas_->next_arena;
    OsUnreserve(all_arenas_, sizeof(HeapArena));
    all_arenas_ = next;
  }
  OsUnreserve(arenas_, kArenaMapEntries * sizeof(arenas_[0]));
}

bool ArenaMap::AddArenas(uintptr_t base, size_t bytes) {
  GCHEAP_CHECK(base % kArenaBytes == 0 && bytes % kArenaBytes == 0,
               "arena range not aligned");
  for (uintptr_t a = base; a < base + bytes; a += kArenaBytes) {
    uintptr_t ai = a >> kArenaShift;
    GCHEAP_CHECK(ai < kArenaMapEntries, "arena %#lx beyond the address map",
                 static_cast<unsigned long>(a));
    OsResult res;
    void* meta = OsAllocMetadata(sizeof(HeapArena), &res);
    if (meta == nullptr) return false;
    metadata_bytes_ += sizeof(HeapArena);
    static_cast<HeapArena*>(meta)->next_arena = all_arenas_;
    all_arenas_ = static_cast<HeapArena*>(meta);
    arenas_[ai].store(static_cast<HeapArena*>(meta), std::memory_order_release);
  }
  return true;
}

void ArenaMap::SetSpan(uintptr_t base, size_t npages, MSpan* s) {
  for (size_t i = 0; i < npages; i++) {
    uintptr_t addr = base + i * kPageSize;
    HeapArena* a = arenas_[addr >> kArenaShift].load(std::memory_order_relaxed);
    GCHEAP_DCHECK(a != nullptr, "page outside the heap's arenas");
    a->spans[(addr >> kPageShift) % kPagesPerArena].store(
        s, std::memory_order_release);
  }
}

}  // namespace gcheap::internal
