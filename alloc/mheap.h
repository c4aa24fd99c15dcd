// MHeap: the page heap under the mcentrals. See alloc/malloc.h for the map.
//
// The mheap owns everything of one heap's allocator: the arenas and their
// address -> span map, the page allocator, the MSpan and bitmap metadata,
// the 136 mcentrals, the sweep generation, the counters, and the
// scavenger that hands free pages back to the OS.
//
// Memory grows in two steps: an arena (64 MiB, or a multiple for a huge
// object) is reserved without backing, then committed 4 MiB at a time as
// the page allocator needs pages; committed pages start out "scavenged"
// (known zero, not resident). The scavenger releases free pages with
// MADV_DONTNEED, making them scavenged again; spans built only from
// scavenged pages are known zero and never cleared.
//
// Locking (see docs/locking.md): lock_ (the heap lock) guards the page
// allocator, arena growth, the metadata allocators and the page counters.
// It is taken after an mcentral lock is released, never inside one; nothing
// is taken inside it.
#ifndef GCHEAP_ALLOC_MHEAP_H_
#define GCHEAP_ALLOC_MHEAP_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/function_ref.h"
#include "alloc/arena.h"
#include "alloc/heap_stats.h"
#include "alloc/mcentral.h"
#include "alloc/mspan.h"
#include "alloc/page_alloc.h"
#include "alloc/size_classes.h"
#include "base/fixalloc.h"
#include "base/spinlock.h"

namespace gcheap::internal {

class MCache;
class Scavenger;

// Called by the sweeper, with the span claimed, before the objects of a span
// with has_destructors set are freed: the collector runs destructors of the
// allocated, unmarked objects. Implemented above the allocator (gc/). The
// specials hook (finalizers, weak handles, cleanups) has the same shape; it
// runs first, for spans with has_specials set, and may re-mark objects.
class SweepHook {
 public:
  virtual ~SweepHook() = default;
  virtual void BeforeSweep(MSpan* s) = 0;
};

struct MHeapOptions {
  // Hard cap on memory obtained from the OS for the heap (HeapSys), in
  // bytes; 0 means no cap. An allocation that would pass it fails (returns
  // null) and leaves the heap intact.
  size_t memory_limit = 0;
  // Run the background scavenger thread.
  bool background_scavenger = true;
  // Share of one CPU the background scavenger may use.
  double scavenger_cpu_fraction = 0.01;
  // The scavenger's thread starts with the collector's first cycle
  // (Scavenger::StartLater), not with the heap: a program that never
  // collects never starts it.
  bool lazy_scavenger = false;
  // Fill every object the sweeper frees with kFreedByte (0xA5): a program
  // that keeps using a freed object reads garbage at once (GC stress mode).
  bool poison_freed = false;
  // Count, per size class, what each allocation path did (AllocPathCounters):
  // off by default; every count is on a slow path.
  bool path_counters = false;
  // Keep the Type of every header-less small object (MSpan::slot_types):
  // scan spans are made mixed when cached, so every typed allocation calls
  // out to record it. For debugging (names in heap dumps); slow.
  bool record_types = false;
  // Memory committed once the heap holds this many bytes (HeapSys) asks
  // for transparent huge pages (OsAdviseHugePages); 0: never. A small
  // heap stays on 4 KiB pages, where its footprint is what it touches.
  size_t huge_pages_above = 0;
};

constexpr unsigned char kFreedByte = 0xA5;

class MHeap {
 public:
  explicit MHeap(const MHeapOptions& opts = {});
  ~MHeap();  // every mcache must have been freed
  MHeap(const MHeap&) = delete;
  MHeap& operator=(const MHeap&) = delete;

  // --- mcaches (one per P).
  MCache* NewMCache();
  void FreeMCache(MCache* c);  // releases its spans and flushes its stats

  // --- spans.
  // A new in-use span of npages pages for class spc, its bitmaps cleared,
  // registered in the address map and published. needzero tells whether its
  // memory may hold old data. Null if the limit or the OS refuses.
  MSpan* AllocSpan(size_t npages, SpanClass spc);
  // Returns a span's pages to the page allocator; the span must be owned by
  // the caller and in no list.
  void FreeSpan(MSpan* s);
  // A large object of `size` bytes (> kMaxSmallSize): its own zeroed span,
  // put in the class-0 mcentral's full-swept set. Null on overflow or out
  // of memory.
  MSpan* AllocLarge(size_t size, bool noscan);
  // The largest object this heap can ever hold, in bytes: the smallest of
  // the page allocator's largest span (16 TiB), the machine's physical
  // memory and memory_limit. A larger request cannot be served by any
  // collection, so the allocator refuses it at once instead of reserving
  // address space and walking page summaries for it. *why names the bound.
  size_t max_object_bytes(const char** why = nullptr) const {
    if (why != nullptr) *why = max_object_why_;
    return max_object_bytes_;
  }

