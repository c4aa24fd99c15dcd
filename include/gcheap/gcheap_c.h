/* The C API: "gcheap/gcheap_c.h". C99 and C++, standard C headers only.
 *
 * The same heap as the C++ API (gcheap/gcheap.h), for interpreters written
 * in C. Every C++ concept has its C form; docs/c-api.md is the tutorial.
 *
 *   gch_heap          a heap (gcheap::Heap): gch_heap_new, gch_heap_free
 *   gch_mutator       a thread attached to a heap (gcheap::Mutator):
 *                     gch_attach returns it; it allocates
 *   const gch_type*   an object's layout (gcheap::Type): made once by the
 *                     gch_type_* functions, owned by the library, never
 *                     freed
 *   gch_visitor       what trace and root callbacks report pointers to
 *   gch_persistent    a strong root held by C code (Persistent<T>)
 *   gch_handle_scope  precise stack scanning: scopes of local handles
 *   gch_weak          a weak reference (WeakRef<T>)
 *   gch_weak_set      a weak set of objects: a VM's string table
 *                     (WeakSet<T>)
 *   gch_weak_map      ephemerons: values that live while their keys do
 *                     (WeakMap<K, V>, JavaScript's WeakMap)
 *   gch_pool          a per-P cache of free objects (Pool<T>, sync.Pool)
 *   gch_memstats      Go's runtime.MemStats (gcheap::MemStats)
 *
 *   gch_heap* heap = gch_heap_new(NULL);            default options
 *   gch_mutator* m = gch_attach(heap);
 *   static const size_t kPairPointers[] = {offsetof(Pair, car),
 *                                          offsetof(Pair, cdr)};
 *   const gch_type* pair = gch_type_pointers("Pair", sizeof(Pair),
 *                                            kPairPointers, 2);
 *   Pair* p = gch_alloc(m, pair);                  zeroed, never NULL
 *   gch_write_barrier((void**)&p->car, gch_alloc(m, pair));
 *   gch_collect(heap);
 *   gch_detach(heap);
 *   gch_heap_free(heap);
 *
 * Rules, as in C++: every store of a heap pointer into a heap object goes
 * through gch_write_barrier (or gch_copy_pointers); a gch_mutator is used
 * only by the thread that attached it; callbacks the collector calls
 * (trace, root, weak, destructor) must not allocate or call into the heap
 * except through their gch_visitor or gch_weak_processor.
 *
 * Errors: misuse aborts with the same message the C++ API gives
 * ("gcheap: fatal error: FILE:LINE: ..." on stderr), so some messages name
 * the C++ call (a table in docs/c-api.md maps them); a NULL handle where
 * one is required aborts naming the C function (the barrier and the
 * visitor functions, hot paths, check nothing). Nothing throws; the Try
 * forms return NULL instead of aborting. gch_set_error_handler adds a
 * function of the program's own to the abort.
 *
 * Allocation (but arrays), the barrier, gch_shade and gch_safepoint are
 * inline functions of this header (GCH_INLINE): the same fast paths as the
 * C++ API's (gcheap/internal/fast_path.h), as fast; their slow paths are
 * the library's. */
#ifndef GCHEAP_GCHEAP_C_H_
#define GCHEAP_GCHEAP_C_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gcheap/internal/config.h"
#include "gcheap/internal/fast_path.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the shared library exports: every function declared here. */
#pragma GCC visibility push(default)

/* Functions defined in this header. */
#define GCH_INLINE GCH_INTERNAL_INLINE

/* ---- Handles and callbacks ----------------------------------------------- */

typedef struct gch_heap gch_heap;
typedef struct gch_mutator gch_mutator;
typedef struct gch_type gch_type;
typedef struct gch_visitor gch_visitor;
typedef struct gch_weak_processor gch_weak_processor;
typedef struct gch_persistent gch_persistent;
typedef struct gch_weak gch_weak;
typedef struct gch_weak_set gch_weak_set;
typedef struct gch_weak_map gch_weak_map;
typedef struct gch_pool gch_pool;

/* A trace callback: reports each heap pointer `object` holds with
 * gch_visit (gch_visit_value, gch_visit_range). It runs on marker threads,
 * possibly while the program runs: it may only read the object (each field
 * once; __atomic_load_n(&f, __ATOMIC_RELAXED) where another thread may
 * store to it) and call the visitor. */
typedef void (*gch_trace_fn)(void* object, gch_visitor* visitor);
/* Runs when the collector frees an object of a type that has it (at
 * sweep, on any thread): releases what the object owns outside the heap.
 * It must not allocate, call into the heap or read other heap objects. */
typedef void (*gch_destructor_fn)(void* object);
/* A root callback: reports, once per cycle with the world stopped, roots
 * the collector cannot see (a VM's value stack). It must not allocate or
 * add or remove roots. */
typedef void (*gch_root_fn)(gch_visitor* visitor, void* arg);
/* A weak callback: once per cycle, after marking and before anything is
 * freed, with the world stopped; gch_is_live(weak, p) tells which objects
 * survive. It drops the dead ones from the program's own tables with plain
 * stores, and does nothing else with the heap. */
typedef void (*gch_weak_fn)(gch_weak_processor* weak, void* arg);
/* A finalizer: fn(object, arg) once object is found unreachable. */
typedef void (*gch_finalizer_fn)(void* object, void* arg);
/* A cleanup: fn(arg) after the object it was added to is freed. */
typedef void (*gch_cleanup_fn)(void* arg);
/* Called when an allocation fails even after a collection: `requested`
 * bytes were asked for. The allocation is retried once after it returns. */
