#include "gc/symbolize.h"

#include <cxxabi.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "gc/dwarf_line.h"

namespace gcheap::internal {

struct Symbolizer::Object {
  std::string file;
  uint64_t bias = 0;  // runtime address - symbol value
  bool loaded = false;
  struct Function {
    uint64_t value, size;
    std::string name;  // mangled
  };
  std::vector<Function> functions;  // by value
  DwarfLines lines;

  // Reads the ELF symbol table of `file`.
  void Load() {
    loaded = true;
    const int fd = open(file.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st;
    if (fstat(fd, &st) != 0 ||
        st.st_size < static_cast<off_t>(sizeof(Elf64_Ehdr))) {
      close(fd);
      return;
    }
    const size_t size = static_cast<size_t>(st.st_size);
    void* map = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (map == MAP_FAILED) return;
    Parse(static_cast<const unsigned char*>(map), size);
    munmap(map, size);
    std::sort(
        functions.begin(), functions.end(),
        [](const Function& a, const Function& b) { return a.value < b.value; });
  }

  void Parse(const unsigned char* base, size_t size) {
    const auto* eh = reinterpret_cast<const Elf64_Ehdr*>(base);
    if (std::memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 ||
        eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_shoff == 0 ||
        eh->e_shentsize != sizeof(Elf64_Shdr) ||
        eh->e_shoff + uint64_t{eh->e_shnum} * sizeof(Elf64_Shdr) > size) {
      return;
    }
    const auto* sh = reinterpret_cast<const Elf64_Shdr*>(base + eh->e_shoff);
    // .symtab when present (every function), else .dynsym (exported ones).
    const Elf64_Shdr* table = nullptr;
    for (int want : {SHT_SYMTAB, SHT_DYNSYM}) {
      for (int i = 0; i < eh->e_shnum && table == nullptr; i++) {
        if (sh[i].sh_type == static_cast<Elf64_Word>(want)) table = &sh[i];
      }
      if (table != nullptr) break;
    }
    if (table == nullptr || table->sh_link >= eh->e_shnum ||
        table->sh_offset + table->sh_size > size ||
        table->sh_entsize != sizeof(Elf64_Sym)) {
      return;
    }
    ParseLines(base, size, eh, sh);
    const Elf64_Shdr& strtab = sh[table->sh_link];
    if (strtab.sh_offset + strtab.sh_size > size) return;
    const char* strs = reinterpret_cast<const char*>(base + strtab.sh_offset);
    const auto* syms =
        reinterpret_cast<const Elf64_Sym*>(base + table->sh_offset);
    const size_t n = table->sh_size / sizeof(Elf64_Sym);
    for (size_t i = 0; i < n; i++) {
      const Elf64_Sym& s = syms[i];
      const int type = ELF64_ST_TYPE(s.st_info);
      if ((type != STT_FUNC && type != STT_GNU_IFUNC) ||
          s.st_shndx == SHN_UNDEF || s.st_value == 0 ||
          s.st_name >= strtab.sh_size) {
        continue;
      }
      functions.push_back(Function{s.st_value, s.st_size, strs + s.st_name});
    }
  }

  // The DWARF line table, from .debug_line and the string sections it
  // refers to (uncompressed only).
  void ParseLines(const unsigned char* base, size_t size, const Elf64_Ehdr* eh,
                  const Elf64_Shdr* sh) {
    if (eh->e_shstrndx >= eh->e_shnum) return;
    const Elf64_Shdr& names = sh[eh->e_shstrndx];
    if (names.sh_offset + names.sh_size > size) return;
    const unsigned char* line = nullptr;
    const unsigned char* line_str = nullptr;
    const unsigned char* str = nullptr;
    size_t line_n = 0, line_str_n = 0, str_n = 0;
    for (int i = 0; i < eh->e_shnum; i++) {
      const Elf64_Shdr& s = sh[i];
      if (s.sh_name >= names.sh_size || s.sh_type == SHT_NOBITS ||
          (s.sh_flags & SHF_COMPRESSED) != 0 ||
          s.sh_offset + s.sh_size > size) {
        continue;
      }
      const char* name =
          reinterpret_cast<const char*>(base + names.sh_offset + s.sh_name);
      if (std::strcmp(name, ".debug_line") == 0) {
        line = base + s.sh_offset;
        line_n = s.sh_size;
      } else if (std::strcmp(name, ".debug_line_str") == 0) {
        line_str = base + s.sh_offset;
        line_str_n = s.sh_size;
      } else if (std::strcmp(name, ".debug_str") == 0) {
        str = base + s.sh_offset;
        str_n = s.sh_size;
      }
    }
    if (line != nullptr) {
      lines.Parse(line, line_n, line_str, line_str_n, str, str_n);
    }
  }

  const Function* Find(uint64_t value) {
    if (!loaded) Load();
    auto it = std::upper_bound(
        functions.begin(), functions.end(), value,
        [](uint64_t v, const Function& f) { return v < f.value; });
    if (it == functions.begin()) return nullptr;
    --it;
    // Several symbols may share an address (aliases): any will do. A
    // symbol without a size holds only what lies before the next one.
    if (it->size != 0 && value >= it->value + it->size) return nullptr;
    return &*it;
  }
};

namespace {

struct IterateState {
  std::vector<Symbolizer::Segment>* segments;
  std::vector<int>* segment_object;
  std::vector<std::string> files;
  std::vector<uint64_t> biases;
};

int AddObject(dl_phdr_info* info, size_t, void* data) {
  auto* st = static_cast<IterateState*>(data);
  std::string file = info->dlpi_name != nullptr ? info->dlpi_name : "";
  if (file.empty()) {
    if (!st->files.empty()) return 0;  // the vdso and the like
    char buf[4096];
    const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return 0;
    file.assign(buf, static_cast<size_t>(n));
  }
  if (file[0] != '/') return 0;  // not a file (linux-vdso.so.1)
  const int object = static_cast<int>(st->files.size());
  st->files.push_back(file);
  st->biases.push_back(info->dlpi_addr);
  const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || (ph.p_flags & PF_X) == 0) continue;
    const uint64_t start = (info->dlpi_addr + ph.p_vaddr) & ~(page - 1);
    const uint64_t limit = info->dlpi_addr + ph.p_vaddr + ph.p_memsz;
    st->segments->push_back(
        Symbolizer::Segment{start, limit, ph.p_offset & ~(page - 1), file});
    st->segment_object->push_back(object);
  }
  return 0;
}

}  // namespace

