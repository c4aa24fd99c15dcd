// Weak references. Public API: "gcheap/weak.h".
//
// WeakRef<T>          refers to a heap object without keeping it alive, as
//                     Go's weak.Pointer: Get() returns the object while it
//                     lives, null once the collector has found it dead.
// WeakValueMap<K, V>  a hash table whose values are held weakly: a VM's
//                     table of interned strings, a cache of wrappers.
// WeakSet<T>          a set of heap objects held weakly, looked up by a hash
//                     and an equality test that reads the object: a VM's
//                     string table (clox's), with no key copy, no
//                     allocation and no weak handle per entry.
// WeakMap<K, V>       ephemerons (JavaScript's WeakMap): a value lives
//                     while its key does (EphemeronTable: untyped).
//
//   gcheap::WeakRef<Str> w(heap, s);
//   ...
//   if (Str* s = w.Get()) use(s);   // a strong pointer again, or null
//
// Every object that has weak references gets one handle cell, off the
// heap, made on first use and shared by all of them (so WeakRefs to the
// same object compare equal). When the sweeper frees the object it clears
// the cell first; for an object with a finalizer the cell is cleared when
// the object is found unreachable, before the finalizer can run, so an
// object a finalizer resurrects does not come back through weak references.
// Between the end of a cycle's marking and the sweep of the object's span,
// Get already answers null for an object found dead (it reads the mark
// bits), and while the collector marks, Get shades what it returns.
//
// Threads: WeakRef creation and Get need an attached mutator of the heap
// holding its P (a clear error otherwise), because the answer is only
// meaningful to a thread the collector will stop; copying and destroying a
// WeakRef may happen on any thread. A WeakRef must not outlive its heap
// unless it is only destroyed. docs/finalizers.md has the details.
#ifndef GCHEAP_WEAK_H_
#define GCHEAP_WEAK_H_

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <utility>

#include "gcheap/heap.h"
#include "gcheap/internal/config.h"
#include "gcheap/internal/spin_lock.h"

namespace gcheap {

namespace internal {
class EphemeronTable;
}  // namespace internal

namespace internal {
struct WeakCell;
// The object's cell with a reference for the caller; checks that object
// starts an object of heap and that the caller may use it.
GCHEAP_EXPORT WeakCell* NewWeakRef(Heap& heap, const void* object);
GCHEAP_EXPORT void RetainWeakRef(WeakCell* c);
GCHEAP_EXPORT void ReleaseWeakRef(WeakCell* c);
GCHEAP_EXPORT void* GetWeakRef(Heap& heap, WeakCell* c);
}  // namespace internal

template <class T>
class WeakRef {
 public:
  WeakRef() = default;
  // A weak reference to `object` (an object start of `heap`, or null for
  // an empty reference).
  WeakRef(Heap& heap, T* object)
      : heap_(&heap),
        cell_(object != nullptr ? internal::NewWeakRef(heap, object)
                                : nullptr) {}
  // A weak reference to the object a value in the heap's encoding
  // (Options::values) points to, decoded as the collector decodes it; an
  // empty reference for a value that holds no pointer (a number).
  static WeakRef OfValue(Heap& heap, uint64_t value) {
    return WeakRef(heap,
                   reinterpret_cast<T*>(heap.options().values.Decode(value)));
  }
  ~WeakRef() { Reset(); }
  WeakRef(const WeakRef& o) : heap_(o.heap_), cell_(o.cell_) {
    if (cell_ != nullptr) internal::RetainWeakRef(cell_);
  }
  WeakRef& operator=(const WeakRef& o) {
    if (this != &o) {
      if (o.cell_ != nullptr) internal::RetainWeakRef(o.cell_);
      Reset();
      heap_ = o.heap_;
      cell_ = o.cell_;
    }
    return *this;
  }
  WeakRef(WeakRef&& o) noexcept
      : heap_(std::exchange(o.heap_, nullptr)),
        cell_(std::exchange(o.cell_, nullptr)) {}
  WeakRef& operator=(WeakRef&& o) noexcept {
    if (this != &o) {
      Reset();
      heap_ = std::exchange(o.heap_, nullptr);
      cell_ = std::exchange(o.cell_, nullptr);
    }
    return *this;
  }

