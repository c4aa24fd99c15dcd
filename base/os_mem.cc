#include "base/os_mem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "base/check.h"
#include "base/sanitizers.h"

namespace gcheap::internal {
namespace {

OsResult Fail(const char* op) { return OsResult{false, errno, op}; }

}  // namespace

void* OsReserve(size_t size, size_t align, OsResult* res) {
  GCHEAP_CHECK(align >= kOsPageSize && (align & (align - 1)) == 0,
               "bad alignment %zu", align);
  *res = OsResult{};
  // Over-reserve, then trim both ends to the alignment.
  size_t span = size + align - kOsPageSize;
  if (span < size) {
    *res = OsResult{false, ENOMEM, "mmap"};
    return nullptr;
  }
  void* p = mmap(nullptr, span, PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    *res = Fail("mmap");
    return nullptr;
  }
  uintptr_t start = reinterpret_cast<uintptr_t>(p);
  uintptr_t aligned = (start + align - 1) & ~(align - 1);
  if (aligned > start) munmap(p, aligned - start);
  uintptr_t end = start + span;
  if (end > aligned + size) {
    munmap(reinterpret_cast<void*>(aligned + size), end - (aligned + size));
  }
  return reinterpret_cast<void*>(aligned);
}

OsResult OsCommit(void* addr, size_t size) {
  if (mprotect(addr, size, PROT_READ | PROT_WRITE) != 0) {
    return Fail("mprotect");
  }
  return OsResult{};
}

OsResult OsRelease(void* addr, size_t size) {
  if (madvise(addr, size, MADV_DONTNEED) != 0) return Fail("madvise");
  return OsResult{};
}

OsResult OsAdviseHugePages(void* addr, size_t size) {
  if (madvise(addr, size, MADV_HUGEPAGE) != 0) return Fail("madvise");
  return OsResult{};
}

OsResult OsUnreserve(void* addr, size_t size) {
  // AddressSanitizer keeps poison past munmap: the next mapping there (a
  // thread's stack and TLS) would inherit the heap's poisoned slots.
  UnpoisonMemory(addr, size);
  if (munmap(addr, size) != 0) return Fail("munmap");
  return OsResult{};
}

void* OsAllocMetadata(size_t size, OsResult* res) {
  *res = OsResult{};
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) {
    *res = Fail("mmap");
    return nullptr;
  }
  return p;
}

size_t OsPhysicalMemory() {
  long pages = sysconf(_SC_PHYS_PAGES);
  long page = sysconf(_SC_PAGESIZE);
  if (pages <= 0 || page <= 0) return 0;
  return static_cast<size_t>(pages) * static_cast<size_t>(page);
}

const char* OsErrorString(const OsResult& r, char* buf, size_t n) {
  if (r.ok) {
    snprintf(buf, n, "ok");
  } else {
    char tmp[128];
    const char* msg = strerror_r(r.err, tmp, sizeof(tmp));
    snprintf(buf, n, "%s: %s", r.op ? r.op : "os", msg);
  }
  return buf;
}

}  // namespace gcheap::internal
