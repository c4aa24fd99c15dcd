// CycleStepper (gcheap/stepper.h): the program's side of a stepped cycle.
// The cycle itself runs on a thread of its own (Collector::RunSteppedCycle,
// gc/step_gate.h); this file hands the program's P back and forth around
// each step, logs the program's barriered stores while the mark runs, and
// reads the heap's state between steps as JSON (docs/teaching.md).
//
// Concurrent mark: the program's thread takes its write barrier's slow
// path for every store (its buffer pointer is cleared), so each store's
// slot and values are logged; before a step or a state read its buffer is
// flushed, and the objects it shaded join the grey queue then.
#include "gcheap/stepper.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <algorithm>
#include <map>
#include <optional>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "base/check.h"
#include "base/json.h"
#include "gc/step_gate.h"
#include "runtime/heap_impl.h"

namespace gcheap {
namespace internal {

namespace {

std::string Hex(uintptr_t v) {
  char buf[24];
  snprintf(buf, sizeof buf, "0x%lx", static_cast<unsigned long>(v));
  return buf;
}

// A JSON string literal.
std::string Quote(const std::string& s) {
  std::string out = "\"";
  AppendJsonEscaped(&out, s);
  return out + "\"";
}

const char* PhaseName(StepPhase p) {
  switch (p) {
    case StepPhase::kSweepTermination:
      return "sweep termination";
    case StepPhase::kRoots:
    case StepPhase::kMark:
      return "mark";
    case StepPhase::kMarkTermination:
      return "mark termination";
    case StepPhase::kSweep:
      return "sweep";
    case StepPhase::kDone:
      return "off";
  }
  return "off";
}

}  // namespace

class StepperImpl {
 public:
  StepperImpl(Heap& heap, CycleStepper::Mode mode)
      : impl_(HeapAccess::Of(heap)),
        gate_(mode == CycleStepper::Mode::kConcurrent) {
    self_ = &impl_->RequireRunning("CycleStepper");
    GCHEAP_CHECK(impl_->stepper_.load() == nullptr,
                 "CycleStepper: this heap already has one");
    impl_->stepper_.store(this);
    cycle_ = impl_->collector().cycles();
    Release();
    thread_ =
        std::thread([this] { impl_->collector().RunSteppedCycle(&gate_); });
    point_ = gate_.WaitFirst();
    Arrived();
  }

  ~StepperImpl() {
    while (Step()) {
    }
  }

  bool Step() {
    if (point_.phase == StepPhase::kDone) return false;
    Sync();
    Release();
    point_ = gate_.Advance();
    // What the barrier shaded since the last step, for Describe, and for
    // the next state what it has not shown yet.
    pulled_.swap(pending_pulled_);
    pending_pulled_.clear();
    for (uintptr_t o : point_.pulled) pulled_.push_back(o);
    NoteShades(point_.pulled);
    step_shown_ = false;
    if (point_.phase == StepPhase::kDone) {
      // The cycle is over: the heap is an ordinary one again.
      thread_.join();
      impl_->stepper_.store(nullptr);
    }
    Arrived();
    if (!title_.empty()) recording_.push_back(StateJson());
    return true;
  }

  StepPhase phase() const { return point_.phase; }
  const Mutator* owner() const { return self_; }
  const StepPoint& point() const { return point_; }

  void Name(const void* p, const std::string& name) {
    names_[SlotOf(reinterpret_cast<uintptr_t>(p))] = name;
  }

  std::string Describe() const {
    const StepPoint& p = point_;
    std::string s;
    switch (p.kind) {
      case StepKind::kPhase:
        s = DescribePhase();
        break;
      case StepKind::kRoot: {
        const HeapWalk::Root& r = gate_.roots()[p.root];
        s = "root " + std::to_string(p.root + 1) + " of " +
            std::to_string(gate_.roots().size()) + " (" + r.kind +
            (r.detail.empty() ? "" : ", " + r.detail) +
            "): " + NameOf(p.object);
        s += p.greyed.empty() ? " is already marked" : GreyedWords(p.greyed);
        break;
      }
      case StepKind::kScan:
        s = "scan " + NameOf(p.object) + ": ";
        s += p.greyed.empty() ? "no white referents" : "grey " + List(p.greyed);
        break;
      case StepKind::kSweep:
        s = "sweep span " + Hex(p.object) + ": " + std::to_string(p.freed) +
            " object" + (p.freed == 1 ? "" : "s") + " freed";
        break;
    }
    if (!pulled_.empty()) {
      s += " (the write barrier had shaded " + List(pulled_) + ")";
    }
    return s;
  }

