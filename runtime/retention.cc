// Why an object is alive: retention paths and heap dumps (the walk is
// gc/heap_walk.h; the public types gcheap/retention.h). The heap is walked
// with the world stopped and the sweepers kept out.
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <optional>

#include "base/check.h"
#include "gc/heap_walk.h"
#include "runtime/heap_impl.h"

namespace gcheap {
namespace internal {

ABSL_ATTRIBUTE_NOINLINE void HeapImpl::WalkHeap(
    const std::function<void(HeapWalk&, Mutator*)>& fn) {
  NoPreempt no_preempt;
  const auto boundary = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  // A mutator of this heap gives its P up meanwhile (CallFromProgram).
  Mutator* self = CurrentMutator();
  if (self != nullptr && (self->heap_ != this || self->state_->p == nullptr)) {
    self = nullptr;
  }
  CallFromProgram(self != nullptr ? self->state_ : nullptr,
                  [&] { WalkHeapStopped(fn, self, boundary); });
}

void HeapImpl::WalkHeapStopped(
    const std::function<void(HeapWalk&, Mutator*)>& fn, Mutator* self,
    uintptr_t boundary) {
  if (self != nullptr) {
    ClearStackBelow();
    ReleaseP(*self);
  }
  collector_->LockSweeping();  // no object dies meanwhile
  StopTheWorld();
  {
    std::optional<WalkFrames> frames;
    if (self != nullptr) frames.emplace(self->state_, boundary);
    HeapWalk walk(
        mheap_.get(), &opts_.values, [this](Marker& m) { MarkRoots(m); },
        roots_.EphemeronEntries());
    fn(walk, self);
  }
  StartTheWorld();
  collector_->UnlockSweeping();
  if (self != nullptr) AcquireP(*self);
}

}  // namespace internal

namespace {

std::string Hex(const void* p) {
  char buf[32];
  snprintf(buf, sizeof buf, "%p", p);
  return buf;
}

}  // namespace

std::string RetentionPath::ToString() const {
  if (chain.empty()) return "no object\n";
  const Link& target = chain.back();
  std::string out = Hex(target.object) + " (" + target.type + ", " +
                    std::to_string(target.size) + " bytes) ";
  if (!found) return out + "is not reachable from any root\n";
  out += "is reachable from " + root_kind;
  if (!root_detail.empty()) out += " of " + root_detail;
  if (root_address != nullptr) out += " at " + Hex(root_address);
  out += ":\n";
  for (size_t i = 0; i < chain.size(); i++) {
    const Link& l = chain[i];
    out += "  ";
    if (i > 0) {
      out += l.offset >= 0 ? "+" + std::to_string(l.offset) : "(traced)";
      out += " -> ";
    }
    out += Hex(l.object) + "  " + l.type + " (" + std::to_string(l.size) +
           " bytes)\n";
  }
  return out;
}

ABSL_ATTRIBUTE_NOINLINE RetentionPath
Heap::FindRetentionPath(const void* object) {
  __builtin_unwind_init();  // the program's registers, in this frame
  internal::MSpan* span;
  uintptr_t slot;
  impl_->ResolveObjectStart(object, "FindRetentionPath", &span, &slot);
  RetentionPath out;
  impl_->WalkHeap([&](internal::HeapWalk& walk, Mutator* self) {
    const std::string me =
        self != nullptr ? internal::ThreadDetail(self->state_) : "";
    // The caller's own references to the object it asks about are not
    // a reason: it passed the pointer in. Its other stack words and
    // registers are searched last: it often holds objects of the path
    // it is asking about.
    auto own = [&](const internal::HeapWalk::Root& r) {
      return !me.empty() && r.detail == me;
    };
    walk.RemoveRoots([&](const internal::HeapWalk::Root& r) {
      return r.object == slot && own(r);
    });
    internal::HeapWalk::Root root;
    std::vector<internal::HeapWalk::Object> chain;
    out.found = walk.PathTo(slot, &root, &chain, own) ||
                walk.PathTo(slot, &root, &chain);
    if (!out.found) {
      internal::HeapWalk::Object o;
      walk.ObjectAt(slot, &o);
      chain.push_back(o);
    } else {
      out.root_kind = root.kind;
      out.root_address = reinterpret_cast<const void*>(root.where);
      out.root_detail = root.detail;
    }
    for (size_t i = 0; i < chain.size(); i++) {
      RetentionPath::Link l;
      l.object = reinterpret_cast<const void*>(chain[i].start);
      l.type = chain[i].type;
      l.size = chain[i].size;
      l.offset = i == 0 ? -1 : walk.FieldOffset(chain[i - 1], chain[i]);
      out.chain.push_back(l);
    }
  });
  asm volatile("" : : : "memory");  // keep this frame, with the registers
  return out;
}

ABSL_ATTRIBUTE_NOINLINE bool Heap::WriteHeapDump(const char* path) {
  __builtin_unwind_init();
  GCHEAP_CHECK(path != nullptr, "WriteHeapDump: null path");
  FILE* f = fopen(path, "w");
  if (f == nullptr) {
    fprintf(stderr, "gcheap: heap dump %s: cannot open: %s\n", path,
            strerror(errno));
    return false;
  }
  impl_->WalkHeap(
      [&](internal::HeapWalk& walk, Mutator*) { walk.WriteDump(f); });
  const bool ok = ferror(f) == 0;
  if (fclose(f) != 0 || !ok) {
    fprintf(stderr, "gcheap: heap dump %s: cannot write: %s\n", path,
            strerror(errno));
    return false;
  }
  asm volatile("" : : : "memory");
  return true;
}

}  // namespace gcheap
