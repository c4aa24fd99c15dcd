// Generator for the size class table (see size_classes.h). Used by the
// mksizeclasses tool, which writes size_classes.cc, and by the test that
// checks the checked-in file is current. The runtime never links this.
#ifndef GCHEAP_ALLOC_SIZE_CLASS_GEN_H_
#define GCHEAP_ALLOC_SIZE_CLASS_GEN_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace gcheap::internal {

struct SizeClassInfo {
  size_t size = 0;        // bytes per object
  size_t npages = 0;      // pages per span
  size_t nobjs = 0;       // objects per span
  size_t tail_waste = 0;  // bytes left over at the end of a span

  friend bool operator==(const SizeClassInfo&, const SizeClassInfo&) = default;
};

// Computes the table by Go's rule. Element 0 is the large-object class
// (all zero); elements 1.. are the small classes in increasing size.
std::vector<SizeClassInfo> GenerateSizeClasses();

// floor((2^32 - 1) / size) + 1, or 0 for size 0.
uint32_t DivMagic(size_t size);

// The two lookup tables for SizeToClass. Entry 0 of the first is 0.
std::vector<uint8_t> MakeSizeToClass8(const std::vector<SizeClassInfo>& c);
std::vector<uint8_t> MakeSizeToClass128(const std::vector<SizeClassInfo>& c);

// The full text of alloc/size_classes.cc for the given table.
std::string RenderSizeClassesCc(const std::vector<SizeClassInfo>& classes);

}  // namespace gcheap::internal

#endif  // GCHEAP_ALLOC_SIZE_CLASS_GEN_H_