  CycleStepper::Color ColorOf(uintptr_t p) {
    Sync();
    MSpan* s = InUseSpan(p);
    if (s == nullptr) return CycleStepper::Color::kFree;
    const uintptr_t idx = s->ObjIndex(p);
    if (!s->IsAllocated(idx)) return CycleStepper::Color::kFree;
    // (A swept span's mark bits are clear again: white for the next cycle.)
    if (!s->IsMarked(idx)) return CycleStepper::Color::kWhite;
    return GreySet().count(s->ObjBase(idx)) != 0 ? CycleStepper::Color::kGrey
                                                 : CycleStepper::Color::kBlack;
  }

  std::vector<const void*> GreyQueue() {
    Sync();
    std::vector<const void*> out;
    const std::deque<uintptr_t>& grey = gate_.grey();
    for (auto it = grey.rbegin(); it != grey.rend(); ++it) {
      out.push_back(reinterpret_cast<void*>(*it));
    }
    return out;
  }

  std::vector<const void*> Roots() const {
    std::vector<const void*> out;
    for (const HeapWalk::Root& r : gate_.roots()) {
      out.push_back(reinterpret_cast<void*>(r.object));
    }
    return out;
  }

  // Called by the write barrier's slow path (barrier.cc) before it buffers
  // the old and new value of a store by the program's thread.
  void LogStore(const Mutator* m, void** slot, const void* value) {
    if (m != self_) return;
    stores_.push_back(Store{reinterpret_cast<uintptr_t>(slot),
                            reinterpret_cast<uintptr_t>(*slot),
                            reinterpret_cast<uintptr_t>(value)});
  }

  // label: what the state shows (empty: what the last step did).
  std::string StateJson(const std::string& label = std::string());

  void RecordState(const std::string& label) {
    if (!title_.empty()) recording_.push_back(StateJson(label));
  }

  void Record(const std::string& title) {
    title_ = title.empty() ? "gcheap" : title;
    recording_.clear();
    recording_.push_back(StateJson());
  }

  bool WriteRecording(const std::string& path) const {
    FILE* f = fopen(path.c_str(), "w");
    if (f == nullptr) {
      fprintf(stderr, "gcheap: CycleStepper::WriteRecording: %s: %s\n",
              path.c_str(), strerror(errno));
      return false;
    }
    fprintf(f,
            "{\"format\":\"gcheap heap state\",\"version\":1,\"title\":%s,"
            "\"page_size\":%zu,\"steps\":[\n",
            Quote(title_).c_str(), kPageSize);
    for (size_t i = 0; i < recording_.size(); i++) {
      // Each state was numbered when it was taken; renumber in file order.
      std::string s = recording_[i];
      const std::string key = "{\"step\":";
      const size_t end = s.find(',', key.size());
      s = key + std::to_string(i) + s.substr(end);
      fprintf(f, "%s%s\n", s.c_str(), i + 1 < recording_.size() ? "," : "");
    }
    fprintf(f, "]}\n");
    const bool ok = !ferror(f);
    if (fclose(f) != 0 || !ok) {
      fprintf(stderr,
              "gcheap: CycleStepper::WriteRecording: %s: write failed\n",
              path.c_str());
      return false;
    }
    return true;
  }

 private:
  struct Store {
    uintptr_t slot, old_value, new_value;
  };

  MutatorState* state() const { return HeapImpl::StateOf(*self_); }
  bool HoldsP() const { return state()->p != nullptr; }

  // Gives the program's P up for a step (the next one may stop the world).
  ABSL_ATTRIBUTE_NOINLINE void Release() {
    if (!HoldsP()) return;
    RuntimeFrames frames(state(), __builtin_frame_address(0));
    ClearStackBelow();
    impl_->ReleaseP(*self_);
  }

  // After a step: the program gets its P back when the world runs. While
  // the concurrent mark runs, its barrier takes the slow path (which logs
  // each store): its buffer pointer is cleared.
  void Arrived() {
    if (point_.world_stopped && point_.phase != StepPhase::kDone) return;
    if (!HoldsP()) impl_->AcquireP(*self_);
    if (impl_->collector().marking()) gcheap_internal_held_wbuf = nullptr;
  }

