// FixAlloc: a free-list allocator for fixed-size runtime metadata (spans,
// mcaches, bitmaps), as Go's mfixalloc. Memory comes from the OS in 64 KiB
// chunks and is never returned while the owner lives; freed objects go on an
// intrusive free list. It never calls malloc, so it is safe on allocation
// slow paths and under the heap lock.
//
// Not synchronized: the owner guards it with its own lock. inuse() and sys()
// feed MemStats (MSpanInuse / MSpanSys and friends).
#ifndef GCHEAP_BASE_FIXALLOC_H_
#define GCHEAP_BASE_FIXALLOC_H_

#include <cstddef>
#include <cstdint>

namespace gcheap::internal {

class FixAlloc {
 public:
  static constexpr size_t kChunkBytes = 64 << 10;

  // size: bytes per object (rounded up to 16).
  explicit FixAlloc(size_t size);
  ~FixAlloc();  // unmaps every chunk
  FixAlloc(const FixAlloc&) = delete;
  FixAlloc& operator=(const FixAlloc&) = delete;

  // Returns zeroed memory of size() bytes, or null when the OS refuses.
  void* Alloc();
  void Free(void* p);

  size_t size() const { return size_; }
  size_t inuse() const { return inuse_; }  // bytes handed out
  size_t sys() const { return sys_; }      // bytes obtained from the OS

 private:
  struct FreeNode {
    FreeNode* next;
  };
  struct Chunk {
    Chunk* next;
  };
  size_t size_;
  FreeNode* free_ = nullptr;
  Chunk* chunks_ = nullptr;
  uintptr_t bump_ = 0;  // next unused byte of the newest chunk
  uintptr_t limit_ = 0;
  size_t inuse_ = 0;
  size_t sys_ = 0;
};

}  // namespace gcheap::internal

#endif  // GCHEAP_BASE_FIXALLOC_H_