typedef void (*gch_out_of_memory_fn)(size_t requested, void* arg);
/* A custom value decoder: the heap pointer `value` holds, or 0. */
typedef uintptr_t (*gch_decode_fn)(uint64_t value);
/* Called with a fatal error's message before the process aborts. */
typedef void (*gch_error_fn)(const char* message, void* arg);

/* ---- Options ----------------------------------------------------------------
 * gcheap::Options, field for field; docs/embedding.md describes each. */

/* How the collector finds the pointers in a thread's own frames. */
typedef enum gch_stack_scanning {
  /* Every word of the stack and saved registers that points into the heap
   * keeps its object alive: a pointer in a C local is always safe. */
  GCH_STACK_CONSERVATIVE = 0,
  /* Only local handles (gch_local_new) in open handle scopes are roots. */
  GCH_STACK_PRECISE = 1
} gch_stack_scanning;

/* Where finalizers, cleanups and plain-pool deleters run. */
typedef enum gch_finalizer_mode {
  /* A heap-owned thread, attached to the heap, as soon as they are queued. */
  GCH_FINALIZERS_BACKGROUND_THREAD = 0,
  /* Only inside gch_run_finalizers, on the program's own thread. */
  GCH_FINALIZERS_EMBEDDER_DRAINS = 1
} gch_finalizer_mode;

/* How the program's values encode heap pointers (gcheap::ValueEncoding):
 * the collector decodes every word it reads without a pointer map (stacks,
 * registers, conservative objects, root ranges) and every value the write
 * barrier stores or overwrites. Make one with the gch_values_* functions. */
typedef struct gch_value_encoding {
  uint64_t tag_mask;     /* (w & tag_mask) == tag: w holds a pointer, */
  uint64_t tag;          /* and the pointer is w & payload_mask */
  uint64_t payload_mask; /* (all ones and tag_mask 0: plain pointers) */
  gch_decode_fn decode;  /* when set, used instead of the three masks */
} gch_value_encoding;

typedef struct gch_options {
  /* Ps: how many threads may run heap code at once. 0: the CPUs. */
  int max_procs;
  /* GOGC: the heap may grow by this percentage of the live heap before
   * the next cycle. Negative: no automatic collection. Default 100. */
  int gc_percent;
  /* Soft limit in bytes: the collector runs more often to stay under it.
   * 0: none. gch_set_memory_limit changes it later. */
  size_t soft_memory_limit;
  /* The smallest heap goal at gc_percent 100; 0: 4 MB (Go's). */
  size_t heap_minimum;
  /* Hard limit in bytes of heap memory from the OS: allocations that would
   * pass it fail (abort, or NULL from the gch_try_* forms). 0: none. */
  size_t hard_memory_limit;
  gch_stack_scanning stack_scanning; /* default GCH_STACK_CONSERVATIVE */
  /* Mark while the program runs (default true). false: every mark stops
   * the world. */
  bool concurrent_mark;
  /* After each concurrent mark, mark again with the world stopped and
   * abort on an object the first mark missed (a missing barrier). */
  bool checkmark;
  gch_finalizer_mode finalizer_mode; /* default background thread */
  /* Extra marking threads. -1 (default): one per P beyond the first. */
  int mark_workers;
  /* Idle-time marking on CPUs no running P uses (default true). */
  bool idle_mark;
  /* One line per cycle in Go's gctrace format (also GCHEAP_DEBUG=gctrace=1
   * in the environment), to trace_output (NULL: stderr). */
  bool gctrace;
  /* One line per cycle with the pacer's inputs and decisions (also
   * GCHEAP_DEBUG=gcpacertrace=1). */
  bool gcpacertrace;
  /* Count what each allocation path did (gch_read_alloc_path_stats; also
   * GCHEAP_DEBUG=allocpaths=1); no cost on the inline fast path. */
  bool alloc_path_counters;
  /* Heap profiles: sample one allocation per this many bytes on average,
   * with its call stack (gch_write_heap_profile); 0: off (also
   * GCHEAP_DEBUG=memprofilerate=N). */
  int64_t mem_profile_rate;
  /* Keep every object's type, so heap dumps and retention paths name each
   * object (costs memory and speed: for debugging; also
   * GCHEAP_DEBUG=gctypes=1). */
  bool record_types;
  /* The collector's work as Chrome trace-event JSON (Perfetto), written
   * into this file; NULL: off (also GCHEAP_DEBUG=gcevents=PATH). */
  FILE* event_trace_output;
  FILE* trace_output;
  /* Return free memory to the OS from a background thread (default true). */
  bool background_scavenger;
  /* Called when an allocation fails even after a collection; NULL: none. */
  gch_out_of_memory_fn on_out_of_memory;
  void* out_of_memory_arg;
  /* GC stress: N > 0 collects every N allocations and fills freed objects
   * with 0xA5 (debugging; very slow). */
  int gc_stress;
  /* Mark stress: N > 0 starts a concurrent mark every N allocations and
   * holds it open across mark_stress_hold more (debugging). */
  int mark_stress;
  int mark_stress_hold; /* default 1000 */
  /* Abort at the end of a mark naming any heap pointer stored without the
   * write barrier while it ran (debugging; slow). */
  bool barrier_check;
  /* Name the threads a stop-the-world has waited for this long. 0: never.
   * Default 2000. */
  int safepoint_report_ms;
  /* A thread that has not reached a safepoint preempt_after_us after a
   * stop began is stopped by this signal (default SIGURG, and 0 us: at
   * once). preempt_signal 0: no signals. */
  int preempt_signal;
  int preempt_after_us;
  /* Make the static data (.data, .bss) of the program and its libraries
   * roots, scanned conservatively, as Boehm GC does. Default false. */
  bool scan_static_data;
  /* The program's value encoding; default gch_values_pointers(). */
  gch_value_encoding values;
  /* Small heaps: a cycle the heap triggers while its goal is at most this
   * many bytes stops the world and is marked by the allocating thread
   * (no hand-offs to the collector's threads). 0: always concurrent.
   * Default 512 KiB. */
  size_t small_heap;
  /* Memory the heap commits once it holds this many bytes asks for
   * transparent huge pages. 0: never (the default). */
  size_t huge_pages_above;
  /* Span-based marking: grey small objects queue their spans, scanned
   * together in address order (default true). false: object by object. */
  bool span_marking;
} gch_options;

