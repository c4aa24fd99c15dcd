#include "tests/fuzz/heap_fuzz_lib.h"

#include <stdio.h>
#include <stdlib.h>

#include <cstring>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "gcheap/gcheap.h"
#include "tests/test_types.h"

namespace gcheap::fuzz {
namespace {

using testing::Big;
using testing::kBigType;
using testing::kPairType;
using testing::kPtrArrayElem;
using testing::kTaggedType;
using testing::Pair;
using testing::Tagged;

constexpr int kPersistentSlots = 32;
constexpr int kRawSlots = 32;
constexpr int kRootSlots = kPersistentSlots + kRawSlots;
constexpr int kWeakSlots = 16;
constexpr size_t kMaxOps = 3000;
constexpr size_t kMaxModelObjects = 1500;
constexpr size_t kLargeBudget = 24 << 20;  // bytes of large buffers per input
constexpr size_t kPoolItemSize = 40;

enum class Kind { kPair, kTagged, kNoscan, kArray, kBig, kPoolItem };
enum class State { kLive, kPool, kDead };
enum class Fin { kNone, kPending, kRan };

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kPair:
      return "Pair";
    case Kind::kTagged:
      return "Tagged";
    case Kind::kNoscan:
      return "noscan buffer";
    case Kind::kArray:
      return "pointer array";
    case Kind::kBig:
      return "Big";
    case Kind::kPoolItem:
      return "pool item";
  }
  return "?";
}

uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint8_t PayloadByte(uint64_t seed, size_t i) {
  return static_cast<uint8_t>((seed >> (8 * (i & 7))) ^ (i * 131));
}

struct Obj {
  void* ptr = nullptr;
  Kind kind = Kind::kPair;
  size_t size = 0;  // bytes (noscan, pool item) or slots (array)
  uint64_t seed = 0;
  State state = State::kLive;
  Fin fin = Fin::kNone;
  bool freed = false;  // found dead at a Collect: the heap must have freed it
  bool tiny = false;
  std::vector<int> edges;         // per pointer field: object id or -1
  std::vector<uintptr_t> tagged;  // Tagged: the word when edges[i] == -1
  int pool_age = 0;               // State::kPool: Collects since Put
};

class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  bool done() const { return pos_ >= size_; }
  uint8_t Byte() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint32_t U16() { return Byte() | (static_cast<uint32_t>(Byte()) << 8); }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

[[noreturn]] void Fail(const char* what) {
  fprintf(stderr, "heap_fuzz: model mismatch: %s\n", what);
  fflush(stderr);
  __builtin_trap();
}

class Fuzzer {
 public:
  Fuzzer(uint8_t config, bool odd_pointers_in_persistents)
      : odd_in_persistents_(odd_pointers_in_persistents) {
    Options o;
    o.max_procs = 2;
    o.stack_scanning = StackScanning::kPrecise;
    o.checkmark = true;
    o.background_scavenger = false;
    o.finalizer_mode = FinalizerMode::kEmbedderDrains;
    o.gc_percent = 5 + (config % 8) * 15;
    heap_ = std::make_unique<Heap>(o);
    m_ = &heap_->AttachCurrentThread();
    for (int i = 0; i < kRawSlots; i++) {
      raw_[i] = nullptr;
      heap_->AddRoot(&raw_[i]);
    }
    for (int& r : roots_) r = -1;
    for (int& w : weak_target_) w = -1;
    pool_.emplace(*heap_, [this](Mutator& m) {
      void* p = m.AllocateNoscan(kPoolItemSize);
      last_new_ = p;
      return static_cast<Pair*>(p);
    });
  }

  ~Fuzzer() {
    for (auto& p : persistent_) p.Reset();
    for (int i = 0; i < kRawSlots; i++) heap_->RemoveRoot(&raw_[i]);
    for (auto& w : weak_) w.Reset();
    pool_.reset();
    strong_during_fin_.assign(objs_.size(), 0);  // no roots are left
    heap_->RunFinalizers();
    heap_->DetachCurrentThread();
    heap_.reset();
  }

  void Run(Reader& in) {
    for (size_t ops = 0; !in.done() && ops < kMaxOps; ops++) Step(in);
    Collect();
    RunFinalizers();
    Collect();
  }

 private:
  // ---- roots -------------------------------------------------------------

  void* RootValue(int slot) const {
    if (slot < kPersistentSlots) return persistent_[slot].Get();
    return raw_[slot - kPersistentSlots];
  }

