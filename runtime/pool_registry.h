// PoolRegistry: every Pool of one heap (include/gcheap/pool.h), for the two
// moments the collector needs them, both with the world stopped:
//   - sweep termination: each pool's victim cache is dropped and its
//     current contents become the victim (Rotate), as Go's poolCleanup;
//     plain objects dropped are handed to their deleter on the finalizer
//     path, never inside the collection;
//   - mark: heap objects a pool holds are roots (Mark).
// Implemented in runtime/pool.cc, beside the pools.
//
// Locks: mu_ (rank kPools) guards the list.
#ifndef GCHEAP_RUNTIME_POOL_REGISTRY_H_
#define GCHEAP_RUNTIME_POOL_REGISTRY_H_

#include <cstddef>
#include <vector>

#include "base/mutex.h"
#include "gc/mark.h"
#include "gc/specials.h"

namespace gcheap::internal {

class PoolBase;

class PoolRegistry {
 public:
  void Register(PoolBase* p) ABSL_LOCKS_EXCLUDED(mu_);
  // Fails loudly if p is not registered.
  void Unregister(PoolBase* p) ABSL_LOCKS_EXCLUDED(mu_);
  size_t size() ABSL_LOCKS_EXCLUDED(mu_);
  // Sweep termination: rotates every pool; dropped plain objects go to
  // their deleters through `calls`.
  void Rotate(CallQueue* calls) ABSL_LOCKS_EXCLUDED(mu_);
  // Greys the heap objects every pool holds.
  void Mark(Marker& m) ABSL_LOCKS_EXCLUDED(mu_);
  // fork() (runtime/fork.cc): holds mu_ across the fork.
  void ForkLock() ABSL_EXCLUSIVE_LOCK_FUNCTION(mu_) { mu_.LockForFork(); }
  void ForkUnlock() ABSL_UNLOCK_FUNCTION(mu_) { mu_.UnlockForFork(); }

 private:
  Mutex mu_{LockRank::kPools};
  std::vector<PoolBase*> pools_ ABSL_GUARDED_BY(mu_);
};

}  // namespace gcheap::internal

#endif  // GCHEAP_RUNTIME_POOL_REGISTRY_H_