/* Fills *options with the defaults (those of gcheap::Options). */
void gch_options_init(gch_options* options);

/* Plain pointers: nothing to decode (the default). */
gch_value_encoding gch_values_pointers(void);
/* Low-bit tags: a word w with (w & mask) == tag holds a pointer in its
 * other bits (w & ~mask). */
gch_value_encoding gch_values_tagged(uint64_t mask, uint64_t tag);
/* NaN boxing: a word w with (w & mask) == tag holds the pointer
 * w & payload_mask (clox: mask = tag = 0xfffc000000000000,
 * payload_mask = ~mask). */
gch_value_encoding gch_values_nan_boxed(uint64_t mask, uint64_t tag,
                                        uint64_t payload_mask);
/* Any encoding: decode(w) returns the pointer w holds, or 0. */
gch_value_encoding gch_values_custom(gch_decode_fn decode);
/* The heap pointer `value` holds under `encoding`, or 0. */
uintptr_t gch_values_decode(const gch_value_encoding* encoding, uint64_t value);

/* ---- Heaps and threads --------------------------------------------------- */

/* A new heap; options NULL: the defaults. Never NULL. */
gch_heap* gch_heap_new(const gch_options* options);
/* Destroys the heap and every object in it (NULL is ignored). Every thread
 * must have detached, and every persistent handle, pool and weak set of the
 * heap must have been freed (a clear error names what is left). */
void gch_heap_free(gch_heap* heap);
/* The options the heap runs with (GCHEAP_DEBUG applied, max_procs
 * resolved), into *out. */
void gch_heap_options(const gch_heap* heap, gch_options* out);

/* Attaches the calling thread to the heap and returns its mutator, binding
 * it to a P (waiting for one while all max_procs are taken). A thread is
 * attached to one heap at a time. */
gch_mutator* gch_attach(gch_heap* heap);
/* Detaches the calling thread; its mutator is gone and its stack is no
 * longer a root. */
void gch_detach(gch_heap* heap);
/* The calling thread's mutator (on any heap), or NULL if it is not
 * attached. */
gch_mutator* gch_current_mutator(void);
/* The heap a mutator is attached to. */
gch_heap* gch_mutator_heap(const gch_mutator* m);

/* ---- Types ------------------------------------------------------------------
 * Each returns a type that lives until the process ends (the heap keeps a
 * pointer to it in objects' headers); make each once, at startup, and keep
 * it. `name` (copied) appears in error messages and debugging output. */

/* Objects of `size` bytes with no heap pointers: never scanned. */
const gch_type* gch_type_noscan(const char* name, size_t size);
/* Objects of `size` bytes whose heap pointers sit at fixed byte offsets:
 * offsets[0..count). Each must be a multiple of 8, inside the object and
 * within its first 64 words, or the call aborts ("bad pointer offset").
 * The words at the offsets hold plain pointers, never encoded values. */
const gch_type* gch_type_pointers(const char* name, size_t size,
                                  const size_t* offsets, size_t count);
/* Objects of `size` bytes whose pointers `trace` reports (tagged values,
 * variable layouts). Every traced object carries a one-word header. */
const gch_type* gch_type_traced(const char* name, size_t size,
                                gch_trace_fn trace);
/* Objects of `size` bytes in which every word may be a heap pointer (or an
 * encoded value). */
const gch_type* gch_type_conservative(const char* name, size_t size);
/* `type` with a destructor run when an object of it is freed. */
const gch_type* gch_type_with_destructor(const gch_type* type,
                                         gch_destructor_fn destructor);
/* A pointer-map type known at compile time, for the common case of a
 * struct whose heap pointers sit at fixed offsets. Its descriptor is a
 * constant the compiler sees, so gch_alloc on it compiles to the C++
 * API's code for a constexpr Type (no load of the type's plan or pointer
 * map at run time). Defined once, at file scope, `static const`:
 *
 *   typedef struct Pair { struct Pair* car; struct Pair* cdr; long n; } Pair;
 *   static const gch_static_type pair_type =
 *       GCH_STATIC_TYPE(Pair, GCH_POINTER(Pair, car) | GCH_POINTER(Pair, cdr));
 *   Pair* p = (Pair*)gch_alloc(m, GCH_TYPE(&pair_type));
 *
 * GCH_TYPE(&t) is a const gch_type*: every call that takes a type takes
 * it. GCH_POINTER(S, field) fails to compile unless the field is 8-byte
 * aligned and within the first 64 words. Types with a destructor, a trace
 * function or a conservative layout are made at run time (above); a
 * descriptor written by hand instead of by GCH_STATIC_TYPE aborts when
 * gch_alloc takes its slow path, as the first allocation of a size class
 * on a thread does ("not made by GCH_STATIC_TYPE"). */
