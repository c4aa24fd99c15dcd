#include "gc/dwarf_line.h"

#include <algorithm>
#include <cstring>

namespace gcheap::internal {

namespace {

// Little-endian reads within [at, end); past the end, `bad` is set and
// zeros are read.
struct Reader {
  const unsigned char* p;
  size_t end;
  size_t at;
  bool bad = false;

  uint64_t U(int n) {
    if (at + n > end) {
      bad = true;
      at = end;
      return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v |= uint64_t{p[at + i]} << (8 * i);
    at += n;
    return v;
  }
  uint64_t Uleb() {
    uint64_t v = 0;
    for (int shift = 0; at < end; shift += 7) {
      const unsigned char b = p[at++];
      if (shift < 64) v |= uint64_t{b & 0x7fu} << shift;
      if ((b & 0x80) == 0) return v;
    }
    bad = true;
    return v;
  }
  int64_t Sleb() {
    int64_t v = 0;
    int shift = 0;
    unsigned char b = 0;
    do {
      if (at >= end) {
        bad = true;
        return v;
      }
      b = p[at++];
      if (shift < 64) v |= static_cast<int64_t>(uint64_t{b & 0x7fu} << shift);
      shift += 7;
    } while (b & 0x80);
    if (shift < 64 && (b & 0x40)) v |= -(int64_t{1} << shift);
    return v;
  }
  std::string CStr() {
    const void* nul = at < end ? std::memchr(p + at, 0, end - at) : nullptr;
    if (nul == nullptr) {
      bad = true;
      at = end;
      return "";
    }
    std::string s(reinterpret_cast<const char*>(p + at),
                  static_cast<const unsigned char*>(nul) - (p + at));
    at += s.size() + 1;
    return s;
  }
};

std::string StringAt(const unsigned char* sec, size_t size, uint64_t off) {
  if (sec == nullptr || off >= size) return "";
  const void* nul = std::memchr(sec + off, 0, size - off);
  if (nul == nullptr) return "";
  return std::string(reinterpret_cast<const char*>(sec + off),
                     static_cast<const unsigned char*>(nul) - (sec + off));
}

std::string Join(const std::string& dir, const std::string& path) {
  if (dir.empty() || path.empty() || path[0] == '/') return path;
  if (dir == ".") return path;
  return dir.back() == '/' ? dir + path : dir + "/" + path;
}

// DWARF constants (DWARF 5, sections 6.2 and 7.5.6).
enum : uint64_t {
  kFormBlock = 0x09,
  kFormData1 = 0x0b,
  kFormData2 = 0x05,
  kFormData4 = 0x06,
  kFormData8 = 0x07,
  kFormData16 = 0x1e,
  kFormLineStrp = 0x1f,
  kFormString = 0x08,
  kFormStrp = 0x0e,
  kFormUdata = 0x0f,
  kLnctPath = 1,
  kLnctDirectoryIndex = 2,
};

}  // namespace

uint32_t DwarfLines::FileIndex(const std::string& path) {
  auto [it, fresh] =
      file_index_.try_emplace(path, static_cast<uint32_t>(files_.size()));
  if (fresh) files_.push_back(path);
  return it->second;
}

void DwarfLines::Parse(const unsigned char* line, size_t line_size,
                       const unsigned char* line_str, size_t line_str_size,
                       const unsigned char* str, size_t str_size) {
  line_str_ = line_str;
  line_str_size_ = line_str_size;
  str_ = str;
  str_size_ = str_size;
  for (size_t at = 0; at < line_size;) {
    const size_t next = ParseUnit(line, line_size, at);
    if (next <= at) break;
    at = next;
  }
  // By address; at one address, a sequence's end before the next one's
  // first row, so a lookup finds the row.
  std::stable_sort(rows_.begin(), rows_.end(), [](const Row& a, const Row& b) {
    return a.addr != b.addr ? a.addr < b.addr : (a.end && !b.end);
  });
  line_str_ = str_ = nullptr;
}

size_t DwarfLines::ParseUnit(const unsigned char* p, size_t size, size_t at) {
  Reader r{p, size, at};
  uint64_t len = r.U(4);
  const bool dwarf64 = len == 0xffffffffu;
  if (dwarf64) len = r.U(8);
  if (r.bad || len > size - r.at) return size;
  const size_t unit_end = r.at + len;
  r.end = unit_end;
  const int version = static_cast<int>(r.U(2));
  if (version < 2 || version > 5) return unit_end;
  if (version >= 5) {
    r.U(1);  // address size
    r.U(1);  // segment selector size
  }
  const uint64_t header_len = r.U(dwarf64 ? 8 : 4);
  const size_t program = r.at + header_len;
  const uint64_t min_inst = r.U(1);
  if (version >= 4) r.U(1);  // maximum operations per instruction
  r.U(1);                    // default_is_stmt
  const int64_t line_base = static_cast<int8_t>(r.U(1));
  const uint64_t line_range = r.U(1);
  const unsigned opcode_base = static_cast<unsigned>(r.U(1));
  if (r.bad || line_range == 0 || opcode_base == 0) return unit_end;
  std::vector<uint8_t> std_lens(opcode_base, 0);
  for (unsigned i = 1; i < opcode_base; i++) {
    std_lens[i] = static_cast<uint8_t>(r.U(1));
  }

  std::vector<std::string> dirs;
  std::vector<uint32_t> files;
  if (version >= 5) {
    // An entry's fields as its format says; returns false on a form this
    // reader does not know.
    auto read_entry = [&](const std::vector<std::pair<uint64_t, uint64_t>>& fmt,
                          std::string* path, uint64_t* dir) {
      for (const auto& [type, form] : fmt) {
        std::string s;
        uint64_t v = 0;
        switch (form) {
          case kFormString:
            s = r.CStr();
            break;
          case kFormLineStrp:
            s = StringAt(line_str_, line_str_size_, r.U(dwarf64 ? 8 : 4));
            break;
          case kFormStrp:
            s = StringAt(str_, str_size_, r.U(dwarf64 ? 8 : 4));
            break;
          case kFormUdata:
            v = r.Uleb();
            break;
          case kFormData1:
            v = r.U(1);
            break;
          case kFormData2:
            v = r.U(2);
            break;
          case kFormData4:
            v = r.U(4);
            break;
          case kFormData8:
            v = r.U(8);
            break;
          case kFormData16:
            r.U(8);
            r.U(8);
            break;
          case kFormBlock:
            r.at +=
                static_cast<size_t>(std::min<uint64_t>(r.Uleb(), r.end - r.at));
            break;
          default:
            return false;
        }
        if (type == kLnctPath) *path = s;
        if (type == kLnctDirectoryIndex) *dir = v;
      }
      return !r.bad;
    };
    auto read_format = [&]() {
      std::vector<std::pair<uint64_t, uint64_t>> fmt(r.U(1));
      for (auto& f : fmt) {
        f.first = r.Uleb();
        f.second = r.Uleb();
      }
      return fmt;
    };
    const auto dir_fmt = read_format();
    for (uint64_t n = r.Uleb(); n > 0 && !r.bad; n--) {
      std::string path;
      uint64_t unused = 0;
      if (!read_entry(dir_fmt, &path, &unused)) return unit_end;
      dirs.push_back(path);
    }
    const auto file_fmt = read_format();
    for (uint64_t n = r.Uleb(); n > 0 && !r.bad; n--) {
      std::string path;
      uint64_t dir = 0;
      if (!read_entry(file_fmt, &path, &dir)) return unit_end;
      files.push_back(
          FileIndex(Join(dir < dirs.size() ? dirs[dir] : "", path)));
    }
  } else {
    dirs.push_back("");  // 0: the compilation directory
    for (std::string s; !(s = r.CStr()).empty();) dirs.push_back(s);
    files.push_back(FileIndex(""));  // files count from 1
    for (std::string s; !(s = r.CStr()).empty();) {
      const uint64_t dir = r.Uleb();
      r.Uleb();  // modification time
      r.Uleb();  // length
      files.push_back(FileIndex(Join(dir < dirs.size() ? dirs[dir] : "", s)));
    }
  }
  if (r.bad || program > unit_end) return unit_end;

  // The line number program.
  r.at = program;
  uint64_t addr = 0, file = 1;
  int64_t line = 1;
  size_t seq_start = rows_.size();
  auto emit = [&](bool end) {
    const uint32_t f = file < files.size() ? files[file] : FileIndex("");
    rows_.push_back(
        Row{addr, f, static_cast<uint32_t>(line < 0 ? 0 : line), end});
  };
  while (r.at < unit_end && !r.bad) {
    const unsigned op = static_cast<unsigned>(r.U(1));
    if (op >= opcode_base) {  // special: advance both, add a row
      const unsigned adj = op - opcode_base;
      addr += (adj / line_range) * min_inst;
      line += line_base + static_cast<int64_t>(adj % line_range);
      emit(false);
    } else if (op == 0) {  // extended
      const uint64_t n = r.Uleb();
      const size_t sub_end =
          r.at + static_cast<size_t>(std::min<uint64_t>(n, unit_end - r.at));
      const unsigned sub = n > 0 ? static_cast<unsigned>(r.U(1)) : 0;
      if (sub == 1) {  // end_sequence
        emit(true);
        // Code the linker dropped keeps its rows at address 0: drop them.
        if (rows_[seq_start].addr == 0) rows_.resize(seq_start);
        seq_start = rows_.size();
        addr = 0;
        file = 1;
        line = 1;
      } else if (sub == 2) {  // set_address
        addr = r.U(static_cast<int>(n - 1 > 8 ? 8 : n - 1));
      } else if (sub == 3 && version < 5) {  // define_file
        const std::string s = r.CStr();
        const uint64_t dir = r.Uleb();
        files.push_back(FileIndex(Join(dir < dirs.size() ? dirs[dir] : "", s)));
      }
      r.at = sub_end;
    } else {
      switch (op) {
        case 1:  // copy
          emit(false);
          break;
        case 2:  // advance_pc
          addr += r.Uleb() * min_inst;
          break;
        case 3:  // advance_line
          line += r.Sleb();
          break;
        case 4:  // set_file
          file = r.Uleb();
          break;
        case 8:  // const_add_pc
          addr += ((255 - opcode_base) / line_range) * min_inst;
          break;
        case 9:  // fixed_advance_pc
          addr += r.U(2);
          break;
        default:  // operands we do not need (column, isa, ...)
          for (unsigned i = 0; i < std_lens[op]; i++) r.Uleb();
          break;
      }
    }
  }
  // A unit cut short: its last sequence never ended; keep nothing of it.
  rows_.resize(seq_start);
  return unit_end;
}

bool DwarfLines::Find(uint64_t addr, std::string* file, int* line) const {
  auto it =
      std::upper_bound(rows_.begin(), rows_.end(), addr,
                       [](uint64_t a, const Row& r) { return a < r.addr; });
  if (it == rows_.begin()) return false;
  --it;
  if (it->end) return false;
  *file = files_[it->file];
  *line = static_cast<int>(it->line);
  return true;
}

int DwarfLines::Outer(uint64_t addr, uint64_t lo, uint64_t hi,
                      const std::string& file) const {
  auto f = file_index_.find(file);
  if (f == file_index_.end()) return 0;
  auto it =
      std::upper_bound(rows_.begin(), rows_.end(), addr,
                       [](uint64_t a, const Row& r) { return a < r.addr; });
  for (auto next = it; next != rows_.end() && next->addr < hi && !next->end;
       ++next) {
    if (next->file == f->second && next->line != 0) {
      return static_cast<int>(next->line);
    }
  }
  while (it != rows_.begin()) {
    --it;
    if (it->addr < lo || it->end) return 0;
    if (it->file == f->second && it->line != 0)
      return static_cast<int>(it->line);
  }
  return 0;
}

}  // namespace gcheap::internal
