// Ephemeron tables: the runtime half of gcheap::EphemeronTable and
// WeakMap<K, V> (include/gcheap/weak.h has the contract).
//
// An open-addressing table of (key, value) words, off the heap, under a
// leaf spin lock. The table is no root. The collector asks every table of
// its heap (RootSet::MarkEphemerons) to grey the values of the entries
// whose key is marked, once the rest of the mark is done and again until
// nothing new is greyed; the last round runs with the world stopped. A
// weak callback removes the entries whose key died, after the mark and
// before anything is freed.
//
// Values are words: each is greyed as a plain pointer and, when the heap
// has a value encoding, as the pointer it decodes to (non-heap words are
// ignored either way). Keys are object starts, checked at Set.
#ifndef GCHEAP_RUNTIME_WEAK_MAP_H_
#define GCHEAP_RUNTIME_WEAK_MAP_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/spinlock.h"
#include "gc/mark.h"
#include "gcheap/heap.h"

namespace gcheap::internal {

class HeapImpl;

class EphemeronTable {
 public:
  explicit EphemeronTable(HeapImpl* heap);
  ~EphemeronTable();
  EphemeronTable(const EphemeronTable&) = delete;
  EphemeronTable& operator=(const EphemeronTable&) = delete;

  void Set(Mutator& m, const void* key, uint64_t value);
  bool Get(Mutator& m, const void* key, uint64_t* value);
  bool Delete(Mutator& m, const void* key);
  size_t size() const;

  // The collector's side. MarkLive greys, with m, the values of entries
  // whose key m finds marked and that were not greyed yet this cycle;
  // returns whether it greyed any.
  bool MarkLive(Marker& m) ABSL_LOCKS_EXCLUDED(mu_);
  // Appends every entry (key, value) to *out, for heap walks.
  void Entries(std::vector<std::pair<uintptr_t, uint64_t>>* out)
      ABSL_LOCKS_EXCLUDED(mu_);
  // Weak callback: drops the entries whose key died; readies the next
  // cycle's marking.
  static void DropDead(WeakProcessor& weak, void* arg);

 private:
  struct Entry {
    uintptr_t key;  // 0: empty; kDeleted: a tombstone
    uint64_t value;
  };
  static constexpr uintptr_t kDeleted = 1;
  Entry* FindLocked(uintptr_t key) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void GrowLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Shade(Mutator& m, uint64_t value) const;

  HeapImpl* const heap_;
  mutable SpinLock mu_;
  Entry* entries_ ABSL_GUARDED_BY(mu_) = nullptr;
  size_t capacity_ ABSL_GUARDED_BY(mu_) = 0;  // a power of two, or 0
  size_t used_ ABSL_GUARDED_BY(mu_) = 0;      // live entries and tombstones
  size_t count_ ABSL_GUARDED_BY(mu_) = 0;     // live entries
  // Values greyed this cycle, by entry index (cleared by DropDead): each
  // entry's value is greyed once per cycle, so a round costs a pass over
  // the keys and the new values only.
  std::vector<bool> greyed_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gcheap::internal

#endif  // GCHEAP_RUNTIME_WEAK_MAP_H_