  void SetRoot(int slot, int id) {
    void* p = id < 0 ? nullptr : objs_[id].ptr;
    // With odd_pointers_in_persistents off, odd addresses (tiny objects)
    // go to a registered slot instead of a Persistent: the guard that kept
    // fuzzing past a bug Persistents had with them (now fixed; see
    // known_bugs/README.md). RunHeapFuzzInput turns the option on.
    if (!odd_in_persistents_ && slot < kPersistentSlots &&
        (reinterpret_cast<uintptr_t>(p) & 1) != 0) {
      if (persistent_[slot]) SetRoot(slot, -1);
      slot += kPersistentSlots;
    }
    roots_[slot] = id;
    if (slot < kPersistentSlots) {
      Persistent<Pair>& h = persistent_[slot];
      if (p == nullptr) {
        h.Reset();
      } else if (h) {
        h.Set(static_cast<Pair*>(p));
      } else {
        h = Persistent<Pair>(*heap_, static_cast<Pair*>(p));
      }
    } else {
      raw_[slot - kPersistentSlots] = p;
    }
  }

  // ---- the model's reachability -------------------------------------------

  // Marks everything reachable from the roots (and, if with_finalizers,
  // from objects whose finalizer has not run: the collector keeps those
  // and what they reach alive).
  std::vector<char> Reach(bool with_finalizers) const {
    std::vector<char> seen(objs_.size(), 0);
    std::vector<int> stack;
    auto push = [&](int id) {
      if (id >= 0 && !seen[id]) {
        seen[id] = 1;
        stack.push_back(id);
      }
    };
    for (int r : roots_) push(r);
    if (with_finalizers) {
      for (size_t i = 0; i < objs_.size(); i++) {
        if (objs_[i].state == State::kLive && objs_[i].fin == Fin::kPending) {
          push(static_cast<int>(i));
        }
      }
    }
    while (!stack.empty()) {
      int id = stack.back();
      stack.pop_back();
      for (int e : objs_[id].edges) push(e);
    }
    return seen;
  }

  std::vector<int> StrongList() const {
    std::vector<char> seen = Reach(false);
    std::vector<int> out;
    for (size_t i = 0; i < seen.size(); i++) {
      if (seen[i]) out.push_back(static_cast<int>(i));
    }
    return out;
  }

  int Pick(const std::vector<int>& list, Reader& in) {
    if (list.empty()) return -1;
    return list[in.U16() % list.size()];
  }

  // ---- objects -------------------------------------------------------------

  int AddObj(void* p, Kind kind, size_t size, size_t fields) {
    Obj o;
    o.ptr = p;
    o.kind = kind;
    o.size = size;
    o.seed = Mix(objs_.size() + 1);
    o.edges.assign(fields, -1);
    if (kind == Kind::kTagged) o.tagged.assign(fields, 0);
    if (trace_) {
      fprintf(stderr, "  new #%zu %s %p size %zu\n", objs_.size(),
              KindName(kind), p, size);
    }
    objs_.push_back(std::move(o));
    return static_cast<int>(objs_.size() - 1);
  }

  void FillPayload(int id) {
    Obj& o = objs_[id];
    switch (o.kind) {
      case Kind::kPair:
        static_cast<Pair*>(o.ptr)->value = o.seed;
        break;
      case Kind::kBig: {
        Big* b = static_cast<Big*>(o.ptr);
        for (size_t i = 0; i < 30; i++) b->pad[i] = o.seed + i;
        for (size_t i = 0; i < 40; i++) b->tail[i] = o.seed ^ i;
        break;
      }
      case Kind::kNoscan:
      case Kind::kPoolItem: {
        uint8_t* b = static_cast<uint8_t*>(o.ptr);
        for (size_t i = 0; i < o.size; i++) b[i] = PayloadByte(o.seed, i);
        break;
      }
      case Kind::kTagged:
      case Kind::kArray:
        break;
    }
  }

  void** FieldAddr(const Obj& o, size_t f) const {
    switch (o.kind) {
      case Kind::kPair: {
        Pair* p = static_cast<Pair*>(o.ptr);
        return reinterpret_cast<void**>(f == 0 ? &p->car : &p->cdr);
      }
      case Kind::kBig: {
        Big* b = static_cast<Big*>(o.ptr);
        return reinterpret_cast<void**>(f == 0 ? &b->first : &b->last);
      }
      case Kind::kTagged:
        return reinterpret_cast<void**>(&static_cast<Tagged*>(o.ptr)->slots[f]);
      case Kind::kArray:
        return static_cast<void**>(o.ptr) + f;
      case Kind::kNoscan:
      case Kind::kPoolItem:
        break;
    }
    return nullptr;
  }

