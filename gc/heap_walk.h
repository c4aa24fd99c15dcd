// HeapWalk: the heap as a graph, for "why is this object alive": a
// retention path from a root to an object, and a heap dump (objects,
// types, edges, roots) for tools/heap_dominators.py. The runtime calls it
// with the world stopped and the sweepers kept out (Heap::FindRetentionPath,
// Heap::WriteHeapDump in runtime/retention.cc), so no object moves, dies or
// changes meanwhile.
//
//   edges   a Marker in collect mode (Marker::EnableCollect) scans each
//           object as marking would (layouts, headers, trace callbacks,
//           conservative words, the heap's value encoding) and reports
//           what it would grey; no mark bit is touched.
//   roots   the runtime greys every root through the same marker, naming
//           each group (Marker::LabelRoots: persistent handles, root
//           slots, ranges and callbacks, static data, finalizers, pools,
//           each thread's stack, registers and handles).
//   weak    an ephemeron's value (gcheap::WeakMap) lives as long as its
//           key: the walk counts it among the key's referents (a link
//           with no field offset); a key that is not a heap object keeps
//           its value as a root ("weak map value").
//   paths   breadth first from the roots, so a path is a shortest one;
//           each link's field offset is found by reading the referrer's
//           words (none when a trace callback reported the link from
//           memory outside the object, such as a side array).
#ifndef GCHEAP_GC_HEAP_WALK_H_
#define GCHEAP_GC_HEAP_WALK_H_

#include <stdio.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "alloc/mheap.h"
#include "gc/gcwork.h"
#include "gc/mark.h"

namespace gcheap::internal {

class HeapWalk {
 public:
  struct Root {
    std::string kind;    // "persistent handle", "thread stack", ...
    uintptr_t where;     // the root's own address (a slot, a stack), or 0
    std::string detail;  // "thread 1234 (worker)", or ""
    uintptr_t object;    // the object's slot
  };
  struct Object {
    uintptr_t slot = 0;   // where its slot begins
    uintptr_t start = 0;  // what the program sees (past any header)
    size_t size = 0;      // the slot's size
    const char* type = "";
  };

  // mark_roots greys every root through the marker it is given, naming
  // each group (Marker::LabelRoots). ephemerons: every ephemeron table's
  // entries (key, value as stored).
  HeapWalk(MHeap* heap, const ValueEncoding* values,
           const std::function<void(Marker&)>& mark_roots,
           const std::vector<std::pair<uintptr_t, uint64_t>>& ephemerons = {});
  HeapWalk(const HeapWalk&) = delete;
  HeapWalk& operator=(const HeapWalk&) = delete;

  const std::vector<Root>& roots() const { return roots_; }
  MHeap* heap() const { return heap_; }
  // Drops the roots pred names (the calling thread's own references).
  template <class Pred>
  void RemoveRoots(Pred pred) {
    std::vector<Root> kept;
    for (Root& r : roots_) {
      if (!pred(static_cast<const Root&>(r))) kept.push_back(std::move(r));
    }
    roots_.swap(kept);
  }
  // The object whose slot holds p, if p points into an allocated object.
  bool ObjectAt(uintptr_t p, Object* out) const;
  // The slots of the objects `slot`'s object refers to.
  void Referents(uintptr_t slot, std::vector<uintptr_t>* out);
  // The offset from `from.start` of a word of `from` that points into
  // `to` (or holds it in the heap's value encoding); -1 if none does.
  long FieldOffset(const Object& from, const Object& to) const;

  // A shortest path from a root to the object at `target` (a slot): the
  // root, and the objects from the root's to the target's. False if no
  // root reaches it. Roots `skip` names (if given) are left out.
  bool PathTo(uintptr_t target, Root* root, std::vector<Object>* chain,
              const std::function<bool(const Root&)>& skip = nullptr);
  // Every object reachable from the roots, every edge between them, and
  // the roots, in the heap dump format (docs/debugging.md).
  void WriteDump(FILE* f);

 private:
  static void Label(void* ctx, const char* kind, uintptr_t where,
                    const std::string& detail);
  void FlushRoots();  // collected_ -> roots_, under the current label

  MHeap* heap_;
  const ValueEncoding* values_;
  WorkPool pool_;
  Marker marker_;
  std::vector<uintptr_t> collected_;
  std::vector<Root> roots_;
  std::unordered_multimap<uintptr_t, uintptr_t> weak_values_;  // key slot
  Root label_;
};

}  // namespace gcheap::internal

#endif  // GCHEAP_GC_HEAP_WALK_H_
