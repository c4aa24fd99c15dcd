// Pool<T>'s type-erased core: rings, chains, generations. See
// include/gcheap/pool.h.
//
// A ring is Go's poolDequeue: head and tail indexes packed in one 64-bit
// word (head in the high half), slots of atomic pointers. The owner pushes
// at head (checking that the slot's previous occupant has been taken: a
// stealer may still be between its CAS and clearing the slot) and pops at
// head with a CAS against stealers; stealers CAS tail forward, read the
// slot and clear it. A ring that a stealer finds drained is unlinked from
// the chain's tail but not freed: stealers may still be looking at it.
// Every ring is freed when its generation is dropped, with the world
// stopped, when nobody can be inside Get or Put.
#include "gcheap/pool.h"

#include <algorithm>
#include <memory>

#include "base/check.h"
#include "runtime/heap_impl.h"

namespace gcheap::internal {

struct PoolRing {
  explicit PoolRing(uint32_t n) : size(n), slots(new std::atomic<void*>[n]) {
    for (uint32_t i = 0; i < n; i++) {
      slots[i].store(nullptr, std::memory_order_relaxed);
    }
  }

  static constexpr int kShift = 32;
  static uint64_t Pack(uint32_t head, uint32_t tail) {
    return (uint64_t{head} << kShift) | tail;
  }
  static uint32_t Head(uint64_t ht) { return static_cast<uint32_t>(ht >> 32); }
  static uint32_t Tail(uint64_t ht) { return static_cast<uint32_t>(ht); }

  // Owner only. False if full.
  bool PushHead(void* x) {
    uint64_t ht = head_tail.load(std::memory_order_acquire);
    uint32_t head = Head(ht), tail = Tail(ht);
    if (head - tail == size) return false;
    std::atomic<void*>& slot = slots[head & (size - 1)];
    // A stealer that took this slot's last occupant may not have cleared
    // it yet: the ring is still full for us.
    if (slot.load(std::memory_order_acquire) != nullptr) return false;
    slot.store(x, std::memory_order_relaxed);
    head_tail.fetch_add(uint64_t{1} << kShift, std::memory_order_release);
    return true;
  }
  // Owner only.
  void* PopHead() {
    uint64_t ht = head_tail.load(std::memory_order_acquire);
    while (true) {
      uint32_t head = Head(ht), tail = Tail(ht);
      if (head == tail) return nullptr;
      head--;
      if (head_tail.compare_exchange_weak(ht, Pack(head, tail),
                                          std::memory_order_acq_rel,
                                          std::memory_order_acquire)) {
        std::atomic<void*>& slot = slots[head & (size - 1)];
        void* x = slot.load(std::memory_order_relaxed);
        slot.store(nullptr, std::memory_order_relaxed);
        return x;
      }
    }
  }
  // Any thread.
  void* PopTail() {
    uint64_t ht = head_tail.load(std::memory_order_acquire);
    while (true) {
      uint32_t head = Head(ht), tail = Tail(ht);
      if (head == tail) return nullptr;
      if (head_tail.compare_exchange_weak(ht, Pack(head, tail + 1),
                                          std::memory_order_acq_rel,
                                          std::memory_order_acquire)) {
        std::atomic<void*>& slot = slots[tail & (size - 1)];
        void* x = slot.load(std::memory_order_acquire);
        slot.store(nullptr, std::memory_order_release);  // free for PushHead
        return x;
      }
    }
  }