  MCentral& central(SpanClass spc) { return central_[spc.raw()]; }

  // Allocate black: set by the collector, with the world stopped, for a
  // concurrent mark (after every mcache has handed its spans back) and
  // cleared at mark termination. An mcache that takes a span meanwhile
  // marks its free slots (MSpan::MarkFreeSlots); AllocLarge marks the
  // object it returns.
  bool allocate_black() const {
    return allocate_black_.load(std::memory_order_relaxed);
  }
  void SetAllocateBlack(bool on) {
    allocate_black_.store(on, std::memory_order_relaxed);
  }

  // --- sweeping (see mcentral.h for the sweepgen table).
  uint32_t sweepgen() const {
    return sweepgen_.load(std::memory_order_acquire);
  }
  // Starts a new sweep cycle: sweepgen += 2, so every span becomes unswept.
  // The caller (the collector, with the world stopped) has finished marking.
  void BeginSweepCycle();
  // Sweeps a span claimed at sweepgen sg-1: frees unmarked objects, then
  // (unless preserve) publishes sweepgen = sg and files the span in its
  // mcentral or frees it if empty. Returns true if the span was freed.
  // (*nfreed, if given: the objects it freed.)
  bool SweepSpan(MSpan* s, bool preserve, int* nfreed = nullptr);
  // Sweeps one unswept span of any class; returns its pages, 0 if none left.
  // (Stepped cycles: the swept span's base in *swept and the objects it
  // freed in *freed, if given.)
  size_t SweepOne(uintptr_t* swept = nullptr, int* freed = nullptr);
  // Sweeps until no unswept span remains (spans held by mcaches excepted).
  void SweepAll();
  // Sweeps unswept spans until npages pages have been freed or none is
  // left; returns the pages freed. AllocSpan calls it before growing.
  size_t Reclaim(size_t npages);

  // --- addresses.
  MSpan* SpanOf(uintptr_t addr) const { return arena_map_.SpanOf(addr); }
  // Every run of the page heap, in address order: free runs (span null,
  // with their scavenged pages) and spans. The program must keep the heap
  // still meanwhile (the teaching mode's heap state: a stepped cycle
  // waiting at its gate, one mutator).
  void ForEachRun(absl::FunctionRef<void(uintptr_t base, size_t npages,
                                         MSpan* span, size_t scavenged)>
                      fn);
  // The start of the allocated object containing p (interior pointers
  // resolve to their object), or null for free slots, span tails, free
  // pages and addresses outside this heap. *span_out gets its span.
  // Safe from any thread: sweeps the span first if the current cycle has
  // not (or waits for the thread sweeping it), since a sweep rewrites the
  // bits the answer comes from.
  void* FindObject(const void* p, MSpan** span_out = nullptr);
  // Makes sure the span has been swept in the current sweep cycle.
  void EnsureSwept(MSpan* s);
  // Sets the mark bit of the object containing p. Returns true if this
  // call marked it. CHECK-fails if p is not in an allocated object.
  bool MarkObject(const void* p);

  // --- memory back to the OS.
  // Releases every free page; returns the bytes released.
  size_t ScavengeAll();
  // Releases up to max_bytes of free pages if retained memory is above the
  // scavenge goal; returns the bytes released.
  size_t ScavengeStep(size_t max_bytes);
  // The scavenger keeps retained memory (HeapSys - HeapReleased) near
  // max(goal, 110% of HeapInuse). The collector sets goal from its heap goal.
  void SetScavengeGoal(size_t retained_bytes) {
    scavenge_goal_.store(retained_bytes, std::memory_order_relaxed);
  }
  Scavenger* scavenger() { return scavenger_.get(); }

  // --- counters.
  AllocCounters& counters() { return counters_; }
  bool record_types() const { return opts_.record_types; }
  // The allocation-path counters, or null when they are off.
  AllocPathCounters* path_counters() {
    return opts_.path_counters ? &path_counters_ : nullptr;
  }
  // Allocation profiling (MCache's sampler): on average one sample per
  // this many bytes allocated; 0: off. Read on slow paths only.
  int64_t mem_profile_rate() const {
    return mem_profile_rate_.load(std::memory_order_relaxed);
  }
  void set_mem_profile_rate(int64_t bytes) {
    mem_profile_rate_.store(bytes < 0 ? 0 : bytes, std::memory_order_relaxed);
  }
  // Times the heap committed memory from the OS to grow (all causes).
  uint64_t os_commits() const {
    return os_commits_.load(std::memory_order_relaxed);
  }
  // Bytes in cached spans plus allocated large objects; the pacer's input.
  // Reset by the collector at the end of marking.
  std::atomic<int64_t>& heap_live() { return heap_live_; }
  // Counters and memory states. Exact once every mcache has flushed.
  AllocStatsSnapshot ReadStats();

