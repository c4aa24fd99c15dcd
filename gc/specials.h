// Specials: the records the collector keeps beside some objects, as Go's
// span specials: a finalizer, a weak handle, cleanups. See gc/gc.h for the
// map and docs/finalizers.md for the user's view.
//
// Where records live: a per-heap table, sharded by span (64 shards, each a
// SpinLock over a map MSpan* -> SpanRecord, and in it a map slot ->
// ObjectRecord). A span that has records carries MSpan::has_specials, so
// the sweeper calls BeforeSweep (through MHeap's specials hook) before
// freeing its dead objects. Records exist only for allocated objects: the
// hook removes those of dead objects before the span's bits are swept, so
// a span that goes back to the page heap has none left.
//
// The cycle, for an object with records:
//
//   mark     MarkRoots (world stopped): a finalizer's referents are marked:
//            the object is scanned, but not marked itself, so it is found
//            dead if nothing else reaches it while everything it reaches
//            survives; the finalizer's and cleanups' args are greyed; the
//            queued calls' objects and args are roots until they have run.
//   sweep    BeforeSweep(span): for each record of an unmarked object:
//            - a finalizer: the object is re-marked (it and its referents
//              survive one more cycle); its weak handle is cleared; the
//              finalizer is moved to the call queue; cleanups stay.
//            - else the object is truly dead: its weak handle is cleared,
//              its cleanups are queued, its profile bucket (a sampled
//              allocation) counts a free, the record goes.
//            Nothing user-supplied runs in the hook: calls are queued, and
//            run later on an attached thread (runtime/finalizers.cc).
//
// So weak handles are cleared before the finalizer can run (a resurrected
// object never comes back through a weak reference), a chain A -> B of
// finalizable objects runs A first and B a cycle later, and a cycle of
// finalizable objects is never collected (each keeps the other marked).
//
// Weak handles: one WeakCell per object, created on first use and shared by
// every weak reference to it; refcounted (the table's reference, dropped
// when the object dies, plus one per user handle). Between mark termination
// and the sweep of the target's span the cell may still hold a dead object;
// WeakGet therefore trusts the cell only once the span's hook has run this
// cycle (SpanRecord::hook_gen == sweepgen); before that, the span's mark
// bits are intact (the hook, which precedes the bitmap swap, needs the
// shard lock WeakGet holds) and decide. WeakGet never blocks on a sweeper.
//
// Locking: shard locks are leaves except that BeforeSweep takes one while
// the sweeper owns the span; the call queue's mutex is taken after a shard
// lock is released, never inside one. Sweeping runs on any thread, on
// different spans at once.
#ifndef GCHEAP_GC_SPECIALS_H_
#define GCHEAP_GC_SPECIALS_H_

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "alloc/mheap.h"
#include "alloc/mspan.h"
#include "base/mutex.h"
#include "base/spinlock.h"
#include "gc/mark.h"
#include "gc/mem_profile.h"

namespace gcheap::internal {

using FinalizerFn = void (*)(void* object, void* arg);
using CleanupFn = void (*)(void* arg);

struct SpanRecord;

// The weak handle of one object.
struct WeakCell {
  std::atomic<void*> target{nullptr};  // the object, null once it died
  std::atomic<uint32_t> refs{1};       // the table's + one per user handle
  // Valid while target is not null (read under the shard lock).
  MSpan* span = nullptr;
  uintptr_t slot = 0;
  SpanRecord* record = nullptr;
  uint32_t shard = 0;
};

// A call waiting to run: a finalizer fn(object, arg), or a cleanup or an
// internal callback fn(arg). object and arg are roots until it has run.
struct QueuedCall {
  FinalizerFn finalizer = nullptr;
  CleanupFn call = nullptr;
  void* object = nullptr;
  void* arg = nullptr;
  // The heap's own work (freeing objects a Pool dropped): not counted by
  // RunFinalizers, and still run when the heap is destroyed.
  bool internal = false;
};

// The finalizer queue. Thread-safe.
class CallQueue {
 public:
  void Push(const QueuedCall& c);
  void PushAll(std::vector<QueuedCall>* calls);  // empties *calls
  bool TryPop(QueuedCall* out);
  // Waits until a call is queued (true) or Shutdown was called (false).
  bool Wait();
  void Shutdown();
  // Greys every queued call's object and arg.
  void MarkRoots(Marker& m);
  size_t size();
  // fork() (runtime/fork.cc): ForkLock takes mu_, ForkUnlock releases it
  // (the parent); ForkChild, in the child, where the thread that waited
  // for calls is gone, starts the condition variable afresh and releases
  // mu_. Queued calls stay queued.
  void ForkLock() ABSL_EXCLUSIVE_LOCK_FUNCTION(mu_) { mu_.LockForFork(); }
  void ForkUnlock() ABSL_UNLOCK_FUNCTION(mu_) { mu_.UnlockForFork(); }
  void ForkChild() ABSL_UNLOCK_FUNCTION(mu_) {
    cv_.ResetAfterFork();
    mu_.UnlockForFork();
  }

