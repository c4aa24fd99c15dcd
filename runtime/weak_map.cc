// Ephemeron tables. See runtime/weak_map.h for the map and
// include/gcheap/weak.h for the contract.
#include "runtime/weak_map.h"

#include <stdlib.h>
#include <string.h>

#include "base/check.h"
#include "gcheap/weak.h"
#include "runtime/heap_impl.h"

namespace gcheap::internal {
namespace {

uint64_t HashKey(uintptr_t key) {
  // Objects are at least 8-byte aligned; mix the rest (splitmix64's
  // finalizer).
  uint64_t x = key >> 3;
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

EphemeronTable::EphemeronTable(HeapImpl* heap) : heap_(heap) {
  heap_->roots().AddEphemerons(this);
  heap_->roots().AddWeakCallback(&EphemeronTable::DropDead, this);
}

EphemeronTable::~EphemeronTable() {
  heap_->roots().RemoveWeakCallback(&EphemeronTable::DropDead, this);
  heap_->roots().RemoveEphemerons(this);
  free(entries_);
}

EphemeronTable::Entry* EphemeronTable::FindLocked(uintptr_t key) {
  if (capacity_ == 0) return nullptr;
  const size_t mask = capacity_ - 1;
  for (size_t i = HashKey(key) & mask;; i = (i + 1) & mask) {
    Entry& e = entries_[i];
    if (e.key == key) return &e;
    if (e.key == 0) return nullptr;
  }
}

void EphemeronTable::GrowLocked() {
  const size_t cap = capacity_ == 0 ? 16 : capacity_ * 2;
  auto* fresh = static_cast<Entry*>(calloc(cap, sizeof(Entry)));
  GCHEAP_CHECK(fresh != nullptr,
               "EphemeronTable: out of memory for %zu entries", cap);
  for (size_t i = 0; i < capacity_; i++) {
    const Entry& e = entries_[i];
    if (e.key <= kDeleted) continue;
    size_t j = HashKey(e.key) & (cap - 1);
    while (fresh[j].key != 0) j = (j + 1) & (cap - 1);
    fresh[j] = e;
  }
  free(entries_);
  entries_ = fresh;
  capacity_ = cap;
  used_ = count_;
  // Entries moved: their values are greyed again (harmless) this cycle.
  greyed_.assign(cap, false);
}

void EphemeronTable::Set(Mutator& m, const void* key, uint64_t value) {
  NoSignalStop no_stop;
  heap_->CheckRunning(m, "EphemeronTable::Set");
  MSpan* s;
  uintptr_t slot;
  heap_->ResolveObjectStart(key, "EphemeronTable::Set", &s, &slot);
  const auto k = reinterpret_cast<uintptr_t>(key);
  SpinLockHolder l(&mu_);
  Entry* e = FindLocked(k);
  if (e == nullptr) {
    if ((used_ + 1) * 2 > capacity_) GrowLocked();
    const size_t mask = capacity_ - 1;
    size_t i = HashKey(k) & mask;
    while (entries_[i].key > kDeleted) i = (i + 1) & mask;
    if (entries_[i].key == 0) used_++;
    e = &entries_[i];
    e->key = k;
    count_++;
  }
  e->value = value;
  // A new value of an entry whose old one was greyed: greyed again if the
  // key is marked (this cycle's marking looks at the entry once more).
  greyed_[static_cast<size_t>(e - entries_)] = false;
}

bool EphemeronTable::Get(Mutator& m, const void* key, uint64_t* value) {
  NoSignalStop no_stop;
  heap_->CheckRunning(m, "EphemeronTable::Get");
  uint64_t v;
  {
    SpinLockHolder l(&mu_);
    const Entry* e = FindLocked(reinterpret_cast<uintptr_t>(key));
    if (e == nullptr) return false;
    v = e->value;
  }
  // Shaded before the scope ends, as WeakSet does: the program now holds
  // the value where the mark may not look again.
  Shade(m, v);
  *value = v;
  return true;
}

bool EphemeronTable::Delete(Mutator& m, const void* key) {
  NoSignalStop no_stop;
  heap_->CheckRunning(m, "EphemeronTable::Delete");
  SpinLockHolder l(&mu_);
  Entry* e = FindLocked(reinterpret_cast<uintptr_t>(key));
  if (e == nullptr) return false;
  e->key = kDeleted;
  e->value = 0;
  count_--;
  return true;
}

size_t EphemeronTable::size() const {
  SpinLockHolder l(&mu_);
  return count_;
}

void EphemeronTable::Shade(Mutator& m, uint64_t value) const {
  m.Shade(reinterpret_cast<const void*>(static_cast<uintptr_t>(value)));
  const ValueEncoding& values = heap_->options().values;
  if (!values.plain()) {
    const uintptr_t d = values.Decode(value);
    if (d != 0 && d != value) m.Shade(reinterpret_cast<const void*>(d));
  }
}

void EphemeronTable::Entries(std::vector<std::pair<uintptr_t, uint64_t>>* out) {
  SpinLockHolder l(&mu_);
  for (size_t i = 0; i < capacity_; i++) {
    if (entries_[i].key > kDeleted) {
      out->emplace_back(entries_[i].key, entries_[i].value);
    }
  }
}

bool EphemeronTable::MarkLive(Marker& m) {
  std::vector<uint64_t> values;
  {
    SpinLockHolder l(&mu_);
    for (size_t i = 0; i < capacity_; i++) {
      const Entry& e = entries_[i];
      if (e.key <= kDeleted || greyed_[i]) continue;
      if (!m.IsMarkedOrNotHeap(e.key)) continue;
      greyed_[i] = true;
      values.push_back(e.value);
    }
  }
  // Outside the lock (greying may take the work pool's): a value replaced
  // meanwhile is greyed all the same, and its successor next round.
  const ValueEncoding& enc = heap_->options().values;
  for (uint64_t v : values) {
    m.Grey(static_cast<uintptr_t>(v));
    if (!enc.plain()) {
      const uintptr_t d = enc.Decode(v);
      if (d != 0 && d != v) m.Grey(d);
    }
  }
  return !values.empty();
}

void EphemeronTable::DropDead(WeakProcessor& weak, void* arg) {
  auto* t = static_cast<EphemeronTable*>(arg);
  SpinLockHolder l(&t->mu_);
  for (size_t i = 0; i < t->capacity_; i++) {
    Entry& e = t->entries_[i];
    if (e.key > kDeleted && !weak.IsLive(reinterpret_cast<void*>(e.key))) {
      e.key = kDeleted;
      e.value = 0;
      t->count_--;
    }
  }
  t->greyed_.assign(t->capacity_, false);
}

}  // namespace gcheap::internal

namespace gcheap {

EphemeronTable::EphemeronTable(Heap& heap)
    : impl_(new internal::EphemeronTable(internal::HeapAccess::Of(heap))) {}

EphemeronTable::~EphemeronTable() { delete impl_; }

void EphemeronTable::Set(Mutator& m, const void* key, uint64_t value) {
  impl_->Set(m, key, value);
}

bool EphemeronTable::Get(Mutator& m, const void* key, uint64_t* value) const {
  return impl_->Get(m, key, value);
}

bool EphemeronTable::Delete(Mutator& m, const void* key) {
  return impl_->Delete(m, key);
}

size_t EphemeronTable::size() const { return impl_->size(); }

}  // namespace gcheap