  // The object if it is still alive, else null. The result is an ordinary
  // pointer: keep it where the collector sees it (a local in conservative
  // mode, a Local<T> in precise mode).
  T* Get() const {
    if (cell_ == nullptr) return nullptr;
    return static_cast<T*>(internal::GetWeakRef(*heap_, cell_));
  }
  // Drops the reference (Get returns null from now on).
  void Reset() {
    if (cell_ != nullptr) internal::ReleaseWeakRef(cell_);
    cell_ = nullptr;
    heap_ = nullptr;
  }
  // True if both were made from the same object (or both are empty),
  // whether or not it is still alive.
  bool operator==(const WeakRef& o) const { return cell_ == o.cell_; }

 private:
  Heap* heap_ = nullptr;
  internal::WeakCell* cell_ = nullptr;
};

// A map from C++ keys to heap objects that does not keep its values alive:
// once a value dies, its entry reads as absent and is removed on the next
// lookup of its key, or by Purge(), which Insert also runs whenever the
// table has doubled since the last purge (so dead entries cost amortized
// O(1) each).
//
// Thread-safe: every call takes the map's mutex. The calls that need the
// heap (all but size() and the destructor) must come from an attached
// mutator holding its P. The lock is never held across a safepoint:
// FindOrInsert runs `make` (which may allocate, and so stop for a
// collection) with the lock released.
template <class K, class V, class Hash = std::hash<K>,
          class Eq = std::equal_to<K>>
class WeakValueMap {
 public:
  explicit WeakValueMap(Heap& heap) : heap_(heap) {}
  WeakValueMap(const WeakValueMap&) = delete;
  WeakValueMap& operator=(const WeakValueMap&) = delete;

  // The live value for key, or null.
  V* Find(const K& key) {
    std::lock_guard<std::mutex> l(mu_);
    return FindLocked(key);
  }
  // Maps key to value (an object start; null erases), replacing any entry.
  void Insert(const K& key, V* value) {
    std::lock_guard<std::mutex> l(mu_);
    InsertLocked(key, value);
  }
  // The live value for key; if there is none, make() is called (without
  // the lock) and its result inserted and returned, unless another thread
  // inserted a live value meanwhile: then that one is returned. The
  // interning operation: FindOrInsert(s, [&] { return NewString(m, s); }).
  template <class Make>
  V* FindOrInsert(const K& key, Make&& make) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (V* v = FindLocked(key)) return v;
    }
    V* made = make();
    std::lock_guard<std::mutex> l(mu_);
    if (V* v = FindLocked(key)) return v;
    InsertLocked(key, made);
    return made;
  }
  // Removes key's entry; true if there was a live one.
  bool Erase(const K& key) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = map_.find(key);
    if (it == map_.end()) return false;
    bool live = it->second.Get() != nullptr;
    map_.erase(it);
    return live;
  }
  // Removes every entry whose value has died; returns how many.
  size_t Purge() {
    std::lock_guard<std::mutex> l(mu_);
    return PurgeLocked();
  }
  // Entries, dead ones not yet removed included.
  size_t size() const {
    std::lock_guard<std::mutex> l(mu_);
    return map_.size();
  }

 private:
  V* FindLocked(const K& key) {
    auto it = map_.find(key);
    if (it == map_.end()) return nullptr;
    V* v = it->second.Get();
    if (v == nullptr) map_.erase(it);
    return v;
  }
  void InsertLocked(const K& key, V* value) {
    if (value == nullptr) {
      map_.erase(key);
      return;
    }
    map_.insert_or_assign(key, WeakRef<V>(heap_, value));
    if (map_.size() >= purge_at_) {
      PurgeLocked();
      purge_at_ = map_.size() * 2 < 16 ? 16 : map_.size() * 2;
    }
  }
  size_t PurgeLocked() {
    size_t n = 0;
    for (auto it = map_.begin(); it != map_.end();) {
      if (it->second.Get() == nullptr) {
        it = map_.erase(it);
        n++;
      } else {
        ++it;
      }
    }
    return n;
  }

  Heap& heap_;
  // A mutex, not a spin lock: the collector may stop a holder by signal
  // (it is the program's code, not a fast path), and waiters then sleep.
  mutable std::mutex mu_;
  std::unordered_map<K, WeakRef<V>, Hash, Eq> map_;
  size_t purge_at_ = 16;
};

