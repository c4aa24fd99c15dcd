// Type descriptors and the Visitor that trace callbacks receive. Public API:
// "gcheap/type.h".
//
// Every object a collected heap holds either has no pointers (noscan) or
// says where its pointers are:
//
//   Type::Noscan(name, size)              no heap pointers at all
//   Type::Of<T>(name).Pointers(off, ...)  a pointer map: byte offsets of the
//                                         words that hold heap pointers
//                                         (Type::Of(name, size) for a size
//                                         known at run time)
//   Type::Traced(name, size, fn)          a trace callback, for layouts that
//                                         vary or hold tagged values (NaN
//                                         boxing, low-bit tags)
//   Type::Conservative(name, size)        every word may be a pointer (an
//                                         easy path when porting Boehm code;
//                                         no header up to 512 bytes, see
//                                         gc/object.h)
//
// .WithDestructor(fn) adds a function run when the collector frees the
// object (at sweep), for objects that own outside resources.
//
// Types are constexpr values with static storage: the heap keeps a pointer
// to the Type in each object's header, so a Type must outlive every object
// allocated with it.
#ifndef GCHEAP_TYPE_H_
#define GCHEAP_TYPE_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>

#include "gcheap/internal/config.h"
#include "gcheap/internal/fast_path.h"

namespace gcheap {

class Visitor;
namespace internal {
struct TypeLayout;
// Aborts with a message naming the type and the offset (gc/type.cc).
[[noreturn]] GCHEAP_EXPORT void BadPointerOffset(const char* type_name,
                                                 size_t type_size,
                                                 size_t byte_offset);
}  // namespace internal
using TraceFn = void (*)(void* object, Visitor& visitor);
using DestructorFn = void (*)(void* object);

class Type {
 public:
  enum class Kind : uint8_t {
    kNoscan = GCH_INTERNAL_KIND_NOSCAN,
    kPointerMap = GCH_INTERNAL_KIND_POINTER_MAP,
    kTraced = GCH_INTERNAL_KIND_TRACED,
    kConservative = GCH_INTERNAL_KIND_CONSERVATIVE,
  };
  // Pointer maps cover the first kMaxMapWords words of an object.
  static constexpr size_t kMaxMapWords = 64;

  static constexpr Type Noscan(const char* name, size_t size) {
    return Type(name, size, Kind::kNoscan, 0, nullptr, nullptr);
  }
  template <class T>
  static constexpr Type Of(const char* name) {
    return Of(name, sizeof(T));
  }
  // The same for a size known only at run time (the C API's types,
  // gcheap/gcheap_c.h): Of<T>(name) is Of(name, sizeof(T)).
  static constexpr Type Of(const char* name, size_t size) {
    return Type(name, size, Kind::kPointerMap, 0, nullptr, nullptr);
  }
  static constexpr Type Traced(const char* name, size_t size, TraceFn fn) {
    return Type(name, size, Kind::kTraced, 0, fn, nullptr);
  }
  static constexpr Type Conservative(const char* name, size_t size) {
    return Type(name, size, Kind::kConservative, 0, nullptr, nullptr);
  }

  // Adds pointer words at the given byte offsets (multiples of 8, inside
  // the object, within the first kMaxMapWords words). A bad offset fails to
  // compile when the Type is constexpr and is a fatal error ("bad pointer
  // offset") when the Type is built at run time.
  template <class... Offsets>
  constexpr Type Pointers(Offsets... byte_offsets) const {
    Type t = *this;
    ((t.ptrmask_ |= t.Bit(static_cast<size_t>(byte_offsets))), ...);
    return t;
  }
  constexpr Type WithDestructor(DestructorFn fn) const {
    Type t = *this;
    t.dtor_ = fn;
    return t;
  }

  constexpr const char* name() const { return name_; }
  constexpr size_t size() const { return size_; }
  constexpr Kind kind() const { return kind_; }
  constexpr uint64_t pointer_mask() const { return ptrmask_; }
  constexpr TraceFn trace() const { return trace_; }
  constexpr DestructorFn destructor() const { return dtor_; }
  // Objects of this type are kept in scan spans with a one-word header
  // pointing at the Type (see gc/object.h).
  constexpr bool has_header() const {
    return kind_ != Kind::kNoscan || dtor_ != nullptr;
  }

  // The same fields as the inline fast paths see them (the layouts match:
  // gc/type.cc checks).
  const gch_internal_type* internal() const {
    return reinterpret_cast<const gch_internal_type*>(this);
  }

