// The spin lock (SpinLock, SpinLockHolder, SpinPause) lives with the public
// headers, which WeakSet and WeakValueMap need it in:
// gcheap/internal/spin_lock.h.
#ifndef GCHEAP_BASE_SPINLOCK_H_
#define GCHEAP_BASE_SPINLOCK_H_

#include "gcheap/internal/spin_lock.h"  // IWYU pragma: export

#endif  // GCHEAP_BASE_SPINLOCK_H_
