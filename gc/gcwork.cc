#include "gc/gcwork.h"

#include <utility>

#include "base/check.h"
#include "base/os_mem.h"

namespace gcheap::internal {
namespace {
constexpr size_t kChunkBytes = 64 << 10;
}  // namespace

WorkPool::~WorkPool() {
  SpinLockHolder h(&lock_);
  void* c = chunks_;
  while (c != nullptr) {
    void* next = *static_cast<void**>(c);
    OsUnreserve(c, kChunkBytes);
    c = next;
  }
}

WorkBuf* WorkPool::GetEmpty() {
  SpinLockHolder h(&lock_);
  if (empty_ == nullptr) {
    OsResult res;
    void* mem = OsAllocMetadata(kChunkBytes, &res);
    if (mem == nullptr) {
      char buf[128];
      GCHEAP_FATAL("out of memory for mark work buffers: %s",
                   OsErrorString(res, buf, sizeof(buf)));
    }
    sys_.fetch_add(kChunkBytes, std::memory_order_relaxed);
    *static_cast<void**>(mem) = chunks_;
    chunks_ = mem;
    // The first 2 KiB hold the chunk link; the rest become buffers.
    for (size_t off = 2048; off + 2048 <= kChunkBytes; off += 2048) {
      auto* b = reinterpret_cast<WorkBuf*>(static_cast<char*>(mem) + off);
      b->n = 0;
      b->next = empty_;
      empty_ = b;
    }
  }
  WorkBuf* b = empty_;
  empty_ = b->next;
  b->next = nullptr;
  b->n = 0;
  return b;
}

void WorkPool::PutEmpty(WorkBuf* b) {
  GCHEAP_DCHECK(b->empty(), "PutEmpty of a non-empty buffer");
  SpinLockHolder h(&lock_);
  b->next = empty_;
  empty_ = b;
}

void WorkPool::PutFull(WorkBuf* b) {
  GCHEAP_DCHECK(!b->empty(), "PutFull of an empty buffer");
  SpinLockHolder h(&lock_);
  b->next = full_;
  full_ = b;
  nfull_.fetch_add(1, std::memory_order_release);
}

WorkBuf* WorkPool::TryGetFull() {
  if (!HasFull()) return nullptr;
  SpinLockHolder h(&lock_);
  WorkBuf* b = full_;
  if (b != nullptr) {
    full_ = b->next;
    b->next = nullptr;
    nfull_.fetch_sub(1, std::memory_order_relaxed);
  }
  return b;
}

GcWork::~GcWork() {
  GCHEAP_CHECK(LocalEmpty(), "GcWork destroyed holding grey objects");
  if (w1_ != nullptr) pool_->PutEmpty(w1_);
  if (w2_ != nullptr) pool_->PutEmpty(w2_);
}

void GcWork::PutSlow() {
  if (w1_ == nullptr) {
    w1_ = pool_->GetEmpty();
    return;
  }
  // w1 is full. Try the other buffer; if it is full too, publish it.
  std::swap(w1_, w2_);
  if (w1_ == nullptr) {
    w1_ = pool_->GetEmpty();
  } else if (w1_->full()) {
    pool_->PutFull(w1_);
    w1_ = pool_->GetEmpty();
  }
}

uintptr_t GcWork::TryGetSlow() {
  std::swap(w1_, w2_);
  if (w1_ != nullptr && !w1_->empty()) return w1_->obj[--w1_->n];
  if (ring_n_ != 0) {
    const uintptr_t e = ring_[ring_head_];
    ring_head_ = (ring_head_ + 1) % kRingCapacity;
    ring_n_--;
    return e;
  }
  WorkBuf* full = pool_->TryGetFull();
  if (full == nullptr) return 0;
  if (w1_ != nullptr) pool_->PutEmpty(w1_);
  w1_ = full;
  return w1_->obj[--w1_->n];
}

void GcWork::SpillRing(unsigned n) {
  if (n > ring_n_) n = ring_n_;
  while (n > 0) {
    WorkBuf* b = pool_->GetEmpty();
    while (n > 0 && !b->full()) {
      b->obj[b->n++] = ring_[ring_head_];
      ring_head_ = (ring_head_ + 1) % kRingCapacity;
      ring_n_--;
      n--;
    }
    pool_->PutFull(b);
  }
}

void GcWork::Balance() {
  if (ring_n_ > 8) {
    // Spans are the bulk of the work under span-based marking: hand over
    // the older half, whose spans have waited longest.
    SpillRing(ring_n_ / 2);
  } else if (w2_ != nullptr && !w2_->empty()) {
    pool_->PutFull(w2_);
    w2_ = nullptr;
  } else if (w1_ != nullptr && w1_->n > 4) {
    // Give away the older half of the current buffer. The buffer is a
    // stack: marking a tree or list depth first leaves the big subtrees
    // near its bottom and the leaves on top, so the older half is the work
    // worth handing over (an assist or idle marker that gets leaves is
    // back for more at once).
    WorkBuf* b = pool_->GetEmpty();
    size_t half = w1_->n / 2;
    for (size_t i = 0; i < half; i++) b->obj[i] = w1_->obj[i];
    for (size_t i = half; i < w1_->n; i++) w1_->obj[i - half] = w1_->obj[i];
    b->n = half;
    w1_->n -= half;
    pool_->PutFull(b);
  }
}

void GcWork::Flush() {
  if (w1_ != nullptr && !w1_->empty()) {
    pool_->PutFull(w1_);
    w1_ = nullptr;
  }
  if (w2_ != nullptr && !w2_->empty()) {
    pool_->PutFull(w2_);
    w2_ = nullptr;
  }
  SpillRing(ring_n_);
}

}  // namespace gcheap::internal
