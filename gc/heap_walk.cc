#include "gc/heap_walk.h"

#include <deque>
#include <unordered_map>

namespace gcheap::internal {

HeapWalk::HeapWalk(
    MHeap* heap, const ValueEncoding* values,
    const std::function<void(Marker&)>& mark_roots,
    const std::vector<std::pair<uintptr_t, uint64_t>>& ephemerons)
    : heap_(heap),
      values_(values != nullptr && !values->plain() ? values : nullptr),
      marker_(heap, &pool_) {
  marker_.SetValueEncoding(values_);
  marker_.EnableCollect(&collected_, &HeapWalk::Label, this);
  label_ = Root{"root", 0, "", 0};
  mark_roots(marker_);
  FlushRoots();
  // Objects a root group scanned in pieces (oblets) come back as work.
  for (uintptr_t e; (e = marker_.work().TryGet()) != 0;) {
    marker_.ForEachEntryObject(e, [&](uintptr_t o) { marker_.Scan(o); });
  }
  FlushRoots();
  // Ephemerons: the value is a referent of the key's object; a key that
  // is not a heap object keeps its value as a root.
  for (const auto& [key, value] : ephemerons) {
    Object v;
    if (!ObjectAt(static_cast<uintptr_t>(value), &v)) {
      const uintptr_t d =
          values_ != nullptr ? values_->Decode(value) : uintptr_t{0};
      if (d == 0 || !ObjectAt(d, &v)) continue;
    }
    Object k;
    if (ObjectAt(key, &k)) {
      weak_values_.emplace(k.slot, v.slot);
    } else {
      roots_.push_back(Root{"weak map value", key, "", v.slot});
    }
  }
}

void HeapWalk::Label(void* ctx, const char* kind, uintptr_t where,
                     const std::string& detail) {
  auto* w = static_cast<HeapWalk*>(ctx);
  w->FlushRoots();
  w->label_ = Root{kind, where, detail, 0};
}

void HeapWalk::FlushRoots() {
  for (uintptr_t slot : collected_) {
    Root r = label_;
    r.object = slot;
    roots_.push_back(std::move(r));
  }
  collected_.clear();
}

bool HeapWalk::ObjectAt(uintptr_t p, Object* out) const {
  MSpan* s = heap_->SpanOf(p);
  if (s == nullptr ||
      s->state.load(std::memory_order_acquire) != SpanState::kInUse ||
      p < s->start_addr || p >= s->limit) {
    return false;
  }
  const uintptr_t idx = s->ObjIndex(p);
  if (!s->IsAllocated(idx)) return false;
  out->slot = s->ObjBase(idx);
  out->size = s->elemsize;
  out->type = DescribeObject(s, idx, &out->start);
  return true;
}

void HeapWalk::Referents(uintptr_t slot, std::vector<uintptr_t>* out) {
  out->clear();
  MSpan* s = heap_->SpanOf(slot);
  if (s == nullptr || s->spanclass.noscan()) return;
  marker_.SetReferrer(slot);
  marker_.Scan(slot);
  // A large object's later pieces (oblets) were queued: scan them too.
  for (uintptr_t e; (e = marker_.work().TryGet()) != 0;) {
    marker_.ForEachEntryObject(e, [&](uintptr_t o) { marker_.Scan(o); });
  }
  marker_.SetReferrer(0);
  out->swap(collected_);
  collected_.clear();
  auto [from, to] = weak_values_.equal_range(slot);
  for (auto it = from; it != to; ++it) out->push_back(it->second);
}

long HeapWalk::FieldOffset(const Object& from, const Object& to) const {
  const uintptr_t end = from.slot + from.size;
  for (uintptr_t a = from.start & ~uintptr_t{7}; a + 8 <= end; a += 8) {
    const uintptr_t v = Marker::LoadWordRelaxed(a);
    const uintptr_t d = values_ != nullptr ? values_->Decode(v) : 0;
    if ((v >= to.slot && v < to.slot + to.size) ||
        (d >= to.slot && d < to.slot + to.size)) {
      return static_cast<long>(a - from.start);
    }
  }
  return -1;
}

bool HeapWalk::PathTo(uintptr_t target, Root* root, std::vector<Object>* chain,
                      const std::function<bool(const Root&)>& skip) {
  // Breadth first: parent[x] is the object x was first reached from (0:
  // from a root, root_of[x] says which).
  std::unordered_map<uintptr_t, uintptr_t> parent;
  std::unordered_map<uintptr_t, size_t> root_of;
  std::deque<uintptr_t> queue;
  for (size_t i = 0; i < roots_.size(); i++) {
    if (skip && skip(roots_[i])) continue;
    if (parent.emplace(roots_[i].object, 0).second) {
      root_of[roots_[i].object] = i;
      queue.push_back(roots_[i].object);
    }
  }
  std::vector<uintptr_t> refs;
  bool found = parent.count(target) != 0;
  while (!found && !queue.empty()) {
    const uintptr_t o = queue.front();
    queue.pop_front();
    Referents(o, &refs);
    for (uintptr_t r : refs) {
      if (!parent.emplace(r, o).second) continue;
      if (r == target) {
        found = true;
        break;
      }
      queue.push_back(r);
    }
  }
  if (!found) return false;
  std::vector<uintptr_t> slots;
  for (uintptr_t o = target; o != 0; o = parent[o]) slots.push_back(o);
  chain->clear();
  for (auto it = slots.rbegin(); it != slots.rend(); ++it) {
    Object obj;
    ObjectAt(*it, &obj);
    chain->push_back(obj);
  }
  *root = roots_[root_of[slots.back()]];
  return true;
}

void HeapWalk::WriteDump(FILE* f) {
  fprintf(f, "gcheap heap dump 1\n");
  std::unordered_map<uintptr_t, bool> seen;
  std::deque<uintptr_t> queue;
  for (const Root& r : roots_) {
    Object o;
    if (!ObjectAt(r.object, &o)) continue;
    fprintf(f, "root\t%s\t%#lx\t%s\t%#lx\n", r.kind.c_str(),
            static_cast<unsigned long>(r.where), r.detail.c_str(),
            static_cast<unsigned long>(o.start));
    if (seen.emplace(r.object, true).second) queue.push_back(r.object);
  }
  std::vector<uintptr_t> refs;
  while (!queue.empty()) {
    const uintptr_t slot = queue.front();
    queue.pop_front();
    Object o;
    if (!ObjectAt(slot, &o)) continue;
    fprintf(f, "object\t%#lx\t%zu\t%s\n", static_cast<unsigned long>(o.start),
            o.size, o.type);
    Referents(slot, &refs);
    for (uintptr_t r : refs) {
      Object to;
      if (!ObjectAt(r, &to)) continue;
      const long off = FieldOffset(o, to);
      if (off >= 0) {
        fprintf(f, "edge\t%#lx\t%#lx\t%ld\n",
                static_cast<unsigned long>(o.start),
                static_cast<unsigned long>(to.start), off);
      } else {
        fprintf(f, "edge\t%#lx\t%#lx\t-\n", static_cast<unsigned long>(o.start),
                static_cast<unsigned long>(to.start));
      }
      if (seen.emplace(r, true).second) queue.push_back(r);
    }
  }
}

}  // namespace gcheap::internal
