// A stepped cycle: the gate and the cycle it holds back. See
// gc/step_gate.h for the map.
#include <algorithm>

#include "base/check.h"
#include "base/clock.h"
#include "gc/gc.h"
#include "gc/step_gate.h"

namespace gcheap::internal {

namespace {

bool MarkedNow(MHeap* heap, uintptr_t p) {
  MSpan* s = heap->SpanOf(p);
  if (s == nullptr ||
      s->state.load(std::memory_order_acquire) != SpanState::kInUse ||
      p < s->start_addr || p >= s->limit) {
    return false;
  }
  return s->IsMarked(s->ObjIndex(p));
}

// The slot p points into (p itself when it is not a heap object).
uintptr_t SlotOf(MHeap* heap, uintptr_t p) {
  MSpan* s = heap->SpanOf(p);
  if (s == nullptr || p < s->start_addr || p >= s->limit) return p;
  return s->ObjBase(s->ObjIndex(p));
}

}  // namespace

const StepPoint& StepGate::WaitFirst() {
  MutexLock l(&mu_);
  while (!arrived_ && !done_) cv_.Wait(&mu_);
  return point_;
}

const StepPoint& StepGate::Advance() {
  MutexLock l(&mu_);
  if (done_) return point_;
  arrived_ = false;
  go_ = true;
  cv_.SignalAll();
  while (!arrived_ && !done_) cv_.Wait(&mu_);
  return point_;
}

void StepGate::Pause(StepPoint p) {
  MutexLock l(&mu_);
  point_ = std::move(p);
  arrived_ = true;
  cv_.SignalAll();
  while (!go_) cv_.Wait(&mu_);
  go_ = false;
}

void StepGate::Done() {
  MutexLock l(&mu_);
  point_ = StepPoint{};
  point_.phase = StepPhase::kDone;
  point_.world_stopped = false;
  done_ = true;
  marker_ = nullptr;
  cv_.SignalAll();
}

const std::vector<HeapWalk::Root>& StepGate::roots() const {
  static const std::vector<HeapWalk::Root> kNone;
  return walk_ != nullptr ? walk_->roots() : kNone;
}

void StepGate::TakeQueued(std::vector<uintptr_t>* out) {
  // The marker's buffers are stacks: reversed, the objects join the queue
  // in the order they were greyed.
  std::vector<uintptr_t> got;
  // (The program's markers may queue spans: their objects join one by one.)
  for (uintptr_t e; (e = marker_->work().TryGet()) != 0;) {
    marker_->ForEachEntryObject(e, [&](uintptr_t o) { got.push_back(o); });
  }
  std::reverse(got.begin(), got.end());
  for (uintptr_t o : got) {
    grey_.push_back(o);
    out->push_back(o);
  }
}

void StepGate::PullPool(std::vector<uintptr_t>* pulled) {
  if (marker_ != nullptr) TakeQueued(pulled);
}

void StepGate::Referents(uintptr_t slot, std::vector<uintptr_t>* out) {
  out->clear();
  if (walk_ != nullptr) walk_->Referents(slot, out);
}

void StepGate::GreyRoot(size_t i, StepPoint* p) {
  const uintptr_t obj = roots()[i].object;
  p->kind = StepKind::kRoot;
  p->root = i;
  p->object = obj;
  MHeap* heap = walk_->heap();
  const bool before = MarkedNow(heap, obj);
  marker_->Grey(obj);
  roots_greyed_ = i + 1;
  std::vector<uintptr_t> queued;
  TakeQueued(&queued);
  if (!before && MarkedNow(heap, obj)) p->greyed.push_back(obj);
}

bool StepGate::ScanNext(StepPoint* p) {
  if (grey_.empty()) return false;
  // Last in, first out, as the marker's own work buffers.
  const uintptr_t obj = grey_.back();
  grey_.pop_back();
  MHeap* heap = walk_->heap();
  // What it refers to, and which of those are white now: the scan greys
  // exactly those (each once, in field order).
  Referents(SlotOf(heap, obj), &referents_);
  std::vector<uintptr_t> white;
  for (uintptr_t r : referents_) {
    if (!MarkedNow(heap, r) &&
        std::find(white.begin(), white.end(), r) == white.end()) {
      white.push_back(r);
    }
  }
  marker_->SetReferrer(obj);
  marker_->Scan(obj);
  marker_->SetReferrer(0);
  std::vector<uintptr_t> queued;
  TakeQueued(&queued);
  p->kind = StepKind::kScan;
  p->object = obj;
  for (uintptr_t r : white) {
    if (MarkedNow(heap, r)) p->greyed.push_back(r);
  }
  return true;
}

void Collector::StepThroughGrey(StepGate* gate, Marker& self, StepPhase phase,
                                bool world_stopped) {
  // The phase's first step, then one grey object per step; each step
  // first takes what the barrier shaded (or other Ps flushed) since.
  StepPoint p;
  p.phase = phase;
  p.world_stopped = world_stopped;
  gate->PullPool(&p.pulled);
  gate->Pause(std::move(p));
  while (true) {
    p = StepPoint{};
    p.phase = phase;
    p.world_stopped = world_stopped;
    gate->PullPool(&p.pulled);
    if (!gate->ScanNext(&p)) {
      // Ephemerons whose key is marked: their values, then on.
      if (MarkEphemerons(self)) {
        gate->PullPool(&p.pulled);
        if (!gate->QueueEmpty()) continue;
      }
      return;
    }
    gate->Pause(std::move(p));
  }
}

void Collector::RunSteppedCycle(StepGate* gate) {
  MutexLock cycle(&cycle_mu_);
  FinishPendingMark();
  RestartThreadsAfterFork();
  stepped_.store(true, std::memory_order_relaxed);
  // Steps show objects greyed and scanned one at a time: no span queues
  // (set before the world restarts, which publishes it to every marker).
  span_marking_.store(false, std::memory_order_relaxed);
  const bool concurrent = gate->concurrent();
  const uint64_t t_start = MonoNs();
  cycle_goal_.store(pacer_.goal(), std::memory_order_relaxed);
  FinishSweep();

  // Sweep termination: the world stops; the roots are found, named.
  const uint64_t t_stw = MonoNs();
  const uint64_t h0 = SweepTermination();
  workers_.ResetCounters();
  std::unique_ptr<Marker> self = NewMarker();
  gate->SetMarker(self.get());
  gate->SetWalk(std::make_unique<HeapWalk>(
      heap_, &opts_.values, [this](Marker& m) { env_->MarkRoots(m); }));
  StepPoint p;
  p.phase = StepPhase::kSweepTermination;
  gate->Pause(p);

  // Roots: one object per step, the world still stopped.
  if (concurrent) {
    marking_.store(true, std::memory_order_seq_cst);
    heap_->SetAllocateBlack(true);
    if (barrier_check_ != nullptr) barrier_check_->Reset();
  }
  phase_.store(GcPhase::kMark, std::memory_order_release);
  p = StepPoint{};
  p.phase = StepPhase::kRoots;
  gate->Pause(p);
  for (size_t i = 0; i < gate->roots().size(); i++) {
    p = StepPoint{};
    p.phase = StepPhase::kRoots;
    gate->GreyRoot(i, &p);
    gate->Pause(std::move(p));
  }

  // Mark: one grey object per step. Concurrently, the world runs between
  // steps; each step first takes what the program's barrier shaded.
  const uint64_t t_mark = MonoNs();
  uint64_t pause = 0;
  if (concurrent) {
    pause = t_mark - t_stw;
    env_->StartTheWorld();
  }
  StepThroughGrey(gate, *self, StepPhase::kMark, !concurrent);

  // Mark termination: the world stops again; whatever the other Ps still
  // hold is marked one object per step.
  const uint64_t t_term = MonoNs();
  if (concurrent) env_->StopTheWorld();
  phase_.store(GcPhase::kMarkTermination, std::memory_order_release);
  if (concurrent) env_->FlushPWork();
  StepThroughGrey(gate, *self, StepPhase::kMarkTermination, true);
  if (barrier_check_ != nullptr) barrier_check_->Verify();
  if (concurrent) {
    marking_.store(false, std::memory_order_seq_cst);
    heap_->SetAllocateBlack(false);
    env_->ForEachMCache([](MCache* c) { c->ReleaseAll(); });
  }
  if (opts_.checkmark) Checkmark();
  env_->ProcessWeak();
  uint64_t h1 = heap_->heap_live().load(std::memory_order_relaxed);
  uint64_t marked = self->marked_bytes() + env_->PMarkedBytes();
  if (h1 > h0) marked += h1 - h0;
  CycleRecord r;
  r.why = GcReason::kForced;
  r.t_start = t_start;
  r.t_stw = t_stw;
  r.pause = concurrent ? pause : t_term - t_stw;
  r.t_mark = t_mark;
  r.t_term = t_term;
  r.h0 = h0;
  r.h1 = h1;
  r.marked = r.pace_marked = marked;
  gate->SetMarker(nullptr);
  self.reset();
  FinishCycle(r);  // starts the world; every span is unswept now

  // Sweep: one span per step (the background sweeper waits meanwhile;
  // allocation still sweeps what it needs).
  p = StepPoint{};
  p.phase = StepPhase::kSweep;
  p.world_stopped = false;
  gate->Pause(std::move(p));
  while (true) {
    p = StepPoint{};
    p.phase = StepPhase::kSweep;
    p.kind = StepKind::kSweep;
    p.world_stopped = false;
    if (heap_->SweepOne(&p.object, &p.freed) == 0) break;
    gate->Pause(std::move(p));
  }
  stepped_.store(false, std::memory_order_relaxed);
  span_marking_.store(opts_.span_marking, std::memory_order_relaxed);
  ResumeSweeper();
  gate->Done();
}

}  // namespace gcheap::internal
