// Heap: one garbage-collected heap. Public API: "gcheap/heap.h".
//
// A process may hold any number of independent heaps. Each has its own
// allocator, collector, Ps, roots and handles; objects never cross heaps.
//
//   gcheap::Heap heap({.max_procs = 4, .gc_percent = 100});
//   gcheap::Mutator& m = heap.AttachCurrentThread();
//   ...
//   heap.Collect();                      // a full cycle, like runtime.GC()
//   gcheap::MemStats s = heap.ReadMemStats();
//   heap.DetachCurrentThread();
#ifndef GCHEAP_HEAP_H_
#define GCHEAP_HEAP_H_

#include <cstddef>
#include <cstdint>
#include <string>

#include "gcheap/finalizers.h"
#include "gcheap/internal/config.h"
#include "gcheap/memstats.h"
#include "gcheap/mutator.h"
#include "gcheap/options.h"
#include "gcheap/retention.h"
#include "gcheap/type.h"

namespace gcheap {

namespace internal {
class HeapImpl;
struct HeapAccess;
}  // namespace internal

// What a weak callback (Heap::AddWeakCallback) asks during a cycle.
class GCHEAP_EXPORT WeakProcessor {
 public:
  // Whether the object containing p survives this cycle: true for a
  // marked object, false for one about to be freed; true for null and for
  // any address that is not in an object of this heap (not the
  // collector's to free). Valid only inside the callback.
  bool IsLive(const void* p) const;

 private:
  friend class internal::HeapImpl;
  explicit WeakProcessor(const internal::HeapImpl* heap) : heap_(heap) {}
  WeakProcessor(const WeakProcessor&) = delete;
  WeakProcessor& operator=(const WeakProcessor&) = delete;
  const internal::HeapImpl* const heap_;
};

// Called with the message of a fatal error (the line written to stderr,
// without its newline) before the process aborts: for the program's own
// crash report. Process-wide; nullptr removes it. It runs on the failing
// thread, possibly with heap locks held, so it must not call into any
// heap; if it returns, the process aborts. (The C API's
// gch_set_error_handler.)
using FatalErrorHandler = void (*)(const char* message, void* arg);
GCHEAP_EXPORT void SetFatalErrorHandler(FatalErrorHandler fn, void* arg);

class GCHEAP_EXPORT Heap {
 public:
  explicit Heap(const Options& options = Options());
  // Every thread must have detached (a clear error names how many have
  // not); every Persistent must have been destroyed.
  ~Heap();
  Heap(const Heap&) = delete;
  Heap& operator=(const Heap&) = delete;

  // Attaches the calling thread and binds it to a P, waiting for one if all
  // max_procs Ps are busy. A thread may be attached to one heap at a time.
  Mutator& AttachCurrentThread();
  // Detaches the calling thread; its Mutator is gone. The thread's stack
  // stops being a root.
  void DetachCurrentThread();
  // The calling thread's Mutator (on any heap), or null if unattached.
  static Mutator* CurrentMutator();

  // Runs a full collection and returns when it is done (like runtime.GC).
  // May be called from any thread, attached or not.
  void Collect();
  // Collects, then returns every free page to the OS (like
  // debug.FreeOSMemory).
  void FreeOSMemory();
  // Sets gc_percent (GOGC) and returns the previous value; negative turns
  // automatic collection off.
  int SetGCPercent(int percent);
  // Sets the soft memory limit (Options::soft_memory_limit; 0: none) and
  // returns the previous one, as Go's debug.SetMemoryLimit does; the heap
  // goal follows at once. options() keeps the value the heap was made with.
  size_t SetMemoryLimit(size_t bytes);
  // A consistent snapshot of the heap's statistics (stops the world
  // briefly, as Go's ReadMemStats does).
  MemStats ReadMemStats();
  // The allocation paths' counts (gcheap/memstats.h), if
  // Options::alloc_path_counters is on.
  AllocPathStats ReadAllocPathStats();

  // Heap profiles (Options::mem_profile_rate; docs/debugging.md). Sets the
  // sampling rate in bytes (0: off) and returns the previous one.
  int64_t SetMemProfileRate(int64_t bytes);
  // The sampled allocations so far as a pprof heap profile (gzipped
  // profile.proto: alloc_objects, alloc_space, inuse_objects,
  // inuse_space), read by `go tool pprof`. "In use" counts what the
  // sweeper has not freed yet: call Collect() first for what is live, as
  // Go's profile reflects the last completed collection. Any thread.
  std::string HeapProfile();
  // The same, written to a file: false (with the reason on stderr) if it
  // cannot be written.
  bool WriteHeapProfile(const char* path);