typedef gch_internal_c_type gch_static_type;
#define GCH_STATIC_TYPE(S, pointer_mask)                                       \
  {                                                                            \
    {#S,   sizeof(S), GCH_INTERNAL_KIND_POINTER_MAP, (uint64_t)(pointer_mask), \
     NULL, NULL},                                                              \
        GCH_INTERNAL_POINTER_MAP_PLAN(sizeof(S))                               \
  }
#define GCH_POINTER(S, field)                                                  \
  ((uint64_t)1                                                                 \
   << (offsetof(S, field) / 8 +                                                \
       0 * sizeof(                                                             \
               char[offsetof(S, field) % 8 == 0 && offsetof(S, field) < 64 * 8 \
                        ? 1                                                    \
                        : -1])))
#define GCH_TYPE(static_type) ((const gch_type*)(const void*)(static_type))

/* The type's name. */
const char* gch_type_name(const gch_type* type);
/* The type's size in bytes (of one element, for arrays). */
size_t gch_type_size(const gch_type* type);

/* ---- Visitors: inside trace and root callbacks --------------------------- */

/* Reports a heap pointer. NULL and addresses outside the heap are ignored;
 * an interior pointer keeps its whole object alive. */
void gch_visit(gch_visitor* visitor, const void* p);
/* Reports a value in the heap's encoding (gch_options.values). */
void gch_visit_value(gch_visitor* visitor, uint64_t value);
/* Reports every word in [begin, end) that points into the heap (or decodes
 * to a heap pointer): a conservative scan. */
void gch_visit_range(gch_visitor* visitor, const void* begin, const void* end);

/* ---- Allocation -------------------------------------------------------------
 * Every result is zeroed. Any allocation may run a collection first. The
 * plain forms never return NULL: when memory is exhausted even after a
 * collection (and the out-of-memory callback), the program aborts with a
 * message naming the request; the gch_try_* forms return NULL instead. */

/* An object of `type` (gch_type_size(type) bytes). Inline: the fast path
 * takes a slot from the P's cache, as the C++ API does. */
GCH_INLINE void* gch_alloc(gch_mutator* m, const gch_type* type);
/* The same, or NULL when memory is exhausted. */
GCH_INLINE void* gch_try_alloc(gch_mutator* m, const gch_type* type);
/* `count` elements of `type` back to back, each described by the type. A
 * count whose size overflows fails like exhausted memory. */
void* gch_alloc_array(gch_mutator* m, const gch_type* type, size_t count);
/* The same, or NULL when memory is exhausted or the size overflows. */
void* gch_try_alloc_array(gch_mutator* m, const gch_type* type, size_t count);
/* `bytes` bytes that never hold heap pointers (strings, numbers). Requests
 * under 16 bytes share 16-byte blocks and are aligned only to the largest
 * power of two dividing their size (up to 8). */
GCH_INLINE void* gch_alloc_noscan(gch_mutator* m, size_t bytes);
/* The same, or NULL when memory is exhausted. */
GCH_INLINE void* gch_try_alloc_noscan(gch_mutator* m, size_t bytes);
/* `bytes` bytes without a layout: every word may be a heap pointer or an
 * encoded value (Boehm's GC_MALLOC). */
GCH_INLINE void* gch_alloc_conservative(gch_mutator* m, size_t bytes);
/* The same, or NULL when memory is exhausted. */
GCH_INLINE void* gch_try_alloc_conservative(gch_mutator* m, size_t bytes);

/* ---- The write barrier --------------------------------------------------- */

/* Stores `value` (a heap pointer, NULL, or an encoded value) into *slot, a
 * word of a heap object. Every store of a heap pointer or encoded value
 * into a heap object goes through it. One load and a branch while the
 * collector is idle. */
GCH_INLINE void gch_write_barrier(void** slot, void* value);
/* Copies n words from src to dst, which lies in a heap object (memmove
 * semantics): the bulk form of the barrier. */
GCH_INLINE void gch_copy_pointers(void** dst, void* const* src, size_t n);
/* The read side of the barrier, for an object found through something that
 * does not keep it alive (the program's own weak table): call it on each
 * object such a table returns, before using it. */
GCH_INLINE void gch_shade(gch_mutator* m, const void* p);

/* ---- Safepoints and blocking calls --------------------------------------- */

/* Stops here if a collection asks: call it in long loops that do not
 * allocate. One load and a branch. */
GCH_INLINE void gch_safepoint(gch_mutator* m);
/* Releases the thread's P until gch_blocking_end: wrap blocking calls (I/O,
 * locks, sleeps) so that no collection waits for them. In between the
 * thread must not touch the heap: no allocation, no reads or writes of heap
 * objects. Not nested. */
void gch_blocking_begin(gch_mutator* m);
/* Takes a P back (waiting for a collection in progress to finish). */
void gch_blocking_end(gch_mutator* m);
/* Between these two the calling thread is not stopped by the preempt
 * signal: a stop that finds it there waits until gch_no_signal_stop_end
 * (or a safepoint). For the few instructions that must not be cut in two
 * by a weak callback: a lookup or an update of the program's own weak
 * table (docs/c-api.md, "Interning"). Keep them short, without allocation
 * or safepoints; they nest. */
