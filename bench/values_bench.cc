// What a language VM pays for its values on gcheap, each beside its peer in
// the same run (Google Benchmark; tools/bench_values.sh runs it):
//
//   BM_Store/plain          a plain store of a NaN-boxed value into a heap
//                           object: the floor
//   BM_Store/barrier        the same store through WriteBarrier, collector
//                           idle (one load of a flag, a branch, the store)
//   BM_Store/marking        the same while a concurrent mark is held open
//                           (the barrier records both values)
//   BM_Intern/<table>/new   interning N distinct strings, clox's way: an
//                           open-addressing table looked up by (chars,
//                           length, hash), strings made on a miss
//   BM_Intern/<table>/again looking the same N strings up again (hits)
//
// <table>: malloc   clox's table with malloc'd strings (the peer)
//          gcheap   the same table with gcheap strings, weak through a
//                   weak callback (Heap::AddWeakCallback)
//          weakset  gcheap::WeakSet<ObjString>, looked up by (chars,
//                   length, hash)
//          weakmap  gcheap::WeakValueMap<std::string, ObjString>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "benchmark/benchmark.h"
#include "gcheap/gcheap.h"
#include "gcheap/testing.h"

namespace {

constexpr uint64_t kNanTag = 0xfffc000000000000;

gcheap::Options Opts() {
  gcheap::Options o;
  o.max_procs = 1;
  o.values = gcheap::ValueEncoding::NanBoxed(kNanTag, kNanTag, ~kNanTag);
  return o;
}

struct Slots {
  uint64_t v[64];
};
constexpr gcheap::Type kSlotsType =
    gcheap::Type::Conservative("Slots", sizeof(Slots));

// kind: 0 plain, 1 barrier (idle), 2 barrier while marking.
void BM_Store(benchmark::State& state) {
  const int kind = static_cast<int>(state.range(0));
  gcheap::Heap heap(Opts());
  gcheap::Mutator& m = heap.AttachCurrentThread();
  {
    gcheap::Persistent<Slots> slots(heap, m.New<Slots>(kSlotsType));
    gcheap::Persistent<Slots> target(heap, m.New<Slots>(kSlotsType));
    const uint64_t boxed = kNanTag | reinterpret_cast<uint64_t>(target.Get());
    gcheap::testing_hooks::HeldMark* mark = nullptr;
    if (kind == 2) mark = new gcheap::testing_hooks::HeldMark(heap, m);
    uint64_t* v = slots.Get()->v;
    size_t i = 0;
    for (auto _ : state) {
      uint64_t* slot = &v[i++ & 63];
      if (kind == 0) {
        __atomic_store_n(slot, boxed, __ATOMIC_RELAXED);
      } else {
        gcheap::WriteBarrier(reinterpret_cast<void**>(slot),
                             reinterpret_cast<void*>(boxed));
      }
      benchmark::ClobberMemory();
    }
    if (mark != nullptr) {
      mark->Release(m);
      delete mark;
    }
  }
  heap.DetachCurrentThread();
}
BENCHMARK(BM_Store)->Arg(0)->Arg(1)->Arg(2)->ArgNames({"kind"});

// clox's string object and table (table.c), reduced to strings.
struct ObjString {
  uint32_t hash;
  uint32_t length;
  char chars[];
};

uint32_t HashString(const char* key, size_t length) {
  uint32_t hash = 2166136261u;
  for (size_t i = 0; i < length; i++) {
    hash ^= static_cast<uint8_t>(key[i]);
    hash *= 16777619;
  }
  return hash;
}

struct Table {
  int count = 0;
  int capacity = 0;
  ObjString** entries = nullptr;  // null: empty; kTombstone: deleted
};
ObjString* const kTombstone = reinterpret_cast<ObjString*>(1);

ObjString** FindEntry(ObjString** entries, int capacity, const char* chars,
                      uint32_t length, uint32_t hash) {
  uint32_t index = hash & (capacity - 1);
  ObjString** tombstone = nullptr;
  for (;;) {
    ObjString** e = &entries[index];
    if (*e == nullptr) return tombstone != nullptr ? tombstone : e;
    if (*e == kTombstone) {
      if (tombstone == nullptr) tombstone = e;
    } else if ((*e)->length == length && (*e)->hash == hash &&
               memcmp((*e)->chars, chars, length) == 0) {
      return e;
    }
    index = (index + 1) & (capacity - 1);
  }
}

void Grow(Table* t) {
  int capacity = t->capacity < 8 ? 8 : t->capacity * 2;
  auto** entries = static_cast<ObjString**>(calloc(capacity, sizeof(void*)));
  t->count = 0;
  for (int i = 0; i < t->capacity; i++) {
    ObjString* s = t->entries[i];
    if (s == nullptr || s == kTombstone) continue;
    *FindEntry(entries, capacity, s->chars, s->length, s->hash) = s;
    t->count++;
  }
  free(t->entries);
  t->entries = entries;
  t->capacity = capacity;
}

// Finds or makes the string; make(length) allocates an ObjString, and
// found(s) is told of a hit (gcheap: Mutator::Shade).
template <class Make, class Found>
ObjString* Intern(Table* t, const char* chars, uint32_t length, Make make,
                  Found found) {
  const uint32_t hash = HashString(chars, length);
  if (t->capacity > 0) {
    ObjString** e = FindEntry(t->entries, t->capacity, chars, length, hash);
    if (*e != nullptr && *e != kTombstone) {
      found(*e);
      return *e;
    }
  }
  if (t->count + 1 > t->capacity * 3 / 4) Grow(t);
  ObjString* s = make(length);
  s->hash = hash;
  s->length = length;
  memcpy(s->chars, chars, length);
  s->chars[length] = '\0';
  ObjString** e = FindEntry(t->entries, t->capacity, chars, length, hash);
  if (*e == nullptr) t->count++;
  *e = s;
  return s;
}

// tableRemoveWhite, as a weak callback.
void RemoveWhite(gcheap::WeakProcessor& weak, void* arg) {
  auto* t = static_cast<Table*>(arg);
  for (int i = 0; i < t->capacity; i++) {
    ObjString* s = t->entries[i];
    if (s != nullptr && s != kTombstone && !weak.IsLive(s)) {
      t->entries[i] = kTombstone;
    }
  }
}

std::vector<std::string> Keys(int n) {
  std::vector<std::string> keys;
  keys.reserve(n);
  for (int i = 0; i < n; i++) keys.push_back("identifier_" + std::to_string(i));
  return keys;
}

// table: 0 malloc, 1 gcheap, 2 weakset, 3 weakmap; again: look the strings
// up twice.
void BM_Intern(benchmark::State& state) {
  const int table_kind = static_cast<int>(state.range(0));
  const bool again = state.range(1) != 0;
  const int n = static_cast<int>(state.range(2));
  const std::vector<std::string> keys = Keys(n);
  gcheap::Heap heap(Opts());
  gcheap::Mutator& m = heap.AttachCurrentThread();
  {
    // The strings are kept alive by the program (a persistent array, as a
    // VM's constants and globals keep theirs), so every lookup again hits.
    static constexpr gcheap::Type kKeep = gcheap::Type::Conservative("Keep", 8);
    gcheap::Persistent<void*> keep(
        heap, static_cast<void**>(m.AllocateArray(kKeep, n)));
    for (auto _ : state) {
      Table t;
      gcheap::WeakValueMap<std::string, ObjString> map(heap);
      gcheap::WeakSet<ObjString> set(heap);
      if (table_kind == 1) heap.AddWeakCallback(&RemoveWhite, &t);
      auto intern = [&](const std::string& k) -> ObjString* {
        const auto len = static_cast<uint32_t>(k.size());
        switch (table_kind) {
          case 0:
            return Intern(
                &t, k.data(), len,
                [](uint32_t l) {
                  return static_cast<ObjString*>(
                      malloc(sizeof(ObjString) + l + 1));
                },
                [](ObjString*) {});
          case 1:
            return Intern(
                &t, k.data(), len,
                [&](uint32_t l) {
                  return static_cast<ObjString*>(
                      m.AllocateNoscan(sizeof(ObjString) + l + 1));
                },
                [&](ObjString* s) { m.Shade(s); });
          case 2: {
            const uint32_t hash = HashString(k.data(), len);
            return set.FindOrInsert(
                m, hash,
                [&](const ObjString* s) {
                  return s->length == len &&
                         memcmp(s->chars, k.data(), len) == 0;
                },
                [&] {
                  auto* s = static_cast<ObjString*>(
                      m.AllocateNoscan(sizeof(ObjString) + len + 1));
                  s->hash = hash;
                  s->length = len;
                  memcpy(s->chars, k.data(), len + 1);
                  return s;
                });
          }
          default:
            return map.FindOrInsert(k, [&] {
              auto* s = static_cast<ObjString*>(
                  m.AllocateNoscan(sizeof(ObjString) + k.size() + 1));
              s->length = len;
              memcpy(s->chars, k.data(), k.size() + 1);
              return s;
            });
        }
      };
      for (int i = 0; i < n; i++) {
        ObjString* s = intern(keys[i]);
        gcheap::WriteBarrier(&keep.Get()[i], s);
      }
      if (again) {
        for (int i = 0; i < n; i++) {
          benchmark::DoNotOptimize(intern(keys[i]));
        }
      }
      state.PauseTiming();
      if (table_kind == 0) {
        for (int i = 0; i < t.capacity; i++) {
          if (t.entries[i] != nullptr && t.entries[i] != kTombstone) {
            free(t.entries[i]);
          }
        }
      }
      if (table_kind == 1) heap.RemoveWeakCallback(&RemoveWhite, &t);
      free(t.entries);
      for (int i = 0; i < n; i++) gcheap::WriteBarrier(&keep.Get()[i], nullptr);
      state.ResumeTiming();
    }
    state.SetItemsProcessed(state.iterations() * n * (again ? 2 : 1));
  }
  heap.DetachCurrentThread();
}
BENCHMARK(BM_Intern)
    ->ArgsProduct({{0, 1, 2, 3}, {0, 1}, {100000}})
    ->ArgNames({"table", "again", "n"})
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