  void Report(int id, const char* what) {
    const Obj& o = objs_[id];
    fprintf(stderr,
            "heap_fuzz: object #%d (%s, size %zu, %p%s%s) after op %zu: %s\n",
            id, KindName(o.kind), o.size, o.ptr, o.tiny ? ", tiny" : "",
            o.fin == Fin::kPending ? ", finalizer pending" : "", op_, what);
    Fail("live object differs from the model");
  }

  void CheckObject(int id) {
    const Obj& o = objs_[id];
    void* start = heap_->ObjectStart(o.ptr);
    if (o.tiny ? start == nullptr : start != o.ptr) {
      fprintf(stderr, "heap_fuzz: ObjectStart(%p) = %p\n", o.ptr, start);
      Report(id, "reachable object is not allocated");
    }
    switch (o.kind) {
      case Kind::kPair:
        if (static_cast<Pair*>(o.ptr)->value != o.seed) {
          Report(id, "Pair checksum changed");
        }
        break;
      case Kind::kBig: {
        const Big* b = static_cast<const Big*>(o.ptr);
        for (size_t i = 0; i < 30; i++) {
          if (b->pad[i] != o.seed + i) Report(id, "Big pad changed");
        }
        for (size_t i = 0; i < 40; i++) {
          if (b->tail[i] != (o.seed ^ i)) Report(id, "Big tail changed");
        }
        break;
      }
      case Kind::kNoscan:
      case Kind::kPoolItem: {
        const uint8_t* b = static_cast<const uint8_t*>(o.ptr);
        size_t stride = o.size > 256 ? o.size / 97 : 1;
        for (size_t i = 0; i < o.size; i += stride) {
          if (b[i] != PayloadByte(o.seed, i)) Report(id, "buffer changed");
        }
        if (b[o.size - 1] != PayloadByte(o.seed, o.size - 1)) {
          Report(id, "buffer's last byte changed");
        }
        break;
      }
      case Kind::kTagged:
      case Kind::kArray:
        break;
    }
    for (size_t f = 0; f < o.edges.size(); f++) {
      void* actual = __atomic_load_n(FieldAddr(o, f), __ATOMIC_RELAXED);
      void* want = o.edges[f] >= 0 ? objs_[o.edges[f]].ptr
                                   : (o.kind == Kind::kTagged
                                          ? reinterpret_cast<void*>(o.tagged[f])
                                          : nullptr);
      if (actual != want) {
        fprintf(stderr, "heap_fuzz: field %zu holds %p, model says %p\n", f,
                actual, want);
        Report(id, "pointer field changed");
      }
    }
  }

  // Compares the heap with the model. After a Collect, also checks that
  // the objects the model calls dead were freed (by counting).
  void Verify(bool after_collect) {
    std::vector<char> live = Reach(true);
    for (size_t i = 0; i < objs_.size(); i++) {
      Obj& o = objs_[i];
      if (o.state == State::kLive && !live[i]) {
        o.state = State::kDead;
        o.edges.clear();
      }
      if (o.state == State::kDead && after_collect) o.freed = true;
    }
    for (int i = 0; i < kRootSlots; i++) {
      void* want = roots_[i] < 0 ? nullptr : objs_[roots_[i]].ptr;
      if (RootValue(i) != want) {
        fprintf(stderr, "heap_fuzz: root slot %d holds %p, model says %p\n", i,
                RootValue(i), want);
        Fail("root slot changed");
      }
    }
    uint64_t exact = 0, live_tiny = 0;
    for (size_t i = 0; i < objs_.size(); i++) {
      if (objs_[i].state != State::kLive) continue;
      CheckObject(static_cast<int>(i));
      if (objs_[i].tiny) {
        live_tiny++;
      } else {
        exact++;
      }
    }
    if (!after_collect) return;
    uint64_t pooled = 0;
    for (auto it = pool_held_.begin(); it != pool_held_.end();) {
      Obj& o = objs_[it->second];
      // An object nobody takes survives at most two collections in a pool.
      if (++o.pool_age >= 2) {
        o.state = State::kDead;
        o.freed = true;
        it = pool_held_.erase(it);
      } else {
        pooled++;
        ++it;
      }
    }
    uint64_t lo = exact + (live_tiny > 0 ? 1 : 0);
    uint64_t hi = exact + pooled + (tiny_used_ ? live_tiny + 1 : 0);
    MemStats s = heap_->ReadMemStats();
    if (s.heap_objects < lo || s.heap_objects > hi) {
      fprintf(stderr,
              "heap_fuzz: after Collect (op %zu) heap_objects = %llu, model "
              "expects [%llu, %llu] (%llu exact, %llu tiny, %llu pooled)\n",
              op_, static_cast<unsigned long long>(s.heap_objects),
              static_cast<unsigned long long>(lo),
              static_cast<unsigned long long>(hi),
              static_cast<unsigned long long>(exact),
              static_cast<unsigned long long>(live_tiny),
              static_cast<unsigned long long>(pooled));
      Fail("heap object count differs from the model");
    }
  }

