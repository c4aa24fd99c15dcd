// Symbolizer: function names for code addresses of this process, for heap
// profiles (gc/pprof.h). `go tool pprof` symbolizes only Go binaries, so
// the profile carries the names itself, as a profile written by Go's
// runtime does.
//
//   objects   the program and the shared libraries loaded now
//             (dl_iterate_phdr): each one's file, load bias and executable
//             segments (the profile's mappings)
//   symbols   each object's ELF symbol table (.symtab, else .dynsym), read
//             from its file: functions by address, names demangled
//             (abi::__cxa_demangle). Binaries stripped of .symtab name
//             only their exported functions.
//   lines     the object's DWARF line table, if it was built with -g
//             (gc/dwarf_line.h): the source file and line of an address,
//             and of the function's start. Inlined code is reported at
//             its call site in the enclosing function's file.
//
// An address in no known function gets nothing; pprof shows it as its
// object's name.
#ifndef GCHEAP_GC_SYMBOLIZE_H_
#define GCHEAP_GC_SYMBOLIZE_H_

#include <cstdint>
#include <string>
#include <vector>

namespace gcheap::internal {

class Symbolizer {
 public:
  struct Segment {  // one executable segment of a loaded object
    uint64_t start, limit, file_offset;
    std::string file;
  };

  // Reads the loaded objects (not their symbols yet).
  Symbolizer();
  ~Symbolizer();
  Symbolizer(const Symbolizer&) = delete;
  Symbolizer& operator=(const Symbolizer&) = delete;

  const std::vector<Segment>& segments() const { return segments_; }
  // The index in segments() of the segment holding addr, or -1.
  int SegmentOf(uint64_t addr) const;
  struct Frame {
    std::string name;           // demangled
    std::string symbol;         // as in the symbol table
    std::string function_file;  // where the function starts, or ""
    int function_line = 0;
    int line = 0;  // of addr, in function_file; 0: unknown
  };
  // What holds addr: false if no function is known. Reads the object's
  // symbol and line tables on first use.
  bool Lookup(uint64_t addr, Frame* out);

 private:
  struct Object;
  std::vector<Object*> objects_;
  std::vector<Segment> segments_;
  std::vector<int> segment_object_;  // segments_[i] belongs to objects_[j]
};

}  // namespace gcheap::internal

#endif  // GCHEAP_GC_SYMBOLIZE_H_
