// libFuzzer entry point for the heap model check (heap_fuzz_lib.h).
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/heap_fuzz_lib.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return gcheap::fuzz::RunHeapFuzzInput(data, size);
}
