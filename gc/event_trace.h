// The collector's event trace: what the collector does and when, in the
// Chrome trace-event JSON format that Perfetto (ui.perfetto.dev, "Open
// trace file") and chrome://tracing load. docs/debugging.md shows how to
// record and read one.
//
// One JSON array of events, each on its own line:
//
//   {"name":"STW sweep termination","cat":"gc","ph":"X","ts":..,"dur":..,
//    "pid":..,"tid":..,"args":{..}}      a complete event (ts, dur in us)
//   {"name":"heap","ph":"C","ts":..,"pid":..,"args":{"live MB":..}}
//                                        a counter track
//   {"name":"thread_name","ph":"M","pid":..,"tid":..,
//    "args":{"name":"gcheap mark worker 1"}}
//
// Events: each cycle on the collecting thread ("GC N", and within it the
// stops and the concurrent mark), each background worker's marking
// ("mark (dedicated)", "mark (fractional)", "mark (idle)"), each assist on
// the mutator thread that paid it, each write-barrier buffer flush, each
// run of the background sweeper, each scavenger step; counters at each
// cycle's end: heap live, goal and trigger, and the GC CPU fraction.
// Threads are named: the collector's own, and mutators by the name the
// program gave the thread (pthread_setname_np), else "mutator".
//
// Cost: when off, the collector tests one pointer in its slow paths and
// nothing runs on any fast path; when on, an event is a formatted line
// appended under a spin lock, written out at each cycle's end and when
// the heap is destroyed.
#ifndef GCHEAP_GC_EVENT_TRACE_H_
#define GCHEAP_GC_EVENT_TRACE_H_

#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/base/thread_annotations.h"
#include "base/spinlock.h"

namespace gcheap::internal {

class EventTrace {
 public:
  // Writes to out (owned by the caller, who closes it after this is gone).
  explicit EventTrace(FILE* out);
  ~EventTrace();  // writes what is buffered and closes the array
  EventTrace(const EventTrace&) = delete;
  EventTrace& operator=(const EventTrace&) = delete;

  // A span of work on the calling thread, from t0 to t1 (MonoNs). args:
  // the inside of a JSON object ("\"bytes\":123"), or null.
  void Complete(const char* name, uint64_t t0_ns, uint64_t t1_ns,
                const char* args = nullptr);
  // A counter track's values at t (MonoNs): args as for Complete.
  void Counter(const char* name, uint64_t t_ns, const char* args);
  // Names the calling thread in this trace (once per thread and trace).
  void NameThread(const char* name);
  // Names the calling thread by its own name (pthread_getname_np), or
  // `fallback` when the program did not name it.
  void NameThreadFromSystem(const char* fallback);
  // Writes the buffered events out.
  void Flush();

 private:
  void Append(const std::string& line);
  const uint64_t id_;
  int pid_;
  FILE* const out_;
  SpinLock mu_;
  std::string buf_ ABSL_GUARDED_BY(mu_);
  bool first_ ABSL_GUARDED_BY(mu_) = true;
  // Writes are serialized apart from appends (I/O outside the spin lock).
  SpinLock write_mu_;
};

}  // namespace gcheap::internal

#endif  // GCHEAP_GC_EVENT_TRACE_H_
