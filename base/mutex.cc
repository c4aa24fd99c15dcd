// The per-thread lock counts the stop signal's handler reads, and the
// lock-rank check of debug builds (see base/mutex.h): each thread keeps the
// locks it holds, and a Lock below or at the rank of one of them fails.
#include "base/mutex.h"

namespace gcheap::internal {

constinit thread_local int tls_locks_held = 0;
constinit thread_local int tls_lock_waits = 0;

namespace {

struct Held {
  const void* mu;
  LockRank rank;
};
constexpr int kMaxHeld = 16;
thread_local Held held[kMaxHeld];
thread_local int nheld = 0;

}  // namespace

void NoteLockAcquire(const void* mu, LockRank rank) {
  for (int i = 0; i < nheld; i++) {
    if (held[i].rank >= rank) {
      GCHEAP_FATAL(
          "lock order: taking a lock of rank %d while holding one of rank %d "
          "(docs/locking.md lists the order)",
          static_cast<int>(rank), static_cast<int>(held[i].rank));
    }
  }
  GCHEAP_CHECK(nheld < kMaxHeld, "more than %d locks held", kMaxHeld);
  held[nheld++] = Held{mu, rank};
}

void NoteLockRelease(const void* mu) {
  for (int i = nheld - 1; i >= 0; i--) {
    if (held[i].mu == mu) {
      held[i] = held[--nheld];
      return;
    }
  }
  GCHEAP_FATAL("unlocking a lock this thread does not hold");
}

}  // namespace gcheap::internal
