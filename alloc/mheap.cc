#include "alloc/mheap.h"

#include <sched.h>
#include <string.h>

#include <new>

#include "alloc/mcache.h"
#include "alloc/scavenger.h"
#include "base/check.h"
#include "base/os_mem.h"
#include "base/sanitizers.h"

namespace gcheap::internal {
namespace {

constexpr size_t kCommitPages = 512;  // commit 4 MiB at a time
#if defined(GCHEAP_ASAN)
constexpr bool kAsan = true;
#else
constexpr bool kAsan = false;
#endif

size_t RoundUp(size_t n, size_t unit) { return (n + unit - 1) / unit * unit; }

}  // namespace

MHeap::MHeap(const MHeapOptions& opts)
    : opts_(opts), span_alloc_(sizeof(MSpan)), mcache_alloc_(sizeof(MCache)) {
  max_object_bytes_ = kPageAllocMaxRegionPages * kPageSize;
  max_object_why_ = "the page allocator's largest span";
  size_t phys = OsPhysicalMemory();
  if (phys != 0 && phys < max_object_bytes_) {
    max_object_bytes_ = phys;
    max_object_why_ = "the machine's physical memory";
  }
  if (opts_.memory_limit != 0 && opts_.memory_limit < max_object_bytes_) {
    max_object_bytes_ = opts_.memory_limit;
    max_object_why_ = "the hard memory limit";
  }
  for (int i = 0; i < kNumSpanClasses; i++) {
    central_[i].Init(this, SpanClass(static_cast<uint8_t>(i)));
  }
  if (opts_.background_scavenger) {
    scavenger_ =
        std::make_unique<Scavenger>(this, opts_.scavenger_cpu_fraction);
    if (opts_.lazy_scavenger) {
      scavenger_->StartLater();
    } else {
      scavenger_->Start();
    }
  }
}

MHeap::~MHeap() {
  if (scavenger_ != nullptr) scavenger_->Stop();
  SpinLockHolder h(&lock_);
  GCHEAP_CHECK(mcaches_live_ == 0,
               "heap destroyed with %zu mcache(s) still in use", mcaches_live_);
  for (size_t i = 0; i < nreservations_; i++) {
    OsUnreserve(reinterpret_cast<void*>(reservations_[i].base),
                reservations_[i].bytes);
  }
  if (reservations_ != nullptr) {
    OsUnreserve(reservations_, reservations_cap_ * sizeof(Reservation));
  }
}

MCache* MHeap::NewMCache() {
  void* mem;
  {
    SpinLockHolder h(&lock_);
    mem = mcache_alloc_.Alloc();
    if (mem == nullptr) return nullptr;
    mcaches_live_++;
  }
  return new (mem) MCache(this);
}

void MHeap::FreeMCache(MCache* c) {
  c->ReleaseAll();
  c->~MCache();
  SpinLockHolder h(&lock_);
  mcache_alloc_.Free(c);
  mcaches_live_--;
}

void MHeap::ForkLock() {
  for (MCentral& c : central_) c.ForkLock();
  lock_.Lock();
}

void MHeap::ForkUnlock() {
  lock_.Unlock();
  for (MCentral& c : central_) c.ForkUnlock();
}

FixAlloc* MHeap::BitsAllocFor(size_t words) {
  int i = 0;
  while ((size_t{1} << i) < words) i++;
  GCHEAP_CHECK(i < 5, "bitmap of %zu words too large", words);
  return &bits_alloc_[i];
}

FixAlloc* MHeap::TypeBitsAllocFor(size_t bitmap_words) {
  // heap bits (one page of words) followed by one header bit per slot.
  return bitmap_words <= 8 ? &typebits_alloc_[0] : &typebits_alloc_[1];
}

void MHeap::MaybeAdviseHugePages(void* at, size_t bytes) {
  // Not yet counted in heap_sys_: a heap that has reached the size asks
  // for its next commits, and the first ones stay on small pages.
  if (opts_.huge_pages_above != 0 && heap_sys_ >= opts_.huge_pages_above) {
    OsAdviseHugePages(at, bytes);  // a request; refused is fine
  }
}

bool MHeap::GrowLocked(size_t npages) {
  size_t remaining = (cur_arena_end_ - cur_arena_) / kPageSize;
  if (npages > remaining) {
    // Reserve a fresh arena. A request larger than an arena gets its own
    // reservation and leaves the current arena in place.
    size_t bytes = RoundUp(npages * kPageSize, kArenaBytes);
    if (bytes / kPageSize < npages) return false;  // overflow
    if (opts_.memory_limit != 0 &&
        heap_sys_ + npages * kPageSize > opts_.memory_limit) {
      return false;
    }
    OsResult res;
    void* mem = OsReserve(bytes, kArenaBytes, &res);
    if (mem == nullptr) return false;
    uintptr_t base = reinterpret_cast<uintptr_t>(mem);
    if (nreservations_ == reservations_cap_) {
      size_t cap = reservations_cap_ == 0 ? 256 : reservations_cap_ * 2;
      void* p = OsAllocMetadata(cap * sizeof(Reservation), &res);
      if (p == nullptr) {
        OsUnreserve(mem, bytes);
        return false;
      }
      if (reservations_ != nullptr) {
        memcpy(p, reservations_, nreservations_ * sizeof(Reservation));
        OsUnreserve(reservations_, reservations_cap_ * sizeof(Reservation));
      }
      reservations_ = static_cast<Reservation*>(p);
      reservations_cap_ = cap;
    }
    if (!arena_map_.AddArenas(base, bytes) ||
        !pages_.AddRegion(base, bytes / kPageSize)) {
      OsUnreserve(mem, bytes);
      return false;
    }
    reservations_[nreservations_++] = Reservation{base, bytes};
    heap_reserved_ += bytes;
    if (bytes > kArenaBytes) {
      // A dedicated reservation: commit exactly what was asked.
      size_t commit = npages * kPageSize;
      if (!OsCommit(mem, commit).ok) return false;
      MaybeAdviseHugePages(mem, commit);
      pages_.Grow(base, npages);
      heap_sys_ += commit;
      os_commits_.fetch_add(1, std::memory_order_relaxed);
      return true;
    }
    cur_arena_ = base;
    cur_arena_end_ = base + bytes;
    remaining = bytes / kPageSize;
  }
  size_t grow = RoundUp(npages, kCommitPages);
  if (grow > remaining) grow = remaining;
  if (opts_.memory_limit != 0 &&
      heap_sys_ + grow * kPageSize > opts_.memory_limit) {
    grow = npages;  // try committing only what is needed
    if (heap_sys_ + grow * kPageSize > opts_.memory_limit) return false;
  }
  void* at = reinterpret_cast<void*>(cur_arena_);
  if (!OsCommit(at, grow * kPageSize).ok) return false;
  MaybeAdviseHugePages(at, grow * kPageSize);
  pages_.Grow(cur_arena_, grow);
  cur_arena_ += grow * kPageSize;
  heap_sys_ += grow * kPageSize;
  os_commits_.fetch_add(1, std::memory_order_relaxed);
  return true;
}

MSpan* MHeap::NewSpanLocked(uintptr_t base, size_t npages, size_t scavenged,
                            SpanClass spc) {
  void* mem = span_alloc_.Alloc();
  if (mem == nullptr) return nullptr;
  MSpan* s = new (mem) MSpan();
  int sizeclass = spc.sizeclass();
  s->start_addr = base;
  s->npages = npages;
  s->spanclass = spc;
  if (sizeclass == 0) {
    s->elemsize = npages * kPageSize;
    s->nelems = 1;
    s->div_mul = 0;
  } else {
    s->elemsize = kClassToSize[sizeclass];
    s->nelems = kClassToNObjects[sizeclass];
    s->div_mul = kClassToDivMagic[sizeclass];
  }
  s->limit = base + s->nelems * s->elemsize;
  size_t words = (s->nelems + 63) / 64;
  FixAlloc* bits = BitsAllocFor(words);
  uint64_t* b = static_cast<uint64_t*>(bits->Alloc());
  if (b == nullptr) {
    span_alloc_.Free(s);
    return nullptr;
  }
  s->bitmap_words = static_cast<uint16_t>(bits->size() / 24);
  s->alloc_bits = b;
  s->gcmark_bits = b + s->bitmap_words;
  s->scan_bits = b + 2 * s->bitmap_words;
  s->needzero = scavenged < npages;
  s->small_scan = !spc.noscan() && sizeclass != 0 &&
                  s->elemsize <= MSpan::kMaxHeapBitsObject;
  s->InitAllocState();
  s->sweepgen.store(sweepgen_.load(std::memory_order_relaxed),
                    std::memory_order_relaxed);
  arena_map_.SetSpan(base, npages, s);
  heap_inuse_pages_ += npages;
  // Every slot starts unallocated: poisoned until handed out.
  PoisonMemory(reinterpret_cast<void*>(base), npages * kPageSize);
  s->state.store(SpanState::kInUse, std::memory_order_release);
  return s;
}

MSpan* MHeap::AllocSpan(size_t npages, SpanClass spc) {
  for (int pass = 0;; pass++) {
    {
      SpinLockHolder h(&lock_);
      size_t scavenged = 0;
      uintptr_t base = pages_.Alloc(npages, &scavenged);
      if (base == 0 && pass == 1) {
        if (!GrowLocked(npages)) return nullptr;
        base = pages_.Alloc(npages, &scavenged);
        if (base == 0) return nullptr;
      }
      if (base != 0) {
        MSpan* s = NewSpanLocked(base, npages, scavenged, spc);
        if (s == nullptr) pages_.Free(base, npages);
        return s;
      }
    }
    // No free run: before growing the heap, sweep spans that the last
    // cycle left unswept; dead ones give their pages back (Go's reclaim).
    Reclaim(npages);
  }
}

size_t MHeap::Reclaim(size_t npages) {
  size_t freed = 0;
  while (freed < npages) {
    MSpan* s = nullptr;
    int start = next_sweep_class_.load(std::memory_order_relaxed);
    for (int i = 0; i < kNumSpanClasses && s == nullptr; i++) {
      s = central_[(start + i) % kNumSpanClasses].PopUnsweptClaimed();
    }
    if (s == nullptr) break;  // everything is swept
    size_t n = s->npages;
    if (SweepSpan(s, /*preserve=*/false)) freed += n;
  }
  return freed;
}

void MHeap::FreeSpan(MSpan* s) {
  GCHEAP_DCHECK(s->list == nullptr, "freeing a span that is in a list");
  s->state.store(SpanState::kDead, std::memory_order_release);
  SpinLockHolder h(&lock_);
  arena_map_.SetSpan(s->start_addr, s->npages, nullptr);
  pages_.Free(s->start_addr, s->npages);
  heap_inuse_pages_ -= s->npages;
  BitsAllocFor(s->bitmap_words)
      ->Free(s->alloc_bits < s->gcmark_bits ? s->alloc_bits : s->gcmark_bits);
  if (s->heap_bits != nullptr) {
    TypeBitsAllocFor(s->bitmap_words)->Free(s->heap_bits);
  }
  if (s->slot_types != nullptr) slot_types_alloc_.Free(s->slot_types);
  s->~MSpan();
  span_alloc_.Free(s);
}

uint64_t* MHeap::AllocTypeBits(MSpan* s) {
  void* tb;
  {
    SpinLockHolder h(&lock_);
    tb = TypeBitsAllocFor(s->bitmap_words)->Alloc();
  }
  GCHEAP_CHECK(tb != nullptr,
               "out of memory: the OS refused metadata for a span's type "
               "bits");
  return static_cast<uint64_t*>(tb);
}

const void** MHeap::AllocSlotTypes() {
  void* p;
  {
    SpinLockHolder h(&lock_);
    p = slot_types_alloc_.Alloc();
  }
  GCHEAP_CHECK(p != nullptr,
               "out of memory: the OS refused a span's type records");
  return static_cast<const void**>(p);
}

MSpan* MHeap::AllocLarge(size_t size, bool noscan) {
  if (size > max_object_bytes_) return nullptr;
  size_t npages = (size + kPageSize - 1) / kPageSize;
  MSpan* s = AllocSpan(npages, SpanClass::Make(0, noscan));
  if (s == nullptr) return nullptr;
  UnpoisonMemory(reinterpret_cast<void*>(s->start_addr), s->bytes());
  if (s->needzero) {
    // Zero outside the heap lock, in chunks.
    constexpr size_t kChunk = 256 << 10;
    for (size_t off = 0; off < s->bytes(); off += kChunk) {
      size_t n = s->bytes() - off < kChunk ? s->bytes() - off : kChunk;
      memset(reinterpret_cast<void*>(s->start_addr + off), 0, n);
    }
    s->needzero = false;
  }
  s->alloc_cache = 0;  // its one slot is taken: FreeIndex() == 1
  s->alloc_count = 1;
  s->freeindex_at_cache = 1;
  s->alloc_count_at_cache = 1;
  s->PublishFreeIndex(1);
  // Allocate black (allocate_black()): a large object allocated while the
  // collector marks survives the cycle without being scanned.
  if (allocate_black()) s->TryMark(0);
  heap_live_.fetch_add(static_cast<int64_t>(s->bytes()),
                       std::memory_order_relaxed);
  central(s->spanclass).PushSwept(s);
  return s;
}

void MHeap::BeginSweepCycle() {
  sweepgen_.fetch_add(2, std::memory_order_acq_rel);
}

void MHeap::PoisonFreed(MSpan* s) {
  for (uint32_t idx = 0; idx < s->nelems; idx++) {
    if (!s->IsAllocated(idx) || s->IsMarked(idx)) continue;
    void* slot = reinterpret_cast<void*>(s->ObjBase(idx));
    if (opts_.poison_freed) memset(slot, kFreedByte, s->elemsize);
    PoisonMemory(slot, s->elemsize);
  }
}

void MHeap::RecordFrees(MSpan* s, int nfreed) {
  if (nfreed == 0) return;
  if (s->is_large()) {
    counters_.large_frees.fetch_add(1, std::memory_order_relaxed);
    counters_.large_free_bytes.fetch_add(s->elemsize,
                                         std::memory_order_relaxed);
  } else {
    counters_.small_frees[s->spanclass.sizeclass()].fetch_add(
        nfreed, std::memory_order_relaxed);
  }
}

bool MHeap::SweepSpan(MSpan* s, bool preserve, int* nfreed) {
  uint32_t sg = sweepgen();
  GCHEAP_DCHECK(s->sweepgen.load(std::memory_order_relaxed) == sg - 1,
                "sweeping a span not claimed for sweeping");
  if (specials_hook_ != nullptr &&
      s->has_specials.load(std::memory_order_acquire)) {
    specials_hook_->BeforeSweep(s);  // first: it may keep objects alive
  }
  if (s->has_destructors && sweep_hook_ != nullptr) sweep_hook_->BeforeSweep(s);
  if (opts_.poison_freed || kAsan) PoisonFreed(s);
  SweepResult r = SweepSpanBits(s);
  RecordFrees(s, r.nfreed);
  if (nfreed != nullptr) *nfreed = r.nfreed;
  if (preserve) return false;
  s->sweepgen.store(sg, std::memory_order_release);
  if (r.empty) {
    FreeSpan(s);
    return true;
  }
  central(s->spanclass).PushSwept(s);
  return false;
}

size_t MHeap::SweepOne(uintptr_t* swept, int* freed) {
  int start = next_sweep_class_.load(std::memory_order_relaxed);
  for (int i = 0; i < kNumSpanClasses; i++) {
    int c = (start + i) % kNumSpanClasses;
    MSpan* s = central_[c].PopUnsweptClaimed();
    if (s != nullptr) {
      next_sweep_class_.store(c, std::memory_order_relaxed);
      size_t npages = s->npages;
      if (swept != nullptr) *swept = s->base();  // s may be freed below
      SweepSpan(s, /*preserve=*/false, freed);
      return npages;
    }
  }
  return 0;
}

void MHeap::SweepAll() {
  while (SweepOne() != 0) {
  }
}

void MHeap::EnsureSwept(MSpan* s) {
  uint32_t sg = sweepgen();
  for (int spins = 0;; spins++) {
    uint32_t g = s->sweepgen.load(std::memory_order_acquire);
    // Swept (possibly cached since), or cached before this sweep began (its
    // owner sweeps it when it lets go; meanwhile its bits are stable).
    if (g == sg || g == sg + 3 || g == sg + 1) return;
    if (g == sg - 2 && central(s->spanclass).TryClaimUnswept(s)) {
      SweepSpan(s, /*preserve=*/false);
      return;
    }
    // Being swept by another thread: wait for it.
    SpinPause(spins);
  }
}

void* MHeap::FindObject(const void* p, MSpan** span_out) {
  uintptr_t addr = reinterpret_cast<uintptr_t>(p);
  MSpan* s = arena_map_.SpanOf(addr);
  if (s == nullptr ||
      s->state.load(std::memory_order_acquire) != SpanState::kInUse ||
      addr < s->start_addr || addr >= s->limit) {
    return nullptr;
  }
  // A sweep rewrites the span's bits: answer from a swept span only.
  EnsureSwept(s);
  if (s->state.load(std::memory_order_acquire) != SpanState::kInUse) {
    return nullptr;  // the sweep freed the whole span
  }
  uintptr_t idx = s->ObjIndex(addr);
  if (!s->IsAllocated(idx)) return nullptr;
  if (span_out != nullptr) *span_out = s;
  return reinterpret_cast<void*>(s->ObjBase(idx));
}

bool MHeap::MarkObject(const void* p) {
  MSpan* s = nullptr;
  void* obj = FindObject(p, &s);
  GCHEAP_CHECK(obj != nullptr, "MarkObject(%p): not an allocated heap object",
               p);
  return s->TryMark(s->ObjIndex(reinterpret_cast<uintptr_t>(obj)));
}

size_t MHeap::ScavengeAll() {
  SpinLockHolder h(&lock_);
  size_t pages = pages_.Scavenge(SIZE_MAX, [](uintptr_t base, size_t n) {
    OsRelease(reinterpret_cast<void*>(base), n * kPageSize);
  });
  return pages * kPageSize;
}

size_t MHeap::ScavengeStep(size_t max_bytes) {
  SpinLockHolder h(&lock_);
  size_t inuse = heap_inuse_pages_ * kPageSize;
  size_t goal = scavenge_goal_.load(std::memory_order_relaxed);
  size_t floor = inuse + inuse / 10;
  if (goal < floor) goal = floor;
  size_t retained = heap_sys_ - pages_.scavenged_pages() * kPageSize;
  if (retained <= goal) return 0;
  size_t want = retained - goal;
  if (want > max_bytes) want = max_bytes;
  size_t pages = pages_.Scavenge(
      (want + kPageSize - 1) / kPageSize, [](uintptr_t base, size_t n) {
        OsRelease(reinterpret_cast<void*>(base), n * kPageSize);
      });
  return pages * kPageSize;
}

AllocStatsSnapshot MHeap::ReadStats() {
  AllocStatsSnapshot s;
  const AllocCounters& c = counters_;
  for (int i = 1; i < kNumSizeClasses; i++) {
    s.small_mallocs[i] = c.small_mallocs[i].load(std::memory_order_relaxed);
    s.small_frees[i] = c.small_frees[i].load(std::memory_order_relaxed);
    s.mallocs += s.small_mallocs[i];
    s.frees += s.small_frees[i];
    s.total_alloc += s.small_mallocs[i] * kClassToSize[i];
    s.heap_alloc +=
        (s.small_mallocs[i] - s.small_frees[i]) * uint64_t{kClassToSize[i]};
  }
  s.large_mallocs = c.large_mallocs.load(std::memory_order_relaxed);
  s.large_frees = c.large_frees.load(std::memory_order_relaxed);
  s.large_alloc_bytes = c.large_alloc_bytes.load(std::memory_order_relaxed);
  s.large_free_bytes = c.large_free_bytes.load(std::memory_order_relaxed);
  s.tiny_allocs = c.tiny_allocs.load(std::memory_order_relaxed);
  s.mallocs += s.large_mallocs + s.tiny_allocs;
  s.frees += s.large_frees + s.tiny_allocs;
  s.total_alloc += s.large_alloc_bytes;
  s.heap_alloc += s.large_alloc_bytes - s.large_free_bytes;
  s.heap_objects = s.mallocs - s.frees;
  s.heap_live = heap_live_.load(std::memory_order_relaxed);
  s.sweepgen = sweepgen();
  SpinLockHolder h(&lock_);
  s.heap_sys = heap_sys_;
  s.heap_inuse = heap_inuse_pages_ * kPageSize;
  s.heap_idle = heap_sys_ - s.heap_inuse;
  s.heap_released = pages_.scavenged_pages() * kPageSize;
  s.heap_reserved = heap_reserved_;
  s.mspan_inuse = span_alloc_.inuse();
  s.mspan_sys = span_alloc_.sys();
  s.mcache_inuse = mcache_alloc_.inuse();
  s.mcache_sys = mcache_alloc_.sys();
  s.gc_sys = arena_map_.metadata_bytes();
  for (const FixAlloc& b : bits_alloc_) s.gc_sys += b.sys();
  for (const FixAlloc& b : typebits_alloc_) s.gc_sys += b.sys();
  return s;
}

void MHeap::ForEachRun(
    absl::FunctionRef<void(uintptr_t, size_t, MSpan*, size_t)> fn) {
  struct Run {
    uintptr_t base;
    size_t npages;
    bool free;
    size_t scav;
  };
  std::vector<Run> runs;
  {
    SpinLockHolder h(&lock_);
    pages_.ForEachRun([&](uintptr_t base, size_t n, bool free, size_t scav) {
      runs.push_back(Run{base, n, free, scav});
    });
  }
  for (const Run& r : runs) {
    if (r.free) {
      fn(r.base, r.npages, nullptr, r.scav);
      continue;
    }
    // In use: the spans that cover it.
    for (uintptr_t a = r.base; a < r.base + r.npages * kPageSize;) {
      MSpan* s = SpanOf(a);
      if (s == nullptr || s->base() != a) {
        a += kPageSize;
        continue;
      }
      fn(a, s->npages, s, 0);
      a += s->npages * kPageSize;
    }
  }
}

}  // namespace gcheap::internal
