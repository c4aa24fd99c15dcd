// Heap options. Public API: "gcheap/options.h".
#ifndef GCHEAP_OPTIONS_H_
#define GCHEAP_OPTIONS_H_

#include <signal.h>
#include <stdio.h>

#include <cstddef>
#include <cstdint>

#include "gcheap/type.h"

namespace gcheap {

// How the collector finds the pointers a thread holds in its own frames.
enum class StackScanning {
  // Every word of the thread's stack and saved registers that points into
  // the heap keeps its object alive (interior pointers too). A pointer in a
  // C local is always safe. The default.
  kConservative,
  // Only Local<T> handles in HandleScopes are roots; the stack is not
  // scanned. Frees more, needs discipline.
  kPrecise,
};

// Where finalizers and cleanups run (see finalizers.h), and the deleters of
// plain objects that Pools drop (pool.h).
enum class FinalizerMode {
  // A heap-owned thread runs them as soon as they are queued. It is started
  // on first need and attaches to the heap: it takes a P while it runs
  // them, so with max_procs == 1 it runs only while the program's thread
  // has released its P (BlockingScope, DetachCurrentThread).
  kBackgroundThread,
  // Only Heap::RunFinalizers runs them, on the embedder's own attached
  // thread (single-threaded VMs). Until it is called they wait.
  kEmbedderDrains,
};

// Called when an allocation cannot be satisfied even after a collection:
// `requested` bytes were asked for. The callback may free resources; the
// allocation is retried once after it returns.
using OutOfMemoryFn = void (*)(size_t requested, void* arg);

struct Options {
  // Ps: how many threads may run heap code at once. 0: the number of CPUs the
  // process may run on (its affinity mask).
  int max_procs = 0;
  // GOGC: collect when the heap has grown by this percentage over the live
  // heap after the last collection. Negative: no automatic collection.
  int gc_percent = 100;
  // Soft limit, in bytes, on the heap: the collector runs more often to
  // stay under it, but not with more than about half the CPU for long (the
  // GC CPU limiter lets the heap pass the limit instead). 0: none.
  size_t soft_memory_limit = 0;
  // The smallest heap goal, at gc_percent 100 (scaled by gc_percent/100
  // like the rest of the goal): a heap with little live data is collected
  // when it reaches this, not sooner. 0: 4 MB, Go's heap minimum. A small
  // program (a script interpreter's) trades collections for a smaller
  // footprint with a lower one: clox collects first at 1 MB.
  size_t heap_minimum = 0;
  // Small heaps: a cycle the heap triggers while its goal is at most this
  // many bytes runs with the world stopped, on the thread whose allocation
  // triggered it, marked by that thread alone. A mark that small takes
  // less time than a concurrent cycle's two stops and its hand-offs to the
  // collector's threads (docs/collector.md, "Small heaps"); the pause is
  // that mark, under a millisecond. 0: every cycle marks concurrently.
  // Cycles from Collect() and the stress modes stay concurrent.
  size_t small_heap = 512 << 10;
  // Large heaps: memory the heap commits once it holds this many bytes
  // (MemStats::heap_sys) asks the kernel for transparent huge pages
  // (madvise MADV_HUGEPAGE), so a large heap takes fewer page faults and
  // TLB misses. The first bytes stay on 4 KiB pages: a small heap's
  // footprint is the pages it touches. 0 (the default): never. A throughput
  // setting: with the kernel's usual THP defrag policy ("madvise") the
  // first touch of such memory may compact memory for milliseconds, and a
  // thread in that fault holds up a stop (docs/allocator.md).
  size_t huge_pages_above = 0;
  // Hard limit, in bytes, on heap memory obtained from the OS: allocations
  // that would pass it fail (see Mutator::Allocate). 0: none.
  size_t hard_memory_limit = 0;
  StackScanning stack_scanning = StackScanning::kConservative;
  // Mark while the program runs (the default): two short stops per cycle,
  // a write barrier while marking, allocation black. false: the whole mark
  // runs with the world stopped (simpler to follow; for comparison).
  // GCHEAP_DEBUG=gcstoptheworld=1 selects that.
  bool concurrent_mark = true;
  // After each concurrent mark, mark again with the world stopped and
  // abort, naming the object, its type and the referrer, if the concurrent
  // mark missed a reachable object (a missing write barrier). Slow; for
  // debugging. Also GCHEAP_DEBUG=gccheckmark=1.
  bool checkmark = false;
  FinalizerMode finalizer_mode = FinalizerMode::kBackgroundThread;
  // Extra heap-owned marking threads; -1: one per P beyond the first,
  // capped by the number of CPUs.
  int mark_workers = -1;
  // Idle-time marking (Go's idle mark workers): while a concurrent mark
  // runs, the marking threads beyond the 25% of the Ps that background
  // marking targets also mark, as long as the CPUs they would use are not
  // running mutators (more running Ps plus marking threads than CPUs stops
  // them). Marking finishes sooner and the heap overshoots its goal less,
  // at the price of CPU the machine had spare. false: 25% only.
  bool idle_mark = true;
  // Span-based marking (after Go 1.26's "Green Tea" collector; see
  // docs/collector.md, "Span-based marking"): a grey object of at most 512
  // bytes queues its span, not itself, and markers scan each span's marked
  // objects together, in address order. false: every object is queued and
  // scanned on its own (object-by-object marking, for comparison and
  // teaching). Also GCHEAP_DEBUG=gcspanmark=0.
  bool span_marking = true;
  // Print one gctrace line per collection (Go's format). Also turned on by
  // the environment: GCHEAP_DEBUG=gctrace=1 (several settings are separated
  // by commas: GCHEAP_DEBUG=gctrace=1,gccheckmark=1).
  bool gctrace = false;
  // Print one line per collection with the pacer's inputs and decisions
  // (marked bytes, goal, trigger, runway, cons/mark, who marked), to the
  // same output as gctrace; docs/stats.md explains each field. Also
  // GCHEAP_DEBUG=gcpacertrace=1 (Go: GODEBUG=gcpacertrace=1).
  bool gcpacertrace = false;
  // Count what each allocation path did, per size class
  // (Heap::ReadAllocPathStats): fast-path hits, refills from mcentral,
  // mcentral's sweeps, heap grows, OS commits. Every count is taken on a
  // slow path: the inline fast path is the same either way. Also
  // GCHEAP_DEBUG=allocpaths=1.
  bool alloc_path_counters = false;
  // Heap profiling (Heap::WriteHeapProfile, docs/debugging.md): on
  // average one allocation per this many bytes is sampled, with its call
  // stack, as Go's runtime.MemProfileRate (Go's default: 512 KiB; 1:
  // every allocation). 0: off. Sampling is decided on the allocation slow
  // path only; the inline fast path is the same either way. Also
  // GCHEAP_DEBUG=memprofilerate=N; Heap::SetMemProfileRate changes it.
  int64_t mem_profile_rate = 0;
  // Keep the Type of every object, for heap dumps and retention paths
  // (Heap::WriteHeapDump, Heap::FindRetentionPath): small objects without
  // a header otherwise share their span's layout, and where types of
  // different layouts share a span they are named only by how they are
  // laid out ("an object with a pointer map"). Costs a word per slot of
  // each scan span and an out-of-line call per typed allocation: for
  // debugging. Also GCHEAP_DEBUG=gctypes=1.
  bool record_types = false;
  // Record the collector's work as a Chrome trace-event JSON array into
  // this file, for Perfetto or chrome://tracing (docs/debugging.md): each
  // stop, each worker's marking, each assist, barrier-buffer flushes,
  // sweeping and scavenging, counters for heap live, goal, trigger and GC
  // CPU. The heap writes at each cycle's end and finishes the array when
  // it is destroyed; the program closes the file after that. Null: off
  // (nothing is recorded, nothing runs on any fast path). Also
  // GCHEAP_DEBUG=gcevents=PATH (the heap opens and closes the file).
  FILE* event_trace_output = nullptr;
  FILE* trace_output = nullptr;  // default: stderr
  // Return free memory to the OS in the background.
  bool background_scavenger = true;
  OutOfMemoryFn on_out_of_memory = nullptr;
  void* out_of_memory_arg = nullptr;
  // GC stress, for finding missing roots and barriers: when N > 0, run a
  // full collection every N allocations and fill every freed object with
  // 0xA5 bytes, so a pointer the collector does not know about fails at
  // its next use instead of much later. Very slow. Also
  // GCHEAP_DEBUG=gcstress=N. See docs/debugging.md.
  int gc_stress = 0;
  // Concurrent mark stress, for finding missing write barriers: when N > 0,
  // every N allocations start a concurrent mark (unless one runs), and the
  // mark stays open, barrier on, across mark_stress_hold more allocations
  // of the program (or until it stops allocating for 20 ms). With
  // checkmark and barrier_check on, a VM's test suite then runs its stores
  // inside marks. Every allocation takes the slow path. Also
  // GCHEAP_DEBUG=gcmarkstress=N,gcmarkhold=M. See docs/debugging.md.
  int mark_stress = 0;
  int mark_stress_hold = 1000;
  // Barrier check, for finding missing write barriers where they happen:
  // during each concurrent mark, the words the collector read from heap
  // objects are kept, and at the end of the mark any pointer word that
  // changed without going through the write barrier aborts the program,
  // naming the slot, its object and both values. Slow; for debugging. Also
  // GCHEAP_DEBUG=gcbarriercheck=1. See docs/debugging.md.
  bool barrier_check = false;
  // Diagnostics: when stopping the world takes longer than this, name the
  // threads that have not reached a safepoint. 0: never.
  int safepoint_report_ms = 2000;
  // Signal stops: a thread that has not reached a safepoint preempt_after_us
  // microseconds after a stop began (a loop that neither allocates nor
  // polls, a blocking call outside a BlockingScope) is sent this signal,
  // and its handler stops it where it is unless it is inside gcheap's own
  // code (docs/collector.md, "Stopping threads that do not poll"). SIGURG,
  // as Go's runtime uses, since programs rarely do; a handler the program
  // installed before the heap was made still gets the signals not meant
  // for the heap. 0: no signals (stops wait for every thread to poll).
  // All heaps of a process use the same signal. With preempt_after_us 0
  // (the default) the stopping thread signals every running thread at
  // once; otherwise it first spins that long (at most 50 us of it), so
  // threads that poll stop at their safepoints. Then it spins up to 50 us,
  // yielding its CPU now and then, and sleeps until the last one has
  // stopped, woken by it. Signalling at once keeps a stop
  // from waiting on the scheduler when every CPU is busy (collector.md).
  int preempt_signal = SIGURG;
  int preempt_after_us = 0;
  // Boehm-style ports: make the static data of the program and of every
  // shared library loaded when the heap is made (their writable segments:
  // .data, .bss) roots, scanned conservatively, as Boehm GC does by
  // default. Heap::AddStaticDataRoots does the same later (after dlopen).
  bool scan_static_data = false;
  // How the program's values encode heap pointers (NaN boxing, tagged
  // words): every word the collector reads without a pointer map, and
  // every value the write barrier records, is decoded too
  // (gcheap/type.h; docs/embedding.md, "Your values").
  ValueEncoding values = ValueEncoding::Pointers();
};

}  // namespace gcheap

#endif  // GCHEAP_OPTIONS_H_
