// Specials: finalizers, weak handles and cleanups. See gc/specials.h.
#include "gc/specials.h"

#include <utility>

#include "base/check.h"

namespace gcheap::internal {

// --- CallQueue.

void CallQueue::Push(const QueuedCall& c) {
  {
    MutexLock l(&mu_);
    calls_.push_back(c);
  }
  cv_.SignalAll();
}

void CallQueue::PushAll(std::vector<QueuedCall>* calls) {
  if (calls->empty()) return;
  {
    MutexLock l(&mu_);
    for (const QueuedCall& c : *calls) calls_.push_back(c);
  }
  calls->clear();
  cv_.SignalAll();
}

bool CallQueue::TryPop(QueuedCall* out) {
  MutexLock l(&mu_);
  if (calls_.empty()) return false;
  *out = calls_.front();
  calls_.pop_front();
  return true;
}

bool CallQueue::Wait() {
  MutexLock l(&mu_);
  while (!shutdown_ && calls_.empty()) cv_.Wait(&mu_);
  return !shutdown_;
}

void CallQueue::Shutdown() {
  {
    MutexLock l(&mu_);
    shutdown_ = true;
  }
  cv_.SignalAll();
}

void CallQueue::MarkRoots(Marker& m) {
  MutexLock l(&mu_);
  if (m.labeling()) m.LabelRoots("finalizer queue", 0);
  for (const QueuedCall& c : calls_) {
    m.Grey(reinterpret_cast<uintptr_t>(c.object));
    m.Grey(reinterpret_cast<uintptr_t>(c.arg));
  }
}

size_t CallQueue::size() {
  MutexLock l(&mu_);
  return calls_.size();
}

// --- Specials.

void Specials::ForkLock() {
  for (Shard& sh : shards_) sh.lock.Lock();
}

void Specials::ForkUnlock() {
  for (Shard& sh : shards_) sh.lock.Unlock();
}

Specials::Specials(MHeap* heap) : heap_(heap) { heap_->SetSpecialsHook(this); }

Specials::~Specials() {
  heap_->SetSpecialsHook(nullptr);
  for (Shard& sh : shards_) {
    SpinLockHolder h(&sh.lock);
    for (auto& [span, rec] : sh.spans) {
      for (auto& [slot, o] : rec.objects) ClearWeak(o);
      span->has_specials.store(false, std::memory_order_relaxed);
    }
    sh.spans.clear();
  }
}

ObjectRecord& Specials::RecordFor(Shard& sh, MSpan* s, uintptr_t slot,
                                  void* object) {
  auto [it, fresh] = sh.spans.try_emplace(s);
  SpanRecord& rec = it->second;
  if (fresh) {
    // The object is alive and held by the caller, so the cell it may get
    // is right as it stands; the span's dead objects, if it is unswept,
    // have no records here yet.
    rec.hook_gen = heap_->sweepgen();
    s->has_specials.store(true, std::memory_order_release);
  }
  ObjectRecord& o = rec.objects[slot];
  o.object = object;
  return o;
}

void Specials::MaybeErase(Shard& sh, MSpan* s, uintptr_t slot) {
  auto it = sh.spans.find(s);
  if (it == sh.spans.end()) return;
  auto o = it->second.objects.find(slot);
  if (o != it->second.objects.end() && o->second.empty()) {
    it->second.objects.erase(o);
  }
  if (it->second.objects.empty()) {
    sh.spans.erase(it);
    s->has_specials.store(false, std::memory_order_relaxed);
  }
}

void Specials::ClearWeak(ObjectRecord& o) {
  if (o.weak == nullptr) return;
  o.weak->target.store(nullptr, std::memory_order_release);
  ReleaseWeakCell(o.weak);
  o.weak = nullptr;
}

bool Specials::SetFinalizer(MSpan* s, uintptr_t slot, void* object,
                            FinalizerFn fn, void* arg) {
  Shard& sh = shards_[ShardOf(s)];
  SpinLockHolder h(&sh.lock);
  ObjectRecord& o = RecordFor(sh, s, slot, object);
  if (o.finalizer != nullptr) return false;
  o.finalizer = fn;
  o.finalizer_arg = arg;
  return true;
}

void Specials::SetProfile(MSpan* s, uintptr_t slot, void* object,
                          MemProfileBucket* b) {
  Shard& sh = shards_[ShardOf(s)];
  SpinLockHolder h(&sh.lock);
  RecordFor(sh, s, slot, object).profile = b;
}

bool Specials::ClearFinalizer(MSpan* s, uintptr_t slot) {
  Shard& sh = shards_[ShardOf(s)];
  SpinLockHolder h(&sh.lock);
  auto it = sh.spans.find(s);
  if (it == sh.spans.end()) return false;
  auto o = it->second.objects.find(slot);
  if (o == it->second.objects.end() || o->second.finalizer == nullptr) {
    return false;
  }
  o->second.finalizer = nullptr;
  o->second.finalizer_arg = nullptr;
  MaybeErase(sh, s, slot);
  return true;
}

uint64_t Specials::AddCleanup(MSpan* s, uintptr_t slot, void* object,
                              CleanupFn fn, void* arg) {
  uint64_t id = next_cleanup_id_.fetch_add(1, std::memory_order_relaxed);
  Shard& sh = shards_[ShardOf(s)];
  SpinLockHolder h(&sh.lock);
  RecordFor(sh, s, slot, object).cleanups.push_back(CleanupRecord{id, fn, arg});
  return id;
}

bool Specials::CancelCleanup(MSpan* s, uintptr_t slot, uint64_t id) {
  Shard& sh = shards_[ShardOf(s)];
  SpinLockHolder h(&sh.lock);
  auto it = sh.spans.find(s);
  if (it == sh.spans.end()) return false;
  auto o = it->second.objects.find(slot);
  if (o == it->second.objects.end()) return false;
  std::vector<CleanupRecord>& cs = o->second.cleanups;
  for (size_t i = 0; i < cs.size(); i++) {
    if (cs[i].id == id) {
      cs.erase(cs.begin() + i);
      MaybeErase(sh, s, slot);
      return true;
    }
  }
  return false;
}

WeakCell* Specials::WeakCellFor(MSpan* s, uintptr_t slot, void* object) {
  uint32_t shard = ShardOf(s);
  Shard& sh = shards_[shard];
  SpinLockHolder h(&sh.lock);
  ObjectRecord& o = RecordFor(sh, s, slot, object);
  if (o.weak == nullptr) {
    auto* c = new WeakCell();
    c->span = s;
    c->slot = slot;
    c->record = &sh.spans.find(s)->second;
    c->shard = shard;
    c->target.store(object, std::memory_order_release);
    o.weak = c;
  }
  RetainWeakCell(o.weak);
  return o.weak;
}

void Specials::ReleaseWeakCell(WeakCell* c) {
  if (c->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) delete c;
}

void* Specials::WeakGet(WeakCell* c) {
  Shard& sh = shards_[c->shard];
  SpinLockHolder h(&sh.lock);
  void* p = c->target.load(std::memory_order_acquire);
  if (p == nullptr) return nullptr;
  // The object has not been found dead by its span's hook. If the hook has
  // run this cycle, it is alive. If not, the span is unswept and cannot be
  // swept while we hold the lock: its mark bits say.
  if (c->record->hook_gen == heap_->sweepgen()) return p;
  return c->span->IsMarked(c->span->ObjIndex(c->slot)) ? p : nullptr;
}

void Specials::MarkRoots(Marker& m) {
  for (Shard& sh : shards_) {
    SpinLockHolder h(&sh.lock);
    for (auto& [span, rec] : sh.spans) {
      for (auto& [slot, o] : rec.objects) {
        if (m.labeling()) {
          m.LabelRoots("finalizer or cleanup of object", slot);
        }
        if (o.finalizer != nullptr) {
          // Everything the object reaches, not the object itself.
          if (!span->spanclass.noscan()) m.Scan(slot);
          m.Grey(reinterpret_cast<uintptr_t>(o.finalizer_arg));
        }
        for (const CleanupRecord& c : o.cleanups) {
          m.Grey(reinterpret_cast<uintptr_t>(c.arg));
        }
      }
    }
  }
  queue_.MarkRoots(m);
}

void Specials::BeforeSweep(MSpan* s) {
  std::vector<QueuedCall> calls;
  {
    Shard& sh = shards_[ShardOf(s)];
    SpinLockHolder h(&sh.lock);
    auto it = sh.spans.find(s);
    if (it == sh.spans.end()) return;
    SpanRecord& rec = it->second;
    rec.hook_gen = heap_->sweepgen();
    for (auto o = rec.objects.begin(); o != rec.objects.end();) {
      uintptr_t idx = s->ObjIndex(o->first);
      if (s->IsMarked(idx)) {
        ++o;
        continue;
      }
      GCHEAP_DCHECK(s->IsAllocated(idx),
                    "special record for a free slot %p of span %p",
                    reinterpret_cast<void*>(o->first), static_cast<void*>(s));
      ObjectRecord& r = o->second;
      // Weak references see the object die before anything else happens.
      ClearWeak(r);
      if (r.finalizer != nullptr) {
        // Keep the object (its referents were marked) for its finalizer;
        // its cleanups wait for its real death.
        s->TryMark(idx);
        calls.push_back(
            QueuedCall{r.finalizer, nullptr, r.object, r.finalizer_arg, false});
        r.finalizer = nullptr;
        r.finalizer_arg = nullptr;
      } else {
        for (const CleanupRecord& c : r.cleanups) {
          calls.push_back(QueuedCall{nullptr, c.fn, nullptr, c.arg, false});
        }
        r.cleanups.clear();
        if (r.profile != nullptr) {
          r.profile->frees.fetch_add(1, std::memory_order_relaxed);
          r.profile = nullptr;
        }
      }
      if (r.empty()) {
        o = rec.objects.erase(o);
      } else {
        ++o;
      }
    }
    if (rec.objects.empty()) {
      sh.spans.erase(it);
      s->has_specials.store(false, std::memory_order_relaxed);
    }
  }
  queue_.PushAll(&calls);
}

size_t Specials::CountObjects() {
  size_t n = 0;
  for (Shard& sh : shards_) {
    SpinLockHolder h(&sh.lock);
    for (auto& [span, rec] : sh.spans) n += rec.objects.size();
  }
  return n;
}

}  // namespace gcheap::internal