// A scope in which the calling thread, if attached, is not stopped by a
// signal (it may still stop at a safepoint, but reaches none inside unless
// it allocates or polls): for a program's own weak table, whose lookup and
// shade (Mutator::Shade) a stop must not find halfway, as WeakSet's own
// lookups. Keep it short: a stop waits for the scope to end. Scopes nest.
// The C API's gch_no_signal_stop_begin / _end.
//
//   { gcheap::NoSignalStop no_stop; s = table.Find(key); if (s) m.Shade(s); }
class GCHEAP_EXPORT NoSignalStop {
 public:
  NoSignalStop();
  ~NoSignalStop();
  NoSignalStop(const NoSignalStop&) = delete;
  NoSignalStop& operator=(const NoSignalStop&) = delete;

 private:
  int* const depth_;
};
namespace internal {
using NoSignalStop = gcheap::NoSignalStop;
}  // namespace internal

// A set of heap objects that does not keep them alive: the shape of a VM's
// string table. Lookups take a hash and an equality test that reads the
// candidate object, so a string is found by (chars, length, hash) with no
// key copy and no allocation:
//
//   struct StrEq {
//     std::string_view s;
//     bool operator()(const Str* o) const { return o->view() == s; }
//   };
//   Str* Intern(gcheap::WeakSet<Str>& set, gcheap::Mutator& m,
//               std::string_view s) {
//     const uint64_t h = Hash(s);
//     return set.FindOrInsert(h, StrEq{s}, [&] { return NewStr(m, s, h); });
//   }
//
// Entries whose object dies vanish: once per cycle, after marking and
// before anything is freed, the set drops them (a weak callback,
// Heap::AddWeakCallback). The objects the set returns are shaded while a
// concurrent mark runs (Mutator::Shade), so a string found during a mark
// is kept by that mark.
//
// Threads: every call but size() needs the calling thread attached to the
// set's heap and holding its P. Calls from several threads are serialized
// by the set's spin lock, which is never held across a safepoint: FindOrInsert
// calls `make` (which may allocate, and so stop for a collection) with the
// lock released, then looks again.
template <class T>
class WeakSet {
 public:
  explicit WeakSet(Heap& heap) : heap_(heap) {
    heap_.AddWeakCallback(&WeakSet::DropDead, this);
  }
  ~WeakSet() {
    heap_.RemoveWeakCallback(&WeakSet::DropDead, this);
    free(entries_);
  }
  WeakSet(const WeakSet&) = delete;
  WeakSet& operator=(const WeakSet&) = delete;