  // The program's barrier shades become grey objects in the queue.
  void Sync() {
    if (!HoldsP() || point_.phase == StepPhase::kDone) return;
    P* p = state()->p;
    if (p->wbuf->n == 0 && p->marker->work().LocalEmpty()) return;
    HeapImpl::FlushP(p);
    std::vector<uintptr_t> got;
    gate_.PullPool(&got);
    pending_pulled_.insert(pending_pulled_.end(), got.begin(), got.end());
    NoteShades(got);
  }

  // Objects the barrier shaded, with the store that did it: the first
  // store since the last pull whose old value (buffered first) or new
  // value is in the object.
  void NoteShades(const std::vector<uintptr_t>& got) {
    for (uintptr_t o : got) {
      const uintptr_t slot = SlotOf(o);
      const char* why = "barrier";
      for (size_t i = last_pull_; i < stores_.size(); i++) {
        const Store& st = stores_[i];
        if (st.old_value != 0 && SlotOf(st.old_value) == slot) {
          why = "barrier old";
          break;
        }
        if (st.new_value != 0 && SlotOf(st.new_value) == slot) {
          why = "barrier new";
          break;
        }
      }
      unshown_shades_.push_back({slot, why});
    }
    last_pull_ = stores_.size();
  }

  MSpan* InUseSpan(uintptr_t p) const {
    MSpan* s = impl_->mheap().SpanOf(p);
    if (s == nullptr ||
        s->state.load(std::memory_order_acquire) != SpanState::kInUse ||
        p < s->start_addr || p >= s->limit) {
      return nullptr;
    }
    return s;
  }
  uintptr_t SlotOf(uintptr_t p) const {
    MSpan* s = InUseSpan(p);
    return s != nullptr ? s->ObjBase(s->ObjIndex(p)) : p;
  }

  std::unordered_set<uintptr_t> GreySet() const {
    std::unordered_set<uintptr_t> set;
    for (uintptr_t o : gate_.grey()) set.insert(SlotOf(o));
    return set;
  }

  std::string NameOf(uintptr_t p) const {
    auto it = names_.find(SlotOf(p));
    return it != names_.end() ? it->second : Hex(p);
  }
  std::string List(const std::vector<uintptr_t>& objs) const {
    std::string s;
    for (size_t i = 0; i < objs.size(); i++) {
      if (i > 0) s += i + 1 == objs.size() ? " and " : ", ";
      s += NameOf(objs[i]);
    }
    return s;
  }
  // " turns grey" or " turns black (no pointers)".
  std::string GreyedWords(const std::vector<uintptr_t>& objs) const {
    MSpan* s = InUseSpan(objs[0]);
    return s != nullptr && s->spanclass.noscan()
               ? " turns black (it holds no pointers)"
               : " turns grey";
  }

  std::string DescribePhase() const {
    const size_t nroots = gate_.roots().size();
    switch (point_.phase) {
      case StepPhase::kSweepTermination:
        return "sweep termination: the world is stopped, every P's cached "
               "spans are handed back, last cycle's sweeping is finished; " +
               std::to_string(nroots) + " root object" +
               (nroots == 1 ? "" : "s") + " found";
      case StepPhase::kRoots:
        return gate_.concurrent()
                   ? "mark begins, the world still stopped: write barrier on, "
                     "new objects allocated black; the roots are greyed"
                   : "mark begins, the world stopped: the roots are greyed";
      case StepPhase::kMark:
        return gate_.concurrent()
                   ? "the world runs again; grey objects are scanned one by "
                     "one while the program stores through the barrier"
                   : "grey objects are scanned one by one";
      case StepPhase::kMarkTermination:
        return "mark termination: the world stops; the barrier buffers are "
               "flushed; " +
               std::to_string(gate_.grey().size()) + " grey object" +
               (gate_.grey().size() == 1 ? "" : "s") + " left";
      case StepPhase::kSweep:
        return "mark done: sweepgen is now " +
               std::to_string(impl_->mheap().sweepgen()) +
               ", every span unswept; white objects are garbage; the world "
               "runs and spans are swept one by one";
      case StepPhase::kDone:
        return "the cycle is over: every span is swept";
    }
    return "";
  }

  void AppendSpan(std::string* out, MSpan* s,
                  const std::unordered_set<uintptr_t>& grey,
                  const std::unordered_map<MSpan*, int>& cached_by,
                  std::map<uintptr_t, std::string>* names,
                  uint64_t counts[4]) const;

