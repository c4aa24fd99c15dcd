/* The C API (gcheap/gcheap_c.h) from C99: every function, the bad inputs,
 * and threads storing through the barrier while collections run.
 *
 * A small harness of its own (no gtest in C): each test prints its checks;
 * death tests run this binary again as a child ("--death NAME"), which must
 * abort with the expected message on stderr. The run ends with "N checks
 * passed, N failed", writes Bazel's XML_OUTPUT_FILE (one testcase per test)
 * and exits nonzero on any failure. */
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gcheap/gcheap_c.h"

/* ---- The harness --------------------------------------------------------- */

#define MAX_TESTS 128

typedef struct test_result {
  const char* name;
  int checks;
  int failed;
  char first_failure[256];
} test_result;

static test_result g_results[MAX_TESTS];
static int g_num_results;
static test_result* g_current;
static int g_checks_passed, g_checks_failed;

static void check_at(bool ok, const char* what, const char* file, int line) {
  g_current->checks++;
  if (ok) {
    g_checks_passed++;
    printf("    ok    %s\n", what);
    return;
  }
  g_checks_failed++;
  if (g_current->failed++ == 0) {
    snprintf(g_current->first_failure, sizeof(g_current->first_failure),
             "%s:%d: %s", file, line, what);
  }
  printf("    FAIL  %s:%d: %s\n", file, line, what);
}

#define CHECK(cond) check_at((cond), #cond, __FILE__, __LINE__)

static void begin_test(const char* name) {
  g_current = &g_results[g_num_results++];
  memset(g_current, 0, sizeof(*g_current));
  g_current->name = name;
  printf("[ RUN  ] %s\n", name);
  fflush(stdout);
}

static void end_test(void) {
  printf("[ %s ] %s (%d checks)\n", g_current->failed ? "FAIL" : " OK ",
         g_current->name, g_current->checks);
  fflush(stdout);
}

static void xml_escaped(FILE* f, const char* s) {
  for (; *s != 0; s++) {
    switch (*s) {
      case '<':
        fputs("&lt;", f);
        break;
      case '>':
        fputs("&gt;", f);
        break;
      case '&':
        fputs("&amp;", f);
        break;
      case '"':
        fputs("&quot;", f);
        break;
      default:
        fputc(*s, f);
    }
  }
}

/* Bazel's test.xml: one testcase per test, so the runner counts them. */
static void write_xml(void) {
  const char* path = getenv("XML_OUTPUT_FILE");
  if (path == NULL || *path == 0) return;
  FILE* f = fopen(path, "w");
  if (f == NULL) return;
  int failures = 0;
  for (int i = 0; i < g_num_results; i++) failures += g_results[i].failed > 0;
  fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  fprintf(f, "<testsuites tests=\"%d\" failures=\"%d\">\n", g_num_results,
          failures);
  fprintf(f, "<testsuite name=\"CApi\" tests=\"%d\" failures=\"%d\">\n",
          g_num_results, failures);
  for (int i = 0; i < g_num_results; i++) {
    const test_result* r = &g_results[i];
    if (r->failed == 0) {
      fprintf(f, "<testcase name=\"%s\" classname=\"CApi\" status=\"run\"/>\n",
              r->name);
      continue;
    }
    fprintf(f, "<testcase name=\"%s\" classname=\"CApi\" status=\"run\">\n",
            r->name);
    fprintf(f, "<failure message=\"");
    xml_escaped(f, r->first_failure);
    fprintf(f, "\"/>\n</testcase>\n");
  }
  fprintf(f, "</testsuite>\n</testsuites>\n");
  fclose(f);
}

