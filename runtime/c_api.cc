// The C API (gcheap/gcheap_c.h) over the C++ one. Each C handle is the C++
// object itself, reinterpret_cast: gch_heap* is a Heap*, gch_mutator* a
// Mutator*, const gch_type* a const Type*, gch_visitor* a Visitor*,
// gch_weak_processor* a WeakProcessor*; persistents, weak references, weak
// sets and pools are C++ objects made with new. Handle scopes and cleanup
// handles live in storage the caller provides (static_asserts below).
//
// Every entry point that calls into the C++ API is a function-try-block
// (GCHEAP_C_TRY, GCHEAP_C_CATCH): a C++ exception (std::bad_alloc
// from a registry's vector, std::system_error from a thread the heap
// starts) must not unwind through C frames, so it becomes a fatal error
// naming the C function, like every other error of the library. Errors the
// C++ API already reports (by aborting with a message, or by returning
// null from the Try forms) pass through unchanged; what only C can get
// wrong (a NULL handle) is checked here and named by the C function.
//
// C callbacks are passed to the C++ API as its own function types: a C
// trace callback, void (*)(void*, gch_visitor*), is called as a TraceFn,
// void (*)(void*, Visitor&); the two differ only in a pointer parameter
// against a reference, which the platform ABI passes the same way (the
// same holds for root and weak callbacks). A trampoline cannot do it: a
// Type holds one function and the collector passes it no context.
#include <stdlib.h>
#include <string.h>

#include <atomic>
#include <exception>
#include <functional>
#include <new>
#include <type_traits>

#include "base/check.h"
#include "gcheap/gcheap.h"
#include "gcheap/gcheap_c.h"
#include "runtime/heap_impl.h"