  void Collect() {
    heap_->Collect();
    Verify(/*after_collect=*/true);
  }

  // ---- operations ----------------------------------------------------------

  bool Full() const { return live_count_estimate_ >= kMaxModelObjects; }

  int Allocate(Kind kind, Reader& in) {
    void* p = nullptr;
    size_t size = 0, fields = 0;
    bool tiny = false;
    switch (kind) {
      case Kind::kPair:
        p = m_->New<Pair>(kPairType);
        fields = 2;
        break;
      case Kind::kBig:
        p = m_->New<Big>(kBigType);
        fields = 2;
        break;
      case Kind::kTagged:
        p = m_->New<Tagged>(kTaggedType);
        fields = 4;
        break;
      case Kind::kNoscan: {
        uint8_t sub = in.Byte();
        uint32_t r = in.U16();
        switch (sub % 8) {
          case 0:
          case 1:
          case 2:
            size = 1 + r % 15;
            tiny = true;
            break;
          case 3:
          case 4:
          case 5:
            size = 16 + r % 2033;
            break;
          case 6:
            size = 2049 + (r * 7) % 30720;
            break;
          default:
            size = 32769 + static_cast<size_t>(r) * 3 % 180000;
            if (large_bytes_ + size > kLargeBudget) size = 4096;
            large_bytes_ += size;
            break;
        }
        p = m_->AllocateNoscan(size);
        tiny_used_ |= tiny;
        break;
      }
      case Kind::kArray: {
        uint8_t sub = in.Byte();
        size = (sub % 16 == 15 && large_bytes_ < kLargeBudget)
                   ? 4097 + sub % 256
                   : 1 + sub % 64;
        if (size > 4096) large_bytes_ += size * 8;
        p = m_->AllocateArray(kPtrArrayElem, size);
        fields = size;
        break;
      }
      case Kind::kPoolItem:
        break;
    }
    int id = AddObj(p, kind, size, fields);
    objs_[id].tiny = tiny;
    // Fresh objects are zeroed.
    for (size_t f = 0; f < fields; f++) {
      if (*FieldAddr(objs_[id], f) != nullptr) {
        Report(id, "new object is not zeroed");
      }
    }
    FillPayload(id);
    live_count_estimate_++;
    return id;
  }

  void StoreField(int src, size_t f, int value, uintptr_t tagged_int) {
    Obj& o = objs_[src];
    void** slot = FieldAddr(o, f);
    if (value >= 0) {
      void* p = objs_[value].ptr;
      if (o.kind == Kind::kPair) {
        Pair* pair = static_cast<Pair*>(o.ptr);
        (f == 0 ? pair->car : pair->cdr) = static_cast<Pair*>(p);
      } else {
        WriteBarrier(slot, p);
      }
      o.edges[f] = value;
      if (trace_) fprintf(stderr, "  #%d.%zu = #%d\n", src, f, value);
    } else if (o.kind == Kind::kTagged && tagged_int != 0) {
      WriteBarrier(slot, reinterpret_cast<void*>(tagged_int));
      o.edges[f] = -1;
      o.tagged[f] = tagged_int;
    } else {
      WriteBarrier(slot, nullptr);
      o.edges[f] = -1;
      if (o.kind == Kind::kTagged) o.tagged[f] = 0;
    }
  }

  static void OnFinalize(void* object, void* arg) {
    static_cast<Fuzzer*>(arg)->Finalized(object);
  }

