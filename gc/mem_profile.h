// MemProfile: sampled allocation profiles, the data behind heap profiles
// (Heap::WriteHeapProfile; the pprof encoding is gc/pprof.h), as Go's
// runtime/mprof.go keeps them for runtime/pprof's "heap" profile.
//
//   sampling   MCache (alloc/mcache.h) picks, on its slow path, about one
//              allocation per mem_profile_rate bytes (exponential
//              distances); the allocating thread then captures its call
//              stack (CaptureStack) and calls Record.
//   buckets    one per (call stack, slot size): counts of sampled objects
//              allocated and freed. Buckets live until the heap goes.
//   frees      Record leaves a profile record on the object (Specials,
//              gc/specials.h); when the sweeper finds the object dead, the
//              record's bucket counts a free. An object kept for its
//              finalizer is not freed yet.
//
// So "in use" is allocated minus freed: sampled objects the sweeper has not
// yet freed, which includes garbage until its span is swept (collect first
// for a profile of what is live, as Go's profile reflects the last
// completed cycle). Counts are of samples; the writer scales them to
// estimates of all allocations (gc/pprof.h).
#ifndef GCHEAP_GC_MEM_PROFILE_H_
#define GCHEAP_GC_MEM_PROFILE_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "base/spinlock.h"

namespace gcheap::internal {

struct MemProfileBucket {
  std::vector<uintptr_t> stack;  // return addresses, innermost first
  size_t size = 0;               // the slot size of each object
  std::atomic<uint64_t> allocs{0};
  std::atomic<uint64_t> frees{0};
};

// A bucket's counts at one moment.
struct MemProfileRecord {
  std::vector<uintptr_t> stack;
  size_t size = 0;
  uint64_t allocs = 0;
  uint64_t frees = 0;
};

class MemProfile {
 public:
  static constexpr int kMaxStack = 64;

  // The bucket for this stack and size, made on first use. Thread-safe.
  MemProfileBucket* Bucket(const uintptr_t* stack, int depth, size_t size);
  // Every bucket's counts. Thread-safe.
  std::vector<MemProfileRecord> Snapshot();

  // The calling thread's return addresses, innermost first, from the
  // frame that returns to `program_return` (the first address in the
  // program's code, past the runtime's frames) outwards; from the caller
  // of CaptureStack when program_return is null or not on the stack.
  static int CaptureStack(uintptr_t* out, int max, const void* program_return);

  // fork() (runtime/fork.cc): held across the fork, so a thread reading
  // the profile (Heap::HeapProfile, which needs no P) cannot leave it
  // locked in the child.
  void ForkLock() ABSL_EXCLUSIVE_LOCK_FUNCTION(lock_) { lock_.Lock(); }
  void ForkUnlock() ABSL_UNLOCK_FUNCTION(lock_) { lock_.Unlock(); }

 private:
  SpinLock lock_;
  std::unordered_map<uint64_t, std::vector<MemProfileBucket*>> by_hash_
      ABSL_GUARDED_BY(lock_);
  std::vector<std::unique_ptr<MemProfileBucket>> buckets_
      ABSL_GUARDED_BY(lock_);
};

}  // namespace gcheap::internal

#endif  // GCHEAP_GC_MEM_PROFILE_H_
