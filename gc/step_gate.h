// A stepped cycle: the collector's teaching mode (gcheap/stepper.h). The
// cycle runs on a thread of its own (Collector::RunSteppedCycle) and, after
// each step, waits at the gate until the program lets it take the next:
//
//   sweep termination   one step: the world is stopped, the mcaches are
//                       flushed, last cycle's sweeping is finished, and
//                       the roots are found (a heap walk names each one)
//   roots               one step per root object greyed, world stopped
//   mark                one step per grey object scanned, last greyed
//                       first (the marker's work buffers are stacks);
//                       stop-the-world: the world stays stopped;
//                       concurrent: the world runs between steps (barrier
//                       on, allocation black) and the program's stores
//                       shade through the write barrier
//   mark termination    the world stopped again; grey objects that turned
//                       up since (other threads' barrier buffers,
//                       ephemerons) scanned one per step; checkmark if on
//   sweep               the cycle's end (sweepgen += 2); one step per span
//                       swept
//
// Marking uses one Marker, this cycle's only one: no background workers,
// no assists, no idle marking. Its grey queue is kept here, in order, so
// the program can read it between steps. The program reads the heap only
// while the cycle waits at the gate (Advance has returned), so nothing
// here needs more than the gate's own lock for the handoff.
#ifndef GCHEAP_GC_STEP_GATE_H_
#define GCHEAP_GC_STEP_GATE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "base/mutex.h"
#include "gc/heap_walk.h"
#include "gc/mark.h"

namespace gcheap::internal {

enum class StepPhase : uint8_t {
  kSweepTermination,
  kRoots,
  kMark,
  kMarkTermination,
  kSweep,
  kDone
};

enum class StepKind : uint8_t {
  kPhase,  // a phase began (or, kDone, the cycle ended)
  kRoot,   // a root's object greyed
  kScan,   // a grey object scanned
  kSweep,  // a span swept
};

// Where the cycle waits, and what its last step did.
struct StepPoint {
  StepPhase phase = StepPhase::kSweepTermination;
  StepKind kind = StepKind::kPhase;
  bool world_stopped = true;
  uintptr_t object = 0;  // kRoot: the root's object; kScan: the object
                         // scanned; kSweep: the span's base
  size_t root = 0;       // kRoot: its index in roots()
  // Objects this step marked: queued grey, or black at once (no pointers).
  std::vector<uintptr_t> greyed;
  // Grey objects this step found in the shared pool (the program's barrier
  // shades, other Ps' work) and added to the queue.
  std::vector<uintptr_t> pulled;
  int freed = 0;  // kSweep: objects the span freed
};

class StepGate {
 public:
  explicit StepGate(bool concurrent) : concurrent_(concurrent) {}
  StepGate(const StepGate&) = delete;
  StepGate& operator=(const StepGate&) = delete;
  bool concurrent() const { return concurrent_; }

  // --- the program's side
  // Waits for the cycle's first pause (sweep termination).
  const StepPoint& WaitFirst() ABSL_LOCKS_EXCLUDED(mu_);
  // Lets the cycle take its next step and returns where it waits then
  // (phase kDone: the cycle has ended and its thread is finishing).
  const StepPoint& Advance() ABSL_LOCKS_EXCLUDED(mu_);
  // Valid while the cycle waits at the gate:
  const StepPoint& point() const { return point_; }
  const std::vector<HeapWalk::Root>& roots() const;
  size_t roots_greyed() const { return roots_greyed_; }
  // The grey objects in the order they were greyed: the last is the next
  // to be scanned.
  const std::deque<uintptr_t>& grey() const { return grey_; }
  // Moves grey objects from the shared pool (where the program's write
  // barrier buffer was flushed) to the end of the queue; appends them to
  // *pulled. Only while the cycle waits (its marker is idle).
  void PullPool(std::vector<uintptr_t>* pulled);
  // The objects `slot`'s object refers to (a heap walk's scan: no mark bit
  // changes). Only while the cycle waits.
  void Referents(uintptr_t slot, std::vector<uintptr_t>* out);

  // --- the cycle's side (gc/stepped_cycle.cc)
  void Pause(StepPoint p) ABSL_LOCKS_EXCLUDED(mu_);
  // The cycle has ended; Advance returns kDone from now on.
  void Done() ABSL_LOCKS_EXCLUDED(mu_);
  void SetMarker(Marker* m) { marker_ = m; }
  void SetWalk(std::unique_ptr<HeapWalk> walk) { walk_ = std::move(walk); }
  HeapWalk* walk() { return walk_.get(); }
  // Greys root i through the marker (StepKind::kRoot).
  void GreyRoot(size_t i, StepPoint* p);
  // Scans the last grey object (StepKind::kScan); false if none is left.
  bool ScanNext(StepPoint* p);
  bool QueueEmpty() const { return grey_.empty(); }

 private:
  // Moves what the marker queued to the end of grey_ (appending it to
  // *out), and records in *marked the referents it marked black at once.
  void TakeQueued(std::vector<uintptr_t>* out);

  const bool concurrent_;
  Mutex mu_{LockRank::kLeaf};
  CondVar cv_;
  bool go_ ABSL_GUARDED_BY(mu_) = false;
  bool arrived_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  // Written by the cycle's thread before it arrives, read by the program's
  // after Advance returns (the handoff through mu_ orders them).
  StepPoint point_;
  Marker* marker_ = nullptr;
  std::unique_ptr<HeapWalk> walk_;
  std::deque<uintptr_t> grey_;
  size_t roots_greyed_ = 0;
  std::vector<uintptr_t> referents_;  // scratch
};

}  // namespace gcheap::internal

#endif  // GCHEAP_GC_STEP_GATE_H_