  HeapImpl* const impl_;
  Mutator* self_ = nullptr;
  StepGate gate_;
  std::thread thread_;
  uint32_t cycle_ = 0;
  StepPoint point_;
  std::unordered_map<uintptr_t, std::string> names_;  // by slot
  // Every store the program made during this cycle's mark; stores_[0,
  // last_pull_) were made before the last pull of the barrier's shades,
  // stores_[0, shown_stores_) are in a state already.
  std::vector<Store> stores_;
  size_t last_pull_ = 0;
  size_t shown_stores_ = 0;
  // The barrier's shades since the step before the last (for Describe)
  // and since the last step; those no state has shown yet.
  std::vector<uintptr_t> pulled_, pending_pulled_;
  std::vector<std::pair<uintptr_t, const char*>> unshown_shades_;
  bool step_shown_ = false;  // a state has shown the last step's greys
  std::string title_;        // recording when not empty
  std::vector<std::string> recording_;
  size_t state_count_ = 0;
};

void StepperImpl::AppendSpan(std::string* out, MSpan* s,
                             const std::unordered_set<uintptr_t>& grey,
                             const std::unordered_map<MSpan*, int>& cached_by,
                             std::map<uintptr_t, std::string>* names,
                             uint64_t counts[4]) const {
  const uint32_t sg = impl_->mheap().sweepgen();
  const uint32_t g = s->sweepgen.load(std::memory_order_acquire);
  const char* sweep = g == sg       ? "swept"
                      : g == sg - 2 ? "unswept"
                      : g == sg - 1 ? "being swept"
                      : g == sg + 1 ? "cached"
                      : g == sg + 3 ? "cached"
                                    : "unknown";
  std::string slots, alloc, mark;
  int count = 0;
  for (uintptr_t i = 0; i < s->nelems; i++) {
    const bool a = s->IsAllocated(i);
    const bool m = s->IsMarked(i);
    const uintptr_t base = s->ObjBase(i);
    alloc += a ? '1' : '0';
    mark += m ? '1' : '0';
    count += a;
    const int color = !a ? 0 : !m ? 1 : grey.count(base) != 0 ? 2 : 3;
    slots += "fwgb"[color];
    counts[color]++;
    auto it = names_.find(base);
    if (a && it != names_.end()) (*names)[base] = it->second;
  }
  char buf[320];
  snprintf(buf, sizeof buf,
           "{\"base\":\"%s\",\"npages\":%zu,\"class\":%d,\"elemsize\":%zu,"
           "\"nelems\":%u,\"noscan\":%s,\"large\":%s,\"sweep\":\"%s\",",
           Hex(s->start_addr).c_str(), s->npages, s->spanclass.sizeclass(),
           static_cast<size_t>(s->elemsize), s->nelems,
           s->spanclass.noscan() ? "true" : "false",
           s->is_large() ? "true" : "false", sweep);
  *out += buf;
  auto c = cached_by.find(s);
  if (c != cached_by.end())
    *out += "\"cached_by\":" + std::to_string(c->second) + ",";
  *out += "\"alloc_count\":" + std::to_string(count) + ",\"slots\":\"" + slots +
          "\",\"alloc\":\"" + alloc + "\",\"mark\":\"" + mark + "\"}";
}

std::string StepperImpl::StateJson(const std::string& label) {
  Sync();
  MHeap& heap = impl_->mheap();
  const std::unordered_set<uintptr_t> grey = GreySet();
  std::string out;
  out += "{\"step\":" + std::to_string(state_count_++);
  out += ",\"label\":" + Quote(label.empty() ? Describe() : label);
  out += ",\"phase\":\"" + std::string(PhaseName(point_.phase)) + "\"";
  out += std::string(",\"mode\":\"") +
         (gate_.concurrent() ? "concurrent" : "stop-the-world") + "\"";
  out += std::string(",\"world\":\"") +
         (point_.world_stopped ? "stopped" : "running") + "\"";
  out += std::string(",\"marking\":") +
         (impl_->collector().marking() ? "true" : "false");
  out += ",\"cycle\":" + std::to_string(cycle_);
  out += ",\"sweepgen\":" + std::to_string(heap.sweepgen());

  // The Ps: status, tiny block, cached spans.
  std::unordered_map<MSpan*, int> cached_by;
  std::string ps = "[";
  {
    MutexLock l(&impl_->sched_mu_);
    for (P& p : impl_->ps_) {
      const char* status = p.status == P::Status::kIdle      ? "idle"
                           : p.status == P::Status::kRunning ? "running"
                                                             : "parked";
      if (ps.size() > 1) ps += ",";
      ps += "{\"id\":" + std::to_string(p.id) + ",\"status\":\"" + status +
            "\",\"tiny\":\"" + Hex(p.mcache->tiny) +
            "\",\"tiny_offset\":" + std::to_string(p.mcache->tiny_offset) +
            ",\"cached\":[";
      bool first = true;
      for (int raw = 0; raw < kNumSpanClasses; raw++) {
        const SpanClass spc(static_cast<uint8_t>(raw));
        MSpan* s = p.mcache->cached_span(spc);
        if (s == heap.empty_span() || s == nullptr) continue;
        cached_by[s] = p.id;
        ps += std::string(first ? "" : ",") +
              "{\"class\":" + std::to_string(spc.sizeclass()) +
              ",\"noscan\":" + (spc.noscan() ? "true" : "false") +
              ",\"span\":\"" + Hex(s->start_addr) + "\"}";
        first = false;
      }
      ps += "]}";
    }
  }
  ps += "]";

  // The spans and the page heap's free runs, in address order.
  std::string spans = "[", runs = "[";
  std::map<uintptr_t, std::string> names;
  uint64_t counts[4] = {};  // free, white, grey, black
  heap.ForEachRun([&](uintptr_t base, size_t npages, MSpan* s, size_t scav) {
    if (s == nullptr) {
      if (runs.size() > 1) runs += ",";
      runs += "{\"base\":\"" + Hex(base) +
              "\",\"npages\":" + std::to_string(npages) +
              ",\"scavenged_pages\":" + std::to_string(scav) + "}";
      return;
    }
    if (s->state.load(std::memory_order_acquire) != SpanState::kInUse) return;
    if (spans.size() > 1) spans += ",";
    AppendSpan(&spans, s, grey, cached_by, &names, counts);
  });
  spans += "]";
  runs += "]";

  out += ",\"names\":{";
  bool first = true;
  for (const auto& [slot, name] : names) {
    out += std::string(first ? "" : ",") + Quote(Hex(slot)) + ":" + Quote(name);
    first = false;
  }
  out += "}";

  out += ",\"roots\":[";
  const std::vector<HeapWalk::Root>& roots = gate_.roots();
  for (size_t i = 0; i < roots.size(); i++) {
    const HeapWalk::Root& r = roots[i];
    out += std::string(i > 0 ? "," : "") + "{\"kind\":" + Quote(r.kind) +
           ",\"detail\":" + Quote(r.detail) + ",\"where\":\"" + Hex(r.where) +
           "\",\"object\":\"" + Hex(r.object) +
           "\",\"greyed\":" + (i < gate_.roots_greyed() ? "true" : "false") +
           "}";
  }
  out += "]";

  out += ",\"grey\":[";  // the next to be scanned first
  first = true;
  for (auto it = gate_.grey().rbegin(); it != gate_.grey().rend(); ++it) {
    out += std::string(first ? "" : ",") + "\"" + Hex(SlotOf(*it)) + "\"";
    first = false;
  }
  out += "]";

  // What this step greyed, and why: a root, a scan, or the barrier (the
  // old or the new value of a logged store).
  out += ",\"shaded\":[";
  first = true;
  auto shade = [&](uintptr_t o, const char* by) {
    out += std::string(first ? "" : ",") + "{\"object\":\"" + Hex(SlotOf(o)) +
           "\",\"by\":\"" + by + "\"}";
    first = false;
  };
  // Each state shows what happened since the one before: the last step's
  // greys once, the barrier's shades and the program's stores once.
  const char* by = point_.kind == StepKind::kRoot ? "root" : "scan";
  if (!step_shown_) {
    for (uintptr_t o : point_.greyed) shade(o, by);
  }
  step_shown_ = true;
  for (const auto& [o, why] : unshown_shades_) shade(o, why);
  unshown_shades_.clear();
  out += "]";

  out += ",\"barrier\":[";
  for (size_t i = shown_stores_; i < stores_.size(); i++) {
    out += std::string(i > shown_stores_ ? "," : "") + "{\"slot\":\"" +
           Hex(stores_[i].slot) + "\",\"old\":\"" + Hex(stores_[i].old_value) +
           "\",\"new\":\"" + Hex(stores_[i].new_value) + "\"}";
  }
  shown_stores_ = stores_.size();
  out += "]";

  out += ",\"spans\":" + spans;
  out += ",\"ps\":" + ps;

  out += ",\"mcentral\":[";
  first = true;
  for (int raw = 0; raw < kNumSpanClasses; raw++) {
    const SpanClass spc(static_cast<uint8_t>(raw));
    MCentral::Sets sets = heap.central(spc).ListSpans();
    if (sets.partial_swept.empty() && sets.partial_unswept.empty() &&
        sets.full_swept.empty() && sets.full_unswept.empty()) {
      continue;
    }
    auto list = [](const std::vector<MSpan*>& v) {
      std::string s = "[";
      for (size_t i = 0; i < v.size(); i++) {
        s +=
            std::string(i > 0 ? "," : "") + "\"" + Hex(v[i]->start_addr) + "\"";
      }
      return s + "]";
    };
    out +=
        std::string(first ? "" : ",") +
        "{\"class\":" + std::to_string(spc.sizeclass()) +
        ",\"noscan\":" + (spc.noscan() ? "true" : "false") + ",\"elemsize\":" +
        std::to_string(spc.sizeclass() == 0 ? 0
                                            : kClassToSize[spc.sizeclass()]) +
        ",\"partial_swept\":" + list(sets.partial_swept) +
        ",\"partial_unswept\":" + list(sets.partial_unswept) +
        ",\"full_swept\":" + list(sets.full_swept) +
        ",\"full_unswept\":" + list(sets.full_unswept) + "}";
    first = false;
  }
  out += "]";
  out += ",\"pages\":{\"free_runs\":" + runs + "}";
  out += ",\"counts\":{\"free\":" + std::to_string(counts[0]) +
         ",\"white\":" + std::to_string(counts[1]) +
         ",\"grey\":" + std::to_string(counts[2]) +
         ",\"black\":" + std::to_string(counts[3]) + "}}";
  return out;
}

void StepperLogStore(StepperImpl* s, const Mutator* m, void** slot,
                     const void* value) {
  s->LogStore(m, slot, value);
}

bool StepperOwns(const StepperImpl* s, const Mutator* m) {
  return s->owner() == m;
}

}  // namespace internal

namespace {
CycleStepper::Phase PublicPhase(internal::StepPhase p) {
  switch (p) {
    case internal::StepPhase::kSweepTermination:
      return CycleStepper::Phase::kSweepTermination;
    case internal::StepPhase::kRoots:
      return CycleStepper::Phase::kRoots;
    case internal::StepPhase::kMark:
      return CycleStepper::Phase::kMark;
    case internal::StepPhase::kMarkTermination:
      return CycleStepper::Phase::kMarkTermination;
    case internal::StepPhase::kSweep:
      return CycleStepper::Phase::kSweep;
    case internal::StepPhase::kDone:
      return CycleStepper::Phase::kDone;
  }
  return CycleStepper::Phase::kDone;
}
}  // namespace

CycleStepper::CycleStepper(Heap& heap, Mode mode)
    : impl_(std::make_unique<internal::StepperImpl>(heap, mode)) {}
CycleStepper::~CycleStepper() = default;
bool CycleStepper::Step() { return impl_->Step(); }
size_t CycleStepper::Step(size_t n) {
  size_t done = 0;
  while (done < n && impl_->Step()) done++;
  return done;
}
bool CycleStepper::FinishPhase() {
  const internal::StepPhase start = impl_->phase();
  if (start == internal::StepPhase::kDone) return false;
  while (impl_->Step() && impl_->phase() == start) {
  }
  return true;
}
void CycleStepper::Finish() {
  while (impl_->Step()) {
  }
}
CycleStepper::Phase CycleStepper::phase() const {
  return PublicPhase(impl_->phase());
}
bool CycleStepper::world_stopped() const {
  return impl_->point().world_stopped;
}
std::string CycleStepper::Describe() const { return impl_->Describe(); }
void CycleStepper::Name(const void* object, const std::string& name) {
  impl_->Name(object, name);
}
CycleStepper::Color CycleStepper::ColorOf(const void* p) {
  return impl_->ColorOf(reinterpret_cast<uintptr_t>(p));
}
std::vector<const void*> CycleStepper::GreyQueue() {
  return impl_->GreyQueue();
}
std::vector<const void*> CycleStepper::Roots() const { return impl_->Roots(); }
std::string CycleStepper::StateJson() { return impl_->StateJson(); }
void CycleStepper::Record(const std::string& title) { impl_->Record(title); }
void CycleStepper::RecordState(const std::string& label) {
  impl_->RecordState(label);
}
bool CycleStepper::WriteRecording(const std::string& path) const {
  return impl_->WriteRecording(path);
}

}  // namespace gcheap
