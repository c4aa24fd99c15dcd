// Heap and HeapImpl: construction, teardown, statistics, the public calls.
// See runtime/heap_impl.h.
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <string>

#include "base/check.h"
#include "base/clock.h"
#include "base/cpus.h"
#include "gc/object.h"
#include "runtime/heap_impl.h"

namespace gcheap::internal {
namespace {

// Applies GCHEAP_DEBUG=name=value,name=value: gctrace=1, gcpacertrace=1,
// gccheckmark=1,
// gcstoptheworld=1 (as Go's GODEBUG names them), gcevents=PATH, gcstress=N,
// gcmarkstress=N, gcmarkhold=M, gcbarriercheck=1, gcpercent=N (as GOGC),
// memprofilerate=N (Go's runtime.MemProfileRate), heapprofile=PATH,
// gctypes=1, hugepagesabove=BYTES, smallheap=BYTES, preemptafter=US,
// gcspanmark=0 (object-by-object marking).
Options WithDebugEnv(Options o, FILE** owned_events,
                     std::string* heap_profile_path) {
  const char* env = getenv("GCHEAP_DEBUG");
  if (env == nullptr) return o;
  std::string events_path_storage;
  std::string* events_path = &events_path_storage;
  const char* p = env;
  while (*p != 0) {
    const char* end = strchr(p, ',');
    size_t len = end ? static_cast<size_t>(end - p) : strlen(p);
    if (len > 8 && strncmp(p, "gctrace=", 8) == 0) {
      o.gctrace = p[8] != '0';
    } else if (len > 11 && strncmp(p, "allocpaths=", 11) == 0) {
      o.alloc_path_counters = p[11] != '0';
    } else if (len > 9 && strncmp(p, "gcevents=", 9) == 0) {
      events_path->assign(p + 9, len - 9);
    } else if (len > 13 && strncmp(p, "gcpacertrace=", 13) == 0) {
      o.gcpacertrace = p[13] != '0';
    } else if (len > 12 && strncmp(p, "gccheckmark=", 12) == 0) {
      o.checkmark = p[12] != '0';
    } else if (len > 15 && strncmp(p, "gcstoptheworld=", 15) == 0) {
      o.concurrent_mark = p[15] == '0';
    } else if (len > 9 && strncmp(p, "gcstress=", 9) == 0) {
      o.gc_stress = atoi(p + 9);
    } else if (len > 13 && strncmp(p, "gcmarkstress=", 13) == 0) {
      o.mark_stress = atoi(p + 13);
    } else if (len > 11 && strncmp(p, "gcmarkhold=", 11) == 0) {
      o.mark_stress_hold = atoi(p + 11);
    } else if (len > 15 && strncmp(p, "gcbarriercheck=", 15) == 0) {
      o.barrier_check = p[15] != '0';
    } else if (len > 10 && strncmp(p, "gcpercent=", 10) == 0) {
      o.gc_percent = atoi(p + 10);
    } else if (len > 15 && strncmp(p, "hugepagesabove=", 15) == 0) {
      o.huge_pages_above = strtoull(p + 15, nullptr, 10);
    } else if (len > 10 && strncmp(p, "smallheap=", 10) == 0) {
      o.small_heap = strtoull(p + 10, nullptr, 10);
    } else if (len > 13 && strncmp(p, "preemptafter=", 13) == 0) {
      o.preempt_after_us = atoi(p + 13);
    } else if (len > 11 && strncmp(p, "gcspanmark=", 11) == 0) {
      o.span_marking = p[11] != '0';
    } else if (len > 8 && strncmp(p, "gctypes=", 8) == 0) {
      o.record_types = p[8] != '0';
    } else if (len > 15 && strncmp(p, "memprofilerate=", 15) == 0) {
      o.mem_profile_rate = atoll(p + 15);
    } else if (len > 12 && strncmp(p, "heapprofile=", 12) == 0) {
      heap_profile_path->assign(p + 12, len - 12);
    }
    p += len;
    if (*p == ',') p++;
  }
  if (!events_path->empty()) {
    FILE* f = fopen(events_path->c_str(), "w");
    if (f == nullptr) {
      fprintf(stderr, "gcheap: GCHEAP_DEBUG=gcevents=%s: cannot open: %s\n",
              events_path->c_str(), strerror(errno));
    } else {
      o.event_trace_output = f;
      *owned_events = f;
    }
  }
  return o;
}

Options Normalize(Options o, FILE** owned_events,
                  std::string* heap_profile_path) {
  if (o.max_procs <= 0) o.max_procs = NumCpus();
  o = WithDebugEnv(o, owned_events, heap_profile_path);
  // A profile asked for by path, with no rate: Go's default rate.
  if (!heap_profile_path->empty() && o.mem_profile_rate == 0) {
    o.mem_profile_rate = 512 * 1024;
  }
  return o;
}

}  // namespace

HeapImpl::HeapImpl(Heap* heap, const Options& opts)
    : heap_(heap),
      opts_(Normalize(opts, &owned_events_file_, &heap_profile_path_)),
      start_unix_ns_(UnixNs()) {
  InstallAsanReporter();
  MHeapOptions mo;
  mo.memory_limit = opts_.hard_memory_limit;
  mo.background_scavenger = opts_.background_scavenger;
  mo.lazy_scavenger = true;  // started by the first cycle
  mo.poison_freed = opts_.gc_stress > 0;
  mo.path_counters = opts_.alloc_path_counters;
  mo.record_types = opts_.record_types;
  mo.huge_pages_above = opts_.huge_pages_above;
  mheap_ = std::make_unique<MHeap>(mo);
  mheap_->set_mem_profile_rate(opts_.mem_profile_rate);
  ps_ = std::vector<P>(opts_.max_procs);
  for (int i = 0; i < opts_.max_procs; i++) {
    ps_[i].id = i;
    ps_[i].mcache = mheap_->NewMCache();
    GCHEAP_CHECK(ps_[i].mcache != nullptr, "cannot allocate an mcache");
  }
  no_p_cache_ = mheap_->NewMCache();
  CollectorOptions co;
  co.concurrent = opts_.concurrent_mark;
  co.checkmark = opts_.checkmark;
  co.gc_percent = opts_.gc_percent;
  co.soft_memory_limit = opts_.soft_memory_limit;
  co.heap_minimum = opts_.heap_minimum;
  co.small_heap = opts_.small_heap;
  co.mark_workers = opts_.mark_workers;
  co.idle_mark = opts_.idle_mark;
  co.span_marking = opts_.span_marking;
  co.gctrace = opts_.gctrace;
  co.gcpacertrace = opts_.gcpacertrace;
  co.event_trace_out = opts_.event_trace_output;
  co.trace_out = opts_.trace_output;
  co.barrier_check = opts_.barrier_check && opts_.concurrent_mark;
  co.mark_hold = opts_.mark_stress > 0 ? opts_.mark_stress_hold : 0;
  co.values = opts_.values;
  specials_ = std::make_unique<Specials>(mheap_.get());
  collector_ = std::make_unique<Collector>(mheap_.get(), this, co);
  if (opts_.preempt_signal != 0) InstallPreemptHandler(opts_.preempt_signal);
  RegisterHeap(this);
  if (opts_.scan_static_data) roots_.AddStaticData();
}

HeapImpl::~HeapImpl() {
  UnregisterHeap(this);
  StopFinalizerThread();  // it is attached: first
  {
    MutexLock l(&sched_mu_);
    GCHEAP_CHECK(mutators_.empty(),
                 "Heap destroyed with %zu thread(s) still attached; each must "
                 "call DetachCurrentThread first",
                 mutators_.size());
  }
  // A triggered cycle may be running: it reads the roots freed below.
  collector_->StopCoordinator();
  if (!heap_profile_path_.empty()) WriteHeapProfileFile(heap_profile_path_);
  const size_t persistents = roots_.persistents_live();
  GCHEAP_CHECK(persistents == 0,
               "Heap destroyed with %zu Persistent handle(s) still alive",
               persistents);
  const size_t pools = pools_.size();
  GCHEAP_CHECK(pools == 0, "Heap destroyed with %zu Pool(s) still alive",
               pools);
  for (P& p : ps_) {
    if (p.marker == nullptr) continue;  // never held
    p.marker->work().Flush();  // leftover grey objects go back to the pool
    p.marker.reset();
  }
  collector_.reset();  // finishes the event trace
  if (owned_events_file_ != nullptr) fclose(owned_events_file_);
  // Finalizers and cleanups still queued do not run; the heap's own calls
  // (freeing objects Pools dropped) do.
  for (QueuedCall c; specials_->queue().TryPop(&c);) {
    if (c.internal) c.call(c.arg);
  }
  specials_.reset();
  for (P& p : ps_) mheap_->FreeMCache(p.mcache);
  mheap_->FreeMCache(no_p_cache_);
}

bool HeapImpl::IsLive(const void* p) const {
  MSpan* s = nullptr;
  void* obj = mheap_->FindObject(p, &s);
  if (obj == nullptr) return true;  // not an object of this heap
  return s->IsMarked(s->ObjIndex(reinterpret_cast<uintptr_t>(obj)));
}

void* HeapImpl::ObjectStart(const void* p) const {
  NoPreempt no_preempt;
  MSpan* s = nullptr;
  void* obj = mheap_->FindObject(p, &s);
  if (obj == nullptr) return nullptr;
  auto slot = reinterpret_cast<uintptr_t>(obj);
  if (s->spanclass.noscan()) return obj;
  if (s->small_scan && s->SlotUsesTypeBits(s->ObjIndex(slot))) {
    return obj;
  }
  uintptr_t header = HeaderOf(slot);
  uintptr_t payload = PayloadOf(slot, header);
  // A pointer into the header itself is not a pointer to the object.
  if (reinterpret_cast<uintptr_t>(p) < payload) return nullptr;
  return reinterpret_cast<void*>(payload);
}

MemStats HeapImpl::ReadMemStats(AllocStatsSnapshot* snap) {
  NoPreempt no_preempt;
  // A mutator of this heap that holds a P gives it up meanwhile (one in a
  // BlockingScope has none to give).
  Mutator* self = CurrentMutator();
  if (self != nullptr && (self->heap_ != this || self->state_->p == nullptr)) {
    self = nullptr;
  }
  if (self != nullptr) {
    ClearStackBelow();
    ReleaseP(*self);
  }
  collector_->LockSweeping();  // no sweeper may move counters meanwhile
  StopTheWorld();
  for (P& p : ps_) p.mcache->ReleaseAll();
  AllocStatsSnapshot a = mheap_->ReadStats();
  if (snap != nullptr) *snap = a;
  GcStats g = collector_->ReadStats();
  const size_t persistent_bytes = roots_.persistent_bytes();
  StartTheWorld();
  collector_->UnlockSweeping();
  if (self != nullptr) AcquireP(*self);

  MemStats m;
  m.alloc = m.heap_alloc = a.heap_alloc;
  m.total_alloc = a.total_alloc;
  m.mallocs = a.mallocs;
  m.frees = a.frees;
  m.heap_sys = a.heap_sys;
  m.heap_idle = a.heap_idle;
  m.heap_inuse = a.heap_inuse;
  m.heap_released = a.heap_released;
  m.heap_objects = a.heap_objects;
  m.mspan_inuse = a.mspan_inuse;
  m.mspan_sys = a.mspan_sys;
  m.mcache_inuse = a.mcache_inuse;
  m.mcache_sys = a.mcache_sys;
  m.gc_sys = a.gc_sys + collector_->work_sys_bytes();
  m.other_sys = persistent_bytes;
  m.sys = m.heap_sys + m.stack_sys + m.mspan_sys + m.mcache_sys +
          m.buck_hash_sys + m.gc_sys + m.other_sys;
  m.next_gc = g.next_gc == UINT64_MAX ? 0 : g.next_gc;
  m.last_gc = g.last_gc;
  m.pause_total_ns = g.pause_total_ns;
  memcpy(m.pause_ns, g.pause_ns, sizeof(m.pause_ns));
  memcpy(m.pause_end, g.pause_end, sizeof(m.pause_end));
  m.num_gc = g.num_gc;
  m.num_forced_gc = g.num_forced_gc;
  uint64_t elapsed = UnixNs() - start_unix_ns_;
  m.gc_cpu_fraction = elapsed == 0
                          ? 0
                          : static_cast<double>(g.gc_cpu_ns) /
                                (static_cast<double>(elapsed) * procs());
  for (int i = 0; i < 61; i++) {
    m.by_size[i].size = kClassToSize[i];
    m.by_size[i].mallocs = a.small_mallocs[i];
    m.by_size[i].frees = a.small_frees[i];
  }
  return m;
}

}  // namespace gcheap::internal