void gch_no_signal_stop_begin(gch_mutator* m);
/* Ends the innermost such stretch. */
void gch_no_signal_stop_end(gch_mutator* m);

/* ---- Roots ------------------------------------------------------------------
 * Registering the same slot, range or (callback, arg) twice, or removing
 * one never added, aborts. */

/* A global (or other fixed word) holding one heap pointer. */
void gch_add_root(gch_heap* heap, void** slot);
/* Unregisters a slot. */
void gch_remove_root(gch_heap* heap, void** slot);
/* Memory scanned conservatively, word by word, each cycle. */
void gch_add_root_range(gch_heap* heap, const void* begin, const void* end);
/* Unregisters a range (the same begin and end). */
void gch_remove_root_range(gch_heap* heap, const void* begin, const void* end);
/* Makes the writable static data of the program and of every library
 * loaded now roots (again after dlopen or dlclose: it replaces the set). */
void gch_add_static_data_roots(gch_heap* heap);
/* A function called each cycle to report roots (a VM's value stack). */
void gch_add_root_callback(gch_heap* heap, gch_root_fn fn, void* arg);
/* Unregisters a root callback (the same fn and arg). */
void gch_remove_root_callback(gch_heap* heap, gch_root_fn fn, void* arg);
/* A function called each cycle once marking is complete, to drop dead
 * entries from the program's own weak tables (clox's tableRemoveWhite). */
void gch_add_weak_callback(gch_heap* heap, gch_weak_fn fn, void* arg);
/* Unregisters a weak callback (the same fn and arg). */
void gch_remove_weak_callback(gch_heap* heap, gch_weak_fn fn, void* arg);
/* Inside a weak callback: whether the object containing p survives this
 * cycle (true for NULL and for addresses that are not objects of the heap). */
bool gch_is_live(const gch_weak_processor* weak, const void* p);

/* ---- Persistent handles -----------------------------------------------------
 * A strong root owned by C code (a native object's reference into the
 * heap). Made, read, written and freed by attached threads; each must be
 * freed before its heap. */

/* A new handle holding value (NULL allowed). A non-NULL value needs the
 * calling thread attached to the heap. */
gch_persistent* gch_persistent_new(gch_heap* heap, void* value);
/* The handle's pointer. */
void* gch_persistent_get(const gch_persistent* p);
/* Replaces the handle's pointer. */
void gch_persistent_set(gch_persistent* p, void* value);
/* Drops the root and frees the handle (NULL is ignored). */
void gch_persistent_free(gch_persistent* p);

/* ---- Precise stacks: handle scopes and locals -------------------------------
 * With GCH_STACK_PRECISE a pointer held only in a C variable dies at the
 * next allocation or safepoint. Keep such pointers in local handles: slots
 * that are roots until the innermost scope open when they were made
 * closes. (Conservative heaps scan them too.) */

/* Storage for one scope, on the C stack; opened and closed in LIFO order. */
typedef struct gch_handle_scope {
  void* opaque_[4];
} gch_handle_scope;

/* Opens a scope on the calling thread's mutator. */
void gch_handle_scope_open(gch_mutator* m, gch_handle_scope* scope);
/* Closes it: the locals made since it opened are no longer roots. */
void gch_handle_scope_close(gch_handle_scope* scope);
/* A new local handle holding value; read and write it through the returned
 * slot (plain stores: it is a root, not a heap object). Needs an open
 * scope. */
void** gch_local_new(gch_mutator* m, void* value);

/* ---- Collection and statistics ------------------------------------------- */

/* Runs a full collection and returns when it is done, sweeping finished
 * (Go's runtime.GC). Any thread, attached or not; not between
 * gch_blocking_begin and gch_blocking_end. */
void gch_collect(gch_heap* heap);
/* Collects, then returns every free page to the OS (debug.FreeOSMemory). */
void gch_free_os_memory(gch_heap* heap);
/* Sets gc_percent (GOGC) and returns the previous value; negative turns
 * automatic collection off (debug.SetGCPercent). */
int gch_set_gc_percent(gch_heap* heap, int percent);
/* Sets the soft memory limit in bytes (0: none) and returns the previous
 * one; a negative limit changes nothing and returns the current one
 * (debug.SetMemoryLimit). */
int64_t gch_set_memory_limit(gch_heap* heap, int64_t limit);

/* One size class of gch_memstats.by_size. */
typedef struct gch_memstats_size_class {
  uint32_t size;
  uint64_t mallocs;
  uint64_t frees;
} gch_memstats_size_class;

/* Go's runtime.MemStats; docs/stats.md describes every field. */
typedef struct gch_memstats {
  uint64_t alloc;       /* bytes of allocated heap objects */
  uint64_t total_alloc; /* cumulative bytes allocated */
  uint64_t sys;         /* total bytes obtained from the OS */
  uint64_t lookups;     /* always 0 */
  uint64_t mallocs;     /* cumulative objects allocated */
  uint64_t frees;       /* cumulative objects freed */
  uint64_t heap_alloc;
  uint64_t heap_sys;
  uint64_t heap_idle;
  uint64_t heap_inuse;
  uint64_t heap_released;
  uint64_t heap_objects;
  uint64_t stack_inuse; /* always 0 */
  uint64_t stack_sys;   /* always 0 */
  uint64_t mspan_inuse;
  uint64_t mspan_sys;
  uint64_t mcache_inuse;
  uint64_t mcache_sys;
  uint64_t buck_hash_sys; /* always 0 */
  uint64_t gc_sys;
  uint64_t other_sys;
  uint64_t next_gc; /* heap goal of the next cycle; 0: collection off */
  uint64_t last_gc; /* end of the last cycle, Unix ns */
  uint64_t pause_total_ns;
  uint64_t pause_ns[256]; /* recent pauses; latest [(num_gc+255)%256] */
  uint64_t pause_end[256];
  uint32_t num_gc;
  uint32_t num_forced_gc;
  double gc_cpu_fraction;
  bool enable_gc; /* always true */
  bool debug_gc;  /* always false */
  gch_memstats_size_class by_size[61];
} gch_memstats;

