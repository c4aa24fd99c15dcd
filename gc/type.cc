// The run-time error path of Type::Pointers (gc/type.h).
#include "gc/type.h"

#include "base/check.h"

namespace gcheap::internal {

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