namespace gcheap {

Heap::Heap(const Options& options)
    : impl_(new internal::HeapImpl(this, options)) {}

Heap::~Heap() { delete impl_; }

Mutator& Heap::AttachCurrentThread() { return impl_->Attach(); }

void Heap::DetachCurrentThread() { impl_->Detach(); }

Mutator* Heap::CurrentMutator() { return internal::CurrentMutator(); }

void Heap::Collect() {
  internal::NoPreempt no_preempt;
  Mutator* m = internal::CurrentMutator();
  if (m != nullptr && m->heap_ != impl_) m = nullptr;
  if (m != nullptr) impl_->CheckRunning(*m, "Collect");
  internal::CallFromProgram(
      m != nullptr ? internal::HeapImpl::StateOf(*m) : nullptr,
      [&] { impl_->CollectFrom(m, internal::GcReason::kForced); });
}

void Heap::FreeOSMemory() {
  internal::NoPreempt no_preempt;
  Collect();  // returns with sweeping finished
  impl_->mheap().ScavengeAll();
}

void SetFatalErrorHandler(FatalErrorHandler fn, void* arg) {
  internal::SetFatalErrorHook(fn, arg);
}

int Heap::SetGCPercent(int percent) {
  internal::NoPreempt no_preempt;
  return impl_->collector().SetGCPercent(percent);
}

size_t Heap::SetMemoryLimit(size_t bytes) {
  internal::NoPreempt no_preempt;
  return impl_->collector().SetMemoryLimit(bytes);
}

MemStats Heap::ReadMemStats() {
  Mutator* m = internal::CurrentMutator();
  if (m != nullptr && m->heap_ != impl_) m = nullptr;
  MemStats out;
  internal::CallFromProgram(
      m != nullptr ? internal::HeapImpl::StateOf(*m) : nullptr,
      [&] { out = impl_->ReadMemStats(); });
  return out;
}

AllocPathStats Heap::ReadAllocPathStats() {
  AllocPathStats out;
  internal::MHeap& h = impl_->mheap();
  internal::AllocPathCounters* pc = h.path_counters();
  if (pc == nullptr) return out;
  out.enabled = true;
  // The cached spans' allocations count in mallocs once handed back:
  // read them as ReadMemStats does (which hands them back).
  internal::AllocStatsSnapshot snap;
  impl_->ReadMemStats(&snap);
  static_assert(sizeof(out.by_size) / sizeof(out.by_size[0]) ==
                internal::kNumSizeClasses);
  for (int i = 1; i < internal::kNumSizeClasses; i++) {
    AllocPathStats::SizeClass& c = out.by_size[i];
    c.size = internal::kClassToSize[i];
    c.mallocs = snap.small_mallocs[i];
    c.slow = pc->slow[i].load(std::memory_order_relaxed);
    c.fast = c.mallocs > c.slow ? c.mallocs - c.slow : 0;
    c.refills = pc->refills[i].load(std::memory_order_relaxed);
    c.central_sweeps = pc->central_sweeps[i].load(std::memory_order_relaxed);
    c.grows = pc->grows[i].load(std::memory_order_relaxed);
    c.os_commits = pc->os_commits[i].load(std::memory_order_relaxed);
  }
  return out;
}

void Heap::AddRootSlot(void** slot) { impl_->roots().AddSlot(slot); }
void Heap::RemoveRootSlot(void** slot) { impl_->roots().RemoveSlot(slot); }
void Heap::AddStaticDataRoots() { impl_->roots().AddStaticData(); }

void Heap::AddRootRange(const void* b, const void* e) {
  impl_->roots().AddRange(b, e);
}
void Heap::RemoveRootRange(const void* b, const void* e) {
  impl_->roots().RemoveRange(b, e);
}
void Heap::AddRootCallback(RootCallback cb, void* arg) {
  impl_->roots().AddCallback(cb, arg);
}
bool WeakProcessor::IsLive(const void* p) const { return heap_->IsLive(p); }

void Heap::AddWeakCallback(WeakCallback cb, void* arg) {
  impl_->roots().AddWeakCallback(cb, arg);
}
void Heap::RemoveWeakCallback(WeakCallback cb, void* arg) {
  impl_->roots().RemoveWeakCallback(cb, arg);
}
void Heap::RemoveRootCallback(RootCallback cb, void* arg) {
  impl_->roots().RemoveCallback(cb, arg);
}

void* Heap::ObjectStart(const void* p) const { return impl_->ObjectStart(p); }

const Options& Heap::options() const { return impl_->options(); }

}  // namespace gcheap