namespace gcheap::internal {
namespace {

#if defined(__cpp_exceptions) || defined(__EXCEPTIONS)
[[noreturn]] ABSL_ATTRIBUTE_NOINLINE void Uncaught(const char* fn) {
  try {
    throw;
  } catch (const std::exception& e) {
    GCHEAP_FATAL("%s: %s", fn, e.what());
  } catch (...) {
    GCHEAP_FATAL("%s: an exception", fn);
  }
}
// Each entry point is a function-try-block: GCHEAP_C_TRY after its parameters,
// GCHEAP_C_CATCH after its body.
#define GCHEAP_C_TRY try
#define GCHEAP_C_CATCH                      \
  catch (...) {                             \
    ::gcheap::internal::Uncaught(__func__); \
  }
#else
#define GCHEAP_C_TRY
#define GCHEAP_C_CATCH
#endif

Heap* HeapOf(gch_heap* h, const char* fn) {
  if (ABSL_PREDICT_FALSE(h == nullptr))
    GCHEAP_FATAL("%s: the heap is NULL", fn);
  return reinterpret_cast<Heap*>(h);
}
const Heap* HeapOf(const gch_heap* h, const char* fn) {
  return HeapOf(const_cast<gch_heap*>(h), fn);
}

Mutator* MutatorOf(gch_mutator* m, const char* fn) {
  if (ABSL_PREDICT_FALSE(m == nullptr)) {
    GCHEAP_FATAL(
        "%s: the mutator is NULL (each thread attaches with gch_attach, "
        "which returns its mutator; gch_current_mutator() is NULL on a "
        "thread that is not attached)",
        fn);
  }
  return reinterpret_cast<Mutator*>(m);
}

// A type from gch_type_* or GCH_STATIC_TYPE: its plan (what the inline
// allocation does) must be the one its layout implies, and its pointer
// map must lie inside it. A descriptor written by hand could send the
// fast path to the wrong size class; this catches it at the first slow
// path of gch_alloc / gch_try_alloc, the only calls that follow the plan
// (a fresh mcache sends each span class's first allocation there).
void CheckPlan(const gch_type* t, const char* fn) {
  const auto* ct = reinterpret_cast<const gch_internal_c_type*>(t);
  const gch_internal_plan want = gch_internal_plan_of(&ct->type);
  bool ok = ct->type.name != nullptr &&
            ct->type.kind <= GCH_INTERNAL_KIND_CONSERVATIVE &&
            ct->plan.path == want.path &&
            ct->plan.span_class == want.span_class;
  if (ok && ct->type.kind == GCH_INTERNAL_KIND_POINTER_MAP &&
      ct->type.size < 64 * 8) {
    const size_t words = (ct->type.size + 7) / 8;
    ok = (ct->type.pointer_mask >> words) == 0;
  }
  if (ABSL_PREDICT_FALSE(!ok)) {
    GCHEAP_FATAL(
        "%s: the type at %p (%s) was not made by gch_type_* or "
        "GCH_STATIC_TYPE: its allocation plan or pointer map does not match "
        "its size",
        fn, static_cast<const void*>(t),
        ct->type.name != nullptr ? ct->type.name : "no name");
  }
}

const Type& TypeOf(const gch_type* t, const char* fn) {
  if (ABSL_PREDICT_FALSE(t == nullptr))
    GCHEAP_FATAL("%s: the type is NULL", fn);
  return *reinterpret_cast<const Type*>(t);
}

template <class T>
T* Need(T* p, const char* fn, const char* what) {
  if (ABSL_PREDICT_FALSE(p == nullptr))
    GCHEAP_FATAL("%s: %s is NULL", fn, what);
  return p;
}

gch_mutator* ToC(Mutator* m) { return reinterpret_cast<gch_mutator*>(m); }

// --- Types: made once, never freed. Each lives in a record with a copy of
// its name; the records form a list reachable from a global, so leak
// checkers see them as live.
struct TypeRecord {
  Type type;  // first: a Type* is the record's address
  // The inline allocation path's plan, made once (the record is a
  // gch_internal_c_type: gcheap/gcheap_c.h reads it).
  gch_internal_plan plan;
  TypeRecord* next;
};
static_assert(offsetof(TypeRecord, plan) ==
              offsetof(gch_internal_c_type, plan));
std::atomic<TypeRecord*> all_types{nullptr};

const gch_type* NewType(const char* fn, const char* name, Type t) {
  const size_t len = strlen(name);
  void* mem = malloc(sizeof(TypeRecord) + len + 1);
  if (mem == nullptr) GCHEAP_FATAL("%s: out of memory for type %s", fn, name);
  char* copy = static_cast<char*>(mem) + sizeof(TypeRecord);
  memcpy(copy, name, len + 1);
  Type named = t.kind() == Type::Kind::kNoscan ? Type::Noscan(copy, t.size())
               : t.kind() == Type::Kind::kTraced
                   ? Type::Traced(copy, t.size(), t.trace())
               : t.kind() == Type::Kind::kConservative
                   ? Type::Conservative(copy, t.size())
                   : Type::Of(copy, t.size());
  if (t.kind() == Type::Kind::kPointerMap) {
    for (size_t i = 0; i < Type::kMaxMapWords; i++) {
      if (t.pointer_mask() & (uint64_t{1} << i)) named = named.Pointers(i * 8);
    }
  }
  if (t.destructor() != nullptr) named = named.WithDestructor(t.destructor());
  auto* r = new (mem)
      TypeRecord{named, gch_internal_plan_of(named.internal()), nullptr};
  TypeRecord* head = all_types.load(std::memory_order_relaxed);
  do {
    r->next = head;
  } while (!all_types.compare_exchange_weak(head, r, std::memory_order_release,
                                            std::memory_order_relaxed));
  static_assert(offsetof(TypeRecord, type) == 0);
  return reinterpret_cast<const gch_type*>(&r->type);
}

// A C function pointer as the C++ API's type for it (see the file comment).
template <class To, class From>
To CallbackAs(From f) {
  return reinterpret_cast<To>(reinterpret_cast<void (*)()>(f));
}

// --- Options.
Options ToOptions(const gch_options& c, const char* fn) {
  Options o;
  o.max_procs = c.max_procs;
  o.gc_percent = c.gc_percent;
  o.soft_memory_limit = c.soft_memory_limit;
  o.heap_minimum = c.heap_minimum;
  o.small_heap = c.small_heap;
  o.huge_pages_above = c.huge_pages_above;
  o.hard_memory_limit = c.hard_memory_limit;
  // Read as ints: a C program may hold any int in an enum, which C++ may
  // not load as its enum type.
  static_assert(sizeof(gch_stack_scanning) == sizeof(int) &&
                sizeof(gch_finalizer_mode) == sizeof(int));
  int stack_scanning, finalizer_mode;
  memcpy(&stack_scanning, &c.stack_scanning, sizeof(int));
  memcpy(&finalizer_mode, &c.finalizer_mode, sizeof(int));
  switch (stack_scanning) {
    case GCH_STACK_CONSERVATIVE:
      o.stack_scanning = StackScanning::kConservative;
      break;
    case GCH_STACK_PRECISE:
      o.stack_scanning = StackScanning::kPrecise;
      break;
    default:
      GCHEAP_FATAL(
          "%s: stack_scanning is %d, neither GCH_STACK_CONSERVATIVE nor "
          "GCH_STACK_PRECISE (call gch_options_init first)",
          fn, stack_scanning);
  }
  o.concurrent_mark = c.concurrent_mark;
  o.checkmark = c.checkmark;
  switch (finalizer_mode) {
    case GCH_FINALIZERS_BACKGROUND_THREAD:
      o.finalizer_mode = FinalizerMode::kBackgroundThread;
      break;
    case GCH_FINALIZERS_EMBEDDER_DRAINS:
      o.finalizer_mode = FinalizerMode::kEmbedderDrains;
      break;
    default:
      GCHEAP_FATAL(
          "%s: finalizer_mode is %d, neither GCH_FINALIZERS_BACKGROUND_THREAD "
          "nor GCH_FINALIZERS_EMBEDDER_DRAINS (call gch_options_init first)",
          fn, finalizer_mode);
  }
  o.mark_workers = c.mark_workers;
  o.idle_mark = c.idle_mark;
  o.span_marking = c.span_marking;
  o.gctrace = c.gctrace;
  o.gcpacertrace = c.gcpacertrace;
  o.alloc_path_counters = c.alloc_path_counters;
  o.mem_profile_rate = c.mem_profile_rate;
  o.record_types = c.record_types;
  o.event_trace_output = c.event_trace_output;
  o.trace_output = c.trace_output;
  o.background_scavenger = c.background_scavenger;
  o.on_out_of_memory = c.on_out_of_memory;
  o.out_of_memory_arg = c.out_of_memory_arg;
  o.gc_stress = c.gc_stress;
  o.mark_stress = c.mark_stress;
  o.mark_stress_hold = c.mark_stress_hold;
  o.barrier_check = c.barrier_check;
  o.safepoint_report_ms = c.safepoint_report_ms;
  o.preempt_signal = c.preempt_signal;
  o.preempt_after_us = c.preempt_after_us;
  o.scan_static_data = c.scan_static_data;
  o.values = ValueEncoding{c.values.tag_mask, c.values.tag,
                           c.values.payload_mask, c.values.decode};
  return o;
}

gch_value_encoding ToC(const ValueEncoding& v) {
  return gch_value_encoding{v.tag_mask, v.tag, v.payload_mask, v.decode};
}

void FromOptions(const Options& o, gch_options* c) {
  c->max_procs = o.max_procs;
  c->gc_percent = o.gc_percent;
  c->soft_memory_limit = o.soft_memory_limit;
  c->heap_minimum = o.heap_minimum;
  c->small_heap = o.small_heap;
  c->huge_pages_above = o.huge_pages_above;
  c->hard_memory_limit = o.hard_memory_limit;
  c->stack_scanning = o.stack_scanning == StackScanning::kPrecise
                          ? GCH_STACK_PRECISE
                          : GCH_STACK_CONSERVATIVE;
  c->concurrent_mark = o.concurrent_mark;
  c->checkmark = o.checkmark;
  c->finalizer_mode = o.finalizer_mode == FinalizerMode::kEmbedderDrains
                          ? GCH_FINALIZERS_EMBEDDER_DRAINS
                          : GCH_FINALIZERS_BACKGROUND_THREAD;
  c->mark_workers = o.mark_workers;
  c->idle_mark = o.idle_mark;
  c->span_marking = o.span_marking;
  c->gctrace = o.gctrace;
  c->gcpacertrace = o.gcpacertrace;
  c->alloc_path_counters = o.alloc_path_counters;
  c->mem_profile_rate = o.mem_profile_rate;
  c->record_types = o.record_types;
  c->event_trace_output = o.event_trace_output;
  c->trace_output = o.trace_output;
  c->background_scavenger = o.background_scavenger;
  c->on_out_of_memory = o.on_out_of_memory;
  c->out_of_memory_arg = o.out_of_memory_arg;
  c->gc_stress = o.gc_stress;
  c->mark_stress = o.mark_stress;
  c->mark_stress_hold = o.mark_stress_hold;
  c->barrier_check = o.barrier_check;
  c->safepoint_report_ms = o.safepoint_report_ms;
  c->preempt_signal = o.preempt_signal;
  c->preempt_after_us = o.preempt_after_us;
  c->scan_static_data = o.scan_static_data;
  c->values = ToC(o.values);
}

// --- Blocking: a BlockingScope per thread, begun and ended by two calls.
// (Zeroed, as all thread_local storage: no initializer to run.)
struct BlockingSlot {
  alignas(BlockingScope) unsigned char storage[sizeof(BlockingScope)];
  Mutator* m;  // the scope's mutator while one is open
};
thread_local BlockingSlot tls_blocking;

// --- Handle objects the C API allocates.
struct Opaque;  // what persistents and weak references point to
using CPersistent = Persistent<Opaque>;
using CWeak = WeakRef<Opaque>;
using CWeakSet = WeakSet<void>;
using CPool = Pool<void>;

static_assert(sizeof(HandleScope) <= sizeof(gch_handle_scope) &&
              alignof(HandleScope) <= alignof(gch_handle_scope));
static_assert(sizeof(CleanupHandle) <= sizeof(gch_cleanup) &&
              alignof(CleanupHandle) <= alignof(gch_cleanup) &&
              std::is_trivially_copyable_v<CleanupHandle>);

}  // namespace

// The C API's way to the Mutator's slow paths (the inline fast paths of
// gcheap/gcheap_c.h have already run).
struct MutatorAccess {
  static MutatorState* State(Mutator& m) { return m.state_; }
  static void* AllocateSlow(Mutator& m, const Type& t, bool or_null) {
    return m.AllocateSlow(t, 0, /*array=*/false, or_null);
  }
  static void* AllocateNoscanSlow(Mutator& m, size_t bytes, bool or_null) {
    return m.AllocateNoscanSlow(bytes, or_null);
  }
  static void* AllocateConservativeSlow(Mutator& m, size_t bytes,
                                        bool or_null) {
    return m.AllocateConservativeSlow(bytes, or_null);
  }
  static void ShadeSlow(Mutator& m, const void* p) { m.Shade(p); }
};

}  // namespace gcheap::internal