static void sleep_us(long us) {
  struct timespec ts;
  ts.tv_sec = us / 1000000;
  ts.tv_nsec = (us % 1000000) * 1000;
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

/* ---- Types and helpers --------------------------------------------------- */

typedef struct Pair {
  struct Pair* car;
  struct Pair* cdr;
  uint64_t value;
} Pair;

/* The same layout as a type known at compile time, and a bigger one whose
 * objects carry a header (over 512 bytes). */
static const gch_static_type static_pair =
    GCH_STATIC_TYPE(Pair, GCH_POINTER(Pair, car) | GCH_POINTER(Pair, cdr));
typedef struct Wide {
  struct Pair* first; /* word 0 */
  uint64_t pad[80];   /* 656 bytes in all: a header, no type bits */
  struct Pair* last;  /* past the 64-word map: not a pointer slot */
} Wide;
static const gch_static_type static_wide =
    GCH_STATIC_TYPE(Wide, GCH_POINTER(Wide, first));

/* Three values in the heap's encoding, reported by a trace callback. */
typedef struct Box {
  uint64_t slots[3];
} Box;

static const gch_type* pair_type;
static const gch_type* slot_type; /* one pointer word: array elements */
static const gch_type* box_type;
static const gch_type* raw_type;     /* noscan, 32 bytes */
static const gch_type* legacy_type;  /* conservative, 4 words */
static const gch_type* counted_type; /* noscan with a destructor */
static const gch_type* huge_type;    /* noscan, 1 TiB */

static int g_destructed;

static void trace_box(void* object, gch_visitor* v) {
  Box* b = (Box*)object;
  for (int i = 0; i < 3; i++) {
    gch_visit_value(v, __atomic_load_n(&b->slots[i], __ATOMIC_RELAXED));
  }
}

static void count_destructor(void* object) {
  (void)object;
  __atomic_fetch_add(&g_destructed, 1, __ATOMIC_RELAXED);
}

static void make_types(void) {
  static const size_t pair_offsets[] = {offsetof(Pair, car),
                                        offsetof(Pair, cdr)};
  static const size_t slot_offsets[] = {0};
  pair_type = gch_type_pointers("Pair", sizeof(Pair), pair_offsets, 2);
  slot_type = gch_type_pointers("Slot", sizeof(void*), slot_offsets, 1);
  box_type = gch_type_traced("Box", sizeof(Box), trace_box);
  raw_type = gch_type_noscan("Raw", 32);
  legacy_type = gch_type_conservative("Legacy", 4 * sizeof(void*));
  counted_type = gch_type_with_destructor(gch_type_noscan("Counted", 24),
                                          count_destructor);
  huge_type = gch_type_noscan("Huge", (size_t)1 << 40);
}

static void store(void* slot, void* value) {
  gch_write_barrier((void**)slot, value);
}

static gch_options small_options(void) {
  gch_options o;
  gch_options_init(&o);
  o.max_procs = 2;
  o.background_scavenger = false;
  return o;
}

/* Precise stacks (exact counts), finalizers drained by the test. */
static gch_heap* precise_heap(void) {
  gch_options o = small_options();
  o.stack_scanning = GCH_STACK_PRECISE;
  o.finalizer_mode = GCH_FINALIZERS_EMBEDDER_DRAINS;
  return gch_heap_new(&o);
}

static uint64_t heap_objects(gch_heap* h) {
  gch_memstats s;
  gch_read_memstats(h, &s);
  return s.heap_objects;
}

/* A list of n pairs with values 1..n, held by a local of the caller's open
 * scope (precise heaps); returns the local's slot. */
static void** make_list(gch_mutator* m, int n) {
  void** head = gch_local_new(m, NULL);
  for (int i = n; i > 0; i--) {
    Pair* p = (Pair*)gch_alloc(m, pair_type);
    p->value = (uint64_t)i;
    store(&p->cdr, *head);
    *head = p;
  }
  return head;
}

static uint64_t list_sum(const Pair* p) {
  uint64_t sum = 0;
  for (; p != NULL; p = p->cdr) sum += p->value;
  return sum;
}

static int list_length(const Pair* p) {
  int n = 0;
  for (; p != NULL; p = p->cdr) n++;
  return n;
}

/* ---- Options and value encodings ----------------------------------------- */

static void test_options_defaults(void) {
  gch_options o;
  memset(&o, 0x5a, sizeof(o));
  gch_options_init(&o);
  CHECK(o.max_procs == 0);
  CHECK(o.gc_percent == 100);
  CHECK(o.soft_memory_limit == 0);
  CHECK(o.small_heap == (size_t)512 << 10);
  CHECK(o.huge_pages_above == 0);
  CHECK(o.hard_memory_limit == 0);
  CHECK(o.stack_scanning == GCH_STACK_CONSERVATIVE);
  CHECK(o.concurrent_mark);
  CHECK(!o.checkmark);
  CHECK(o.finalizer_mode == GCH_FINALIZERS_BACKGROUND_THREAD);
  CHECK(o.mark_workers == -1);
  CHECK(o.idle_mark);
  CHECK(!o.gctrace);
  CHECK(!o.gcpacertrace);
  CHECK(!o.alloc_path_counters);
  CHECK(o.trace_output == NULL);
  CHECK(o.background_scavenger);
  CHECK(o.on_out_of_memory == NULL);
  CHECK(o.out_of_memory_arg == NULL);
  CHECK(o.gc_stress == 0);
  CHECK(o.mark_stress == 0);
  CHECK(o.mark_stress_hold == 1000);
  CHECK(!o.barrier_check);
  CHECK(o.safepoint_report_ms == 2000);
  CHECK(o.preempt_signal == SIGURG);
  CHECK(o.preempt_after_us == 0);
  CHECK(!o.scan_static_data);
  CHECK(o.values.tag_mask == 0 && o.values.tag == 0);
  CHECK(o.values.payload_mask == UINT64_MAX && o.values.decode == NULL);
}

static void test_heap_options_read_back(void) {
  gch_options o = small_options();
  o.max_procs = 3;
  o.gc_percent = 150;
  o.stack_scanning = GCH_STACK_PRECISE;
  o.finalizer_mode = GCH_FINALIZERS_EMBEDDER_DRAINS;
  o.mark_workers = 1;
  o.safepoint_report_ms = 500;
  o.preempt_signal = 0; /* no signal stops (one signal per process) */
  o.preempt_after_us = 25;
  o.values = gch_values_tagged(7, 2);
  gch_heap* h = gch_heap_new(&o);
  gch_options back;
  gch_heap_options(h, &back);
  CHECK(back.max_procs == 3);
  CHECK(back.stack_scanning == GCH_STACK_PRECISE);
  CHECK(back.finalizer_mode == GCH_FINALIZERS_EMBEDDER_DRAINS);
  CHECK(back.mark_workers == 1);
  CHECK(!back.background_scavenger);
  CHECK(back.safepoint_report_ms == 500);
  CHECK(back.preempt_signal == 0 && back.preempt_after_us == 25);
  CHECK(back.values.tag_mask == 7 && back.values.tag == 2);
  CHECK(back.values.payload_mask == ~(uint64_t)7);
  gch_heap_free(h);

  h = gch_heap_new(NULL); /* the defaults, max_procs resolved */
  gch_heap_options(h, &back);
  CHECK(back.max_procs > 0);
  CHECK(back.stack_scanning == GCH_STACK_CONSERVATIVE);
  gch_heap_free(h);
}

static uintptr_t decode_odd(uint64_t value) {
  return (value & 1) ? (uintptr_t)(value - 1) : 0;
}

static void test_value_encodings(void) {
  gch_value_encoding e = gch_values_pointers();
  CHECK(gch_values_decode(&e, 0x1234) == 0x1234);
  e = gch_values_tagged(7, 2);
  CHECK(gch_values_decode(&e, 0x1002) == 0x1000);
  CHECK(gch_values_decode(&e, 0x1001) == 0);
  const uint64_t kObjTag = 0xfffc000000000000ull;
  e = gch_values_nan_boxed(kObjTag, kObjTag, ~kObjTag);
  CHECK(gch_values_decode(&e, kObjTag | 0x7f0000001000ull) == 0x7f0000001000);
  CHECK(gch_values_decode(&e, 0x3ff0000000000000ull) == 0); /* 1.0 */
  e = gch_values_custom(decode_odd);
  CHECK(e.decode == decode_odd);
  CHECK(gch_values_decode(&e, 0x2001) == 0x2000);
  CHECK(gch_values_decode(&e, 0x2000) == 0);
}

/* ---- Heaps, threads, types ----------------------------------------------- */

static void test_attach_and_detach(void) {
  gch_options o = small_options();
  gch_heap* h = gch_heap_new(&o);
  gch_heap* h2 = gch_heap_new(&o);
  CHECK(gch_current_mutator() == NULL);
  gch_mutator* m = gch_attach(h);
  CHECK(m != NULL);
  CHECK(gch_current_mutator() == m);
  CHECK(gch_mutator_heap(m) == h);
  gch_detach(h);
  CHECK(gch_current_mutator() == NULL);
  gch_mutator* m2 = gch_attach(h2); /* one heap at a time */
  CHECK(gch_mutator_heap(m2) == h2);
  CHECK(gch_current_mutator() == m2);
  gch_detach(h2);
  gch_heap_free(h2);
  gch_heap_free(h);
  gch_heap_free(NULL); /* as free(NULL); so are the other *_free */
  gch_pool_free(NULL);
  gch_weak_set_free(NULL);
}

static void test_types(void) {
  CHECK(strcmp(gch_type_name(pair_type), "Pair") == 0);
  CHECK(gch_type_size(pair_type) == sizeof(Pair));
  CHECK(strcmp(gch_type_name(box_type), "Box") == 0);
  CHECK(gch_type_size(raw_type) == 32);
  CHECK(gch_type_size(legacy_type) == 32);
  CHECK(strcmp(gch_type_name(counted_type), "Counted") == 0);
  CHECK(gch_type_size(counted_type) == 24);
  CHECK(gch_type_size(huge_type) == (size_t)1 << 40);
  /* The name is copied. */
  char name[16] = "Temporary";
  const gch_type* t = gch_type_pointers(name, 64, NULL, 0);
  memset(name, 'x', sizeof(name) - 1);
  CHECK(strcmp(gch_type_name(t), "Temporary") == 0);
  CHECK(gch_type_size(t) == 64);
  /* Offsets at the edges of the map. */
  static const size_t edges[] = {0, 63 * 8};
  t = gch_type_pointers("Edges", 64 * 8, edges, 2);
  CHECK(t != NULL && gch_type_size(t) == 512);
}

/* ---- Allocation ---------------------------------------------------------- */

static bool all_zero(const void* p, size_t n) {
  const unsigned char* b = (const unsigned char*)p;
  for (size_t i = 0; i < n; i++) {
    if (b[i] != 0) return false;
  }
  return true;
}

static void test_allocation(void) {
  gch_heap* h = precise_heap();
  gch_mutator* m = gch_attach(h);
  CHECK(heap_objects(h) == 0);
  gch_handle_scope scope;
  gch_handle_scope_open(m, &scope);
  void** pair = gch_local_new(m, gch_alloc(m, pair_type));
  void** box = gch_local_new(m, gch_alloc(m, box_type));
  void** raw = gch_local_new(m, gch_alloc(m, raw_type));
  void** legacy = gch_local_new(m, gch_alloc(m, legacy_type));
  void** array = gch_local_new(m, gch_alloc_array(m, pair_type, 100));
  void** bytes = gch_local_new(m, gch_alloc_noscan(m, 40));
  void** words = gch_local_new(m, gch_alloc_conservative(m, 48));
  void** tpair = gch_local_new(m, gch_try_alloc(m, pair_type));
  void** tarray = gch_local_new(m, gch_try_alloc_array(m, slot_type, 10));
  void** tbytes = gch_local_new(m, gch_try_alloc_noscan(m, 100));
  void** twords = gch_local_new(m, gch_try_alloc_conservative(m, 64));
  void** big = gch_local_new(m, gch_alloc_noscan(m, 100000));
  CHECK(all_zero(*pair, sizeof(Pair)));
  CHECK(all_zero(*box, sizeof(Box)));
  CHECK(all_zero(*raw, 32));
  CHECK(all_zero(*legacy, 32));
  CHECK(all_zero(*array, 100 * sizeof(Pair)));
  CHECK(all_zero(*bytes, 40));
  CHECK(all_zero(*words, 48));
  CHECK(*tpair != NULL && all_zero(*tpair, sizeof(Pair)));
  CHECK(*tarray != NULL && all_zero(*tarray, 10 * sizeof(void*)));
  CHECK(*tbytes != NULL && all_zero(*tbytes, 100));
  CHECK(*twords != NULL && all_zero(*twords, 64));
  CHECK(*big != NULL && all_zero(*big, 100000));
  CHECK(gch_contains(h, *pair));
  CHECK(gch_object_start(h, (char*)*pair + 10) == *pair);
  CHECK(gch_object_start(h, (char*)*array + 50 * sizeof(Pair)) == *array);
  CHECK(gch_object_start(h, (char*)*big + 99999) == *big);
  int on_stack = 0;
  CHECK(!gch_contains(h, &on_stack));
  CHECK(gch_object_start(h, &on_stack) == NULL);
  CHECK(heap_objects(h) == 12);
  /* A tiny noscan request shares a 16-byte block. */
  char* tiny = (char*)gch_alloc_noscan(m, 5);
  CHECK(tiny != NULL && all_zero(tiny, 5));
  /* Elements of an array of pairs are traced each by the map. */
  Pair* elems = (Pair*)*array;
  store(&elems[99].car, gch_alloc(m, pair_type));
  ((Pair*)elems[99].car)->value = 77;
  gch_collect(h);
  CHECK(elems[99].car != NULL && elems[99].car->value == 77);
  CHECK(heap_objects(h) == 13); /* the 12, the pair; the tiny block died */
  gch_handle_scope_close(&scope);
  gch_collect(h);
  CHECK(heap_objects(h) == 0);
  gch_detach(h);
  gch_heap_free(h);
}

/* Types known at compile time: the same objects as gch_type_pointers
 * makes, through every call that takes a type. */
static void test_static_types(void) {
  gch_heap* h = precise_heap();
  gch_mutator* m = gch_attach(h);
  const gch_type* pt = GCH_TYPE(&static_pair);
  const gch_type* wt = GCH_TYPE(&static_wide);
  CHECK(strcmp(gch_type_name(pt), "Pair") == 0);
  CHECK(gch_type_size(pt) == sizeof(Pair));
  CHECK(gch_type_size(wt) == sizeof(Wide));
  gch_handle_scope scope;
  gch_handle_scope_open(m, &scope);
  /* A list of 1000 static pairs, each cdr stored through the barrier. */
  void** head = gch_local_new(m, NULL);
  for (int i = 1000; i > 0; i--) {
    Pair* p = (Pair*)gch_alloc(m, pt);
    CHECK(all_zero(p, sizeof(Pair)));
    p->value = (uint64_t)i;
    store(&p->cdr, *head);
    *head = p;
  }
  void** wide = gch_local_new(m, gch_try_alloc(m, wt));
  CHECK(*wide != NULL && all_zero(*wide, sizeof(Wide)));
  store(&((Wide*)*wide)->first, gch_alloc(m, pt));
  ((Wide*)*wide)->first->value = 5;
  void** array = gch_local_new(m, gch_alloc_array(m, pt, 10));
  store(&((Pair*)*array)[9].car, gch_alloc(m, pt));
  /* Garbage in between: what the list and the others keep must survive. */
  for (int i = 0; i < 20000; i++) (void)gch_alloc(m, pt);
  gch_collect(h);
  CHECK(list_length((Pair*)*head) == 1000);
  CHECK(list_sum((Pair*)*head) == 500500);
  CHECK(((Wide*)*wide)->first->value == 5);
  CHECK(((Pair*)*array)[9].car != NULL);
  CHECK(heap_objects(h) == 1000 + 2 + 1 + 1);
  gch_handle_scope_close(&scope);
  gch_collect(h);
  CHECK(heap_objects(h) == 0);
  gch_detach(h);
  gch_heap_free(h);
}

static size_t g_oom_calls, g_oom_requested;

static void on_oom(size_t requested, void* arg) {
  g_oom_calls++;
  g_oom_requested = requested;
  CHECK(arg == &g_oom_calls);
}

/* The Try forms answer NULL where the plain ones would abort. */
static void test_try_forms_return_null(void) {
  gch_options o = small_options();
  o.stack_scanning = GCH_STACK_PRECISE;
  o.hard_memory_limit = (size_t)8 << 20;
  o.on_out_of_memory = on_oom;
  o.out_of_memory_arg = &g_oom_calls;
  gch_heap* h = gch_heap_new(&o);
  gch_mutator* m = gch_attach(h);
  CHECK(gch_try_alloc_array(m, pair_type, SIZE_MAX / 8) == NULL);
  CHECK(gch_try_alloc_array(m, slot_type, SIZE_MAX) == NULL);
  CHECK(gch_try_alloc_noscan(m, SIZE_MAX - 4) == NULL);
  CHECK(gch_try_alloc_conservative(m, SIZE_MAX - 4) == NULL);
  CHECK(gch_try_alloc(m, huge_type) == NULL);
  CHECK(gch_try_alloc_noscan(m, (size_t)16 << 20) == NULL); /* > the limit */
  CHECK(g_oom_calls == 0); /* impossible sizes fail at once */
  /* Fill the heap with 1 MiB blocks rooted by locals until one fails. */
  gch_handle_scope scope;
  gch_handle_scope_open(m, &scope);
  int held = 0;
  while (held < 100) {
    void* p = gch_try_alloc_noscan(m, (size_t)1 << 20);
    if (p == NULL) break;
    gch_local_new(m, p);
    held++;
  }
  printf("    (%d blocks of 1 MiB fit under the 8 MiB limit)\n", held);
  CHECK(held > 0 && held <= 8);
  CHECK(g_oom_calls >= 1);
  CHECK(g_oom_requested >= (size_t)1 << 20);
  gch_handle_scope_close(&scope);
  CHECK(gch_try_alloc_noscan(m, (size_t)1 << 20) != NULL); /* freed again */
  gch_detach(h);
  gch_heap_free(h);
}

/* ---- The barrier --------------------------------------------------------- */

/* Marks started every 20 allocations and held across 100 more, with the
 * barrier check and checkmark: a store that skipped the barrier would
 * abort the test. */
static void test_barrier_under_mark_stress(void) {
  gch_options o = small_options();
  o.mark_stress = 20;
  o.mark_stress_hold = 100;
  o.barrier_check = true;
  o.checkmark = true;
  gch_heap* h = gch_heap_new(&o);
  gch_mutator* m = gch_attach(h);
  Pair** ring = (Pair**)gch_alloc_array(m, slot_type, 64);
  gch_persistent* root = gch_persistent_new(h, ring);
  for (int i = 0; i < 3000; i++) {
    Pair* p = (Pair*)gch_alloc(m, pair_type);
    p->value = (uint64_t)i;
    store(&p->car, ring[(i + 63) % 64]); /* the previous one */
    store(&ring[i % 64], p);
  }
  bool linked = true;
  for (int i = 3000 - 64; i < 3000; i++) {
    Pair* p = ring[i % 64];
    linked = linked && p->value == (uint64_t)i && p->car->value == p->value - 1;
  }
  CHECK(linked);
  /* The bulk barrier, overlapping both ways (memmove semantics). */
  Pair** copy = (Pair**)gch_alloc_array(m, slot_type, 64);
  store(&ring[0], copy); /* reachable from the root: ring[0] is the array */
  gch_copy_pointers((void**)copy, (void* const*)ring, 64);
  CHECK(copy[0] == (Pair*)copy && copy[63] == ring[63]);
  Pair* second = copy[1];
  gch_copy_pointers((void**)&copy[2], (void* const*)&copy[1], 10);
  CHECK(copy[2] == second && copy[1] == second);
  Pair* fifth = copy[5];
  gch_copy_pointers((void**)&copy[1], (void* const*)&copy[5], 10);
  CHECK(copy[1] == fifth);
  gch_collect(h);
  CHECK(copy[1] == fifth && gch_object_start(h, fifth) == fifth);
  gch_persistent_free(root);
  gch_detach(h);
  gch_heap_free(h);
}

/* ---- Traced objects and encoded values ----------------------------------- */

static const uint64_t kObjTag = 0xfffc000000000000ull;

static uint64_t box_ptr(const void* p) { return kObjTag | (uintptr_t)p; }

static void* unbox(uint64_t v) {
  return (v & kObjTag) == kObjTag ? (void*)(uintptr_t)(v & ~kObjTag) : NULL;
}

static void store_value(uint64_t* slot, uint64_t v) {
  gch_write_barrier((void**)slot, (void*)(uintptr_t)v);
}

static uint64_t g_boxed_roots[4];

static void test_nan_boxed_values(void) {
  gch_options o = small_options();
  o.stack_scanning = GCH_STACK_PRECISE;
  o.values = gch_values_nan_boxed(kObjTag, kObjTag, ~kObjTag);
  gch_heap* h = gch_heap_new(&o);
  gch_mutator* m = gch_attach(h);
  gch_handle_scope scope;
  gch_handle_scope_open(m, &scope);
  /* A chain of boxes linked by boxed values, doubles beside them. */
  void** head = gch_local_new(m, NULL);
  for (int i = 0; i < 50; i++) {
    Box* b = (Box*)gch_alloc(m, box_type);
    store_value(&b->slots[0], *head ? box_ptr(*head) : 0);
    store_value(&b->slots[1], 0x3ff0000000000000ull); /* 1.0 */
    store_value(&b->slots[2], (uint64_t)i);
    *head = b;
  }
  /* A conservative object holding a boxed value: the only reference. */
  uint64_t* cell = (uint64_t*)gch_alloc_conservative(m, 16);
  gch_local_new(m, cell);
  store_value(&cell[0], box_ptr(gch_alloc(m, raw_type)));
  /* A root range holding a boxed value. */
  gch_add_root_range(h, &g_boxed_roots[0], &g_boxed_roots[4]);
  g_boxed_roots[2] = box_ptr(gch_alloc(m, raw_type));
  gch_collect(h);
  CHECK(heap_objects(h) == 53);
  int n = 0;
  for (Box* b = (Box*)*head; b != NULL; b = (Box*)unbox(b->slots[0])) {
    n += b->slots[2] == (uint64_t)(49 - n);
  }
  CHECK(n == 50);
  CHECK(gch_contains(h, unbox(cell[0])));
  CHECK(gch_contains(h, unbox(g_boxed_roots[2])));
  g_boxed_roots[2] = 0;
  gch_remove_root_range(h, &g_boxed_roots[0], &g_boxed_roots[4]);
  gch_handle_scope_close(&scope);
  gch_collect(h);
  CHECK(heap_objects(h) == 0);
  gch_detach(h);
  gch_heap_free(h);
}

/* Low-bit tags decoded by the trace callback itself: gch_visit. */
typedef struct Cons {
  uintptr_t car; /* low bit set: a fixnum; else a pointer */
  uintptr_t cdr;
} Cons;

static void trace_cons(void* object, gch_visitor* v) {
  Cons* c = (Cons*)object;
  uintptr_t car = __atomic_load_n(&c->car, __ATOMIC_RELAXED);
  uintptr_t cdr = __atomic_load_n(&c->cdr, __ATOMIC_RELAXED);
  if ((car & 1) == 0) gch_visit(v, (void*)car);
  if ((cdr & 1) == 0) gch_visit(v, (void*)cdr);
}

static uintptr_t g_words[8];

static void test_trace_callbacks_and_ranges(void) {
  const gch_type* cons_type = gch_type_traced("Cons", sizeof(Cons), trace_cons);
  gch_heap* h = precise_heap();
  gch_mutator* m = gch_attach(h);
  gch_handle_scope scope;
  gch_handle_scope_open(m, &scope);
  void** list = gch_local_new(m, NULL);
  for (int i = 0; i < 10; i++) {
    Cons* c = (Cons*)gch_alloc(m, cons_type);
    store(&c->car, (void*)(uintptr_t)(2 * i + 1)); /* fixnum i */
    store(&c->cdr, *list);
    *list = c;
  }
  gch_collect(h);
  CHECK(heap_objects(h) == 10);
  /* A root range scanned conservatively: an interior pointer keeps it. */
  gch_add_root_range(h, &g_words[0], &g_words[8]);
  g_words[3] = (uintptr_t)gch_alloc(m, raw_type) + 8;
  gch_handle_scope_close(&scope);
  gch_collect(h);
  CHECK(heap_objects(h) == 1);
  g_words[3] = 0;
  gch_collect(h);
  CHECK(heap_objects(h) == 0);
  gch_remove_root_range(h, &g_words[0], &g_words[8]);
  gch_detach(h);
  gch_heap_free(h);
}

/* ---- Roots --------------------------------------------------------------- */

static Pair* g_root;
static void* g_stack[4]; /* a VM's value stack, reported by a callback */
static int g_root_calls;
static bool g_root_arg_ok = true;

/* Runs with the world stopped: records, checks nothing itself. */
static void visit_stack(gch_visitor* v, void* arg) {
  g_root_arg_ok = g_root_arg_ok && arg == g_stack;
  g_root_calls++;
  for (int i = 0; i < 4; i++) gch_visit(v, g_stack[i]);
}

static void visit_range(gch_visitor* v, void* arg) {
  gch_visit_range(v, (void**)arg, (void**)arg + 4);
}

static void test_roots(void) {
  gch_heap* h = precise_heap();
  gch_mutator* m = gch_attach(h);
  gch_handle_scope scope;

  /* A slot. */
  gch_add_root(h, (void**)&g_root);
  gch_handle_scope_open(m, &scope);
  g_root = (Pair*)*make_list(m, 10);
  gch_handle_scope_close(&scope);
  gch_collect(h);
  CHECK(heap_objects(h) == 10 && list_sum(g_root) == 55);
  gch_remove_root(h, (void**)&g_root);
  gch_collect(h);
  CHECK(heap_objects(h) == 0);
  g_root = NULL;

  /* A callback, and a callback scanning a range. */
  gch_add_root_callback(h, visit_stack, g_stack);
  gch_add_root_callback(h, visit_range, g_stack);
  gch_handle_scope_open(m, &scope);
  g_stack[0] = *make_list(m, 5);
  g_stack[3] = (char*)*make_list(m, 3) + 8; /* interior: kept whole */
  gch_handle_scope_close(&scope);
  g_root_calls = 0;
  gch_collect(h);
  CHECK(g_root_calls == 1);
  CHECK(heap_objects(h) == 8);
  gch_remove_root_callback(h, visit_stack, g_stack);
  gch_collect(h);
  CHECK(heap_objects(h) == 8); /* the range callback still holds them */
  gch_remove_root_callback(h, visit_range, g_stack);
  gch_collect(h);
  CHECK(heap_objects(h) == 0);
  CHECK(g_root_calls == 1 && g_root_arg_ok);
  memset(g_stack, 0, sizeof(g_stack));

  /* Persistent handles. */
  gch_handle_scope_open(m, &scope);
  gch_persistent* p = gch_persistent_new(h, *make_list(m, 4));
  gch_persistent* empty = gch_persistent_new(h, NULL);
  gch_handle_scope_close(&scope);
  CHECK(gch_persistent_get(empty) == NULL);
  gch_collect(h);
  CHECK(heap_objects(h) == 4 && list_sum((Pair*)gch_persistent_get(p)) == 10);
  gch_persistent_set(empty, gch_persistent_get(p));
  gch_persistent_set(p, NULL);
  gch_collect(h);
  CHECK(heap_objects(h) == 4 && list_length(gch_persistent_get(empty)) == 4);
  gch_persistent_free(empty);
  gch_persistent_free(p);
  gch_persistent_free(NULL);
  gch_collect(h);
  CHECK(heap_objects(h) == 0);
  gch_detach(h);
  gch_heap_free(h);
}

/* Volatile: nothing else takes its address, so the compiler could drop a
 * store no code of this file reads back. */
static void* volatile g_static_slot;

/* Objects left after the slot is cleared. Under ThreadSanitizer the static
 * data scanned includes the sanitizer runtime's own, which may still hold
 * a copy of the last address this thread touched: one object may stay. */
#if GCHEAP_TSAN_OR_MSAN
#define STATIC_LEFTOVER_OK(n) ((n) <= 1)
#else
#define STATIC_LEFTOVER_OK(n) ((n) == 0)
#endif

static void test_static_data_roots(void) {
  gch_heap* h = precise_heap();
  gch_mutator* m = gch_attach(h);
  gch_add_static_data_roots(h);
  g_static_slot = gch_alloc(m, raw_type);
  gch_collect(h);
  CHECK(heap_objects(h) == 1);
  g_static_slot = NULL;
  gch_collect(h);
  CHECK(STATIC_LEFTOVER_OK(heap_objects(h)));
  gch_detach(h);
  gch_heap_free(h);

  gch_options o = small_options();
  o.stack_scanning = GCH_STACK_PRECISE;
  o.scan_static_data = true;
  h = gch_heap_new(&o);
  m = gch_attach(h);
  g_static_slot = gch_alloc(m, raw_type);
  gch_collect(h);
  CHECK(heap_objects(h) == 1);
  g_static_slot = NULL;
  gch_collect(h);
  CHECK(STATIC_LEFTOVER_OK(heap_objects(h)));
  gch_detach(h);
  gch_heap_free(h);
}

static void test_handle_scopes(void) {
  gch_heap* h = precise_heap();
  gch_mutator* m = gch_attach(h);
  gch_handle_scope outer, inner;
  gch_handle_scope_open(m, &outer);
  void** a = gch_local_new(m, gch_alloc(m, raw_type));
  gch_handle_scope_open(m, &inner);
  void** b = gch_local_new(m, gch_alloc(m, raw_type));
  void** c = gch_local_new(m, NULL);
  *c = gch_alloc(m, raw_type); /* a plain store into the local */
  gch_collect(h);
  CHECK(heap_objects(h) == 3);
  CHECK(*b != NULL && *c != NULL);
  gch_handle_scope_close(&inner);
  gch_collect(h);
  CHECK(heap_objects(h) == 1);
  CHECK(gch_contains(h, *a));
  gch_handle_scope_close(&outer);
  gch_collect(h);
  CHECK(heap_objects(h) == 0);
  gch_detach(h);
  gch_heap_free(h);
}

/* ---- Safepoints and blocking --------------------------------------------- */

typedef struct collector_arg {
  gch_heap* heap;
  int collections;
} collector_arg;

/* Attaches (taking the only P), allocates, collects, detaches. */
static void* attach_and_collect(void* arg) {
  collector_arg* c = (collector_arg*)arg;
  gch_mutator* m = gch_attach(c->heap);
  gch_alloc(m, raw_type);
  gch_collect(c->heap);
  c->collections++;
  gch_detach(c->heap);
  return NULL;
}

static void test_safepoints_and_blocking(void) {
  gch_options o = small_options();
  o.max_procs = 1;
  gch_heap* h = gch_heap_new(&o);
  gch_mutator* m = gch_attach(h);
  for (int i = 0; i < 1000; i++) gch_safepoint(m);
  /* With one P, the other thread runs only while this one blocks. */
  collector_arg arg = {h, 0};
  pthread_t t;
  gch_blocking_begin(m);
  pthread_create(&t, NULL, attach_and_collect, &arg);
  pthread_join(t, NULL);
  gch_blocking_end(m);
  CHECK(arg.collections == 1);
  gch_memstats s;
  gch_read_memstats(h, &s);
  CHECK(s.num_gc >= 1);
  gch_alloc(m, raw_type); /* the P is back */
  /* Again: a second scope after the first ended. */
  gch_blocking_begin(m);
  gch_blocking_end(m);
  gch_detach(h);
  gch_heap_free(h);
}

#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif

static int g_spin_stop;

static uint64_t g_spins;

static void* spin_without_polling(void* arg) {
  gch_heap* h = (gch_heap*)arg;
  gch_mutator* m = gch_attach(h);
  gch_alloc(m, raw_type);
  while (!__atomic_load_n(&g_spin_stop, __ATOMIC_ACQUIRE)) {
    /* Short stretches a signal does not cut: stops land between them. */
    gch_no_signal_stop_begin(m);
    gch_no_signal_stop_begin(m); /* they nest */
    __atomic_fetch_add(&g_spins, 1, __ATOMIC_RELAXED);
    gch_no_signal_stop_end(m);
    gch_no_signal_stop_end(m);
#if defined(UNDER_TSAN)
    /* ThreadSanitizer holds asynchronous signals back until the thread
     * calls an intercepted function, which this loop never does: poll. */
    gch_safepoint(m);
#endif
  }
  gch_detach(h);
  return NULL;
}

/* A thread that never polls is stopped by the preempt signal: collections
 * from another thread complete meanwhile. (Under ThreadSanitizer it polls
 * with gch_safepoint instead.) */
static void test_preempt_signal_stops_spinners(void) {
  gch_options o = small_options();
  CHECK(o.preempt_signal == SIGURG);
  gch_heap* h = gch_heap_new(&o);
  g_spin_stop = 0;
  pthread_t t;
  pthread_create(&t, NULL, spin_without_polling, h);
  /* Until the thread spins (on a loaded machine it may start late). */
  for (int i = 0; i < 1000 && __atomic_load_n(&g_spins, __ATOMIC_RELAXED) == 0;
       i++) {
    sleep_us(1000);
  }
  CHECK(__atomic_load_n(&g_spins, __ATOMIC_RELAXED) > 0);
  for (int i = 0; i < 3; i++) gch_collect(h); /* unattached */
  gch_memstats s;
  gch_read_memstats(h, &s);
  CHECK(s.num_gc >= 3);
  __atomic_store_n(&g_spin_stop, 1, __ATOMIC_RELEASE);
  pthread_join(t, NULL);
  gch_heap_free(h);
}

/* ---- Collection control, statistics, gctrace ----------------------------- */

static void test_collection_control(void) {
  gch_heap* h = precise_heap();
  gch_mutator* m = gch_attach(h);
  CHECK(gch_set_gc_percent(h, 200) == 100);
  CHECK(gch_set_gc_percent(h, -1) == 200);
  gch_memstats s;
  gch_read_memstats(h, &s);
  CHECK(s.next_gc == 0); /* no goal: automatic collection off */
  CHECK(gch_set_gc_percent(h, 100) == -1);
  gch_read_memstats(h, &s);
  CHECK(s.next_gc == (uint64_t)4 << 20);

  CHECK(gch_set_memory_limit(h, -1) == 0);
  CHECK(gch_set_memory_limit(h, (int64_t)2 << 20) == 0);
  CHECK(gch_set_memory_limit(h, -1) == (int64_t)2 << 20);
  gch_read_memstats(h, &s);
  CHECK(s.next_gc < (uint64_t)2 << 20);
  CHECK(gch_set_memory_limit(h, 0) == (int64_t)2 << 20);
  CHECK(gch_set_memory_limit(h, -1) == 0);

  for (int i = 0; i < 1000; i++) gch_alloc(m, pair_type);
  gch_read_memstats(h, &s);
  CHECK(s.mallocs >= 1000 && s.heap_objects == 1000);
  CHECK(s.alloc == s.heap_alloc && s.heap_alloc == 1000 * sizeof(Pair));
  CHECK(s.by_size[3].size == 24 && s.by_size[3].mallocs >= 1000);
  CHECK(s.enable_gc && !s.debug_gc && s.lookups == 0);
  const uint32_t before = s.num_gc;
  gch_collect(h);
  gch_read_memstats(h, &s);
  CHECK(s.num_gc == before + 1 && s.num_forced_gc >= 1);
  CHECK(s.heap_objects == 0 && s.frees >= 1000);
  CHECK(s.pause_total_ns > 0 && s.pause_ns[(s.num_gc + 255) % 256] > 0);
  CHECK(s.last_gc > 0 && s.pause_end[(s.num_gc + 255) % 256] == s.last_gc);
  CHECK(s.sys >= s.heap_sys && s.heap_sys == s.heap_idle + s.heap_inuse);
  gch_free_os_memory(h);
  gch_read_memstats(h, &s);
  CHECK(s.heap_released == s.heap_idle);
  gch_detach(h);
  gch_heap_free(h);
}

static void test_alloc_path_stats(void) {
  gch_options o = small_options();
  gch_alloc_path_stats s;
  gch_heap* h = gch_heap_new(&o);
  gch_read_alloc_path_stats(h, &s);
  CHECK(!s.enabled);
  gch_heap_free(h);
  o.alloc_path_counters = true;
  o.gc_percent = -1;
  h = gch_heap_new(&o);
  gch_mutator* m = gch_attach(h);
  for (int i = 0; i < 3410; i++) (void)gch_alloc_noscan(m, 24);
  gch_read_alloc_path_stats(h, &s);
  CHECK(s.enabled);
  CHECK(s.by_size[3].size == 24);
  CHECK(s.by_size[3].mallocs == 3410);
  CHECK(s.by_size[3].fast + s.by_size[3].slow == 3410);
  CHECK(s.by_size[3].refills == 10);
  gch_detach(h);
  gch_heap_free(h);
}

/* Heap profiles: the rate, the file (a gzip member), and bad paths. */
static void test_heap_profiles(void) {
  gch_options o = small_options();
  o.mem_profile_rate = 1;
  gch_heap* h = gch_heap_new(&o);
  gch_mutator* m = gch_attach(h);
  for (int i = 0; i < 1000; i++) (void)gch_alloc(m, pair_type);
  char path[] = "/tmp/gcheap_c_profile_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  close(fd);
  CHECK(gch_write_heap_profile(h, path) == 0);
  FILE* f = fopen(path, "rb");
  unsigned char head[3] = {0, 0, 0};
  long size = 0;
  if (f != NULL) {
    CHECK(fread(head, 1, 3, f) == 3);
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fclose(f);
  }
  unlink(path);
  CHECK(head[0] == 0x1f && head[1] == 0x8b && head[2] == 8);
  CHECK(size > 100); /* 1000 samples: a stack, four values each */
  CHECK(gch_write_heap_profile(h, "/nonexistent-dir/heap.pb.gz") == -1);
  CHECK(gch_set_mem_profile_rate(h, 0) == 1);
  CHECK(gch_set_mem_profile_rate(h, 512 * 1024) == 0);
  gch_options back;
  gch_heap_options(h, &back);
  CHECK(back.mem_profile_rate == 1); /* what the heap was made with */
  gch_detach(h);
  gch_heap_free(h);
}

/* Why an object is alive, and the heap dump. */
static void test_retention(void) {
  gch_options o = small_options();
  gch_heap* h = gch_heap_new(&o);
  gch_mutator* m = gch_attach(h);
  Pair* a = (Pair*)gch_alloc(m, pair_type);
  Pair* b = (Pair*)gch_alloc(m, pair_type);
  gch_write_barrier((void**)&a->cdr, b);
  gch_persistent* root = gch_persistent_new(h, a);
  char buf[512];
  bool found = false;
  size_t len = gch_retention_path(h, b, buf, sizeof buf, &found);
  CHECK(found);
  CHECK(len == strlen(buf));
  CHECK(strstr(buf, "is reachable from persistent handle") != NULL);
  CHECK(strstr(buf, "+8 -> ") != NULL);
  char tiny[8];
  CHECK(gch_retention_path(h, b, tiny, sizeof tiny, NULL) == len);
  CHECK(strlen(tiny) == 7); /* cut short, terminated */
  CHECK(gch_retention_path(h, b, NULL, 0, NULL) == len);
  char path[] = "/tmp/gcheap_c_dump_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  close(fd);
  CHECK(gch_write_heap_dump(h, path) == 0);
  FILE* f = fopen(path, "r");
  char line[64] = "";
  if (f != NULL) {
    CHECK(fgets(line, sizeof line, f) != NULL);
    fclose(f);
  }
  unlink(path);
  CHECK(strcmp(line, "gcheap heap dump 1\n") == 0);
  CHECK(gch_write_heap_dump(h, "/nonexistent-dir/dump") == -1);
  gch_persistent_free(root);
  gch_detach(h);
  gch_heap_free(h);
}

static void test_gctrace(void) {
  FILE* out = tmpfile();
  CHECK(out != NULL);
  if (out == NULL) return;
  gch_options o = small_options();
  o.gctrace = true;
  o.trace_output = out;
  gch_heap* h = gch_heap_new(&o);
  gch_collect(h);
  gch_collect(h);
  gch_heap_free(h);
  fflush(out);
  rewind(out);
  char text[4096];
  size_t n = fread(text, 1, sizeof(text) - 1, out);
  text[n] = 0;
  fclose(out);
  CHECK(strstr(text, "gc 1 @") != NULL);
  CHECK(strstr(text, "gc 2 @") != NULL);
  CHECK(strstr(text, "(forced)") != NULL);
}

/* ---- Finalizers, cleanups, weak references ------------------------------- */

static void* g_finalized;
static void* g_finalized_arg;
static int g_finalizer_calls, g_cleanup_calls;

static void finalize(void* object, void* arg) {
  g_finalized = object;
  g_finalized_arg = arg;
  g_finalizer_calls++;
}

static void cleanup(void* arg) {
  CHECK(arg == &g_cleanup_calls);
  g_cleanup_calls++;
}

static void test_finalizers_and_cleanups(void) {
  gch_heap* h = precise_heap();
  gch_mutator* m = gch_attach(h);
  gch_handle_scope scope;
  gch_handle_scope_open(m, &scope);
  void* obj = gch_alloc(m, raw_type);
  gch_set_finalizer(h, obj, finalize, &g_finalizer_calls);
  void* cleared = gch_alloc(m, raw_type);
  gch_set_finalizer(h, cleared, finalize, NULL);
  gch_set_finalizer(h, cleared, NULL, NULL); /* removed */
  void* owner = gch_alloc(m, raw_type);
  gch_cleanup c1 = gch_add_cleanup(h, owner, cleanup, &g_cleanup_calls);
  gch_cleanup c2 = gch_add_cleanup(h, owner, cleanup, &g_cleanup_calls);
  gch_cleanup copy = c2;
  CHECK(gch_cleanup_cancel(&c2));
  CHECK(!gch_cleanup_cancel(&c2));
  CHECK(!gch_cleanup_cancel(&copy)); /* the same cleanup, already gone */
  gch_cleanup none;
  memset(&none, 0, sizeof(none));
  CHECK(!gch_cleanup_cancel(&none));
  gch_handle_scope_close(&scope);
  gch_collect(h);
  CHECK(gch_run_finalizers(h) >= 1);
  CHECK(g_finalizer_calls == 1);
  CHECK(g_finalized == obj && g_finalized_arg == &g_finalizer_calls);
  gch_collect(h); /* the finalized object and the owner are freed */
  gch_collect(h);
  gch_run_finalizers(h);
  CHECK(g_cleanup_calls == 1);
  CHECK(!gch_cleanup_cancel(&c1)); /* it ran */
  CHECK(g_finalizer_calls == 1);
  CHECK(heap_objects(h) == 0);
  CHECK(gch_run_finalizers(h) == 0);

  /* Destructors run at sweep. */
  g_destructed = 0;
  for (int i = 0; i < 10; i++) gch_alloc(m, counted_type);
  gch_collect(h);
  CHECK(g_destructed == 10);
  gch_detach(h);
  gch_heap_free(h);
}

static void test_weak_references(void) {
  gch_heap* h = precise_heap();
  gch_mutator* m = gch_attach(h);
  gch_handle_scope scope;
  gch_handle_scope_open(m, &scope);
  void** obj = gch_local_new(m, gch_alloc(m, raw_type));
  gch_weak* w = gch_weak_new(h, *obj);
  gch_weak* w2 = gch_weak_new(h, *obj);
  gch_weak* copy = gch_weak_copy(w);
  gch_weak* empty = gch_weak_new(h, NULL);
  gch_weak* other = gch_weak_new(h, gch_alloc(m, raw_type));
  CHECK(gch_weak_get(w) == *obj);
  CHECK(gch_weak_same(w, w2) && gch_weak_same(w, copy));
  CHECK(!gch_weak_same(w, other) && !gch_weak_same(w, empty));
  CHECK(gch_weak_get(empty) == NULL);
  gch_collect(h);
  CHECK(gch_weak_get(w) == *obj);
  CHECK(gch_weak_get(other) == NULL); /* nothing held it */
  gch_handle_scope_close(&scope);
  gch_collect(h);
  CHECK(gch_weak_get(w) == NULL && gch_weak_get(copy) == NULL);
  CHECK(gch_weak_same(w, copy)); /* still: made from the same object */
  CHECK(heap_objects(h) == 0);
  gch_weak_free(w);
  gch_weak_free(w2);
  gch_weak_free(copy);
  gch_weak_free(empty);
  gch_weak_free(other);
  gch_weak_free(NULL);
  gch_detach(h);
  gch_heap_free(h);
}

/* A string table the program keeps itself, in malloc memory, weak through
 * a weak callback (clox's tableRemoveWhite). */
typedef struct Table {
  char* entries[8];
  int live;
  int callbacks;
  bool null_is_live, stack_is_live;
} Table;

static void remove_white(gch_weak_processor* weak, void* arg) {
  Table* t = (Table*)arg;
  t->callbacks++;
  int dummy = 0;
  t->null_is_live = gch_is_live(weak, NULL);
  t->stack_is_live = gch_is_live(weak, &dummy);
  for (int i = 0; i < 8; i++) {
    if (t->entries[i] != NULL && !gch_is_live(weak, t->entries[i])) {
      t->entries[i] = NULL;
      t->live--;
    }
  }
}

static void test_weak_callbacks_and_shade(void) {
  gch_heap* h = precise_heap();
  gch_mutator* m = gch_attach(h);
  Table table;
  memset(&table, 0, sizeof(table));
  gch_add_weak_callback(h, remove_white, &table);
  gch_handle_scope scope;
  gch_handle_scope_open(m, &scope);
  for (int i = 0; i < 8; i++) {
    char* s = (char*)gch_alloc_noscan(m, 32); /* 16 bytes and more: own slot */
    snprintf(s, 32, "string number %d", i);
    table.entries[i] = s;
    table.live++;
    if (i % 2 == 0) gch_local_new(m, s); /* the even ones are held */
  }
  /* A lookup hit is shaded before use (a no-op while no mark runs). */
  gch_shade(m, table.entries[3]);
  gch_shade(m, NULL);
  gch_collect(h);
  CHECK(table.callbacks == 1);
  CHECK(table.live == 4);
  CHECK(table.entries[0] != NULL && table.entries[1] == NULL);
  CHECK(strcmp(table.entries[6], "string number 6") == 0);
  CHECK(table.null_is_live && table.stack_is_live);
  gch_handle_scope_close(&scope);
  gch_remove_weak_callback(h, remove_white, &table);
  gch_collect(h);
  CHECK(table.callbacks == 1);
  gch_detach(h);
  gch_heap_free(h);
}

/* ---- Weak sets ----------------------------------------------------------- */

typedef struct Str {
  uint64_t length;
  char chars[24];
} Str;

typedef struct lookup {
  const char* chars;
  const gch_type* type;
  int made;
} lookup;

static uint64_t hash_chars(const char* s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s != 0; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static bool str_eq(const void* object, void* ctx) {
  const Str* s = (const Str*)object;
  const lookup* l = (const lookup*)ctx;
  return s->length == strlen(l->chars) && strcmp(s->chars, l->chars) == 0;
}

static void* make_str(gch_mutator* m, void* ctx) {
  lookup* l = (lookup*)ctx;
  Str* s = (Str*)gch_alloc(m, l->type);
  s->length = strlen(l->chars);
  snprintf(s->chars, sizeof(s->chars), "%s", l->chars);
  l->made++;
  return s;
}

static void* intern(gch_weak_set* set, gch_mutator* m, lookup* l) {
  return gch_weak_set_find_or_insert(set, m, hash_chars(l->chars), str_eq,
                                     make_str, l);
}

static void test_weak_sets(void) {
  const gch_type* str_type = gch_type_noscan("Str", sizeof(Str));
  gch_heap* h = precise_heap();
  gch_mutator* m = gch_attach(h);
  gch_weak_set* set = gch_weak_set_new(h);
  gch_handle_scope scope;
  gch_handle_scope_open(m, &scope);
  lookup hello = {"hello", str_type, 0};
  lookup world = {"world", str_type, 0};
  void** a = gch_local_new(m, intern(set, m, &hello));
  void* b = intern(set, m, &world); /* not held */
  CHECK(b != NULL && hello.made == 1 && world.made == 1);
  CHECK(intern(set, m, &hello) == *a && hello.made == 1);
  CHECK(gch_weak_set_find(set, m, hash_chars("hello"), str_eq, &hello) == *a);
  lookup absent = {"absent", str_type, 0};
  CHECK(gch_weak_set_find(set, m, hash_chars("absent"), str_eq, &absent) ==
        NULL);
  CHECK(gch_weak_set_size(set) == 2);
  /* Insert adds beside an equal object. */
  void** c = gch_local_new(m, make_str(m, &hello));
  gch_weak_set_insert(set, *c, hash_chars("hello"));
  CHECK(gch_weak_set_size(set) == 3);
  gch_collect(h);
  CHECK(gch_weak_set_size(set) == 2); /* "world" died */
  gch_handle_scope_close(&scope);
  gch_collect(h);
  CHECK(gch_weak_set_size(set) == 0);
  gch_weak_set_free(set);
  gch_detach(h);
  gch_heap_free(h);
}

/* ---- Pools --------------------------------------------------------------- */

/* Ephemerons: a value lives while its key does; a value pointing back to
 * its key does not keep it; numbers are kept as they are. */
static void test_weak_maps(void) {
  gch_heap* h = precise_heap();
  gch_mutator* m = gch_attach(h);
  gch_weak_map* map = gch_weak_map_new(h);
  gch_handle_scope outer;
  gch_handle_scope_open(m, &outer);
  void** key = gch_local_new(m, gch_alloc(m, pair_type));
  uint64_t v = 0;
  CHECK(!gch_weak_map_get(map, m, *key, &v) && v == 0);
  {
    gch_handle_scope inner;
    gch_handle_scope_open(m, &inner);
    void** other = gch_local_new(m, gch_alloc(m, pair_type));
    void** list = make_list(m, 30);
    gch_weak_map_set(map, m, *key, (uint64_t)(uintptr_t)*list);
    Pair* back = (Pair*)gch_alloc(m, pair_type);
    store(&back->car, *other); /* the value refers to its key */
    gch_weak_map_set(map, m, *other, (uint64_t)(uintptr_t)back);
    gch_handle_scope_close(&inner);
  }
  gch_collect(h);
  CHECK(gch_weak_map_size(map) == 1);
  CHECK(gch_weak_map_get(map, m, *key, &v));
  {
    gch_weak* w = gch_weak_new_value(h, v); /* plain pointers: itself */
    CHECK(gch_weak_get(w) == (void*)(uintptr_t)v);
    gch_weak_free(w);
  }
  CHECK(list_length((Pair*)(uintptr_t)v) == 30);
  CHECK(list_sum((Pair*)(uintptr_t)v) == 465);
  CHECK(heap_objects(h) == 1 + 30);
  gch_weak_map_set(map, m, *key, 42); /* a number: no object */
  gch_collect(h);
  CHECK(heap_objects(h) == 1);
  CHECK(gch_weak_map_get(map, m, *key, &v) && v == 42);
  CHECK(gch_weak_map_delete(map, m, *key));
  CHECK(!gch_weak_map_delete(map, m, *key));
  CHECK(gch_weak_map_size(map) == 0);
  gch_handle_scope_close(&outer);
  gch_weak_map_free(map);
  gch_collect(h);
  CHECK(heap_objects(h) == 0);
  gch_detach(h);
  gch_heap_free(h);
}

static int g_pool_made, g_plain_freed;

static void* new_pooled(gch_mutator* m, void* arg) {
  CHECK(arg == &g_pool_made);
  g_pool_made++;
  return gch_alloc(m, raw_type);
}

static void* new_plain(void* arg) {
  CHECK(arg == &g_plain_freed);
  return malloc(64);
}

static void free_plain(void* object, void* arg) {
  CHECK(arg == &g_plain_freed);
  g_plain_freed++;
  free(object);
}

static void test_pools(void) {
  gch_heap* h = precise_heap();
  gch_mutator* m = gch_attach(h);
  gch_pool* pool = gch_pool_new(h, new_pooled, &g_pool_made);
  void* x = gch_pool_get(pool, m);
  CHECK(x != NULL && g_pool_made == 1);
  gch_pool_put(pool, m, x);
  gch_pool_put(pool, m, NULL);
  gch_collect(h); /* the pool's contents are roots */
  CHECK(heap_objects(h) == 1);
  void* y = gch_pool_get(pool, m); /* from the victim cache */
  CHECK(y == x && g_pool_made == 1);
  gch_pool_put(pool, m, y);
  gch_collect(h);
  gch_collect(h); /* two generations: dropped */
  CHECK(heap_objects(h) == 0);
  gch_pool_free(pool);

  gch_pool* nothing = gch_pool_new(h, NULL, NULL);
  CHECK(gch_pool_get(nothing, m) == NULL);
  gch_pool_free(nothing);

  gch_pool* plain =
      gch_pool_new_plain(h, new_plain, free_plain, &g_plain_freed);
  void* p1 = gch_pool_get(plain, m);
  void* p2 = gch_pool_get(plain, m);
  CHECK(p1 != NULL && p2 != NULL && p1 != p2);
  gch_pool_put(plain, m, p1);
  gch_pool_put(plain, m, p2);
  gch_collect(h);
  gch_collect(h);
  gch_run_finalizers(h); /* embedder drains: the dropped ones freed here */
  CHECK(g_plain_freed == 2);
  gch_pool_put(plain, m, gch_pool_get(plain, m));
  gch_pool_free(plain); /* frees what it holds */
  CHECK(g_plain_freed == 3);

  gch_pool* malloced = gch_pool_new_plain(h, NULL, NULL, NULL);
  CHECK(gch_pool_get(malloced, m) == NULL);
  gch_pool_put(malloced, m, malloc(16)); /* free() drops it */
  gch_pool_free(malloced);
  gch_detach(h);
  gch_heap_free(h);
}

/* ---- Threads ------------------------------------------------------------- */

#define RING 64
#define ROUNDS 4000

typedef struct worker {
  gch_heap* heap;
  gch_weak_set* names;
  gch_pool* pool;
  int id;
  bool linked;
  int interned_same;
} worker;

static const gch_type* g_str_type;

static void* worker_main(void* arg) {
  worker* w = (worker*)arg;
  gch_mutator* m = gch_attach(w->heap);
  Pair** ring = (Pair**)gch_alloc_array(m, slot_type, RING);
  gch_persistent* root = gch_persistent_new(w->heap, ring);
  Box* box = (Box*)gch_alloc(m, box_type);
  gch_persistent* box_root = gch_persistent_new(w->heap, box);
  w->linked = true;
  for (int i = 0; i < ROUNDS; i++) {
    Pair* p = (Pair*)gch_alloc(m, pair_type);
    p->value = (uint64_t)i;
    store(&p->car, ring[(i + RING - 1) % RING]);
    store(&ring[i % RING], p);
    store_value(&box->slots[i % 3], (uint64_t)(uintptr_t)p);
    if (i % 500 == 0) {
      gch_collect(w->heap);
      lookup name = {"shared name", g_str_type, 0};
      void* s = intern(w->names, m, &name);
      void* again = intern(w->names, m, &name);
      w->interned_same += s == again;
      void* pooled = gch_pool_get(w->pool, m);
      gch_pool_put(w->pool, m, pooled);
    }
    if (i >= RING && i % 97 == 0) {
      for (int j = 1; j < RING; j++) {
        Pair* q = ring[(i - j + RING) % RING];
        w->linked = w->linked && q->value == (uint64_t)(i - j) &&
                    q->car->value + 1 == q->value;
      }
    }
  }
  gch_persistent_free(box_root);
  gch_persistent_free(root);
  gch_detach(w->heap);
  return NULL;
}

static void* new_pooled_str(gch_mutator* m, void* arg) {
  (void)arg;
  return gch_alloc(m, g_str_type);
}

static int g_collector_stop;

static void* collect_meanwhile(void* arg) {
  gch_heap* h = (gch_heap*)arg;
  while (!__atomic_load_n(&g_collector_stop, __ATOMIC_ACQUIRE)) {
    gch_collect(h);
    sleep_us(2000);
  }
  return NULL;
}

/* Two mutators allocate and store through the barrier while collections
 * run (their own, the pacer's, and an unattached thread's). */
static void test_threads(void) {
  g_str_type = gch_type_noscan("Str", sizeof(Str));
  gch_options o = small_options();
  o.gc_percent = 20;
  gch_heap* h = gch_heap_new(&o);
  gch_mutator* m = gch_attach(h);
  gch_weak_set* names = gch_weak_set_new(h);
  gch_pool* pool = gch_pool_new(h, new_pooled_str, NULL);
  gch_detach(h);
  worker w[2];
  pthread_t threads[2], collector;
  g_collector_stop = 0;
  pthread_create(&collector, NULL, collect_meanwhile, h);
  for (int i = 0; i < 2; i++) {
    w[i].heap = h;
    w[i].names = names;
    w[i].pool = pool;
    w[i].id = i;
    w[i].interned_same = 0;
    pthread_create(&threads[i], NULL, worker_main, &w[i]);
  }
  for (int i = 0; i < 2; i++) pthread_join(threads[i], NULL);
  __atomic_store_n(&g_collector_stop, 1, __ATOMIC_RELEASE);
  pthread_join(collector, NULL);
  CHECK(w[0].linked && w[1].linked);
  CHECK(w[0].interned_same == ROUNDS / 500 &&
        w[1].interned_same == ROUNDS / 500);
  gch_memstats s;
  gch_read_memstats(h, &s);
  CHECK(s.num_gc >= 2 * (ROUNDS / 500));
  m = gch_attach(h);
  (void)m;
  gch_pool_free(pool);
  gch_weak_set_free(names);
  gch_detach(h);
  gch_heap_free(h);
}

/* ---- Death tests: each runs in a child that must abort ------------------- */

static gch_heap* death_heap(void) { return precise_heap(); }

static void die_null_heap(void) { gch_collect(NULL); }

static void die_null_mutator(void) { gch_alloc(NULL, pair_type); }

static void die_unattached_thread(void) {
  gch_heap* h = death_heap();
  gch_alloc(gch_current_mutator(), pair_type);
  (void)h;
}

static void die_null_type(void) {
  gch_heap* h = death_heap();
  gch_alloc(gch_attach(h), NULL);
}

/* A descriptor written by hand, its plan for the wrong size. */
static void die_hand_made_static_type(void) {
  static const gch_static_type bad = {
      {"Forged", 24, GCH_INTERNAL_KIND_POINTER_MAP, 1, NULL, NULL},
      GCH_INTERNAL_POINTER_MAP_PLAN(8)};
  gch_heap* h = death_heap();
  gch_alloc(gch_attach(h), GCH_TYPE(&bad));
}

static void die_weak_map_key_not_an_object(void) {
  static int not_heap;
  gch_heap* h = death_heap();
  gch_mutator* m = gch_attach(h);
  gch_weak_map_set(gch_weak_map_new(h), m, &not_heap, 1);
}

static gch_mutator* g_main_mutator;

static void* alloc_with_main_mutator(void* arg) {
  (void)arg;
  gch_alloc_array(g_main_mutator, pair_type, 4); /* the slow path checks */
  return NULL;
}

static void die_another_threads_mutator(void) {
  gch_heap* h = death_heap();
  g_main_mutator = gch_attach(h);
  pthread_t t;
  pthread_create(&t, NULL, alloc_with_main_mutator, NULL);
  pthread_join(t, NULL);
}

static void die_negative_profile_rate(void) {
  gch_set_mem_profile_rate(death_heap(), -1);
}

static void die_null_profile_path(void) {
  gch_write_heap_profile(death_heap(), NULL);
}

static void die_retention_of_a_non_object(void) {
  static int not_heap;
  gch_retention_path(death_heap(), &not_heap, NULL, 0, NULL);
}

static void die_bad_offset(void) {
  static const size_t offsets[] = {0, 12};
  gch_type_pointers("Pair", 24, offsets, 2);
}

static void die_offset_past_the_object(void) {
  static const size_t offsets[] = {24};
  gch_type_pointers("Pair", 24, offsets, 1);
}

static void die_offset_past_the_map(void) {
  static const size_t offsets[] = {64 * 8};
  gch_type_pointers("Big", 1024, offsets, 1);
}

static void die_null_trace(void) { gch_type_traced("Box", 24, NULL); }

static void die_null_type_name(void) { gch_type_noscan(NULL, 8); }

static void die_array_overflow(void) {
  gch_heap* h = death_heap();
  gch_alloc_array(gch_attach(h), pair_type, SIZE_MAX / 8);
}

static void die_out_of_memory(void) {
  gch_options o = small_options();
  o.hard_memory_limit = (size_t)8 << 20;
  gch_heap* h = gch_heap_new(&o);
  gch_alloc_noscan(gch_attach(h), (size_t)64 << 20);
}

static void die_finalizer_not_heap_object(void) {
  gch_heap* h = death_heap();
  gch_attach(h);
  static int not_heap;
  gch_set_finalizer(h, &not_heap, finalize, NULL);
}

static void die_finalizer_interior_pointer(void) {
  gch_heap* h = death_heap();
  char* p = (char*)gch_alloc(gch_attach(h), raw_type);
  gch_set_finalizer(h, p + 8, finalize, NULL);
}

static void die_finalizer_twice(void) {
  gch_heap* h = death_heap();
  void* p = gch_alloc(gch_attach(h), raw_type);
  gch_set_finalizer(h, p, finalize, NULL);
  gch_set_finalizer(h, p, finalize, NULL);
}

static void die_cleanup_arg_is_the_object(void) {
  gch_heap* h = death_heap();
  void* p = gch_alloc(gch_attach(h), raw_type);
  gch_add_cleanup(h, p, cleanup, p);
}

static void die_weak_not_heap_object(void) {
  gch_heap* h = death_heap();
  gch_attach(h);
  static int not_heap;
  gch_weak_new(h, &not_heap);
}

static void die_weak_unattached(void) {
  gch_heap* h = death_heap();
  void* p = gch_alloc(gch_attach(h), raw_type);
  gch_detach(h);
  gch_weak_new(h, p);
}

static void die_persistent_unattached(void) {
  gch_heap* h = death_heap();
  void* p = gch_alloc(gch_attach(h), raw_type);
  gch_detach(h);
  gch_persistent_new(h, p);
}

static void die_alloc_while_blocking(void) {
  gch_heap* h = death_heap();
  gch_mutator* m = gch_attach(h);
  gch_blocking_begin(m);
  gch_alloc(m, raw_type);
}

static void die_blocking_twice(void) {
  gch_heap* h = death_heap();
  gch_mutator* m = gch_attach(h);
  gch_blocking_begin(m);
  gch_blocking_begin(m);
}

static void die_blocking_end_without_begin(void) {
  gch_heap* h = death_heap();
  gch_blocking_end(gch_attach(h));
}

static void die_no_signal_stop_end_without_begin(void) {
  gch_heap* h = death_heap();
  gch_no_signal_stop_end(gch_attach(h));
}

static void* no_stop_with_main_mutator(void* arg) {
  (void)arg;
  gch_no_signal_stop_begin(g_main_mutator);
  return NULL;
}

static void die_no_signal_stop_on_another_thread(void) {
  gch_heap* h = death_heap();
  g_main_mutator = gch_attach(h);
  pthread_t t;
  pthread_create(&t, NULL, no_stop_with_main_mutator, NULL);
  pthread_join(t, NULL);
}

static void die_detach_while_blocking(void) {
  gch_heap* h = death_heap();
  gch_blocking_begin(gch_attach(h));
  gch_detach(h);
}

static void die_attach_twice(void) {
  gch_heap* h = death_heap();
  gch_attach(h);
  gch_attach(h);
}

static void die_detach_unattached(void) { gch_detach(death_heap()); }

static void die_free_heap_with_attached_thread(void) {
  gch_heap* h = death_heap();
  gch_attach(h);
  gch_heap_free(h);
}

static void die_free_heap_with_persistent(void) {
  gch_heap* h = death_heap();
  gch_attach(h);
  gch_persistent_new(h, NULL);
  gch_detach(h);
  gch_heap_free(h);
}

static void die_free_heap_with_pool(void) {
  gch_heap* h = death_heap();
  gch_pool_new(h, NULL, NULL);
  gch_heap_free(h);
}

static void die_root_twice(void) {
  gch_heap* h = death_heap();
  gch_add_root(h, (void**)&g_root);
  gch_add_root(h, (void**)&g_root);
}

static void die_remove_root_never_added(void) {
  gch_remove_root(death_heap(), (void**)&g_root);
}

static void die_root_callback_twice(void) {
  gch_heap* h = death_heap();
  gch_add_root_callback(h, visit_stack, g_stack);
  gch_add_root_callback(h, visit_stack, g_stack);
}

static void die_remove_weak_callback_never_added(void) {
  gch_remove_weak_callback(death_heap(), remove_white, NULL);
}

static void die_local_without_scope(void) {
  gch_heap* h = death_heap();
  gch_local_new(gch_attach(h), NULL);
}

static void die_scopes_out_of_order(void) {
  gch_heap* h = death_heap();
  gch_mutator* m = gch_attach(h);
  gch_handle_scope a, b;
  gch_handle_scope_open(m, &a);
  gch_handle_scope_open(m, &b);
  gch_handle_scope_close(&a);
}

static void die_detach_with_open_scope(void) {
  gch_heap* h = death_heap();
  gch_handle_scope a;
  gch_handle_scope_open(gch_attach(h), &a);
  gch_detach(h);
}

static void die_bad_stack_scanning(void) {
  gch_options o;
  gch_options_init(&o);
  o.stack_scanning = (gch_stack_scanning)7;
  gch_heap_new(&o);
}

static void die_null_options(void) { gch_options_init(NULL); }

static void die_null_persistent(void) { gch_persistent_get(NULL); }

static void report(const char* message, void* arg) {
  fprintf(stderr, "handler(%s) saw [%s]\n", (const char*)arg, message);
}

static void die_error_handler(void) {
  static char arg[] = "vm";
  gch_set_error_handler(report, arg);
  gch_collect(NULL);
}

typedef struct death_case {
  const char* name;
  void (*fn)(void);
  const char* expect[2]; /* each must appear in the child's stderr */
} death_case;

static const death_case kDeaths[] = {
    {"NullHeap", die_null_heap, {"gch_collect: the heap is NULL", NULL}},
    {"NullMutator",
     die_null_mutator,
     {"gch_alloc: the mutator is NULL", "gch_attach"}},
    {"UnattachedThreadHasNoMutator",
     die_unattached_thread,
     {"gch_alloc: the mutator is NULL", "gch_current_mutator() is NULL"}},
    {"NullType", die_null_type, {"gch_alloc: the type is NULL", NULL}},
    {"NegativeProfileRate",
     die_negative_profile_rate,
     {"gch_set_mem_profile_rate(-1): the rate is negative", NULL}},
    {"RetentionOfANonObject",
     die_retention_of_a_non_object,
     {"FindRetentionPath", "not a pointer to an allocated object"}},
    {"NullProfilePath",
     die_null_profile_path,
     {"gch_write_heap_profile: path is NULL", NULL}},
    {"WeakMapKeyNotAnObject",
     die_weak_map_key_not_an_object,
     {"EphemeronTable::Set", "not a pointer to an allocated object"}},
    {"HandMadeStaticType",
     die_hand_made_static_type,
     {"(Forged) was not made by gch_type_* or GCH_STATIC_TYPE", NULL}},
    {"AnotherThreadsMutator",
     die_another_threads_mutator,
     {"allocation: this Mutator belongs to another thread", NULL}},
    {"BadPointerOffset",
     die_bad_offset,
     {"bad pointer offset 12 in Type Pair (24 bytes): Pointers() takes byte "
      "offsets of whole words",
      NULL}},
    {"OffsetPastTheObject",
     die_offset_past_the_object,
     {"bad pointer offset 24 in Type Pair (24 bytes)", NULL}},
    {"OffsetPastTheMap",
     die_offset_past_the_map,
     {"bad pointer offset 512 in Type Big (1024 bytes)", "first 64 words"}},
    {"NullTraceFunction",
     die_null_trace,
     {"gch_type_traced: the trace function is NULL", NULL}},
    {"NullTypeName",
     die_null_type_name,
     {"gch_type_noscan: the name is NULL", NULL}},
    {"ArraySizeOverflows",
     die_array_overflow,
     {"allocation size overflows: 2305843009213693951 x 24 bytes of Pair",
      NULL}},
    {"OutOfMemory",
     die_out_of_memory,
     {"out of memory: cannot allocate 67108864 bytes for bytes", NULL}},
    {"FinalizerOnANonHeapPointer",
     die_finalizer_not_heap_object,
     {"SetFinalizer(0x", "not a pointer to an allocated object of this heap"}},
    {"FinalizerOnAnInteriorPointer",
     die_finalizer_interior_pointer,
     {"an interior pointer; the object starts at", NULL}},
    {"SecondFinalizer",
     die_finalizer_twice,
     {"the object already has a finalizer", NULL}},
    {"CleanupArgIsTheObject",
     die_cleanup_arg_is_the_object,
     {"arg points into the object itself", NULL}},
    {"WeakOnANonHeapPointer",
     die_weak_not_heap_object,
     {"WeakRef(0x", "not a pointer to an allocated object of this heap"}},
    {"WeakOnAnUnattachedThread",
     die_weak_unattached,
     {"WeakRef: the calling thread is not attached to this heap", NULL}},
    {"PersistentOnAnUnattachedThread",
     die_persistent_unattached,
     {"Persistent created with 0x", "on a thread not attached to this heap"}},
    {"AllocatingWhileBlocking",
     die_alloc_while_blocking,
     {"allocation inside a BlockingScope: the thread has released its P",
      NULL}},
    {"BlockingTwice",
     die_blocking_twice,
     {"BlockingScope inside a BlockingScope", NULL}},
    {"BlockingEndWithoutBegin",
     die_blocking_end_without_begin,
     {"gch_blocking_end without gch_blocking_begin on this thread", NULL}},
    {"NoSignalStopEndWithoutBegin",
     die_no_signal_stop_end_without_begin,
     {"gch_no_signal_stop_end without gch_no_signal_stop_begin", NULL}},
    {"NoSignalStopOnAnotherThread",
     die_no_signal_stop_on_another_thread,
     {"gch_no_signal_stop_begin: this mutator belongs to another thread",
      NULL}},
    {"DetachWhileBlocking",
     die_detach_while_blocking,
     {"DetachCurrentThread inside a BlockingScope", NULL}},
    {"AttachTwice",
     die_attach_twice,
     {"this thread is already attached to a heap; detach it first", NULL}},
    {"DetachUnattached",
     die_detach_unattached,
     {"DetachCurrentThread: this thread is not attached to this heap", NULL}},
    {"FreeHeapWithAnAttachedThread",
     die_free_heap_with_attached_thread,
     {"Heap destroyed with 1 thread(s) still attached", NULL}},
    {"FreeHeapWithAPersistent",
     die_free_heap_with_persistent,
     {"Heap destroyed with 1 Persistent handle(s) still alive", NULL}},
    {"FreeHeapWithAPool",
     die_free_heap_with_pool,
     {"Heap destroyed with 1 Pool(s) still alive", NULL}},
    {"RootTwice", die_root_twice, {"slot already registered", NULL}},
    {"RemoveRootNeverAdded",
     die_remove_root_never_added,
     {"slot not registered", NULL}},
    {"RootCallbackTwice",
     die_root_callback_twice,
     {"AddRootCallback: callback already registered with this arg", NULL}},
    {"RemoveWeakCallbackNeverAdded",
     die_remove_weak_callback_never_added,
     {"RemoveWeakCallback: callback not registered", NULL}},
    {"LocalWithoutAScope",
     die_local_without_scope,
     {"created with no HandleScope open on this mutator", NULL}},
    {"ScopesClosedOutOfOrder",
     die_scopes_out_of_order,
     {"HandleScopes closed out of order", NULL}},
    {"DetachWithAnOpenScope",
     die_detach_with_open_scope,
     {"DetachCurrentThread with 1 HandleScope(s) still open", NULL}},
    {"BadStackScanningOption",
     die_bad_stack_scanning,
     {"gch_heap_new: stack_scanning is 7", NULL}},
    {"NullOptions",
     die_null_options,
     {"gch_options_init: options is NULL", NULL}},
    {"NullPersistent",
     die_null_persistent,
     {"gch_persistent_get: the persistent handle is NULL", NULL}},
    {"ErrorHandlerSeesTheMessage",
     die_error_handler,
     {"handler(vm) saw [gcheap: fatal error: ",
      "gch_collect: the heap is NULL]"}},
};

static const size_t kNumDeaths = sizeof(kDeaths) / sizeof(kDeaths[0]);

/* Runs this binary again as "--death NAME" and returns its stderr (and its
 * status in *status); NULL if it could not be run. */
static char* run_child(const char* name, int* status) {
  int fds[2];
  if (pipe(fds) != 0) return NULL;
  fflush(stdout);
  pid_t pid = fork();
  if (pid < 0) return NULL;
  if (pid == 0) {
    /* Only async-signal-safe calls until exec: the parent may have threads. */
    dup2(fds[1], STDERR_FILENO);
    close(fds[0]);
    close(fds[1]);
    char* const argv[] = {(char*)"c_api_test", (char*)"--death", (char*)name,
                          NULL};
    execv("/proc/self/exe", argv);
    _exit(127);
  }
  close(fds[1]);
  size_t cap = 4096, len = 0;
  char* out = (char*)malloc(cap);
  for (;;) {
    if (len + 1024 > cap) {
      cap *= 2;
      out = (char*)realloc(out, cap);
    }
    ssize_t n = read(fds[0], out + len, cap - len - 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    len += (size_t)n;
  }
  out[len] = 0;
  close(fds[0]);
  while (waitpid(pid, status, 0) < 0 && errno == EINTR) {
  }
  return out;
}

static void run_death_test(const death_case* d) {
  int status = 0;
  char* out = run_child(d->name, &status);
  CHECK(out != NULL);
  if (out == NULL) return;
  const bool aborted = WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
  CHECK(aborted);
  for (int i = 0; i < 2; i++) {
    if (d->expect[i] == NULL) continue;
    const bool found = strstr(out, d->expect[i]) != NULL;
    check_at(found, d->expect[i], __FILE__, __LINE__);
  }
  if (!aborted || g_current->failed) {
    printf("    child's stderr:\n%s\n", out);
  }
  free(out);
}

/* ---- main ---------------------------------------------------------------- */

typedef struct test_case {
  const char* name;
  void (*fn)(void);
} test_case;

static const test_case kTests[] = {
    {"OptionsDefaults", test_options_defaults},
    {"HeapOptionsReadBack", test_heap_options_read_back},
    {"ValueEncodings", test_value_encodings},
    {"AttachAndDetach", test_attach_and_detach},
    {"Types", test_types},
    {"Allocation", test_allocation},
    {"StaticTypes", test_static_types},
    {"WeakMaps", test_weak_maps},
    {"TryFormsReturnNull", test_try_forms_return_null},
    {"BarrierUnderMarkStress", test_barrier_under_mark_stress},
    {"NanBoxedValues", test_nan_boxed_values},
    {"TraceCallbacksAndRanges", test_trace_callbacks_and_ranges},
    {"Roots", test_roots},
    {"StaticDataRoots", test_static_data_roots},
    {"HandleScopes", test_handle_scopes},
    {"SafepointsAndBlocking", test_safepoints_and_blocking},
    {"PreemptSignalStopsSpinners", test_preempt_signal_stops_spinners},
    {"CollectionControl", test_collection_control},
    {"Gctrace", test_gctrace},
    {"AllocPathStats", test_alloc_path_stats},
    {"HeapProfiles", test_heap_profiles},
    {"Retention", test_retention},
    {"FinalizersAndCleanups", test_finalizers_and_cleanups},
    {"WeakReferences", test_weak_references},
    {"WeakCallbacksAndShade", test_weak_callbacks_and_shade},
    {"WeakSets", test_weak_sets},
    {"Pools", test_pools},
    {"Threads", test_threads},
};

int main(int argc, char** argv) {
  make_types();
  if (argc == 3 && strcmp(argv[1], "--death") == 0) {
    for (size_t i = 0; i < kNumDeaths; i++) {
      if (strcmp(argv[2], kDeaths[i].name) == 0) {
        kDeaths[i].fn();
        fprintf(stderr, "death test %s: returned instead of aborting\n",
                argv[2]);
        return 3;
      }
    }
    fprintf(stderr, "no death test %s\n", argv[2]);
    return 2;
  }
  const char* only = argc == 2 ? argv[1] : NULL; /* one test by name */
  for (size_t i = 0; i < sizeof(kTests) / sizeof(kTests[0]); i++) {
    if (only != NULL && strcmp(only, kTests[i].name) != 0) continue;
    begin_test(kTests[i].name);
    kTests[i].fn();
    end_test();
  }
  for (size_t i = 0; i < kNumDeaths; i++) {
    if (only != NULL && strcmp(only, kDeaths[i].name) != 0) continue;
    begin_test(kDeaths[i].name);
    run_death_test(&kDeaths[i]);
    end_test();
  }
  int failed_tests = 0;
  for (int i = 0; i < g_num_results; i++)
    failed_tests += g_results[i].failed > 0;
  printf("%d tests, %d failed; %d checks passed, %d failed\n", g_num_results,
         failed_tests, g_checks_passed, g_checks_failed);
  write_xml();
  return g_checks_failed == 0 && g_num_results > 0 ? 0 : 1;
}
