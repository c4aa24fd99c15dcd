#include "base/fixalloc.h"

#include <string.h>

#include "base/check.h"
#include "base/os_mem.h"

namespace gcheap::internal {

FixAlloc::FixAlloc(size_t size) : size_((size + 15) & ~size_t{15}) {
  GCHEAP_CHECK(size_ >= sizeof(FreeNode) && size_ <= kChunkBytes / 4,
               "FixAlloc size %zu out of range", size);
}

FixAlloc::~FixAlloc() {
  Chunk* c = chunks_;
  while (c != nullptr) {
    Chunk* next = c->next;
    OsUnreserve(c, kChunkBytes);
    c = next;
  }
}

void* FixAlloc::Alloc() {
  if (free_ != nullptr) {
    FreeNode* n = free_;
    free_ = n->next;
    memset(n, 0, size_);
    inuse_ += size_;
    return n;
  }
  if (bump_ + size_ > limit_) {
    OsResult res;
    void* mem = OsAllocMetadata(kChunkBytes, &res);
    if (mem == nullptr) return nullptr;
    Chunk* c = static_cast<Chunk*>(mem);
    c->next = chunks_;
    chunks_ = c;
    bump_ = reinterpret_cast<uintptr_t>(mem) + 16;  // header, 16-aligned
    limit_ = reinterpret_cast<uintptr_t>(mem) + kChunkBytes;
    sys_ += kChunkBytes;
  }
  void* p = reinterpret_cast<void*>(bump_);  // fresh OS memory is zero
  bump_ += size_;
  inuse_ += size_;
  return p;
}

void FixAlloc::Free(void* p) {
  GCHEAP_DCHECK(p != nullptr, "FixAlloc::Free(null)");
  FreeNode* n = static_cast<FreeNode*>(p);
  n->next = free_;
  free_ = n;
  inuse_ -= size_;
}

}  // namespace gcheap::internal
