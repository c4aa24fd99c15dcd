#include "gc/mem_profile.h"

#include <execinfo.h>

#include <cstring>

namespace gcheap::internal {

namespace {

uint64_t HashStack(const uintptr_t* stack, int depth, size_t size) {
  uint64_t h = size * 0x9E3779B97F4A7C15ull;
  for (int i = 0; i < depth; i++) {
    h = (h ^ stack[i]) * 0xFF51AFD7ED558CCDull;
    h ^= h >> 29;
  }
  return h;
}

}  // namespace

MemProfileBucket* MemProfile::Bucket(const uintptr_t* stack, int depth,
                                     size_t size) {
  const uint64_t h = HashStack(stack, depth, size);
  SpinLockHolder hold(&lock_);
  std::vector<MemProfileBucket*>& chain = by_hash_[h];
  for (MemProfileBucket* b : chain) {
    if (b->size == size && b->stack.size() == static_cast<size_t>(depth) &&
        std::memcmp(b->stack.data(), stack, depth * sizeof(uintptr_t)) == 0) {
      return b;
    }
  }
  auto b = std::make_unique<MemProfileBucket>();
  b->stack.assign(stack, stack + depth);
  b->size = size;
  chain.push_back(b.get());
  buckets_.push_back(std::move(b));
  return chain.back();
}

std::vector<MemProfileRecord> MemProfile::Snapshot() {
  std::vector<MemProfileRecord> out;
  SpinLockHolder hold(&lock_);
  out.reserve(buckets_.size());
  for (const auto& b : buckets_) {
    out.push_back(MemProfileRecord{b->stack, b->size,
                                   b->allocs.load(std::memory_order_relaxed),
                                   b->frees.load(std::memory_order_relaxed)});
  }
  return out;
}

int MemProfile::CaptureStack(uintptr_t* out, int max,
                             const void* program_return) {
  void* frames[kMaxStack + 16];
  int n = backtrace(frames, kMaxStack + 16);
  int from = 1;  // frames[0] is in this function
  if (program_return != nullptr) {
    for (int i = 0; i < n; i++) {
      if (frames[i] == program_return) {
        from = i;
        break;
      }
    }
  }
  int depth = 0;
  for (int i = from; i < n && depth < max; i++) {
    out[depth++] = reinterpret_cast<uintptr_t>(frames[i]);
  }
  return depth;
}

}  // namespace gcheap::internal