  const MHeapOptions& options() const { return opts_; }
  // Installs the hook that runs destructors at sweep (once, at startup).
  void SetSweepHook(SweepHook* hook) { sweep_hook_ = hook; }
  // Installs the hook that handles special records at sweep (once).
  void SetSpecialsHook(SweepHook* hook) { specials_hook_ = hook; }
  // fork() (runtime/fork.cc), with the world stopped and the sweepers
  // kept out: ForkLock takes every mcentral's lock, then the heap lock, so
  // no other thread holds one when the process forks; ForkUnlock releases
  // them, in the parent and in the child.
  void ForkLock() ABSL_NO_THREAD_SAFETY_ANALYSIS;
  void ForkUnlock() ABSL_NO_THREAD_SAFETY_ANALYSIS;

  // An empty span that every mcache slot points at before its first refill.
  MSpan* empty_span() { return &empty_span_; }

 private:
  MSpan* NewSpanLocked(uintptr_t base, size_t npages, size_t scavenged,
                       SpanClass spc) ABSL_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  bool GrowLocked(size_t npages) ABSL_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  void MaybeAdviseHugePages(void* at, size_t bytes)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(lock_);
  FixAlloc* BitsAllocFor(size_t words);
  FixAlloc* TypeBitsAllocFor(size_t bitmap_words);

 public:
  // Type bits for a small scan span whose layout turns mixed (see
  // MSpan::BecomeMixed); freed with the span. CHECK-fails if the OS refuses
  // the metadata.
  uint64_t* AllocTypeBits(MSpan* s);
  // MSpan::slot_types for a small scan span (record_types), zeroed.
  const void** AllocSlotTypes();

 private:
  void RecordFrees(MSpan* s, int nfreed);
  // Fills and/or ASan-poisons the slots a sweep is about to free.
  void PoisonFreed(MSpan* s);

  const MHeapOptions opts_;
  size_t max_object_bytes_;     // see max_object_bytes()
  const char* max_object_why_;  // which bound set it
  ArenaMap arena_map_;
  MCentral central_[kNumSpanClasses];
  std::atomic<uint32_t> sweepgen_{0};
  std::atomic<bool> allocate_black_{false};
  std::atomic<int64_t> heap_live_{0};
  std::atomic<size_t> scavenge_goal_{0};
  std::atomic<int> next_sweep_class_{0};
  AllocCounters counters_;
  MSpan empty_span_;
  SweepHook* sweep_hook_ = nullptr;
  SweepHook* specials_hook_ = nullptr;

  SpinLock lock_;
  PageAlloc pages_ ABSL_GUARDED_BY(lock_);
  FixAlloc span_alloc_ ABSL_GUARDED_BY(lock_);
  FixAlloc mcache_alloc_ ABSL_GUARDED_BY(lock_);
  // Bitmap triples (alloc, mark, scan bits) of 1, 2, 4, 8 and 16 words
  // per bitmap.
  FixAlloc bits_alloc_[5] ABSL_GUARDED_BY(lock_) = {
      FixAlloc(24), FixAlloc(48), FixAlloc(96), FixAlloc(192), FixAlloc(384)};
  // Type bits of small scan spans: 16 words of heap bits plus 8 or 16
  // words of header bits.
  FixAlloc typebits_alloc_[2] ABSL_GUARDED_BY(lock_) = {
      FixAlloc((MSpan::kHeapBitsWords + 8) * 8),
      FixAlloc((MSpan::kHeapBitsWords + 16) * 8)};
  // MSpan::slot_types: a pointer per slot, at most 1024 slots (8-byte
  // objects in one page).
  FixAlloc slot_types_alloc_ ABSL_GUARDED_BY(lock_){1024 * sizeof(void*)};
  uintptr_t cur_arena_ ABSL_GUARDED_BY(lock_) = 0;  // committed up to
  uintptr_t cur_arena_end_ ABSL_GUARDED_BY(lock_) = 0;
  size_t heap_sys_ ABSL_GUARDED_BY(lock_) = 0;
  std::atomic<uint64_t> os_commits_{0};
  std::atomic<int64_t> mem_profile_rate_{0};
  AllocPathCounters path_counters_;
  size_t heap_inuse_pages_ ABSL_GUARDED_BY(lock_) = 0;
  size_t heap_reserved_ ABSL_GUARDED_BY(lock_) = 0;
  size_t mcaches_live_ ABSL_GUARDED_BY(lock_) = 0;
  struct Reservation {
    uintptr_t base;
    size_t bytes;
  };
  Reservation* reservations_ ABSL_GUARDED_BY(lock_) = nullptr;
  size_t nreservations_ ABSL_GUARDED_BY(lock_) = 0;
  size_t reservations_cap_ ABSL_GUARDED_BY(lock_) = 0;

  std::unique_ptr<Scavenger> scavenger_;
};

}  // namespace gcheap::internal

#endif  // GCHEAP_ALLOC_MHEAP_H_
