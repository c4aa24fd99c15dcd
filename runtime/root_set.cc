// The roots a program registers. See runtime/root_set.h.
#include "runtime/root_set.h"

#include <link.h>

#include <algorithm>

#include "base/check.h"
#include "runtime/heap_impl.h"
#include "runtime/weak_map.h"

namespace gcheap::internal {
namespace {

// A free Persistent slot holds the next free slot's address with the top
// bit set: no user-space pointer has it, while any low bit may be set in a
// valid pointer (tiny objects start at odd addresses).
constexpr uintptr_t kFreeSlotBit = uintptr_t{1} << 63;

}  // namespace

void RootSet::AddSlot(void** slot) {
  NoPreempt no_preempt;
  GCHEAP_CHECK(slot != nullptr, "AddRoot(nullptr)");
  MutexLock l(&mu_);
  GCHEAP_CHECK(std::find(slots_.begin(), slots_.end(), slot) == slots_.end(),
               "AddRoot(%p): slot already registered",
               static_cast<void*>(slot));
  slots_.push_back(slot);
}

void RootSet::RemoveSlot(void** slot) {
  NoPreempt no_preempt;
  MutexLock l(&mu_);
  auto it = std::find(slots_.begin(), slots_.end(), slot);
  GCHEAP_CHECK(it != slots_.end(), "RemoveRoot(%p): slot not registered",
               static_cast<void*>(slot));
  slots_.erase(it);
}

void RootSet::AddRange(const void* b, const void* e) {
  NoPreempt no_preempt;
  GCHEAP_CHECK(b <= e, "AddRootRange: begin %p after end %p", b, e);
  MutexLock l(&mu_);
  for (const Range& r : ranges_) {
    GCHEAP_CHECK(r.begin != b || r.end != e,
                 "AddRootRange(%p, %p): range already registered", b, e);
  }
  ranges_.push_back(Range{b, e});
}

void RootSet::RemoveRange(const void* b, const void* e) {
  NoPreempt no_preempt;
  MutexLock l(&mu_);
  for (size_t i = 0; i < ranges_.size(); i++) {
    if (ranges_[i].begin == b && ranges_[i].end == e) {
      ranges_.erase(ranges_.begin() + i);
      return;
    }
  }
  GCHEAP_FATAL("RemoveRootRange(%p, %p): range not registered", b, e);
}

template <class Fn>
void RootSet::AddTo(std::vector<Registered<Fn>>* list, Fn fn, void* arg,
                    const char* what) {
  GCHEAP_CHECK(fn != nullptr, "%s(nullptr)", what);
  for (const Registered<Fn>& r : *list) {
    GCHEAP_CHECK(r.fn != fn || r.arg != arg,
                 "%s: callback already registered with this arg", what);
  }
  list->push_back(Registered<Fn>{fn, arg});
}

template <class Fn>
void RootSet::RemoveFrom(std::vector<Registered<Fn>>* list, Fn fn, void* arg,
                         const char* what) {
  for (size_t i = 0; i < list->size(); i++) {
    if ((*list)[i].fn == fn && (*list)[i].arg == arg) {
      list->erase(list->begin() + i);
      return;
    }
  }
  GCHEAP_FATAL("%s: callback not registered", what);
}

void RootSet::AddCallback(Heap::RootCallback cb, void* arg) {
  NoPreempt no_preempt;
  MutexLock l(&mu_);
  AddTo(&callbacks_, cb, arg, "AddRootCallback");
}

void RootSet::RemoveCallback(Heap::RootCallback cb, void* arg) {
  NoPreempt no_preempt;
  MutexLock l(&mu_);
  RemoveFrom(&callbacks_, cb, arg, "RemoveRootCallback");
}

void RootSet::AddWeakCallback(Heap::WeakCallback cb, void* arg) {
  NoPreempt no_preempt;
  MutexLock l(&mu_);
  AddTo(&weak_callbacks_, cb, arg, "AddWeakCallback");
}

void RootSet::RemoveWeakCallback(Heap::WeakCallback cb, void* arg) {
  NoPreempt no_preempt;
  MutexLock l(&mu_);
  RemoveFrom(&weak_callbacks_, cb, arg, "RemoveWeakCallback");
}

void RootSet::RunWeakCallbacks(WeakProcessor& weak) {
  MutexLock l(&mu_);
  for (const auto& c : weak_callbacks_) c.fn(weak, c.arg);
}

void RootSet::AddEphemerons(EphemeronTable* t) {
  NoPreempt no_preempt;
  MutexLock l(&mu_);
  ephemerons_.push_back(t);
}

void RootSet::RemoveEphemerons(EphemeronTable* t) {
  NoPreempt no_preempt;
  MutexLock l(&mu_);
  for (size_t i = 0; i < ephemerons_.size(); i++) {
    if (ephemerons_[i] == t) {
      ephemerons_.erase(ephemerons_.begin() + static_cast<ptrdiff_t>(i));
      return;
    }
  }
  GCHEAP_FATAL("RemoveEphemerons: table %p not registered",
               static_cast<void*>(t));
}

std::vector<std::pair<uintptr_t, uint64_t>> RootSet::EphemeronEntries() {
  std::vector<std::pair<uintptr_t, uint64_t>> out;
  MutexLock l(&mu_);
  for (EphemeronTable* t : ephemerons_) t->Entries(&out);
  return out;
}

bool RootSet::MarkEphemerons(Marker& m) {
  MutexLock l(&mu_);
  bool greyed = false;
  for (EphemeronTable* t : ephemerons_) greyed |= t->MarkLive(m);
  return greyed;
}

void** RootSet::NewPersistent(void* value) {
  NoPreempt no_preempt;
  SpinLockHolder h(&persistent_lock_);
  if (persistent_free_ == 0) {
    auto** chunk = new void*[kPersistentChunk];
    // Thread the new slots onto the free list (odd values mark free).
    for (size_t i = 0; i < kPersistentChunk; i++) {
      uintptr_t next = i + 1 < kPersistentChunk
                           ? reinterpret_cast<uintptr_t>(&chunk[i + 1])
                           : 0;
      chunk[i] = reinterpret_cast<void*>(next | kFreeSlotBit);
    }
    persistent_chunks_.push_back(chunk);
    persistent_free_ = reinterpret_cast<uintptr_t>(&chunk[0]);
  }
  void** slot = reinterpret_cast<void**>(persistent_free_);
  persistent_free_ = reinterpret_cast<uintptr_t>(*slot) & ~kFreeSlotBit;
  *slot = value;
  persistent_live_++;
  return slot;
}

void RootSet::FreePersistent(void** slot) {
  NoPreempt no_preempt;
  SpinLockHolder h(&persistent_lock_);
  *slot = reinterpret_cast<void*>(persistent_free_ | kFreeSlotBit);
  persistent_free_ = reinterpret_cast<uintptr_t>(slot);
  persistent_live_--;
}

namespace {

int CollectWritableSegments(dl_phdr_info* info, size_t, void* arg) {
  auto* out = static_cast<std::vector<std::pair<uintptr_t, uintptr_t>>*>(arg);
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_W) || ph.p_memsz == 0) {
      continue;
    }
    uintptr_t b = info->dlpi_addr + ph.p_vaddr;
    out->emplace_back(b, b + ph.p_memsz);
  }
  return 0;
}

}  // namespace

