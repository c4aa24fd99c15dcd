// A heap fuzzing harness: interprets bytes as API operations on one heap and
// checks the heap against a reference model of the object graph.
#ifndef GCHEAP_TESTS_FUZZ_HEAP_FUZZ_LIB_H_
#define GCHEAP_TESTS_FUZZ_HEAP_FUZZ_LIB_H_

#include <cstddef>
#include <cstdint>

namespace gcheap::fuzz {

// Runs the operations `data` encodes on a fresh heap (attached on the
// calling thread, which must not be attached to any heap) and destroys the
// heap. After every Collect, and at the end, the heap is compared with the
// model: live objects keep their addresses, payloads and edges, dead ones
// are freed, finalizers run at most once and only on unreachable objects.
// On a mismatch it prints what differed to stderr and traps. Deterministic
// for a given input. Returns 0.
int RunHeapFuzzInput(const uint8_t* data, size_t size);

// The same; odd_pointers_in_persistents also stores tiny objects at odd
// addresses in Persistent handles, which RunHeapFuzzInput avoids because
// the heap loses them (tests/fuzz/known_bugs/README.md).
int RunHeapFuzzInputWithOptions(const uint8_t* data, size_t size,
                                bool odd_pointers_in_persistents);

}  // namespace gcheap::fuzz

#endif  // GCHEAP_TESTS_FUZZ_HEAP_FUZZ_LIB_H_