/* A consistent snapshot of the heap's statistics into *out (stops the
 * world briefly, as Go's ReadMemStats does). */
void gch_read_memstats(gch_heap* heap, gch_memstats* out);

/* What each allocation path did, per size class (gcheap::AllocPathStats:
 * gcheap/memstats.h explains each count); all zero, enabled false, unless
 * gch_options.alloc_path_counters is set. */
typedef struct gch_alloc_path_class {
  uint32_t size;
  uint64_t mallocs, fast, slow, refills, central_sweeps, grows, os_commits;
} gch_alloc_path_class;
typedef struct gch_alloc_path_stats {
  bool enabled;
  gch_alloc_path_class by_size[68]; /* class 0 unused */
} gch_alloc_path_stats;
void gch_read_alloc_path_stats(gch_heap* heap, gch_alloc_path_stats* out);
/* Heap profiles (docs/debugging.md): sets the sampling rate in bytes (0:
 * off) and returns the previous one; writes the sampled allocations as a
 * pprof heap profile (gzipped profile.proto, for `go tool pprof`): 0 on
 * success, -1 (the reason on stderr) if the file cannot be written. */
int64_t gch_set_mem_profile_rate(gch_heap* heap, int64_t bytes);
int gch_write_heap_profile(gch_heap* heap, const char* path);
/* Why an object is alive (gcheap::Heap::FindRetentionPath,
 * docs/debugging.md): writes a shortest chain of references from a root
 * to `object` as text into buf (at most n bytes, NUL-terminated, cut
 * short if it does not fit) and returns the text's full length, as
 * snprintf does; 1 if a root reaches the object is told by *found (may be
 * NULL). `object` must start an object of this heap. */
size_t gch_retention_path(gch_heap* heap, const void* object, char* buf,
                          size_t n, bool* found);
/* Every reachable object, reference and root, as text (the heap dump
 * format of docs/debugging.md; tools/heap_dominators.py reads it): 0 on
 * success, -1 (the reason on stderr) if the file cannot be written. */
int gch_write_heap_dump(gch_heap* heap, const char* path);
/* The start of the object containing p, as the allocation returned it, or
 * NULL if p does not point into an allocated object of this heap. */
void* gch_object_start(const gch_heap* heap, const void* p);
/* Whether p points into an allocated object of this heap. */
bool gch_contains(const gch_heap* heap, const void* p);

/* ---- Finalizers and cleanups ------------------------------------------------
 * `object` must be the start of an object of the heap, and the calling
 * thread attached to it (a clear error otherwise). docs/finalizers.md has
 * the rules (Go's runtime.SetFinalizer and runtime.AddCleanup). */

/* Sets the object's finalizer: fn(object, arg) runs once the object is
 * unreachable; it and what it reaches survive until then. One per object
 * (a second is an error); fn NULL removes it. */
void gch_set_finalizer(gch_heap* heap, void* object, gch_finalizer_fn fn,
                       void* arg);

/* Names one cleanup; a zeroed one names none. Copy it freely. */
typedef struct gch_cleanup {
  void* opaque_[4];
} gch_cleanup;

/* Adds a cleanup: fn(arg) runs after the object is freed. arg must not
 * point into the object. Any number per object. */
gch_cleanup gch_add_cleanup(gch_heap* heap, void* object, gch_cleanup_fn fn,
                            void* arg);
/* Detaches the cleanup so that it never runs: true if it was still
 * attached; false if cancelled before, or already queued because its
 * object died. */
bool gch_cleanup_cancel(gch_cleanup* cleanup);
/* Runs the queued finalizers and cleanups on the calling (attached) thread
 * until none is left; returns how many ran. The only place they run under
 * GCH_FINALIZERS_EMBEDDER_DRAINS, which also frees plain pools' dropped
 * objects here. */
size_t gch_run_finalizers(gch_heap* heap);

/* ---- Weak references --------------------------------------------------------
 * Made and read by threads attached to the heap; freed anywhere. */

/* A weak reference to object (an object start of the heap, or NULL for an
 * empty one). Never NULL. */
gch_weak* gch_weak_new(gch_heap* heap, void* object);
/* A weak reference to the object `value` (in the heap's encoding,
 * gch_options.values) points to, decoded as the collector decodes it; an
 * empty one (gch_weak_get answers NULL) for a value holding no pointer. */
gch_weak* gch_weak_new_value(gch_heap* heap, uint64_t value);
/* The object while it lives, NULL once the collector found it dead. */
void* gch_weak_get(const gch_weak* weak);
/* A second handle to the same object. */
gch_weak* gch_weak_copy(const gch_weak* weak);
/* Whether two handles were made from the same object (alive or not). */
bool gch_weak_same(const gch_weak* a, const gch_weak* b);
/* Frees the handle (NULL is ignored). */
void gch_weak_free(gch_weak* weak);

