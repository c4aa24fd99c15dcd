// RootSet: the roots a program registers with its heap, as opposed to the
// ones the runtime finds itself (thread stacks and handle stacks,
// runtime/roots.cc; finalizer queues, gc/specials.h; Pools,
// runtime/pool_registry.h):
//
//   slots       Heap::AddRoot: a global holding one pointer
//   ranges      Heap::AddRootRange: memory scanned conservatively
//   static data Heap::AddStaticDataRoots / Options::scan_static_data: the
//               writable segments of every loaded object
//   callbacks   Heap::AddRootCallback: the program visits its own roots
//   persistents Persistent<T>: handle slots in chunks that never move; a
//               free slot holds the next free slot's address with bit 63
//               set, which no heap pointer has
//
// Mark greys all of them at mark start, with the world stopped. The same
// registry keeps the program's weak callbacks (Heap::AddWeakCallback), not
// roots but its other hook into a cycle: RunWeakCallbacks calls them once
// the mark is complete.
//
// Locks: mu_ (rank kRoots) guards the registry and is held while the
// callbacks run; persistent_lock_ (a leaf spin lock) the handle table,
// taken on every Persistent's creation and destruction.
#ifndef GCHEAP_RUNTIME_ROOT_SET_H_
#define GCHEAP_RUNTIME_ROOT_SET_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "base/mutex.h"
#include "base/spinlock.h"
#include "gc/gc.h"
#include "gcheap/heap.h"

namespace gcheap::internal {

class EphemeronTable;

class RootSet {
 public:
  RootSet() = default;
  ~RootSet();  // frees the handle table (the owner checks it is unused)
  RootSet(const RootSet&) = delete;
  RootSet& operator=(const RootSet&) = delete;

  // Each fails loudly on a null, duplicate or unknown registration.
  void AddSlot(void** slot) ABSL_LOCKS_EXCLUDED(mu_);
  void RemoveSlot(void** slot) ABSL_LOCKS_EXCLUDED(mu_);
  void AddRange(const void* b, const void* e) ABSL_LOCKS_EXCLUDED(mu_);
  void RemoveRange(const void* b, const void* e) ABSL_LOCKS_EXCLUDED(mu_);
  // Replaces the static-data ranges with the loaded objects' writable
  // segments now.
  void AddStaticData() ABSL_LOCKS_EXCLUDED(mu_);
  void AddCallback(Heap::RootCallback cb, void* arg) ABSL_LOCKS_EXCLUDED(mu_);
  void RemoveCallback(Heap::RootCallback cb, void* arg)
      ABSL_LOCKS_EXCLUDED(mu_);

  void AddWeakCallback(Heap::WeakCallback cb, void* arg)
      ABSL_LOCKS_EXCLUDED(mu_);
  void RemoveWeakCallback(Heap::WeakCallback cb, void* arg)
      ABSL_LOCKS_EXCLUDED(mu_);
  void RunWeakCallbacks(WeakProcessor& weak) ABSL_LOCKS_EXCLUDED(mu_);

  // The heap's ephemeron tables (runtime/weak_map.h), and the collector's
  // hook: greys the values of entries whose key is marked.
  void AddEphemerons(EphemeronTable* t) ABSL_LOCKS_EXCLUDED(mu_);
  void RemoveEphemerons(EphemeronTable* t) ABSL_LOCKS_EXCLUDED(mu_);
  bool MarkEphemerons(Marker& m) ABSL_LOCKS_EXCLUDED(mu_);
  // Every ephemeron table's entries (key, value), for heap walks.
  std::vector<std::pair<uintptr_t, uint64_t>> EphemeronEntries()
      ABSL_LOCKS_EXCLUDED(mu_);

  // A Persistent's slot, holding value; FreePersistent gives it back.
  void** NewPersistent(void* value) ABSL_LOCKS_EXCLUDED(persistent_lock_);
  void FreePersistent(void** slot) ABSL_LOCKS_EXCLUDED(persistent_lock_);
  size_t persistents_live() ABSL_LOCKS_EXCLUDED(persistent_lock_);
  // The handle table's memory (MemStats::other_sys).
  size_t persistent_bytes() ABSL_LOCKS_EXCLUDED(persistent_lock_);

  // fork() (runtime/fork.cc): ForkLock takes mu_ and ForkLockHandles the
  // handle table's spin lock (after every mutex of the heap); the Unlock
  // calls release them, in the parent and the child.
  void ForkLock() ABSL_EXCLUSIVE_LOCK_FUNCTION(mu_) { mu_.LockForFork(); }
  void ForkUnlock() ABSL_UNLOCK_FUNCTION(mu_) { mu_.UnlockForFork(); }
  void ForkLockHandles() ABSL_EXCLUSIVE_LOCK_FUNCTION(persistent_lock_) {
    persistent_lock_.Lock();
  }
  void ForkUnlockHandles() ABSL_UNLOCK_FUNCTION(persistent_lock_) {
    persistent_lock_.Unlock();
  }

  // With the world stopped: greys every root, adding the bytes of slots
  // and ranges scanned to rb->globals.
  void Mark(Marker& m, CollectorEnv::RootBytes* rb)
      ABSL_LOCKS_EXCLUDED(mu_, persistent_lock_);

 private:
  static constexpr size_t kPersistentChunk = 1024;
  struct Range {
    const void* begin;
    const void* end;
  };
  // A (function, argument) pair the program registered.
  template <class Fn>
  struct Registered {
    Fn fn;
    void* arg;
  };
  // Adds or removes (fn, arg), failing loudly, with messages that start
  // with `what`, on a null fn, a pair already there or one never added.
  template <class Fn>
  static void AddTo(std::vector<Registered<Fn>>* list, Fn fn, void* arg,
                    const char* what);
  template <class Fn>
  static void RemoveFrom(std::vector<Registered<Fn>>* list, Fn fn, void* arg,
                         const char* what);

  Mutex mu_{LockRank::kRoots};
  std::vector<void**> slots_ ABSL_GUARDED_BY(mu_);
  std::vector<Range> ranges_ ABSL_GUARDED_BY(mu_);
  std::vector<Range> static_ranges_ ABSL_GUARDED_BY(mu_);
  std::vector<Registered<Heap::RootCallback>> callbacks_ ABSL_GUARDED_BY(mu_);
  std::vector<EphemeronTable*> ephemerons_ ABSL_GUARDED_BY(mu_);
  std::vector<Registered<Heap::WeakCallback>> weak_callbacks_
      ABSL_GUARDED_BY(mu_);

  SpinLock persistent_lock_;
  std::vector<void**> persistent_chunks_ ABSL_GUARDED_BY(persistent_lock_);
  uintptr_t persistent_free_ ABSL_GUARDED_BY(persistent_lock_) = 0;
  size_t persistent_live_ ABSL_GUARDED_BY(persistent_lock_) = 0;
};

}  // namespace gcheap::internal

#endif  // GCHEAP_RUNTIME_ROOT_SET_H_
