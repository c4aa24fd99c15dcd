// Heap profiles: recording a sample's stack and writing the profile. The
// map is gc/mem_profile.h (what is kept) and gc/pprof.h (the format);
// alloc/mcache.h picks the samples.
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gc/pprof.h"
#include "runtime/heap_impl.h"

namespace gcheap {
namespace internal {

void HeapImpl::RecordAllocSample(const Mutator& m, void* slot, void* object,
                                 size_t size) {
  uintptr_t stack[MemProfile::kMaxStack];
  const int depth = MemProfile::CaptureStack(stack, MemProfile::kMaxStack,
                                             m.state_->program_return);
  MemProfileBucket* b = mem_profile_.Bucket(stack, depth, size);
  b->allocs.fetch_add(1, std::memory_order_relaxed);
  MSpan* s = mheap_->SpanOf(reinterpret_cast<uintptr_t>(slot));
  specials_->SetProfile(s, reinterpret_cast<uintptr_t>(slot), object, b);
}

bool HeapImpl::WriteHeapProfileFile(const std::string& path) {
  const std::string data =
      EncodeHeapProfile(mem_profile_.Snapshot(), mheap_->mem_profile_rate());
  FILE* f = fopen(path.c_str(), "wb");
  if (f == nullptr) {
    fprintf(stderr, "gcheap: heap profile %s: cannot open: %s\n", path.c_str(),
            strerror(errno));
    return false;
  }
  const bool ok = fwrite(data.data(), 1, data.size(), f) == data.size();
  const int err = errno;
  if (fclose(f) != 0 || !ok) {
    fprintf(stderr, "gcheap: heap profile %s: cannot write: %s\n", path.c_str(),
            strerror(ok ? errno : err));
    return false;
  }
  return true;
}

}  // namespace internal

int64_t Heap::SetMemProfileRate(int64_t bytes) {
  GCHEAP_CHECK(bytes >= 0, "SetMemProfileRate(%lld): the rate is negative",
               static_cast<long long>(bytes));
  const int64_t prev = impl_->mheap().mem_profile_rate();
  impl_->mheap().set_mem_profile_rate(bytes);
  return prev;
}

std::string Heap::HeapProfile() {
  return internal::EncodeHeapProfile(impl_->mem_profile().Snapshot(),
                                     impl_->mheap().mem_profile_rate());
}

bool Heap::WriteHeapProfile(const char* path) {
  GCHEAP_CHECK(path != nullptr, "WriteHeapProfile: null path");
  return impl_->WriteHeapProfileFile(path);
}

}  // namespace gcheap