Symbolizer::Symbolizer() {
  IterateState st{&segments_, &segment_object_, {}, {}};
  dl_iterate_phdr(AddObject, &st);
  for (size_t i = 0; i < st.files.size(); i++) {
    auto* o = new Object;
    o->file = st.files[i];
    o->bias = st.biases[i];
    objects_.push_back(o);
  }
}

Symbolizer::~Symbolizer() {
  for (Object* o : objects_) delete o;
}

int Symbolizer::SegmentOf(uint64_t addr) const {
  for (size_t i = 0; i < segments_.size(); i++) {
    if (addr >= segments_[i].start && addr < segments_[i].limit) {
      return static_cast<int>(i);
    }
  }
  return -1;
}

bool Symbolizer::Lookup(uint64_t addr, Frame* out) {
  *out = Frame();
  const int seg = SegmentOf(addr);
  if (seg < 0) return false;
  Object* o = objects_[segment_object_[seg]];
  const uint64_t value = addr - o->bias;
  const Object::Function* f = o->Find(value);
  if (f == nullptr) return false;
  out->symbol = f->name;
  int status = 0;
  char* demangled =
      abi::__cxa_demangle(f->name.c_str(), nullptr, nullptr, &status);
  if (status == 0 && demangled != nullptr) {
    out->name = demangled;
    std::free(demangled);
  } else {
    out->name = f->name;
  }
  std::string file;
  int line = 0;
  if (o->lines.empty() ||
      !o->lines.Find(f->value, &out->function_file, &out->function_line) ||
      !o->lines.Find(value, &file, &line)) {
    return true;
  }
  // Inlined code has its own file's lines: report the call site in the
  // function's own file instead.
  out->line =
      file == out->function_file
          ? line
          : o->lines.Outer(value, f->value,
                           f->size != 0 ? f->value + f->size : value + 1,
                           out->function_file);
  return true;
}

}  // namespace gcheap::internal