 private:
  Mutex mu_{LockRank::kCallQueue};
  CondVar cv_;
  std::deque<QueuedCall> calls_ ABSL_GUARDED_BY(mu_);
  bool shutdown_ ABSL_GUARDED_BY(mu_) = false;
};

struct CleanupRecord {
  uint64_t id;
  CleanupFn fn;
  void* arg;
};

struct ObjectRecord {
  void* object = nullptr;  // as the user sees it (after any header)
  FinalizerFn finalizer = nullptr;
  void* finalizer_arg = nullptr;
  WeakCell* weak = nullptr;
  std::vector<CleanupRecord> cleanups;
  // A sampled allocation's profile bucket: counts a free when the object
  // truly dies (gc/mem_profile.h).
  MemProfileBucket* profile = nullptr;
  bool empty() const {
    return finalizer == nullptr && weak == nullptr && cleanups.empty() &&
           profile == nullptr;
  }
};

struct SpanRecord {
  // The heap's sweepgen when this span's hook last ran (or when the record
  // was made): equal to the current sweepgen once the span's dead objects
  // have been dealt with this cycle.
  uint32_t hook_gen = 0;
  std::unordered_map<uintptr_t, ObjectRecord> objects;  // by slot
};

class Specials : public SweepHook {
 public:
  // Installs itself as heap's specials hook.
  explicit Specials(MHeap* heap);
  // Uninstalls the hook; clears every weak cell. Pending calls are left in
  // the queue for the owner to run or drop.
  ~Specials() override;
  Specials(const Specials&) = delete;
  Specials& operator=(const Specials&) = delete;

  // The callers have checked that `object` starts the live object in slot
  // `slot` of span s and that they hold it (it cannot die meanwhile).
  // False if the object already has a finalizer.
  bool SetFinalizer(MSpan* s, uintptr_t slot, void* object, FinalizerFn fn,
                    void* arg);
  // False if it had none.
  bool ClearFinalizer(MSpan* s, uintptr_t slot);
  // Returns the cleanup's id (never 0).
  uint64_t AddCleanup(MSpan* s, uintptr_t slot, void* object, CleanupFn fn,
                      void* arg);
  // True if the cleanup was still attached and now is not; false if it
  // was queued already, cancelled, or the object is gone.
  bool CancelCleanup(MSpan* s, uintptr_t slot, uint64_t id);
  // Marks a newly allocated object as a profiling sample of bucket b.
  void SetProfile(MSpan* s, uintptr_t slot, void* object, MemProfileBucket* b);
  // The object's weak cell, made on first use, with one reference added
  // for the caller (drop it with ReleaseWeakCell).
  WeakCell* WeakCellFor(MSpan* s, uintptr_t slot, void* object);
  static void RetainWeakCell(WeakCell* c) {
    c->refs.fetch_add(1, std::memory_order_relaxed);
  }
  static void ReleaseWeakCell(WeakCell* c);
  // The cell's object if it is alive, else null. The caller holds a P (so
  // no cycle ends meanwhile) and shades the result if marking is on.
  void* WeakGet(WeakCell* c);

  // With the world stopped, during marking (see the file comment).
  void MarkRoots(Marker& m);
  // SweepHook: deals with the records of the span's dead objects.
  void BeforeSweep(MSpan* s) override;

  CallQueue& queue() { return queue_; }
  // fork() (runtime/fork.cc), with the world stopped and the sweepers kept
  // out: takes every shard's lock; ForkUnlock releases them (the parent and
  // the child).
  void ForkLock() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  void ForkUnlock() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  // Objects with records, for tests.
  size_t CountObjects();

 private:
  static constexpr int kShards = 64;
  struct alignas(64) Shard {
    SpinLock lock;
    std::unordered_map<MSpan*, SpanRecord> spans ABSL_GUARDED_BY(lock);
  };
  static uint32_t ShardOf(const MSpan* s) {
    uint64_t h = reinterpret_cast<uintptr_t>(s) * 0x9E3779B97F4A7C15ull;
    return static_cast<uint32_t>(h >> 58);  // kShards == 64
  }
  // The record of the object in `slot`, made if missing. Sets
  // has_specials on the span.
  ObjectRecord& RecordFor(Shard& sh, MSpan* s, uintptr_t slot, void* object)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(sh.lock);
  // Drops an object's record if empty, and the span's if that empties it.
  void MaybeErase(Shard& sh, MSpan* s, uintptr_t slot)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(sh.lock);
  static void ClearWeak(ObjectRecord& o);

  MHeap* const heap_;
  Shard shards_[kShards];
  std::atomic<uint64_t> next_cleanup_id_{1};
  CallQueue queue_;
};

}  // namespace gcheap::internal

#endif  // GCHEAP_GC_SPECIALS_H_
