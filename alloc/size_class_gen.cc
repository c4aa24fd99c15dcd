#include "alloc/size_class_gen.h"

#include <bit>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <string>
#include <vector>

#include "base/check.h"

namespace gcheap::internal {
namespace {

// Kept separate from size_classes.h so the generator never depends on the
// table it generates; size_classes_test checks the two agree.
constexpr size_t kGenPageShift = 13;
constexpr size_t kGenPageSize = size_t{1} << kGenPageShift;
constexpr size_t kGenMaxSmallSize = 32768;
constexpr size_t kGenMinAlign = 8;
constexpr size_t kGenSmallSizeDiv = 8;
constexpr size_t kGenSmallSizeMax = 1024;
constexpr size_t kGenLargeSizeDiv = 128;
constexpr size_t kGenNumClasses = 68;

// The alignment that applies from `size` on, given the alignment in force
// below it. It changes only at powers of two.
size_t NextAlign(size_t size, size_t align) {
  if (!std::has_single_bit(size)) return align;
  if (size >= 2048) return 256;
  if (size >= 128) return size / 8;
  if (size >= 32) return 16;
  return align;
}

// Fewest pages whose leftover tail, after packing whole objects, is at most
// 1/8 of the span.
size_t SpanPages(size_t size) {
  size_t span = kGenPageSize;
  while (span % size > span / 8) span += kGenPageSize;
  return span / kGenPageSize;
}

void Appendf(std::string* out, const char* fmt, ...)
    ABSL_PRINTF_ATTRIBUTE(2, 3);
void Appendf(std::string* out, const char* fmt, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  GCHEAP_CHECK(n >= 0 && static_cast<size_t>(n) < sizeof buf, "line too long");
  out->append(buf, static_cast<size_t>(n));
}

// Worst-case waste of a class as a fraction of its span: every object holds
// a request one byte over the previous class, plus the tail.
double MaxWaste(const SizeClassInfo& c, size_t prev_size) {
  size_t span = c.npages * kGenPageSize;
  return static_cast<double>((c.size - prev_size - 1) * c.nobjs +
                             c.tail_waste) /
         static_cast<double>(span);
}

// Guaranteed alignment of every object in a span of this class (spans are
// page aligned).
size_t MinAlign(size_t size) {
  size_t a = size_t{1} << std::countr_zero(size);
  return a < kGenPageSize ? a : kGenPageSize;
}

template <typename T>
void RenderArray(std::string* out, const char* decl,
                 const std::vector<T>& values, int per_line, int width) {
  Appendf(out, "%s = {\n", decl);
  for (size_t i = 0; i < values.size(); i += per_line) {
    Appendf(out, "    /* %3zu */", i);
    for (size_t j = i; j < values.size() && j < i + per_line; ++j) {
      Appendf(out, " %*" PRIu64 ",", width, static_cast<uint64_t>(values[j]));
    }
    out->append("\n");
  }
  out->append("};\n\n");
}

}  // namespace

std::vector<SizeClassInfo> GenerateSizeClasses() {
  std::vector<SizeClassInfo> classes(1);  // class 0: large objects
  size_t align = kGenMinAlign;
  for (size_t size = align; size <= kGenMaxSmallSize; size += align) {
    align = NextAlign(size, align);
    size_t npages = SpanPages(size);
    size_t span = npages * kGenPageSize;
    // A neighbour with the same span and object count wastes nothing by
    // taking the larger size, so keep one class for both.
    SizeClassInfo& last = classes.back();
    if (classes.size() > 1 && last.npages == npages &&
        span / last.size == span / size) {
      last.size = size;
      continue;
    }
    classes.push_back({.size = size, .npages = npages});
  }

  // Grow each size to the largest that still fits the same number of
  // objects in the same pages. Growth keeps kGenLargeSizeDiv alignment so
  // the coarse lookup table stays exact (and matches Go's table).
  for (size_t i = 1; i < classes.size(); ++i) {
    SizeClassInfo& c = classes[i];
    size_t span = c.npages * kGenPageSize;
    size_t grown = span / (span / c.size) & ~(kGenLargeSizeDiv - 1);
    if (grown > c.size) c.size = grown;
    c.nobjs = span / c.size;
    c.tail_waste = span - c.nobjs * c.size;
  }

  GCHEAP_CHECK(classes.size() == kGenNumClasses, "got %zu classes",
               classes.size());
  for (size_t i = 1; i < classes.size(); ++i) {
    const SizeClassInfo& c = classes[i];
    // (No '%' inside GCHEAP_CHECK conditions: the condition is pasted into
    // the format string.)
    bool aligned = c.size % kGenMinAlign == 0;
    bool coarse_ok =
        c.size <= kGenSmallSizeMax || c.size % kGenLargeSizeDiv == 0;
    GCHEAP_CHECK(aligned, "class %zu", i);
    GCHEAP_CHECK(c.size > classes[i - 1].size, "class %zu", i);
    GCHEAP_CHECK(coarse_ok, "class %zu size %zu breaks the 128-byte table", i,
                 c.size);
    GCHEAP_CHECK(c.tail_waste * 8 <= c.npages * kGenPageSize, "class %zu", i);
    GCHEAP_CHECK(c.npages <= UINT8_MAX && c.nobjs <= UINT16_MAX, "class %zu",
                 i);
    // The multiply-shift division must be exact at every offset in a span.
    uint64_t magic = DivMagic(c.size);
    for (uint64_t obj = 0; obj < c.nobjs; ++obj) {
      uint64_t lo = obj * c.size, hi = lo + c.size - 1;
      GCHEAP_CHECK((lo * magic) >> 32 == obj && (hi * magic) >> 32 == obj,
                   "class %zu: divmagic inexact at object %" PRIu64, i, obj);
    }
  }
  return classes;
}

uint32_t DivMagic(size_t size) {
  if (size == 0) return 0;
  return static_cast<uint32_t>(UINT32_MAX / size + 1);
}

std::vector<uint8_t> MakeSizeToClass8(const std::vector<SizeClassInfo>& c) {
  std::vector<uint8_t> t(kGenSmallSizeMax / kGenSmallSizeDiv + 1);
  size_t cls = 1;
  for (size_t i = 1; i < t.size(); ++i) {
    while (c[cls].size < i * kGenSmallSizeDiv) ++cls;
    t[i] = static_cast<uint8_t>(cls);
  }
  return t;
}

std::vector<uint8_t> MakeSizeToClass128(const std::vector<SizeClassInfo>& c) {
  std::vector<uint8_t> t(
      (kGenMaxSmallSize - kGenSmallSizeMax) / kGenLargeSizeDiv + 1);
  size_t cls = 1;
  for (size_t i = 0; i < t.size(); ++i) {
    while (c[cls].size < kGenSmallSizeMax + i * kGenLargeSizeDiv) ++cls;
    t[i] = static_cast<uint8_t>(cls);
  }
  return t;
}

std::string RenderSizeClassesCc(const std::vector<SizeClassInfo>& classes) {
  std::string out;
  out.append(
      "// Code generated by //alloc:mksizeclasses (size_class_gen.cc); DO NOT "
      "EDIT.\n"
      "// Regenerate from the repository root with\n"
      "//   bazel run //alloc:mksizeclasses > alloc/size_classes.cc\n"
      "\n"
      "// clang-format off\n"
      "\n"
      "#include \"alloc/size_classes.h\"\n"
      "\n"
      "namespace gcheap::internal {\n"
      "\n");

  std::vector<uint32_t> sizes, magics;
  std::vector<uint8_t> npages;
  std::vector<uint16_t> nobjs;
  for (const SizeClassInfo& c : classes) {
    sizes.push_back(static_cast<uint32_t>(c.size));
    npages.push_back(static_cast<uint8_t>(c.npages));
    nobjs.push_back(static_cast<uint16_t>(c.nobjs));
    magics.push_back(DivMagic(c.size));
  }

  // The main table: one row per class, with its costs.
  out.append(
      "// Max waste: a request one byte over the previous class in every "
      "slot, plus\n"
      "// the tail, as a share of the span. Min align: the alignment every "
      "object\n"
      "// in the span is guaranteed.\n"
      "const uint32_t kClassToSize[kNumSizeClasses] = {\n"
      "               // class  bytes/obj  bytes/span (pages)  objects  "
      "tail waste  max waste  min align\n"
      "    0,         //     0  large\n");
  size_t prev = 0;
  for (size_t i = 1; i < classes.size(); ++i) {
    const SizeClassInfo& c = classes[i];
    size_t span = c.npages * kGenPageSize;
    char num[32], pages[32];
    snprintf(num, sizeof num, "%zu,", c.size);
    snprintf(pages, sizeof pages, "%zu (%zu)", span, c.npages);
    Appendf(&out,
            "    %-10s //  %4zu  %9zu  %18s  %7zu  %10zu  %8.2f%%  %9zu\n", num,
            i, c.size, pages, c.nobjs, c.tail_waste, 100 * MaxWaste(c, prev),
            MinAlign(c.size));
    prev = c.size;
  }
  out.append("};\n\n");

  RenderArray(&out, "const uint8_t kClassToAllocNPages[kNumSizeClasses]",
              npages, 10, 2);
  RenderArray(&out, "const uint16_t kClassToNObjects[kNumSizeClasses]", nobjs,
              10, 4);
  RenderArray(&out, "const uint32_t kClassToDivMagic[kNumSizeClasses]", magics,
              6, 10);
  out.append("}  // namespace gcheap::internal\n\n");
  // The lookup tables have C names: the inline fast paths of the public
  // headers, C and C++, read them (gcheap/internal/fast_path.h).
  out.append("// Index i: sizes 8*(i-1)+1 .. 8*i.\n");
  RenderArray(
      &out,
      "const uint8_t gch_internal_size_to_class8[GCH_INTERNAL_SMALL_SIZE_MAX "
      "/ GCH_INTERNAL_SMALL_SIZE_DIV + 1]",
      MakeSizeToClass8(classes), 16, 2);
  out.append("// Index i: sizes 1024+128*(i-1)+1 .. 1024+128*i.\n");
  RenderArray(&out,
              "const uint8_t gch_internal_size_to_class128["
              "(GCH_INTERNAL_MAX_SMALL_SIZE - GCH_INTERNAL_SMALL_SIZE_MAX) / "
              "GCH_INTERNAL_LARGE_SIZE_DIV + 1]",
              MakeSizeToClass128(classes), 16, 2);

  out.append("// clang-format on\n");
  return out;
}

}  // namespace gcheap::internal
