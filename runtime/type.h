// Type descriptors: "gcheap/type.h". The definitions live with the
// collector (gc/type.h), which reads them.
#ifndef GCHEAP_RUNTIME_TYPE_H_
#define GCHEAP_RUNTIME_TYPE_H_

#include "gc/type.h"  // IWYU pragma: export

#endif  // GCHEAP_RUNTIME_TYPE_H_