  // Why an object is alive (docs/debugging.md): a shortest chain of
  // references from a root to `object` (which must be the start of an
  // object of this heap, else a clear error), with each root's kind and
  // each link's type and field offset. Walks the heap with the world
  // stopped (a pause as long as the walk). The calling thread's own
  // references to `object` (the argument it passed, in its registers or
  // frames) are not counted as a reason, and its stack is searched last
  // (it often holds objects of the path it asks about): a path from
  // another root is preferred. Any thread.
  RetentionPath FindRetentionPath(const void* object);
  // Every object reachable from the roots, with its type and size, every
  // reference between them (with field offsets) and every root, as text
  // (the format is in docs/debugging.md); tools/heap_dominators.py turns
  // it into what retains the most bytes. World stopped for the walk.
  // False (with the reason on stderr) if the file cannot be written.
  bool WriteHeapDump(const char* path);

  // Roots outside the heap. A slot holds one pointer (interior pointers
  // allowed); a range is scanned word by word, conservatively. Registering
  // the same slot or range twice, or removing one never added, is an error.
  template <class T>
  void AddRoot(T** slot) {
    AddRootSlot(reinterpret_cast<void**>(slot));
  }
  template <class T>
  void RemoveRoot(T** slot) {
    RemoveRootSlot(reinterpret_cast<void**>(slot));
  }
  void AddRootRange(const void* begin, const void* end);
  // Boehm-style ports in one call: makes the static data (the writable
  // segments: .data, .bss) of the program and of every shared library
  // loaded now roots, scanned conservatively each cycle. Calling it again
  // replaces the set (after dlopen or dlclose). Options::scan_static_data
  // calls it when the heap is made.
  void AddStaticDataRoots();
  void RemoveRootRange(const void* begin, const void* end);
  // A callback that reports roots each cycle (e.g. a VM's value stack).
  using RootCallback = void (*)(Visitor& visitor, void* arg);
  void AddRootCallback(RootCallback callback, void* arg);
  void RemoveRootCallback(RootCallback callback, void* arg);

  // Weak processing for tables the program keeps itself (a VM's string
  // table: clox's tableRemoveWhite). Each cycle, once marking is complete
  // and before anything is freed, with the world stopped, callback(weak,
  // arg) runs on the collecting thread; weak.IsLive(p) says whether the
  // object at p survives the cycle. The callback drops the dead entries
  // from its tables with plain stores (marking is over: no barrier). It
  // must not allocate, use a Mutator or call into the heap other than
  // through `weak`; it may run on any thread, attached or not. Registering
  // the same callback and arg twice, or removing one never added, is an
  // error.
  using WeakCallback = void (*)(WeakProcessor& weak, void* arg);
  void AddWeakCallback(WeakCallback callback, void* arg);
  void RemoveWeakCallback(WeakCallback callback, void* arg);

  // Finalizers and cleanups (finalizers.h, docs/finalizers.md). `object`
  // must be the start of an object of this heap, as New returned it, and
  // the calling thread an attached mutator of this heap holding its P; a
  // clear error otherwise.
  //
  // Sets the object's finalizer: fn(object, arg) runs once the object is
  // found unreachable (see finalizers.h). An object has at most one: setting
  // a second is an error; fn == nullptr removes the current one. arg is
  // kept alive until fn has run; it must not reach the object.
  void SetFinalizer(void* object, FinalizerFn fn, void* arg = nullptr);
  // Adds a cleanup: fn(arg) runs after the object has been freed. arg is
  // kept alive until then and must not reach the object (if arg is the
  // object itself, that is an error), or the object never dies.
  CleanupHandle AddCleanup(void* object, CleanupFn fn, void* arg = nullptr);
  // Runs the queued finalizers and cleanups on the calling thread, which
  // must be an attached mutator of this heap, until the queue is empty;
  // returns how many ran. The only way they run in
  // FinalizerMode::kEmbedderDrains; allowed in either mode. In
  // kEmbedderDrains it also frees the plain objects Pools have dropped.
  size_t RunFinalizers();

  // The start of the object containing p, as New returned it, or null if
  // p does not point into an allocated object of this heap.
  void* ObjectStart(const void* p) const;
  bool Contains(const void* p) const { return ObjectStart(p) != nullptr; }

  const Options& options() const;

 private:
  friend struct internal::HeapAccess;
  void AddRootSlot(void** slot);
  void RemoveRootSlot(void** slot);

  internal::HeapImpl* impl_;
};

}  // namespace gcheap

#endif  // GCHEAP_HEAP_H_
