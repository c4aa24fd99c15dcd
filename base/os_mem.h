// Operating-system memory: the only place gcheap calls mmap and friends.
//
// Memory moves through three states, as in Go's runtime:
//
//   Reserved  --Commit-->  Ready  --Release-->  Prepared (still committed,
//   (PROT_NONE,           (read/write,          pages handed back with
//    no backing)           backed on touch)      MADV_DONTNEED; reads as
//                                                zero when touched again)
//
// Unreserve returns an address range to the OS entirely. Each call reports
// failure through OsResult (errno and the call that failed) instead of
// aborting, so callers can decide: the heap turns a failed reservation into
// an out-of-memory error for the allocating call.
#ifndef GCHEAP_BASE_OS_MEM_H_
#define GCHEAP_BASE_OS_MEM_H_

#include <cstddef>
#include <cstdint>

namespace gcheap::internal {

struct OsResult {
  bool ok = true;
  int err = 0;               // errno of the failing call
  const char* op = nullptr;  // "mmap", "mprotect", "madvise", "munmap"
  explicit operator bool() const { return ok; }
};

constexpr size_t kOsPageSize = 4096;

// Reserves `size` bytes of address space aligned to `align` (a power of two,
// at least kOsPageSize) without committing memory. Returns null and fills
// *res on failure.
void* OsReserve(size_t size, size_t align, OsResult* res);

// Makes [addr, addr+size) readable and writable. Fresh pages read as zero.
OsResult OsCommit(void* addr, size_t size);

// Gives the physical pages of [addr, addr+size) back to the OS; the range
// stays mapped and reads as zero when next touched.
OsResult OsRelease(void* addr, size_t size);

// Asks for transparent huge pages on [addr, addr+size) (2 MiB-aligned
// parts of it): fewer page faults and TLB misses over a large heap. Only a
// request: the kernel may have them off, and then nothing changes.
OsResult OsAdviseHugePages(void* addr, size_t size);

// Unmaps [addr, addr+size).
OsResult OsUnreserve(void* addr, size_t size);

// Maps `size` bytes of zeroed read/write memory for runtime metadata
// (fixed-size allocators, arena maps). Null on failure.
void* OsAllocMetadata(size_t size, OsResult* res);

// The machine's physical memory in bytes (RAM, as sysconf reports it), or
// 0 if it cannot be read.
size_t OsPhysicalMemory();

// Formats an OsResult as "mmap: Cannot allocate memory" into buf.
const char* OsErrorString(const OsResult& r, char* buf, size_t n);

}  // namespace gcheap::internal

#endif  // GCHEAP_BASE_OS_MEM_H_