/* ---- Weak sets --------------------------------------------------------------
 * A set of heap objects that does not keep them alive, looked up by a hash
 * and an equality test that reads the object: a VM's string table without
 * key copies. Entries whose object dies vanish at the next cycle; what a
 * lookup returns is shaded. Every call but size needs a thread attached to
 * the heap. Free the set before its heap. */

/* eq(object, ctx): whether object is the one looked for. */
typedef bool (*gch_weak_set_eq_fn)(const void* object, void* ctx);
/* make(m, ctx): a new object to insert (may allocate). */
typedef void* (*gch_weak_set_make_fn)(gch_mutator* m, void* ctx);

/* A new, empty weak set of the heap's objects. */
gch_weak_set* gch_weak_set_new(gch_heap* heap);
/* Frees the set (NULL is ignored); its objects are not affected. */
void gch_weak_set_free(gch_weak_set* set);
/* The live object with this hash for which eq is true, or NULL. */
void* gch_weak_set_find(gch_weak_set* set, gch_mutator* m, uint64_t hash,
                        gch_weak_set_eq_fn eq, void* ctx);
/* Adds object with its hash (beside any equal one: intern with
 * gch_weak_set_find_or_insert). */
void gch_weak_set_insert(gch_weak_set* set, void* object, uint64_t hash);
/* The live object with this hash for which eq is true; if none, make's
 * result, inserted (unless another thread inserted an equal one meanwhile:
 * then that one). The interning operation. */
void* gch_weak_set_find_or_insert(gch_weak_set* set, gch_mutator* m,
                                  uint64_t hash, gch_weak_set_eq_fn eq,
                                  gch_weak_set_make_fn make, void* ctx);
/* Live entries (the dead ones of the last cycle dropped). */
size_t gch_weak_set_size(const gch_weak_set* set);

/* ---- Ephemerons (WeakMap<K, V>, EphemeronTable)
 * ------------------------------ JavaScript's WeakMap: each entry maps a key
 * object to a value word and keeps the value alive only while the key lives (a
 * value that refers back to its key does not keep it). Keys are object starts
 * of the map's heap (anything else aborts), compared by identity; a value is a
 * heap pointer, a value in the heap's encoding, or any other word. Entries
 * whose key dies vanish after the cycle that finds it dead. The calls need the
 * calling thread attached to the map's heap. */
gch_weak_map* gch_weak_map_new(gch_heap* heap);
/* Frees the map (not its keys or values). */
void gch_weak_map_free(gch_weak_map* map);
/* Maps key to value, replacing any value it had. */
void gch_weak_map_set(gch_weak_map* map, gch_mutator* m, const void* key,
                      uint64_t value);
/* The value key maps to in *value (shaded while a mark runs); false, and
 * *value untouched, when key has no entry. */
bool gch_weak_map_get(gch_weak_map* map, gch_mutator* m, const void* key,
                      uint64_t* value);
/* Removes key's entry; false when it had none. */
bool gch_weak_map_delete(gch_weak_map* map, gch_mutator* m, const void* key);
/* Entries, counting those whose key died until the cycle that finds it. */
size_t gch_weak_map_size(const gch_weak_map* map);

/* ---- Pools ------------------------------------------------------------------
 * A per-P cache of free objects (Go's sync.Pool), emptied one generation
 * per collection. Get and put need a thread attached to the pool's heap.
 * Free a pool before its heap. */

/* new_fn(m, arg): a new heap object when the pool is empty (NULL: get
 * returns NULL then). */
typedef void* (*gch_pool_new_fn)(gch_mutator* m, void* arg);
/* For plain pools: new_fn(arg) makes an object, free_fn(object, arg)
 * frees one the pool drops. */
typedef void* (*gch_pool_new_plain_fn)(void* arg);
typedef void (*gch_pool_free_fn)(void* object, void* arg);

/* A pool of objects of the heap: its contents are roots until dropped. */
gch_pool* gch_pool_new(gch_heap* heap, gch_pool_new_fn new_fn, void* arg);
/* A pool of memory the heap does not manage (malloc'd buffers). Dropped
 * objects go to free_fn (NULL: free()) where finalizers run. */
gch_pool* gch_pool_new_plain(gch_heap* heap, gch_pool_new_plain_fn new_fn,
                             gch_pool_free_fn free_fn, void* arg);
/* Frees the pool and the plain objects it still holds (NULL is
 * ignored). */
void gch_pool_free(gch_pool* pool);
/* An object from the pool, or a new one from new_fn. */
void* gch_pool_get(gch_pool* pool, gch_mutator* m);
/* Hands object to the pool (NULL is ignored); do not use it afterwards. */
void gch_pool_put(gch_pool* pool, gch_mutator* m, void* object);

/* ---- Errors -------------------------------------------------------------- */

/* Sets a function called with the message of a fatal error (the line
 * written to stderr, without its newline) before the process aborts, for
 * the program's own crash report; process-wide, NULL: none. It runs on the
 * failing thread, possibly with heap locks held: it must not call into the
 * heap. If it returns, the process aborts. */
void gch_set_error_handler(gch_error_fn fn, void* arg);

/* ---- The inline functions ------------------------------------------------
 * Each takes the inline path of gcheap/internal/fast_path.h, the C++ API's
 * own, and otherwise calls its out-of-line half below (not API). */