void RootSet::AddStaticData() {
  NoPreempt no_preempt;
  std::vector<std::pair<uintptr_t, uintptr_t>> segs;
  dl_iterate_phdr(CollectWritableSegments, &segs);
  std::vector<Range> ranges;
  for (const auto& [b, e] : segs) {
    ranges.push_back(Range{reinterpret_cast<const void*>(b),
                           reinterpret_cast<const void*>(e)});
  }
  MutexLock l(&mu_);
  static_ranges_ = std::move(ranges);
}

void RootSet::Mark(Marker& m, CollectorEnv::RootBytes* rb) {
  {
    MutexLock l(&mu_);
    const bool label = m.labeling();
    for (void** slot : slots_) {
      if (label) m.LabelRoots("root slot", reinterpret_cast<uintptr_t>(slot));
      m.Grey(reinterpret_cast<uintptr_t>(*slot));
    }
    rb->globals += slots_.size() * sizeof(void*);
    for (const Range& r : static_ranges_) {
      if (label) {
        m.LabelRoots("static data", reinterpret_cast<uintptr_t>(r.begin));
      }
      // Memory the program does not hand over (sanitizer redzones between
      // globals, other threads' plain stores): read as stacks are.
      m.ScanRangeUnsafe(r.begin, r.end);
      rb->globals +=
          static_cast<const char*>(r.end) - static_cast<const char*>(r.begin);
    }
    for (const Range& r : ranges_) {
      if (label) {
        m.LabelRoots("root range", reinterpret_cast<uintptr_t>(r.begin));
      }
      m.ScanRange(r.begin, r.end);
      rb->globals +=
          static_cast<const char*>(r.end) - static_cast<const char*>(r.begin);
    }
    for (const auto& c : callbacks_) {
      if (label) {
        m.LabelRoots("root callback", reinterpret_cast<uintptr_t>(c.fn));
      }
      c.fn(m.visitor(), c.arg);
    }
  }
  SpinLockHolder h(&persistent_lock_);
  const bool label = m.labeling();
  for (void** chunk : persistent_chunks_) {
    for (size_t i = 0; i < kPersistentChunk; i++) {
      auto v = reinterpret_cast<uintptr_t>(chunk[i]);
      if ((v & kFreeSlotBit) != 0 || v == 0) continue;
      if (label) {
        m.LabelRoots("persistent handle",
                     reinterpret_cast<uintptr_t>(&chunk[i]));
      }
      m.Grey(v);
    }
  }
}

size_t RootSet::persistents_live() {
  SpinLockHolder h(&persistent_lock_);
  return persistent_live_;
}

size_t RootSet::persistent_bytes() {
  SpinLockHolder h(&persistent_lock_);
  return persistent_chunks_.size() * kPersistentChunk * sizeof(void*);
}

RootSet::~RootSet() {
  SpinLockHolder h(&persistent_lock_);
  for (void** chunk : persistent_chunks_) delete[] chunk;
}

}  // namespace gcheap::internal
