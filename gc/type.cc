// The run-time error path of Type::Pointers (gcheap/type.h), and the check
// that a Type is laid out as the inline fast paths read it.
#include "gcheap/type.h"

#include <cstddef>

#include "base/check.h"

namespace gcheap::internal {

struct TypeLayout {
  static_assert(sizeof(Type) == sizeof(gch_internal_type));
  static_assert(offsetof(Type, name_) == offsetof(gch_internal_type, name));
  static_assert(offsetof(Type, size_) == offsetof(gch_internal_type, size));
  static_assert(offsetof(Type, kind_) == offsetof(gch_internal_type, kind));
  static_assert(offsetof(Type, ptrmask_) ==
                offsetof(gch_internal_type, pointer_mask));
  static_assert(offsetof(Type, trace_) == offsetof(gch_internal_type, trace));
  static_assert(offsetof(Type, dtor_) ==
                offsetof(gch_internal_type, destructor));
};

void BadPointerOffset(const char* type_name, size_t type_size,
                      size_t byte_offset) {
  GCHEAP_FATAL(
      "bad pointer offset %zu in Type %s (%zu bytes): Pointers() takes "
      "byte offsets of whole words inside the object, within the first %zu "
      "words, on a Type::Of type",
      byte_offset, type_name != nullptr ? type_name : "(unnamed)", type_size,
      Type::kMaxMapWords);
}

}  // namespace gcheap::internal
