// Mark work: grey objects waiting to be scanned. See gc/gc.h for the map.
//
// Grey objects live in work buffers of 253 pointers (2 KiB each). Every
// marking thread has a GcWork holding two buffers; full buffers it cannot
// use go to the heap's WorkPool, where idle markers take them, and empty
// ones come back to it. Two local buffers (as Go's gcWork) avoid
// ping-ponging one buffer with the pool when a thread alternates between
// pushing and popping around a buffer boundary.
//
//    marker A: GcWork {wbuf1, wbuf2}        marker B: GcWork {wbuf1, wbuf2}
//                 │ full ▲ empty                        ▲ full
//                 ▼      │                              │
//              WorkPool: full stack, empty stack (spin lock)
//
// Span-based marking (gc/mark.h) queues spans instead of objects: each
// GcWork also keeps a FIFO ring of span entries, so a span waits while the
// spans queued after it arrive, and meanwhile collects more marked objects
// to scan in one pass. A full ring spills its oldest entries to the pool
// as a full buffer; Flush and Balance hand them over too, so the pool holds
// objects and spans alike (the entries say which they are).
//
// The pool's lists are guarded by one spin lock: a buffer moves only every
// 253 objects, so the lock is cold. Buffers come from the OS in 64 KiB
// chunks and are reused for the life of the heap.
#ifndef GCHEAP_GC_GCWORK_H_
#define GCHEAP_GC_GCWORK_H_

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/base/attributes.h"
#include "absl/base/optimization.h"
#include "absl/base/thread_annotations.h"
#include "base/spinlock.h"

namespace gcheap::internal {

struct WorkBuf {
  static constexpr size_t kCapacity = 253;
  WorkBuf* next;
  size_t n;
  uintptr_t obj[kCapacity];
  bool full() const { return n == kCapacity; }
  bool empty() const { return n == 0; }
};
static_assert(sizeof(WorkBuf) <= 2048, "work buffers are 2 KiB");

class WorkPool {
 public:
  WorkPool() = default;
  ~WorkPool();
  WorkPool(const WorkPool&) = delete;
  WorkPool& operator=(const WorkPool&) = delete;

  // An empty buffer; CHECK-fails if the OS refuses memory.
  WorkBuf* GetEmpty();
  void PutEmpty(WorkBuf* b);
  void PutFull(WorkBuf* b);
  // A full (non-empty) buffer, or null.
  WorkBuf* TryGetFull();
  bool HasFull() const { return nfull_.load(std::memory_order_acquire) > 0; }
  size_t sys_bytes() const { return sys_.load(std::memory_order_relaxed); }
  // fork() (Collector::ForkLock): holds the lock across the fork.
  void ForkLock() ABSL_EXCLUSIVE_LOCK_FUNCTION(lock_) { lock_.Lock(); }
  void ForkUnlock() ABSL_UNLOCK_FUNCTION(lock_) { lock_.Unlock(); }

 private:
  SpinLock lock_;
  WorkBuf* full_ ABSL_GUARDED_BY(lock_) = nullptr;
  WorkBuf* empty_ ABSL_GUARDED_BY(lock_) = nullptr;
  void* chunks_ ABSL_GUARDED_BY(lock_) = nullptr;  // linked through word 0
  std::atomic<size_t> nfull_{0};
  std::atomic<size_t> sys_{0};
};

class GcWork {
 public:
  explicit GcWork(WorkPool* pool) : pool_(pool) {}
  ~GcWork();  // returns its buffers to the pool (they must be empty)
  GcWork(const GcWork&) = delete;
  GcWork& operator=(const GcWork&) = delete;

  ABSL_ATTRIBUTE_ALWAYS_INLINE void Put(uintptr_t obj) {
    if (ABSL_PREDICT_FALSE(w1_ == nullptr || w1_->full())) PutSlow();
    w1_->obj[w1_->n++] = obj;
  }
  // Queues a span entry at the ring's tail; a full ring spills its oldest
  // entries to the pool.
  ABSL_ATTRIBUTE_ALWAYS_INLINE void PutSpan(uintptr_t e) {
    if (ABSL_PREDICT_FALSE(ring_n_ == kRingCapacity)) SpillRing(kSpill);
    ring_[(ring_head_ + ring_n_) % kRingCapacity] = e;
    ring_n_++;
  }
  // Returns 0 when this thread's buffers and the pool are empty. Order:
  // the local object buffers, the span ring (oldest first), the pool.
  ABSL_ATTRIBUTE_ALWAYS_INLINE uintptr_t TryGet() {
    if (ABSL_PREDICT_TRUE(w1_ != nullptr && !w1_->empty())) {
      return w1_->obj[--w1_->n];
    }
    return TryGetSlow();
  }
  // Moves local work to the pool so idle markers can take it: all but the
  // current buffer if others are waiting (balance), or everything (flush).
  void Balance();
  void Flush();
  bool LocalEmpty() const {
    return (w1_ == nullptr || w1_->empty()) &&
           (w2_ == nullptr || w2_->empty()) && ring_n_ == 0;
  }

 private:
  static constexpr unsigned kRingCapacity = 512;
  static constexpr unsigned kSpill = WorkBuf::kCapacity;
  void PutSlow();
  uintptr_t TryGetSlow();
  // Moves the ring's oldest min(n, size) entries to the pool, in buffers.
  void SpillRing(unsigned n);

  WorkPool* pool_;
  WorkBuf* w1_ = nullptr;
  WorkBuf* w2_ = nullptr;
  unsigned ring_head_ = 0;
  unsigned ring_n_ = 0;
  uintptr_t ring_[kRingCapacity];
};

}  // namespace gcheap::internal

#endif  // GCHEAP_GC_GCWORK_H_