  void Finalized(void* object) {
    auto it = fin_pending_.find(object);
    if (it == fin_pending_.end()) {
      fprintf(stderr, "heap_fuzz: finalizer ran on %p (op %zu)\n", object, op_);
      Fail(
          "finalizer ran on an object without a pending finalizer "
          "(or a second time)");
    }
    int id = it->second;
    if (static_cast<size_t>(id) >= strong_during_fin_.size() ||
        strong_during_fin_[id]) {
      Report(id, "finalizer ran on an object reachable from the roots");
    }
    CheckObject(id);
    objs_[id].fin = Fin::kRan;
    fin_pending_.erase(it);
    finalizers_ran_++;
  }

  void RunFinalizers() {
    strong_during_fin_ = Reach(false);
    heap_->RunFinalizers();
  }

  void Step(Reader& in) {
    op_++;
    uint8_t op = in.Byte();
    int slot = in.Byte() % kRootSlots;
    if (trace_) fprintf(stderr, "op %zu: %d slot %d\n", op_, op % 20, slot);
    switch (op % 20) {
      case 0:
      case 1:
      case 2:
        if (!Full()) SetRoot(slot, Allocate(Kind::kPair, in));
        break;
      case 3:
        if (!Full()) SetRoot(slot, Allocate(Kind::kTagged, in));
        break;
      case 4:
        if (!Full()) SetRoot(slot, Allocate(Kind::kNoscan, in));
        break;
      case 5:
        if (!Full()) SetRoot(slot, Allocate(Kind::kArray, in));
        break;
      case 6:
        if (!Full()) SetRoot(slot, Allocate(Kind::kBig, in));
        break;
      case 7:
      case 8:
      case 9: {  // a pointer store between reachable objects
        std::vector<int> strong = StrongList();
        std::vector<int> with_fields;
        for (int id : strong) {
          if (!objs_[id].edges.empty()) with_fields.push_back(id);
        }
        int src = Pick(with_fields, in);
        uint8_t how = in.Byte();
        size_t f = src < 0 ? 0 : in.U16() % objs_[src].edges.size();
        int value = -1;
        if (how % 4 != 0) {
          std::vector<int> values;
          // A Tagged slot reads an odd word as a small integer, so it
          // cannot hold a tiny object (which may start at an odd address).
          bool tagged_src = src >= 0 && objs_[src].kind == Kind::kTagged;
          for (int id : strong) {
            if (objs_[id].kind == Kind::kPoolItem) continue;
            if (tagged_src && objs_[id].tiny) continue;
            values.push_back(id);
          }
          value = Pick(values, in);
        }
        if (src >= 0) {
          uintptr_t tagged = how % 8 == 4 ? (uintptr_t{in.U16()} << 1) | 1 : 0;
          StoreField(src, f, value, tagged);
        }
        break;
      }
      case 10: {  // a root takes a field's value, or another root's
        std::vector<int> strong = StrongList();
        int src = Pick(strong, in);
        if (src >= 0 && !objs_[src].edges.empty()) {
          SetRoot(slot, objs_[src].edges[in.U16() % objs_[src].edges.size()]);
        } else {
          SetRoot(slot, src);
        }
        break;
      }
      case 11:
      case 12:
        SetRoot(slot, -1);
        break;
      case 13:
        Collect();
        break;
      case 14: {  // set or clear a finalizer
        std::vector<int> cand;
        for (int id : StrongList()) {
          const Obj& o = objs_[id];
          if (!o.tiny && o.kind != Kind::kPoolItem && o.fin != Fin::kRan) {
            cand.push_back(id);
          }
        }
        int id = Pick(cand, in);
        if (id < 0) break;
        Obj& o = objs_[id];
        if (o.fin == Fin::kNone) {
          heap_->SetFinalizer(o.ptr, &OnFinalize, this);
          o.fin = Fin::kPending;
          fin_pending_[o.ptr] = id;
        } else if (in.Byte() % 2 == 0) {
          heap_->SetFinalizer(o.ptr, nullptr);
          o.fin = Fin::kNone;
          fin_pending_.erase(o.ptr);
        }
        break;
      }
      case 15:
        RunFinalizers();
        break;
      case 16: {  // make or read a weak reference
        int w = in.Byte() % kWeakSlots;
        if (in.Byte() % 2 == 0) {
          std::vector<int> cand;
          for (int id : StrongList()) {
            if (!objs_[id].tiny && objs_[id].kind != Kind::kPoolItem) {
              cand.push_back(id);
            }
          }
          int id = Pick(cand, in);
          if (id < 0) break;
          weak_[w] = WeakRef<Pair>(*heap_, static_cast<Pair*>(objs_[id].ptr));
          weak_target_[w] = id;
        } else {
          CheckWeak(w);
        }
        break;
      }
      case 17: {  // Pool Get into a root, or Put a pool item from a root
        if (in.Byte() % 2 == 0) {
          if (Full()) break;
          last_new_ = nullptr;
          void* p = pool_->Get(*m_);
          int id;
          if (p != nullptr && p == last_new_) {
            id = AddObj(p, Kind::kPoolItem, kPoolItemSize, 0);
            FillPayload(id);
            live_count_estimate_++;
          } else {
            auto it = pool_held_.find(p);
            if (it == pool_held_.end()) {
              fprintf(stderr, "heap_fuzz: Pool::Get returned %p\n", p);
              Fail("Pool::Get returned an object that is not in the pool");
            }
            id = it->second;
            pool_held_.erase(it);
            objs_[id].state = State::kLive;
            CheckObject(id);
          }
          SetRoot(slot, id);
        } else {
          int id = roots_[slot];
          if (id < 0 || objs_[id].kind != Kind::kPoolItem) break;
          for (int s = 0; s < kRootSlots; s++) {
            if (roots_[s] == id) SetRoot(s, -1);
          }
          pool_->Put(*m_, static_cast<Pair*>(objs_[id].ptr));
          objs_[id].state = State::kPool;
          objs_[id].pool_age = 0;
          pool_held_[objs_[id].ptr] = id;
        }
        break;
      }
      case 18:
        Verify(/*after_collect=*/false);
        break;
      case 19:
        m_->Safepoint();
        break;
    }
    if (op_ % 64 == 0) RecountLive();
  }