  // The live object with this hash for which eq(object) is true, or null.
  template <class Eq>
  T* Find(Mutator& m, uint64_t hash, Eq&& eq) {
    // Shaded before the scope ends: a stop between the two would find the
    // object unmarked, and the weak callback would drop it.
    internal::NoSignalStop no_stop;
    T* found;
    {
      internal::SpinLockHolder l(&mu_);
      found = FindLocked(hash, eq);
    }
    if (found != nullptr) m.Shade(found);
    return found;
  }
  // Adds object with its hash (the same hash its lookups will give). An
  // object equal to one already in the set is added beside it: use
  // FindOrInsert to intern.
  void Insert(T* object, uint64_t hash) {
    internal::NoSignalStop no_stop;
    internal::SpinLockHolder l(&mu_);
    InsertLocked(object, hash);
  }
  // The live object with this hash for which eq(object) is true; if there
  // is none, make() is called (without the lock) and its result added and
  // returned, unless another thread added an equal object meanwhile: then
  // that one is returned. The interning operation.
  template <class Eq, class Make>
  T* FindOrInsert(Mutator& m, uint64_t hash, Eq&& eq, Make&& make) {
    if (T* found = Find(m, hash, eq)) return found;
    T* made = make();
    internal::NoSignalStop no_stop;  // shading included, as in Find
    T* found;
    {
      internal::SpinLockHolder l(&mu_);
      found = FindLocked(hash, eq);
      if (found == nullptr) InsertLocked(made, hash);
    }
    if (found != nullptr) {
      m.Shade(found);
      return found;
    }
    return made;
  }
  // Entries, the dead ones of the last cycle already dropped.
  size_t size() const {
    internal::SpinLockHolder l(&mu_);
    return count_;
  }

 private:
  // An entry: the object (0: empty, 1: deleted) and its hash.
  struct Entry {
    uintptr_t object;
    uint64_t hash;
  };
  static constexpr uintptr_t kDeleted = 1;

  template <class Eq>
  T* FindLocked(uint64_t hash, Eq& eq)
      GCHEAP_THREAD_ANNOTATION(requires_capability(mu_)) {
    if (capacity_ == 0) return nullptr;
    for (size_t i = hash & (capacity_ - 1);; i = (i + 1) & (capacity_ - 1)) {
      const Entry& e = entries_[i];
      if (e.object == 0) return nullptr;
      if (e.object != kDeleted && e.hash == hash &&
          eq(static_cast<const T*>(reinterpret_cast<T*>(e.object)))) {
        return reinterpret_cast<T*>(e.object);
      }
    }
  }
  void InsertLocked(T* object, uint64_t hash)
      GCHEAP_THREAD_ANNOTATION(requires_capability(mu_)) {
    if ((used_ + 1) * 4 > capacity_ * 3) Rehash();
    size_t i = hash & (capacity_ - 1);
    while (entries_[i].object > kDeleted) i = (i + 1) & (capacity_ - 1);
    if (entries_[i].object == 0) used_++;
    entries_[i] = Entry{reinterpret_cast<uintptr_t>(object), hash};
    count_++;
  }
  // Grows (or, with many deleted entries, just cleans) the table.
  void Rehash() GCHEAP_THREAD_ANNOTATION(requires_capability(mu_)) {
    size_t capacity = capacity_ == 0 ? 16 : capacity_;
    while ((count_ + 1) * 2 > capacity) capacity *= 2;
    auto* entries = static_cast<Entry*>(calloc(capacity, sizeof(Entry)));
    if (entries == nullptr) abort();
    for (size_t j = 0; j < capacity_; j++) {
      const Entry& e = entries_[j];
      if (e.object <= kDeleted) continue;
      size_t i = e.hash & (capacity - 1);
      while (entries[i].object != 0) i = (i + 1) & (capacity - 1);
      entries[i] = e;
    }
    free(entries_);
    entries_ = entries;
    capacity_ = capacity;
    used_ = count_;
  }
  // The weak callback: with the world stopped, no thread is inside a call
  // (each runs without a safepoint and cannot be stopped by a signal), so
  // the table is read without the lock.
  static void DropDead(WeakProcessor& weak, void* arg)
      GCHEAP_THREAD_ANNOTATION(no_thread_safety_analysis) {
    auto* set = static_cast<WeakSet*>(arg);
    for (size_t i = 0; i < set->capacity_; i++) {
      Entry& e = set->entries_[i];
      if (e.object > kDeleted &&
          !weak.IsLive(reinterpret_cast<const void*>(e.object))) {
        e.object = kDeleted;
        set->count_--;
      }
    }
  }

