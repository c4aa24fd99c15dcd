// Collector::Shade: greying from outside the markers. See gc/gc.h.
//
// While marking runs concurrently (or in the stop-the-world mode, where no
// mutator runs during kMark and these calls are no-ops) the calls from weak
// references, finalizers and pools are the read side of the barrier (a weak
// reference's Get must shade what it returns, as Go's weak.Pointer.Value does);
// the object is greyed through a Marker of its own and the work published to
// the shared pool, which mark termination drains before it ends the phase.
#include "gc/gc.h"

namespace gcheap::internal {

void Collector::Shade(const void* p) {
  GcPhase ph = phase();
  if (ph != GcPhase::kMark && ph != GcPhase::kMarkTermination) return;
  if (p == nullptr) return;
  Marker m(heap_, &pool_);
  m.SetValueEncoding(&opts_.values);
  m.SetSpanMarking(&span_marking_);
  m.Grey(reinterpret_cast<uintptr_t>(p));
  m.work().Flush();
}

}  // namespace gcheap::internal