  void CheckWeak(int w) {
    int id = weak_target_[w];
    if (id < 0) return;
    void* got = weak_[w].Get();
    const Obj& o = objs_[id];
    bool strong = Reach(false)[id];
    if (strong && got != o.ptr) {
      fprintf(stderr, "heap_fuzz: WeakRef %d Get() = %p\n", w, got);
      Report(id, "a weak reference to a reachable object lost it");
    }
    if (got != nullptr && got != o.ptr) {
      fprintf(stderr, "heap_fuzz: WeakRef %d Get() = %p\n", w, got);
      Report(id, "a weak reference returned another object");
    }
    if (got != nullptr && o.freed) {
      Report(id, "a weak reference returned an object a Collect freed");
    }
  }

  void RecountLive() {
    std::vector<char> live = Reach(true);
    live_count_estimate_ = pool_held_.size();
    for (char c : live) live_count_estimate_ += c;
  }

  std::unique_ptr<Heap> heap_;
  Mutator* m_ = nullptr;
  std::vector<Obj> objs_;
  Persistent<Pair> persistent_[kPersistentSlots];
  void* raw_[kRawSlots];
  int roots_[kRootSlots];
  WeakRef<Pair> weak_[kWeakSlots];
  int weak_target_[kWeakSlots];
  std::optional<Pool<Pair>> pool_;
  void* last_new_ = nullptr;
  std::unordered_map<void*, int> pool_held_;
  std::unordered_map<void*, int> fin_pending_;
  std::vector<char> strong_during_fin_;
  size_t op_ = 0;
  size_t large_bytes_ = 0;
  size_t live_count_estimate_ = 0;
  size_t finalizers_ran_ = 0;
  bool tiny_used_ = false;
  const bool odd_in_persistents_;
  const bool trace_ = getenv("HEAP_FUZZ_TRACE") != nullptr;
};

}  // namespace

int RunHeapFuzzInput(const uint8_t* data, size_t size) {
  return RunHeapFuzzInputWithOptions(data, size,
                                     /*odd_pointers_in_persistents=*/true);
}

int RunHeapFuzzInputWithOptions(const uint8_t* data, size_t size,
                                bool odd_pointers_in_persistents) {
  if (size == 0) return 0;
  Reader in(data + 1, size - 1);
  Fuzzer f(data[0], odd_pointers_in_persistents);
  f.Run(in);
  return 0;
}

}  // namespace gcheap::fuzz
