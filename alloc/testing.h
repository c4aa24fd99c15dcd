// Helpers for tests of the allocator and the layers above it.
#ifndef GCHEAP_ALLOC_TESTING_H_
#define GCHEAP_ALLOC_TESTING_H_

#include "alloc/mheap.h"

namespace gcheap::internal::testing {

// A heap without the background scavenger thread: nothing returns pages to
// the OS behind a test's back.
inline MHeapOptions NoScavenger() {
  MHeapOptions o;
  o.background_scavenger = false;
  return o;
}

}  // namespace gcheap::internal::testing

#endif  // GCHEAP_ALLOC_TESTING_H_