using gcheap::BlockingScope;
using gcheap::CleanupHandle;
using gcheap::HandleScope;
using gcheap::Heap;
using gcheap::MemStats;
using gcheap::Mutator;
using gcheap::Options;
using gcheap::Type;
using gcheap::ValueEncoding;
using gcheap::Visitor;
using gcheap::WeakProcessor;
using gcheap::internal::CallbackAs;
using gcheap::internal::CheckPlan;
using gcheap::internal::CPersistent;
using gcheap::internal::CPool;
using gcheap::internal::CWeak;
using gcheap::internal::CWeakSet;
using gcheap::internal::HeapOf;
using gcheap::internal::MutatorOf;
using gcheap::internal::Need;
using gcheap::internal::NewType;
using gcheap::internal::Opaque;
using gcheap::internal::tls_blocking;
using gcheap::internal::ToC;
using gcheap::internal::TypeOf;

extern "C" {

// ---- Options.

void gch_options_init(gch_options* options) GCHEAP_C_TRY {
  gcheap::internal::FromOptions(Options(), Need(options, __func__, "options"));
}
GCHEAP_C_CATCH

gch_value_encoding gch_values_pointers(void) {
  return ToC(ValueEncoding::Pointers());
}

gch_value_encoding gch_values_tagged(uint64_t mask, uint64_t tag) {
  return ToC(ValueEncoding::Tagged(mask, tag));
}

gch_value_encoding gch_values_nan_boxed(uint64_t mask, uint64_t tag,
                                        uint64_t payload_mask) {
  return ToC(ValueEncoding::NanBoxed(mask, tag, payload_mask));
}

gch_value_encoding gch_values_custom(gch_decode_fn decode) GCHEAP_C_TRY {
  return ToC(ValueEncoding::Custom(Need(decode, __func__, "decode")));
}
GCHEAP_C_CATCH

uintptr_t gch_values_decode(const gch_value_encoding* e,
                            uint64_t value) GCHEAP_C_TRY {
  Need(e, __func__, "the encoding");
  return ValueEncoding{e->tag_mask, e->tag, e->payload_mask, e->decode}.Decode(
      value);
}
GCHEAP_C_CATCH

// ---- Heaps and threads.

gch_heap* gch_heap_new(const gch_options* options) GCHEAP_C_TRY {
  Options o;
  if (options != nullptr) o = gcheap::internal::ToOptions(*options, __func__);
  return reinterpret_cast<gch_heap*>(new Heap(o));
}
GCHEAP_C_CATCH

void gch_heap_free(gch_heap* heap) GCHEAP_C_TRY {
  delete reinterpret_cast<Heap*>(heap);
}
GCHEAP_C_CATCH

void gch_heap_options(const gch_heap* heap, gch_options* out) GCHEAP_C_TRY {
  gcheap::internal::FromOptions(HeapOf(heap, __func__)->options(),
                                Need(out, __func__, "out"));
}
GCHEAP_C_CATCH

gch_mutator* gch_attach(gch_heap* heap) GCHEAP_C_TRY {
  return ToC(&HeapOf(heap, __func__)->AttachCurrentThread());
}
GCHEAP_C_CATCH

void gch_detach(gch_heap* heap) GCHEAP_C_TRY {
  HeapOf(heap, __func__)->DetachCurrentThread();
}
GCHEAP_C_CATCH

gch_mutator* gch_current_mutator(void) { return ToC(Heap::CurrentMutator()); }

gch_heap* gch_mutator_heap(const gch_mutator* m) GCHEAP_C_TRY {
  Mutator* mm = MutatorOf(const_cast<gch_mutator*>(m), __func__);
  return reinterpret_cast<gch_heap*>(&mm->heap());
}
GCHEAP_C_CATCH

// ---- Types.

const gch_type* gch_type_noscan(const char* name, size_t size) GCHEAP_C_TRY {
  Need(name, __func__, "the name");
  return NewType(__func__, name, Type::Noscan(name, size));
}
GCHEAP_C_CATCH

const gch_type* gch_type_pointers(const char* name, size_t size,
                                  const size_t* offsets,
                                  size_t count) GCHEAP_C_TRY {
  Need(name, __func__, "the name");
  if (count > 0) Need(offsets, __func__, "offsets");
  // Each offset is checked as C++ checks one known only at run time.
  Type t = Type::Of(name, size);
  for (size_t i = 0; i < count; i++) t = t.Pointers(offsets[i]);
  return NewType(__func__, name, t);
}
GCHEAP_C_CATCH

const gch_type* gch_type_traced(const char* name, size_t size,
                                gch_trace_fn trace) GCHEAP_C_TRY {
  Need(name, __func__, "the name");
  Need(trace, __func__, "the trace function");
  return NewType(__func__, name,
                 Type::Traced(name, size, CallbackAs<gcheap::TraceFn>(trace)));
}
GCHEAP_C_CATCH

const gch_type* gch_type_conservative(const char* name,
                                      size_t size) GCHEAP_C_TRY {
  Need(name, __func__, "the name");
  return NewType(__func__, name, Type::Conservative(name, size));
}
GCHEAP_C_CATCH

const gch_type* gch_type_with_destructor(
    const gch_type* type, gch_destructor_fn destructor) GCHEAP_C_TRY {
  const Type& t = TypeOf(type, __func__);
  Need(destructor, __func__, "the destructor");
  return NewType(__func__, t.name(), t.WithDestructor(destructor));
}
GCHEAP_C_CATCH

const char* gch_type_name(const gch_type* type) GCHEAP_C_TRY {
  return TypeOf(type, __func__).name();
}
GCHEAP_C_CATCH

size_t gch_type_size(const gch_type* type) GCHEAP_C_TRY {
  return TypeOf(type, __func__).size();
}
GCHEAP_C_CATCH

// ---- Visitors: called by the collector's callbacks, never NULL.

void gch_visit(gch_visitor* visitor, const void* p) {
  reinterpret_cast<Visitor*>(visitor)->Visit(p);
}

void gch_visit_value(gch_visitor* visitor, uint64_t value) {
  reinterpret_cast<Visitor*>(visitor)->VisitValue(value);
}

void gch_visit_range(gch_visitor* visitor, const void* begin, const void* end) {
  reinterpret_cast<Visitor*>(visitor)->VisitRange(begin, end);
}

// ---- Allocation.

// Where a heap profile's call stacks start: the caller of this C function.
#define PROGRAM_ENTRY(mu)                      \
  gcheap::internal::ProgramReturn program_ret( \
      gcheap::internal::MutatorAccess::State(mu), __builtin_return_address(0))

// The out-of-line halves of the header's inline functions: the NULL
// checks (naming the inline function), then the C++ slow paths.
void* gch_internal_alloc_slow(gch_mutator* m, const gch_type* type,
                              int flags) GCHEAP_C_TRY {
  const bool or_null = flags & GCH_INTERNAL_OR_NULL;
  const char* fn = or_null ? "gch_try_alloc" : "gch_alloc";
  const Type& t = TypeOf(type, fn);
  CheckPlan(type, fn);
  Mutator& mu = *MutatorOf(m, fn);
  PROGRAM_ENTRY(mu);
  return gcheap::internal::MutatorAccess::AllocateSlow(mu, t, or_null);
}
GCHEAP_C_CATCH

void* gch_alloc_array(gch_mutator* m, const gch_type* type,
                      size_t count) GCHEAP_C_TRY {
  Mutator& mu = *MutatorOf(m, __func__);
  PROGRAM_ENTRY(mu);
  return mu.AllocateArray(TypeOf(type, __func__), count);
}
GCHEAP_C_CATCH

void* gch_try_alloc_array(gch_mutator* m, const gch_type* type,
                          size_t count) GCHEAP_C_TRY {
  Mutator& mu = *MutatorOf(m, __func__);
  PROGRAM_ENTRY(mu);
  return mu.TryAllocateArray(TypeOf(type, __func__), count);
}
GCHEAP_C_CATCH

void* gch_internal_alloc_noscan_slow(gch_mutator* m, size_t bytes,
                                     int flags) GCHEAP_C_TRY {
  const bool or_null = flags & GCH_INTERNAL_OR_NULL;
  Mutator& mu =
      *MutatorOf(m, or_null ? "gch_try_alloc_noscan" : "gch_alloc_noscan");
  PROGRAM_ENTRY(mu);
  return gcheap::internal::MutatorAccess::AllocateNoscanSlow(mu, bytes,
                                                             or_null);
}
GCHEAP_C_CATCH

void* gch_internal_alloc_conservative_slow(gch_mutator* m, size_t bytes,
                                           int flags) GCHEAP_C_TRY {
  const bool or_null = flags & GCH_INTERNAL_OR_NULL;
  Mutator& mu = *MutatorOf(
      m, or_null ? "gch_try_alloc_conservative" : "gch_alloc_conservative");
  PROGRAM_ENTRY(mu);
  return gcheap::internal::MutatorAccess::AllocateConservativeSlow(mu, bytes,
                                                                   or_null);
}
GCHEAP_C_CATCH

void gch_internal_shade_slow(gch_mutator* m, const void* p) GCHEAP_C_TRY {
  gcheap::internal::MutatorAccess::ShadeSlow(*MutatorOf(m, "gch_shade"), p);
}
GCHEAP_C_CATCH

// ---- Safepoints and blocking calls.

void gch_internal_safepoint_slow(gch_mutator* m) GCHEAP_C_TRY {
  MutatorOf(m, "gch_safepoint")->Safepoint();
}
GCHEAP_C_CATCH

void gch_blocking_begin(gch_mutator* m) GCHEAP_C_TRY {
  Mutator* mm = MutatorOf(m, __func__);
  // The scope's own checks come first: a second begin aborts with
  // "BlockingScope inside a BlockingScope".
  new (tls_blocking.storage) BlockingScope(*mm);
  tls_blocking.m = mm;
}
GCHEAP_C_CATCH

void gch_blocking_end(gch_mutator* m) GCHEAP_C_TRY {
  Mutator* mm = MutatorOf(m, __func__);
  if (tls_blocking.m == nullptr) {
    GCHEAP_FATAL("%s without gch_blocking_begin on this thread", __func__);
  }
  if (tls_blocking.m != mm) {
    GCHEAP_FATAL(
        "%s: not the mutator this thread's gch_blocking_begin was given",
        __func__);
  }
  tls_blocking.m = nullptr;
  std::launder(reinterpret_cast<BlockingScope*>(tls_blocking.storage))
      ->~BlockingScope();
}
GCHEAP_C_CATCH

// The depth of NoSignalStop scopes (runtime/weak.h), counted on the
// mutator's own state: the signal handler refuses to stop the thread while
// it is not zero.
void gch_no_signal_stop_begin(gch_mutator* m) GCHEAP_C_TRY {
  Mutator* mm = MutatorOf(m, __func__);
  if (ABSL_PREDICT_FALSE(gcheap::internal::tls_current != mm)) {
    GCHEAP_FATAL("%s: this mutator belongs to another thread", __func__);
  }
  ++gcheap::internal::HeapImpl::StateOf(*mm)->nopreempt;
  std::atomic_signal_fence(std::memory_order_seq_cst);
}
GCHEAP_C_CATCH

void gch_no_signal_stop_end(gch_mutator* m) GCHEAP_C_TRY {
  Mutator* mm = MutatorOf(m, __func__);
  if (ABSL_PREDICT_FALSE(gcheap::internal::tls_current != mm)) {
    GCHEAP_FATAL("%s: this mutator belongs to another thread", __func__);
  }
  int& depth = gcheap::internal::HeapImpl::StateOf(*mm)->nopreempt;
  if (ABSL_PREDICT_FALSE(depth <= 0)) {
    GCHEAP_FATAL("%s without gch_no_signal_stop_begin", __func__);
  }
  std::atomic_signal_fence(std::memory_order_seq_cst);
  --depth;
}
GCHEAP_C_CATCH

// ---- Roots.

void gch_add_root(gch_heap* heap, void** slot) GCHEAP_C_TRY {
  HeapOf(heap, __func__)->AddRoot(slot);
}
GCHEAP_C_CATCH

void gch_remove_root(gch_heap* heap, void** slot) GCHEAP_C_TRY {
  HeapOf(heap, __func__)->RemoveRoot(slot);
}
GCHEAP_C_CATCH

void gch_add_root_range(gch_heap* heap, const void* begin,
                        const void* end) GCHEAP_C_TRY {
  HeapOf(heap, __func__)->AddRootRange(begin, end);
}
GCHEAP_C_CATCH

void gch_remove_root_range(gch_heap* heap, const void* begin,
                           const void* end) GCHEAP_C_TRY {
  HeapOf(heap, __func__)->RemoveRootRange(begin, end);
}
GCHEAP_C_CATCH

void gch_add_static_data_roots(gch_heap* heap) GCHEAP_C_TRY {
  HeapOf(heap, __func__)->AddStaticDataRoots();
}
GCHEAP_C_CATCH

void gch_add_root_callback(gch_heap* heap, gch_root_fn cb,
                           void* arg) GCHEAP_C_TRY {
  HeapOf(heap, __func__)
      ->AddRootCallback(CallbackAs<Heap::RootCallback>(cb), arg);
}
GCHEAP_C_CATCH

void gch_remove_root_callback(gch_heap* heap, gch_root_fn cb,
                              void* arg) GCHEAP_C_TRY {
  HeapOf(heap, __func__)
      ->RemoveRootCallback(CallbackAs<Heap::RootCallback>(cb), arg);
}
GCHEAP_C_CATCH

void gch_add_weak_callback(gch_heap* heap, gch_weak_fn cb,
                           void* arg) GCHEAP_C_TRY {
  HeapOf(heap, __func__)
      ->AddWeakCallback(CallbackAs<Heap::WeakCallback>(cb), arg);
}
GCHEAP_C_CATCH

void gch_remove_weak_callback(gch_heap* heap, gch_weak_fn cb,
                              void* arg) GCHEAP_C_TRY {
  HeapOf(heap, __func__)
      ->RemoveWeakCallback(CallbackAs<Heap::WeakCallback>(cb), arg);
}
GCHEAP_C_CATCH

bool gch_is_live(const gch_weak_processor* weak, const void* p) {
  return reinterpret_cast<const WeakProcessor*>(weak)->IsLive(p);
}

// ---- Persistent handles.

gch_persistent* gch_persistent_new(gch_heap* heap, void* value) GCHEAP_C_TRY {
  return reinterpret_cast<gch_persistent*>(
      new CPersistent(*HeapOf(heap, __func__), static_cast<Opaque*>(value)));
}
GCHEAP_C_CATCH

void* gch_persistent_get(const gch_persistent* p) GCHEAP_C_TRY {
  return Need(reinterpret_cast<const CPersistent*>(p), __func__,
              "the persistent handle")
      ->Get();
}
GCHEAP_C_CATCH

void gch_persistent_set(gch_persistent* p, void* value) GCHEAP_C_TRY {
  Need(reinterpret_cast<CPersistent*>(p), __func__, "the persistent handle")
      ->Set(static_cast<Opaque*>(value));
}
GCHEAP_C_CATCH

void gch_persistent_free(gch_persistent* p) GCHEAP_C_TRY {
  delete reinterpret_cast<CPersistent*>(p);
}
GCHEAP_C_CATCH

// ---- Handle scopes and locals.

void gch_handle_scope_open(gch_mutator* m,
                           gch_handle_scope* scope) GCHEAP_C_TRY {
  Mutator* mm = MutatorOf(m, __func__);
  new (Need(scope, __func__, "the scope")) HandleScope(*mm);
}
GCHEAP_C_CATCH

void gch_handle_scope_close(gch_handle_scope* scope) GCHEAP_C_TRY {
  std::launder(
      reinterpret_cast<HandleScope*>(Need(scope, __func__, "the scope")))
      ->~HandleScope();
}
GCHEAP_C_CATCH

void** gch_local_new(gch_mutator* m, void* value) GCHEAP_C_TRY {
  return gcheap::internal::NewLocalSlot(*MutatorOf(m, __func__), value);
}
GCHEAP_C_CATCH

// ---- Collection and statistics.

void gch_collect(gch_heap* heap) GCHEAP_C_TRY {
  HeapOf(heap, __func__)->Collect();
}
GCHEAP_C_CATCH

void gch_free_os_memory(gch_heap* heap) GCHEAP_C_TRY {
  HeapOf(heap, __func__)->FreeOSMemory();
}
GCHEAP_C_CATCH

int gch_set_gc_percent(gch_heap* heap, int percent) GCHEAP_C_TRY {
  return HeapOf(heap, __func__)->SetGCPercent(percent);
}
GCHEAP_C_CATCH

int64_t gch_set_memory_limit(gch_heap* heap, int64_t limit) GCHEAP_C_TRY {
  Heap* h = HeapOf(heap, __func__);
  if (limit < 0) {
    return static_cast<int64_t>(
        gcheap::internal::HeapAccess::Of(*h)->collector().pacer().soft_limit());
  }
  return static_cast<int64_t>(h->SetMemoryLimit(static_cast<size_t>(limit)));
}
GCHEAP_C_CATCH

int64_t gch_set_mem_profile_rate(gch_heap* heap, int64_t bytes) GCHEAP_C_TRY {
  Heap* h = HeapOf(heap, __func__);
  GCHEAP_CHECK(bytes >= 0,
               "gch_set_mem_profile_rate(%lld): the rate is negative",
               static_cast<long long>(bytes));
  return h->SetMemProfileRate(bytes);
}
GCHEAP_C_CATCH

int gch_write_heap_profile(gch_heap* heap, const char* path) GCHEAP_C_TRY {
  Heap* h = HeapOf(heap, __func__);
  Need(path, __func__, "path");
  return h->WriteHeapProfile(path) ? 0 : -1;
}
GCHEAP_C_CATCH

size_t gch_retention_path(gch_heap* heap, const void* object, char* buf,
                          size_t n, bool* found) GCHEAP_C_TRY {
  Heap* h = HeapOf(heap, __func__);
  if (n > 0) Need(buf, __func__, "buf");
  const gcheap::RetentionPath p = h->FindRetentionPath(object);
  if (found != nullptr) *found = p.found;
  const std::string text = p.ToString();
  if (n > 0) {
    const size_t k = text.size() < n - 1 ? text.size() : n - 1;
    memcpy(buf, text.data(), k);
    buf[k] = 0;
  }
  return text.size();
}
GCHEAP_C_CATCH

int gch_write_heap_dump(gch_heap* heap, const char* path) GCHEAP_C_TRY {
  Heap* h = HeapOf(heap, __func__);
  Need(path, __func__, "path");
  return h->WriteHeapDump(path) ? 0 : -1;
}
GCHEAP_C_CATCH

void gch_read_alloc_path_stats(gch_heap* heap,
                               gch_alloc_path_stats* out) GCHEAP_C_TRY {
  Need(out, __func__, "out");
  const gcheap::AllocPathStats s = HeapOf(heap, __func__)->ReadAllocPathStats();
  static_assert(sizeof(out->by_size) / sizeof(out->by_size[0]) ==
                sizeof(s.by_size) / sizeof(s.by_size[0]));
  out->enabled = s.enabled;
  for (size_t i = 0; i < sizeof(s.by_size) / sizeof(s.by_size[0]); i++) {
    const auto& c = s.by_size[i];
    out->by_size[i] = gch_alloc_path_class{
        c.size,    c.mallocs,        c.fast,  c.slow,
        c.refills, c.central_sweeps, c.grows, c.os_commits};
  }
}
GCHEAP_C_CATCH

void gch_read_memstats(gch_heap* heap, gch_memstats* out) GCHEAP_C_TRY {
  Need(out, __func__, "out");
  const MemStats s = HeapOf(heap, __func__)->ReadMemStats();
  out->alloc = s.alloc;
  out->total_alloc = s.total_alloc;
  out->sys = s.sys;
  out->lookups = s.lookups;
  out->mallocs = s.mallocs;
  out->frees = s.frees;
  out->heap_alloc = s.heap_alloc;
  out->heap_sys = s.heap_sys;
  out->heap_idle = s.heap_idle;
  out->heap_inuse = s.heap_inuse;
  out->heap_released = s.heap_released;
  out->heap_objects = s.heap_objects;
  out->stack_inuse = s.stack_inuse;
  out->stack_sys = s.stack_sys;
  out->mspan_inuse = s.mspan_inuse;
  out->mspan_sys = s.mspan_sys;
  out->mcache_inuse = s.mcache_inuse;
  out->mcache_sys = s.mcache_sys;
  out->buck_hash_sys = s.buck_hash_sys;
  out->gc_sys = s.gc_sys;
  out->other_sys = s.other_sys;
  out->next_gc = s.next_gc;
  out->last_gc = s.last_gc;
  out->pause_total_ns = s.pause_total_ns;
  static_assert(sizeof(out->pause_ns) == sizeof(s.pause_ns));
  static_assert(sizeof(out->pause_end) == sizeof(s.pause_end));
  memcpy(out->pause_ns, s.pause_ns, sizeof(s.pause_ns));
  memcpy(out->pause_end, s.pause_end, sizeof(s.pause_end));
  out->num_gc = s.num_gc;
  out->num_forced_gc = s.num_forced_gc;
  out->gc_cpu_fraction = s.gc_cpu_fraction;
  out->enable_gc = s.enable_gc;
  out->debug_gc = s.debug_gc;
  constexpr size_t kClasses = sizeof(s.by_size) / sizeof(s.by_size[0]);
  static_assert(sizeof(out->by_size) / sizeof(out->by_size[0]) == kClasses);
  for (size_t i = 0; i < kClasses; i++) {
    out->by_size[i].size = s.by_size[i].size;
    out->by_size[i].mallocs = s.by_size[i].mallocs;
    out->by_size[i].frees = s.by_size[i].frees;
  }
}
GCHEAP_C_CATCH

void* gch_object_start(const gch_heap* heap, const void* p) GCHEAP_C_TRY {
  return HeapOf(heap, __func__)->ObjectStart(p);
}
GCHEAP_C_CATCH

bool gch_contains(const gch_heap* heap, const void* p) GCHEAP_C_TRY {
  return HeapOf(heap, __func__)->Contains(p);
}
GCHEAP_C_CATCH

// ---- Finalizers and cleanups.

void gch_set_finalizer(gch_heap* heap, void* object, gch_finalizer_fn f,
                       void* arg) GCHEAP_C_TRY {
  HeapOf(heap, __func__)->SetFinalizer(object, f, arg);
}
GCHEAP_C_CATCH

gch_cleanup gch_add_cleanup(gch_heap* heap, void* object, gch_cleanup_fn f,
                            void* arg) GCHEAP_C_TRY {
  CleanupHandle c = HeapOf(heap, __func__)->AddCleanup(object, f, arg);
  gch_cleanup out;
  memset(&out, 0, sizeof(out));
  memcpy(&out, &c, sizeof(c));
  return out;
}
GCHEAP_C_CATCH

bool gch_cleanup_cancel(gch_cleanup* cleanup) GCHEAP_C_TRY {
  Need(cleanup, __func__, "the cleanup");
  CleanupHandle c;
  memcpy(static_cast<void*>(&c), cleanup, sizeof(c));
  const bool cancelled = c.Cancel();
  memcpy(cleanup, &c, sizeof(c));
  return cancelled;
}
GCHEAP_C_CATCH

size_t gch_run_finalizers(gch_heap* heap) GCHEAP_C_TRY {
  return HeapOf(heap, __func__)->RunFinalizers();
}
GCHEAP_C_CATCH

// ---- Weak references.

gch_weak* gch_weak_new(gch_heap* heap, void* object) GCHEAP_C_TRY {
  return reinterpret_cast<gch_weak*>(
      new CWeak(*HeapOf(heap, __func__), static_cast<Opaque*>(object)));
}
GCHEAP_C_CATCH

gch_weak* gch_weak_new_value(gch_heap* heap, uint64_t value) GCHEAP_C_TRY {
  Heap* h = HeapOf(heap, __func__);
  return reinterpret_cast<gch_weak*>(new CWeak(CWeak::OfValue(*h, value)));
}
GCHEAP_C_CATCH

void* gch_weak_get(const gch_weak* weak) GCHEAP_C_TRY {
  return Need(reinterpret_cast<const CWeak*>(weak), __func__,
              "the weak reference")
      ->Get();
}
GCHEAP_C_CATCH

gch_weak* gch_weak_copy(const gch_weak* weak) GCHEAP_C_TRY {
  const CWeak* w = Need(reinterpret_cast<const CWeak*>(weak), __func__,
                        "the weak reference");
  return reinterpret_cast<gch_weak*>(new CWeak(*w));
}
GCHEAP_C_CATCH

bool gch_weak_same(const gch_weak* a, const gch_weak* b) GCHEAP_C_TRY {
  return *Need(reinterpret_cast<const CWeak*>(a), __func__,
               "the first weak reference") ==
         *Need(reinterpret_cast<const CWeak*>(b), __func__,
               "the second weak reference");
}
GCHEAP_C_CATCH

void gch_weak_free(gch_weak* weak) GCHEAP_C_TRY {
  delete reinterpret_cast<CWeak*>(weak);
}
GCHEAP_C_CATCH

// ---- Weak sets.

gch_weak_set* gch_weak_set_new(gch_heap* heap) GCHEAP_C_TRY {
  return reinterpret_cast<gch_weak_set*>(new CWeakSet(*HeapOf(heap, __func__)));
}
GCHEAP_C_CATCH

void gch_weak_set_free(gch_weak_set* set) GCHEAP_C_TRY {
  delete reinterpret_cast<CWeakSet*>(set);
}
GCHEAP_C_CATCH

void* gch_weak_set_find(gch_weak_set* set, gch_mutator* m, uint64_t hash,
                        gch_weak_set_eq_fn eq, void* ctx) GCHEAP_C_TRY {
  CWeakSet* s = Need(reinterpret_cast<CWeakSet*>(set), __func__, "the set");
  Need(eq, __func__, "eq");
  return s->Find(*MutatorOf(m, __func__), hash,
                 [eq, ctx](const void* o) { return eq(o, ctx); });
}
GCHEAP_C_CATCH

void gch_weak_set_insert(gch_weak_set* set, void* object,
                         uint64_t hash) GCHEAP_C_TRY {
  Need(reinterpret_cast<CWeakSet*>(set), __func__, "the set")
      ->Insert(Need(object, __func__, "the object"), hash);
}
GCHEAP_C_CATCH

void* gch_weak_set_find_or_insert(gch_weak_set* set, gch_mutator* m,
                                  uint64_t hash, gch_weak_set_eq_fn eq,
                                  gch_weak_set_make_fn make,
                                  void* ctx) GCHEAP_C_TRY {
  CWeakSet* s = Need(reinterpret_cast<CWeakSet*>(set), __func__, "the set");
  Mutator* mm = MutatorOf(m, __func__);
  Need(eq, __func__, "eq");
  Need(make, __func__, "make");
  const char* fn = __func__;
  return s->FindOrInsert(
      *mm, hash, [eq, ctx](const void* o) { return eq(o, ctx); },
      [make, m, ctx, fn] { return Need(make(m, ctx), fn, "make's result"); });
}
GCHEAP_C_CATCH

size_t gch_weak_set_size(const gch_weak_set* set) GCHEAP_C_TRY {
  return Need(reinterpret_cast<const CWeakSet*>(set), __func__, "the set")
      ->size();
}
GCHEAP_C_CATCH

// ---- Ephemerons.

gch_weak_map* gch_weak_map_new(gch_heap* heap) GCHEAP_C_TRY {
  return reinterpret_cast<gch_weak_map*>(
      new gcheap::EphemeronTable(*HeapOf(heap, __func__)));
}
GCHEAP_C_CATCH

void gch_weak_map_free(gch_weak_map* map) GCHEAP_C_TRY {
  delete reinterpret_cast<gcheap::EphemeronTable*>(map);
}
GCHEAP_C_CATCH

void gch_weak_map_set(gch_weak_map* map, gch_mutator* m, const void* key,
                      uint64_t value) GCHEAP_C_TRY {
  Need(reinterpret_cast<gcheap::EphemeronTable*>(map), __func__, "the map")
      ->Set(*MutatorOf(m, __func__), key, value);
}
GCHEAP_C_CATCH

bool gch_weak_map_get(gch_weak_map* map, gch_mutator* m, const void* key,
                      uint64_t* value) GCHEAP_C_TRY {
  return Need(reinterpret_cast<gcheap::EphemeronTable*>(map), __func__,
              "the map")
      ->Get(*MutatorOf(m, __func__), key, Need(value, __func__, "value"));
}
GCHEAP_C_CATCH

bool gch_weak_map_delete(gch_weak_map* map, gch_mutator* m,
                         const void* key) GCHEAP_C_TRY {
  return Need(reinterpret_cast<gcheap::EphemeronTable*>(map), __func__,
              "the map")
      ->Delete(*MutatorOf(m, __func__), key);
}
GCHEAP_C_CATCH

size_t gch_weak_map_size(const gch_weak_map* map) GCHEAP_C_TRY {
  return Need(reinterpret_cast<const gcheap::EphemeronTable*>(map), __func__,
              "the map")
      ->size();
}
GCHEAP_C_CATCH

// ---- Pools.

gch_pool* gch_pool_new(gch_heap* heap, gch_pool_new_fn new_fn,
                       void* arg) GCHEAP_C_TRY {
  std::function<void*(Mutator&)> make;
  if (new_fn != nullptr) {
    make = [new_fn, arg](Mutator& mm) { return new_fn(ToC(&mm), arg); };
  }
  return reinterpret_cast<gch_pool*>(
      new CPool(*HeapOf(heap, __func__), std::move(make)));
}
GCHEAP_C_CATCH

gch_pool* gch_pool_new_plain(gch_heap* heap, gch_pool_new_plain_fn new_fn,
                             gch_pool_free_fn free_fn, void* arg) GCHEAP_C_TRY {
  std::function<void*()> make;
  if (new_fn != nullptr) make = [new_fn, arg] { return new_fn(arg); };
  std::function<void(void*)> drop = [free_fn, arg](void* p) {
    if (free_fn != nullptr) {
      free_fn(p, arg);
    } else {
      free(p);
    }
  };
  return reinterpret_cast<gch_pool*>(
      new CPool(*HeapOf(heap, __func__), gcheap::kPlainObjects, std::move(make),
                std::move(drop)));
}
GCHEAP_C_CATCH

void gch_pool_free(gch_pool* pool) GCHEAP_C_TRY {
  delete reinterpret_cast<CPool*>(pool);
}
GCHEAP_C_CATCH

void* gch_pool_get(gch_pool* pool, gch_mutator* m) GCHEAP_C_TRY {
  return Need(reinterpret_cast<CPool*>(pool), __func__, "the pool")
      ->Get(*MutatorOf(m, __func__));
}
GCHEAP_C_CATCH

void gch_pool_put(gch_pool* pool, gch_mutator* m, void* object) GCHEAP_C_TRY {
  Need(reinterpret_cast<CPool*>(pool), __func__, "the pool")
      ->Put(*MutatorOf(m, __func__), object);
}
GCHEAP_C_CATCH

// ---- Errors.

void gch_set_error_handler(gch_error_fn f, void* arg) {
  gcheap::internal::SetFatalErrorHook(f, arg);
}

}  // extern "C"