 private:
  friend struct internal::TypeLayout;
  constexpr Type(const char* name, size_t size, Kind kind, uint64_t mask,
                 TraceFn trace, DestructorFn dtor)
      : name_(name),
        size_(size),
        kind_(kind),
        ptrmask_(mask),
        trace_(trace),
        dtor_(dtor) {}
  constexpr uint64_t Bit(size_t byte_offset) const {
    // Not constexpr: reaching it in a constant expression is a compile
    // error; at run time it reports the offset and aborts.
    if (kind_ != Kind::kPointerMap || byte_offset % 8 != 0 ||
        byte_offset / 8 >= kMaxMapWords || byte_offset + 8 > size_) {
      internal::BadPointerOffset(name_, size_, byte_offset);
    }
    return uint64_t{1} << (byte_offset / 8);
  }

  const char* name_;
  size_t size_;
  Kind kind_;
  uint64_t ptrmask_;
  TraceFn trace_;
  DestructorFn dtor_;
};

// How the program's values encode heap pointers (Options::values), for a
// VM that keeps tagged or NaN-boxed words where pointers go. The collector
// decodes every word it reads without a map: thread stacks and registers,
// conservative objects, root ranges, static data, and the values the write
// barrier records (old and new), so WriteBarrier on a value slot shades
// the objects behind boxed values; Visitor::VisitValue decodes the same
// way. Words in a pointer map (Type::Of) are plain pointers, never values.
//
//   ValueEncoding::Pointers()          plain pointers (the default)
//   ValueEncoding::Tagged(mask, tag)   a word w with (w & mask) == tag is a
//                                      pointer in its other bits
//   ValueEncoding::NanBoxed(mask, tag, payload)
//                                      (w & mask) == tag: the pointer is
//                                      w & payload (clox: mask = tag =
//                                      0xfffc000000000000, payload = ~mask)
//   ValueEncoding::Custom(fn)          fn(w): the pointer w holds, or 0
//
// A conservative word is read both ways: as a plain pointer (C locals hold
// plain pointers too) and decoded.
struct ValueEncoding {
  uint64_t tag_mask = 0;
  uint64_t tag = 0;
  uint64_t payload_mask = ~uint64_t{0};
  uintptr_t (*decode)(uint64_t value) = nullptr;

  static constexpr ValueEncoding Pointers() { return ValueEncoding{}; }
  static constexpr ValueEncoding Tagged(uint64_t mask, uint64_t pointer_tag) {
    return ValueEncoding{mask, pointer_tag, ~mask, nullptr};
  }
  static constexpr ValueEncoding NanBoxed(uint64_t mask, uint64_t pointer_tag,
                                          uint64_t payload) {
    return ValueEncoding{mask, pointer_tag, payload, nullptr};
  }
  static constexpr ValueEncoding Custom(uintptr_t (*fn)(uint64_t)) {
    return ValueEncoding{0, 0, ~uint64_t{0}, fn};
  }
  // Plain pointers: nothing to decode.
  constexpr bool plain() const {
    return decode == nullptr && tag_mask == 0 && payload_mask == ~uint64_t{0};
  }
  // The heap pointer `value` holds, or 0.
  uintptr_t Decode(uint64_t value) const {
    if (decode != nullptr) return decode(value);
    return (value & tag_mask) == tag
               ? static_cast<uintptr_t>(value & payload_mask)
               : 0;
  }
};

// Given to trace callbacks and root callbacks: report each heap pointer.
// Null and pointers outside the heap are ignored; interior pointers keep
// their whole object alive.
class Visitor {
 public:
  void Visit(const void* p) {
    if (p != nullptr) fn_(ctx_, p);
  }
  // Every word in [begin, end) that points into the heap is a reference.
  void VisitRange(const void* begin, const void* end) {
    range_fn_(ctx_, begin, end);
  }
  // A value in the heap's encoding (Options::values): the object it holds,
  // if any, is a reference.
  void VisitValue(uint64_t value) {
    uintptr_t p = values_ != nullptr ? values_->Decode(value)
                                     : static_cast<uintptr_t>(value);
    if (p != 0) fn_(ctx_, reinterpret_cast<const void*>(p));
  }

  // For the collector.
  using VisitFn = void (*)(void* ctx, const void* p);
  using RangeFn = void (*)(void* ctx, const void* begin, const void* end);
  Visitor(void* ctx, VisitFn fn, RangeFn range_fn)
      : ctx_(ctx), fn_(fn), range_fn_(range_fn) {}
  void SetValueEncoding(const ValueEncoding* values) { values_ = values; }

 private:
  void* ctx_;
  VisitFn fn_;
  RangeFn range_fn_;
  const ValueEncoding* values_ = nullptr;  // null: plain pointers
};

}  // namespace gcheap

#endif  // GCHEAP_TYPE_H_