/* flags: GCH_INTERNAL_OR_NULL (the Try forms). */
#define GCH_INTERNAL_OR_NULL 1
void* gch_internal_alloc_slow(gch_mutator* m, const gch_type* type, int flags);
void* gch_internal_alloc_noscan_slow(gch_mutator* m, size_t bytes, int flags);
void* gch_internal_alloc_conservative_slow(gch_mutator* m, size_t bytes,
                                           int flags);
void gch_internal_safepoint_slow(gch_mutator* m);
void gch_internal_shade_slow(gch_mutator* m, const void* p);

/* The fast paths run inside the mutator's fast-path bracket, so that a
 * stop by signal does not interrupt one halfway; a NULL handle goes to the
 * out-of-line half, which names the function. */
#define GCH_INTERNAL_FAST(m, expr)                            \
  do {                                                        \
    gch_internal_enter_fast_path((gch_internal_mutator*)(m)); \
    p = (expr);                                               \
    gch_internal_leave_fast_path((gch_internal_mutator*)(m)); \
  } while (0)
#define GCH_INTERNAL_CACHE(m) (((gch_internal_mutator*)(m))->mcache)
/* A gch_type is a gch_internal_c_type: the plan was made with the type. */
GCH_INLINE void* gch_internal_alloc_c_type(gch_internal_mcache* c,
                                           const gch_type* type) {
  const gch_internal_c_type* t = (const gch_internal_c_type*)(const void*)type;
  return gch_internal_alloc_planned(c, &t->type, t->plan);
}

GCH_INLINE void* gch_alloc(gch_mutator* m, const gch_type* type) {
  void* p;
  if (GCHEAP_LIKELY(m != NULL && type != NULL)) {
    GCH_INTERNAL_FAST(m,
                      gch_internal_alloc_c_type(GCH_INTERNAL_CACHE(m), type));
    if (GCHEAP_LIKELY(p != NULL)) return p;
  }
  return gch_internal_alloc_slow(m, type, 0);
}
GCH_INLINE void* gch_try_alloc(gch_mutator* m, const gch_type* type) {
  void* p;
  if (GCHEAP_LIKELY(m != NULL && type != NULL)) {
    GCH_INTERNAL_FAST(m,
                      gch_internal_alloc_c_type(GCH_INTERNAL_CACHE(m), type));
    if (GCHEAP_LIKELY(p != NULL)) return p;
  }
  return gch_internal_alloc_slow(m, type, GCH_INTERNAL_OR_NULL);
}
GCH_INLINE void* gch_alloc_noscan(gch_mutator* m, size_t bytes) {
  void* p;
  if (GCHEAP_LIKELY(m != NULL)) {
    GCH_INTERNAL_FAST(
        m, gch_internal_alloc_noscan_fast(GCH_INTERNAL_CACHE(m), bytes));
    if (GCHEAP_LIKELY(p != NULL)) return p;
  }
  return gch_internal_alloc_noscan_slow(m, bytes, 0);
}
GCH_INLINE void* gch_try_alloc_noscan(gch_mutator* m, size_t bytes) {
  void* p;
  if (GCHEAP_LIKELY(m != NULL)) {
    GCH_INTERNAL_FAST(
        m, gch_internal_alloc_noscan_fast(GCH_INTERNAL_CACHE(m), bytes));
    if (GCHEAP_LIKELY(p != NULL)) return p;
  }
  return gch_internal_alloc_noscan_slow(m, bytes, GCH_INTERNAL_OR_NULL);
}
GCH_INLINE void* gch_alloc_conservative(gch_mutator* m, size_t bytes) {
  void* p;
  if (GCHEAP_LIKELY(m != NULL)) {
    GCH_INTERNAL_FAST(
        m, gch_internal_alloc_conservative_fast(GCH_INTERNAL_CACHE(m), bytes));
    if (GCHEAP_LIKELY(p != NULL)) return p;
  }
  return gch_internal_alloc_conservative_slow(m, bytes, 0);
}
GCH_INLINE void* gch_try_alloc_conservative(gch_mutator* m, size_t bytes) {
  void* p;
  if (GCHEAP_LIKELY(m != NULL)) {
    GCH_INTERNAL_FAST(
        m, gch_internal_alloc_conservative_fast(GCH_INTERNAL_CACHE(m), bytes));
    if (GCHEAP_LIKELY(p != NULL)) return p;
  }
  return gch_internal_alloc_conservative_slow(m, bytes, GCH_INTERNAL_OR_NULL);
}
GCH_INLINE void gch_write_barrier(void** slot, void* value) {
  gch_internal_write_barrier(slot, value);
}
GCH_INLINE void gch_copy_pointers(void** dst, void* const* src, size_t n) {
  gch_internal_copy_pointers(dst, src, n);
}
GCH_INLINE void gch_shade(gch_mutator* m, const void* p) {
  if (GCHEAP_UNLIKELY(m == NULL || gch_internal_load_flag(
                                       ((gch_internal_mutator*)m)->marking))) {
    gch_internal_shade_slow(m, p);
  }
}
GCH_INLINE void gch_safepoint(gch_mutator* m) {
  if (GCHEAP_UNLIKELY(m == NULL || gch_internal_load_flag(
                                       ((gch_internal_mutator*)m)->poll))) {
    gch_internal_safepoint_slow(m);
  }
}

#pragma GCC visibility pop

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* GCHEAP_GCHEAP_C_H_ */
