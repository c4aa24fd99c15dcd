// CycleStepper: a collection cycle one step at a time, for learning how the
// collector works (docs/teaching.md). The program starts a cycle, advances
// it by one root, one grey object, n steps or a whole phase, and reads the
// heap between steps: every object's colour, the grey queue, the roots,
// every span's bits and sweep state, the Ps' caches, mcentral's sets and
// the page heap's free runs (StateJson, the format tools/heap_viewer
// draws).
//
//   gcheap::CycleStepper c(heap, gcheap::CycleStepper::Mode::kConcurrent);
//   c.Name(a, "A");
//   while (c.Step()) std::puts(c.Describe().c_str());
//
// Two modes. kStopTheWorld: the world stays stopped from the first step to
// the end of marking, as Options::concurrent_mark = false runs it; between
// steps the program may read the heap but not allocate or store (its
// thread has given up its P, as in a BlockingScope). kConcurrent: the
// world stops for sweep termination and the roots, runs while the grey
// objects are scanned, and stops again for mark termination; between mark
// steps the program runs as usual (stores go through the write barrier,
// which shades the old and the new value; new objects are allocated
// black) and the next state shows what the barrier did.
//
// One marker does all the marking: no background workers, no assists.
// The cycle runs on a thread of its own that waits between steps; other
// cycles (Heap::Collect, the heap trigger) wait for it to end. Meant for
// small heaps and one mutator thread: the state reads every slot.
#ifndef GCHEAP_STEPPER_H_
#define GCHEAP_STEPPER_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "gcheap/heap.h"

namespace gcheap {
namespace internal {
class StepperImpl;
}  // namespace internal

class GCHEAP_EXPORT CycleStepper {
 public:
  enum class Mode { kStopTheWorld, kConcurrent };
  enum class Phase {
    kSweepTermination,  // world stopped; last cycle's sweeping finished
    kRoots,             // world stopped; one root object greyed per step
    kMark,              // one grey object scanned per step
    kMarkTermination,   // world stopped; what is left scanned
    kSweep,             // one span swept per step; world running
    kDone               // the cycle has ended
  };
  enum class Color { kFree, kWhite, kGrey, kBlack };

  // Starts a cycle and returns at its first stop (sweep termination), the
  // world stopped. The calling thread must be attached to `heap` and hold
  // its P; it waits for a cycle already running to end first.
  CycleStepper(Heap& heap, Mode mode);
  // Runs the cycle to its end.
  ~CycleStepper();
  CycleStepper(const CycleStepper&) = delete;
  CycleStepper& operator=(const CycleStepper&) = delete;

  // Takes one step; false once the cycle has ended (nothing was done).
  bool Step();
  // Takes up to n steps; returns how many were taken.
  size_t Step(size_t n);
  // Steps until the phase changes; false once the cycle has ended.
  bool FinishPhase();
  // Runs the cycle to its end.
  void Finish();

  Phase phase() const;
  bool done() const { return phase() == Phase::kDone; }
  bool world_stopped() const;
  // What the last step did, in words ("scan A: grey B, C"), with the
  // names given by Name.
  std::string Describe() const;
  // A name for an object in descriptions and the state ("A").
  void Name(const void* object, const std::string& name);
  // The colour of the object containing p (kFree: no allocated object).
  Color ColorOf(const void* p);
  // The grey objects, the next to be scanned first.
  std::vector<const void*> GreyQueue();
  // The roots found at sweep termination (each root's object), in the
  // order the cycle greys them.
  std::vector<const void*> Roots() const;
  // The heap's state now, as JSON (docs/teaching.md has the format).
  std::string StateJson();
  // From now on keep the state after every step (this one included), for
  // WriteRecording: one file the heap viewer plays back.
  void Record(const std::string& title);
  // Keeps the state now as well, labelled (what the program just did:
  // "B->left = null"); a no-op unless recording.
  void RecordState(const std::string& label);
  // Writes the states kept since Record; false (and why, on stderr) if the
  // file cannot be written.
  bool WriteRecording(const std::string& path) const;

 private:
  std::unique_ptr<internal::StepperImpl> impl_;
};

}  // namespace gcheap

#endif  // GCHEAP_STEPPER_H_
