// DwarfLines: source file and line of code addresses, from an ELF object's
// DWARF line table (.debug_line, versions 2 to 5), for heap profiles
// (gc/symbolize.h): with them `go tool pprof -list` shows the source.
//
// The line number program of each unit is run once, its rows kept sorted
// by address; an address takes the row at or before it. Inlined code has
// rows in the inlined function's file: Outer() finds the line of the
// enclosing function's own file next after an address (where the code
// goes on once the inlined part is done: for `x = f(...)`, the statement
// that called), else before it. A heuristic: the exact call site is in
// .debug_info, which this does not read.
// Compressed debug sections are not read.
#ifndef GCHEAP_GC_DWARF_LINE_H_
#define GCHEAP_GC_DWARF_LINE_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

namespace gcheap::internal {

class DwarfLines {
 public:
  // The sections' contents (line_str and str may be empty).
  void Parse(const unsigned char* line, size_t line_size,
             const unsigned char* line_str, size_t line_str_size,
             const unsigned char* str, size_t str_size);
  bool empty() const { return rows_.empty(); }
  // The file and line of the row covering addr; false if none does.
  bool Find(uint64_t addr, std::string* file, int* line) const;
  // The line of the first row after addr and before hi whose file is
  // `file`, else of the last one at or before addr and not before lo; 0 if
  // neither exists.
  int Outer(uint64_t addr, uint64_t lo, uint64_t hi,
            const std::string& file) const;

 private:
  struct Row {
    uint64_t addr;
    uint32_t file;  // index into files_
    uint32_t line;
    bool end;  // end of a sequence: covers nothing
  };
  // Runs one unit's program; returns the offset past it.
  size_t ParseUnit(const unsigned char* p, size_t size, size_t at);
  uint32_t FileIndex(const std::string& path);

  std::vector<Row> rows_;
  std::vector<std::string> files_;
  std::unordered_map<std::string, uint32_t> file_index_;
  const unsigned char* line_str_ = nullptr;
  size_t line_str_size_ = 0;
  const unsigned char* str_ = nullptr;
  size_t str_size_ = 0;
};

}  // namespace gcheap::internal

#endif  // GCHEAP_GC_DWARF_LINE_H_
