// Why an object is alive: a retention path from a root, as
// Heap::FindRetentionPath returns it (docs/debugging.md, "Why is it
// alive"). gch_retention_path in gcheap/gcheap_c.h gives the same as text.
#ifndef GCHEAP_RETENTION_H_
#define GCHEAP_RETENTION_H_

#include <cstddef>
#include <string>
#include <vector>

#include "gcheap/internal/config.h"

namespace gcheap {

struct GCHEAP_EXPORT RetentionPath {
  // One object of the chain.
  struct Link {
    const void* object = nullptr;  // as the allocation returned it
    std::string type;              // its Type's name, or how it is laid out
    size_t size = 0;               // its slot's size in bytes
    // Where the previous link's object holds this one: the byte offset of
    // the word, from the start of that object; -1 when no word of it does
    // (a trace callback reported the pointer from elsewhere, such as a
    // side array, or the link is a WeakMap entry's value, alive as long as
    // its key, the previous link) and for the first link.
    long offset = -1;
  };
  // Whether a root reaches the object. A heap walk that finds none means
  // the object is garbage the collector has not freed yet.
  bool found = false;
  // The root: its kind ("persistent handle", "root slot", "root range",
  // "root callback", "static data", "thread stack", "thread registers",
  // "thread handles", "finalizer queue", "finalizer or cleanup of object",
  // "pool", "weak map value" for a WeakMap entry whose key is not a heap
  // object), the root's own address where it has one (a slot, a handle,
  // a range's start, a callback, the top of a stack; 0 otherwise), and
  // the thread ("thread 1234 (name)") for thread roots.
  std::string root_kind;
  const void* root_address = nullptr;
  std::string root_detail;
  // From the object the root refers to, to the object asked about.
  std::vector<Link> chain;

  // The path as lines of text:
  //   0x7f1c2a4010 (Node, 32 bytes) is reachable from persistent handle
  //   0x55d0c81e60:
  //     0x7f1c2a4000  Table (48 bytes)
  //     +16 -> 0x7f1c2a4010  Node (32 bytes)
  std::string ToString() const;
};

}  // namespace gcheap

#endif  // GCHEAP_RETENTION_H_