  std::atomic<uint64_t> head_tail{0};
  const uint32_t size;  // a power of two
  std::unique_ptr<std::atomic<void*>[]> slots;
  std::atomic<PoolRing*> next{nullptr};  // newer ring; written by the owner
  std::atomic<PoolRing*> prev{nullptr};  // older ring; cleared by stealers
  PoolRing* all_next = nullptr;          // PoolChain::all list
};

namespace {

constexpr uint32_t kFirstRing = 8;
constexpr uint32_t kMaxRing = uint32_t{1} << 30;

void ChainPushHead(PoolChain* c, void* x) {
  PoolRing* d = c->head;
  if (d == nullptr) {
    d = new PoolRing(kFirstRing);
    d->all_next = c->all;
    c->all = d;
    c->head = d;
    c->tail.store(d, std::memory_order_release);
  }
  if (d->PushHead(x)) return;
  // Full: a new ring twice the size.
  uint32_t n = d->size < kMaxRing ? d->size * 2 : kMaxRing;
  auto* d2 = new PoolRing(n);
  d2->all_next = c->all;
  c->all = d2;
  d2->prev.store(d, std::memory_order_relaxed);
  d2->PushHead(x);
  d->next.store(d2, std::memory_order_release);
  c->head = d2;
}

void* ChainPopHead(PoolChain* c) {
  for (PoolRing* d = c->head; d != nullptr;
       d = d->prev.load(std::memory_order_acquire)) {
    if (void* x = d->PopHead()) return x;
  }
  return nullptr;
}

void* ChainPopTail(PoolChain* c) {
  PoolRing* d = c->tail.load(std::memory_order_acquire);
  if (d == nullptr) return nullptr;
  while (true) {
    // Load next before popping: if d is empty and has no next, the chain
    // is empty, because the owner fills d before it links a newer ring.
    PoolRing* d2 = d->next.load(std::memory_order_acquire);
    if (void* x = d->PopTail()) return x;
    if (d2 == nullptr) return nullptr;
    // d is drained and a newer ring exists: unlink d so later stealers
    // skip it (it is freed with its generation).
    if (c->tail.compare_exchange_strong(d, d2, std::memory_order_acq_rel)) {
      d2->prev.store(nullptr, std::memory_order_release);
    }
    d = d2;
  }
}

// Every non-null slot of every ring of the chain, world stopped.
template <class Fn>
void ForEachInChain(const PoolChain& c, Fn fn) {
  for (PoolRing* d = c.all; d != nullptr; d = d->all_next) {
    for (uint32_t i = 0; i < d->size; i++) {
      void* x = d->slots[i].load(std::memory_order_relaxed);
      if (x != nullptr) fn(x);
    }
  }
}

}  // namespace

PoolBase::PoolBase(Heap& heap, bool heap_objects,
                   std::function<void(void*)> plain_deleter)
    : heap_objects_(heap_objects),
      heap_(heap),
      impl_(HeapAccess::Of(heap)),
      procs_(impl_->procs()),
      plain_deleter_(std::move(plain_deleter)) {
  locals_ = new Local[procs_];
  victim_ = new Local[procs_];
  impl_->pools().Register(this);
  if (!heap_objects_) impl_->EnsureFinalizerThread();
}

PoolBase::~PoolBase() {
  impl_->pools().Unregister(this);
  std::vector<void*> objs;
  for (int i = 0; i < procs_; i++) {
    DropLocal(&locals_[i], &objs);
    DropLocal(&victim_[i], &objs);
  }
  delete[] locals_;
  delete[] victim_;
  if (!heap_objects_) {
    for (void* x : objs) plain_deleter_(x);
  }
}

void PoolBase::DropLocal(Local* l, std::vector<void*>* out) {
  if (l->private_obj != nullptr) out->push_back(l->private_obj);
  ForEachInChain(l->shared, [out](void* x) { out->push_back(x); });
  for (PoolRing* d = l->shared.all; d != nullptr;) {
    PoolRing* next = d->all_next;
    delete d;
    d = next;
  }
  l->private_obj = nullptr;
  l->shared.head = nullptr;
  l->shared.tail.store(nullptr, std::memory_order_relaxed);
  l->shared.all = nullptr;
}

unsigned PoolBase::Pin(const Mutator& m) const {
  unsigned pid = static_cast<unsigned>(HeapImpl::ProcIdOf(m, impl_));
  bool marking = false;
  if (heap_objects_) {
    GcPhase ph = impl_->collector().phase();
    marking = ph == GcPhase::kMark || ph == GcPhase::kMarkTermination;
  }
  return pid << 1 | (marking ? 1 : 0);
}

Mutator& PoolBase::CurrentMutator() const {
  return impl_->RequireRunning("Pool::Get/Put");
}

void* PoolBase::GetSlow(int pid) {
  NoPreempt no_preempt;
  if (void* x = ChainPopHead(&locals_[pid].shared)) return x;
  for (int i = 1; i < procs_; i++) {
    if (void* x = ChainPopTail(&locals_[(pid + i) % procs_].shared)) return x;
  }
  if (victim_empty_.load(std::memory_order_relaxed)) return nullptr;
  Local& v = victim_[pid];
  if (void* x = v.private_obj) {
    v.private_obj = nullptr;
    return x;
  }
  for (int i = 0; i < procs_; i++) {
    if (void* x = ChainPopTail(&victim_[(pid + i) % procs_].shared)) return x;
  }
  // Nobody puts into the victim cache: it stays empty until the next
  // rotation. (A concurrent Get may still find this P's private victim,
  // which only this P reads.)
  victim_empty_.store(true, std::memory_order_relaxed);
  return nullptr;
}

void PoolBase::PushShared(int pid, void* x) {
  NoPreempt no_preempt;
  ChainPushHead(&locals_[pid].shared, x);
}

void PoolBase::Barrier(void* x) const {
  NoPreempt no_preempt;  // Shade checks the phase, then greys
  impl_->collector().Shade(x);
}

void PoolBase::Rotate(std::vector<void*>* dropped) {
  std::vector<void*> objs;
  bool any = false;
  for (int i = 0; i < procs_; i++) {
    DropLocal(&victim_[i], &objs);
    Local& l = locals_[i];
    any = any || l.private_obj != nullptr || l.shared.all != nullptr;
  }
  if (!heap_objects_) dropped->insert(dropped->end(), objs.begin(), objs.end());
  std::swap(locals_, victim_);
  victim_empty_.store(!any, std::memory_order_relaxed);
}

void PoolBase::MarkRoots(Marker& m) {
  for (Local* gen : {locals_, victim_}) {
    for (int i = 0; i < procs_; i++) {
      m.Grey(reinterpret_cast<uintptr_t>(gen[i].private_obj));
      ForEachInChain(gen[i].shared,
                     [&m](void* x) { m.Grey(reinterpret_cast<uintptr_t>(x)); });
    }
  }
}

// --- the heap's side.

void PoolRegistry::Register(PoolBase* p) {
  NoPreempt no_preempt;
  MutexLock l(&mu_);
  pools_.push_back(p);
}

size_t PoolRegistry::size() {
  MutexLock l(&mu_);
  return pools_.size();
}

void PoolRegistry::Unregister(PoolBase* p) {
  NoPreempt no_preempt;
  MutexLock l(&mu_);
  auto it = std::find(pools_.begin(), pools_.end(), p);
  GCHEAP_CHECK(it != pools_.end(), "Pool destroyed twice or not registered");
  pools_.erase(it);
}

int HeapImpl::ProcIdOf(const Mutator& m, const HeapImpl* heap) {
  GCHEAP_CHECK(m.heap_ == heap,
               "Pool::Get/Put with a Mutator of another heap than the "
               "pool's");
  GCHEAP_CHECK(m.state_->p != nullptr,
               "Pool::Get/Put inside a BlockingScope: the thread has "
               "released its P and must not touch the heap");
  GCHEAP_DCHECK(CurrentMutator() == &m,
                "Pool::Get/Put: this Mutator belongs to another thread");
  return m.state_->p->id;
}

namespace {
struct DroppedObjects {
  std::function<void(void*)> deleter;
  std::vector<void*> objects;
};
void DeleteDropped(void* arg) {
  auto* d = static_cast<DroppedObjects*>(arg);
  for (void* x : d->objects) d->deleter(x);
  delete d;
}
}  // namespace

void PoolRegistry::Rotate(CallQueue* calls) {
  MutexLock l(&mu_);
  for (PoolBase* p : pools_) {
    std::vector<void*> dropped;
    p->Rotate(&dropped);
    if (dropped.empty()) continue;
    // Deleters are user code: never inside the collection. They run where
    // finalizers do.
    auto* batch = new DroppedObjects{p->plain_deleter(), std::move(dropped)};
    QueuedCall c;
    c.call = &DeleteDropped;
    c.arg = batch;
    c.internal = true;
    calls->Push(c);
  }
}

void PoolRegistry::Mark(Marker& m) {
  MutexLock l(&mu_);
  for (PoolBase* p : pools_) {
    if (m.labeling()) m.LabelRoots("pool", reinterpret_cast<uintptr_t>(p));
    if (p->heap_objects_) p->MarkRoots(m);
  }
}

}  // namespace gcheap::internal