  Heap& heap_;
  // A leaf spin lock: held for one probe sequence, never across a
  // safepoint or a call but eq.
  mutable internal::SpinLock mu_;
  Entry* entries_ GCHEAP_THREAD_ANNOTATION(guarded_by(mu_)) = nullptr;
  size_t capacity_ GCHEAP_THREAD_ANNOTATION(guarded_by(mu_)) =
      0;  // a power of two, or 0
  size_t used_ GCHEAP_THREAD_ANNOTATION(guarded_by(mu_)) =
      0;  // live and deleted entries
  size_t count_ GCHEAP_THREAD_ANNOTATION(guarded_by(mu_)) = 0;  // live entries
};

// Ephemerons: JavaScript's WeakMap. Each entry maps a key object to a
// value and keeps the value alive only while the key is alive: not because
// the table holds it, and even when the value refers back to its key (a
// cycle through the value does not keep the key). Keys are heap objects of
// the table's heap, compared by identity; values are words: a heap
// pointer, or a value in the heap's encoding (Options::values), or any
// other word (a number), which the collector ignores.
//
//   gcheap::WeakMap<Obj, Obj> expando(heap);
//   expando.Set(m, dom_node, wrapper);    // wrapper lives while dom_node does
//   if (Obj* w = expando.Get(m, dom_node)) use(w);
//
// How it marks: when the rest of the mark is done, the collector looks at
// the entries whose key is marked and marks their values, and repeats
// until that marks nothing new (values may make other keys reachable);
// the last round runs with the world stopped, in the mark-termination
// pause, so a table whose values hold large graphs lengthens that pause
// only by what was not found concurrently. After the mark, entries whose
// key died are removed, before anything is freed. Get shades the value it
// returns while a mark runs.
//
// Threads: every call but size() needs the calling thread attached to the
// table's heap and holding its P. Calls are serialized by the table's spin
// lock, which is never held across a safepoint. Memory: 16 bytes per
// entry at a load of at most 1/2, off the heap (MemStats::other_sys does
// not count it).
class GCHEAP_EXPORT EphemeronTable {
 public:
  explicit EphemeronTable(Heap& heap);
  ~EphemeronTable();
  EphemeronTable(const EphemeronTable&) = delete;
  EphemeronTable& operator=(const EphemeronTable&) = delete;

  // Maps key (the start of an object of this heap; anything else aborts)
  // to value, replacing any value it had.
  void Set(Mutator& m, const void* key, uint64_t value);
  // The value key maps to, in *value; false (and *value untouched) when it
  // has none.
  bool Get(Mutator& m, const void* key, uint64_t* value) const;
  // Removes key's entry; false when it had none.
  bool Delete(Mutator& m, const void* key);
  // Entries whose key lives, as of the last cycle (dead keys' entries are
  // counted until the cycle that finds them dead).
  size_t size() const;

 private:
  internal::EphemeronTable* const impl_;
};

// The typed form: K and V are heap object types; values are pointers.
template <class K, class V>
class WeakMap {
 public:
  explicit WeakMap(Heap& heap) : table_(heap) {}
  void Set(Mutator& m, const K* key, V* value) {
    table_.Set(m, key, reinterpret_cast<uintptr_t>(value));
  }
  V* Get(Mutator& m, const K* key) const {
    uint64_t v = 0;
    return table_.Get(m, key, &v) ? reinterpret_cast<V*>(v) : nullptr;
  }
  bool Has(Mutator& m, const K* key) const {
    uint64_t v;
    return table_.Get(m, key, &v);
  }
  bool Delete(Mutator& m, const K* key) { return table_.Delete(m, key); }
  size_t size() const { return table_.size(); }

 private:
  EphemeronTable table_;
};

}  // namespace gcheap

#endif  // GCHEAP_WEAK_H_
