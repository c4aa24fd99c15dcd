/* The inline fast paths of gcheap's public headers, and the few fields of
 * the runtime they see. Not API: layouts and names here change with the
 * library (its SONAME changes with them); C and C++ programs use
 * gcheap/gcheap_c.h and gcheap/mutator.h, gcheap/ref.h, gcheap/pool.h.
 *
 * Allocation takes a slot from the P's cached span for the size class, with
 * no lock and no call, and writes the object's layout; the write barrier
 * loads one flag; a safepoint loads one flag. To do that inline, a program
 * must see:
 *
 *   gch_internal_span     the part of a span (alloc/mspan.h's MSpan derives
 *                         from it) the allocation fast path reads and
 *                         writes: the free-slot word, the slot size, the
 *                         span's layout (see gcheap/../gc/object.h)
 *   gch_internal_mcache   the P's cache (alloc/mcache.h's MCache derives
 *                         from it): one span per span class, the tiny block
 *   gch_internal_mutator  the first member of a gcheap::Mutator and of what
 *                         a gch_mutator* points to: its P's cache, the poll
 *                         and marking flags
 *   gch_internal_type     the layout of a gcheap::Type (a gch_type)
 *   the size-class lookup tables, the write barrier's thread-local flag
 *
 * The C++ runtime builds on these same structs and functions (MCache's fast
 * path is gch_internal_try_alloc_small), so the C and the C++ fast paths
 * are one code. Valid as C99 (with GCC's __thread and __atomic builtins)
 * and as C++. */
#ifndef GCHEAP_INTERNAL_FAST_PATH_H_
#define GCHEAP_INTERNAL_FAST_PATH_H_

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gcheap/internal/config.h"

#if defined(GCHEAP_ASAN)
#include <sanitizer/asan_interface.h>
#endif
#if defined(GCHEAP_VALGRIND) && GCHEAP_VALGRIND
#include <valgrind/memcheck.h>
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Sizes (the allocator's constants; alloc/size_classes.h). */
#define GCH_INTERNAL_NUM_SPAN_CLASSES 136 /* 68 size classes x scan/noscan */
#define GCH_INTERNAL_MAX_SMALL_SIZE 32768 /* larger objects: own spans */
#define GCH_INTERNAL_TINY_SIZE 16         /* tiny blocks; smaller noscan */
#define GCH_INTERNAL_TINY_SIZE_CLASS 2    /* the 16-byte class */
#define GCH_INTERNAL_SMALL_SIZE_DIV 8
#define GCH_INTERNAL_SMALL_SIZE_MAX 1024
#define GCH_INTERNAL_LARGE_SIZE_DIV 128
#define GCH_INTERNAL_OBJECT_HEADER_BYTES 8    /* the Type word (gc/object.h) */
#define GCH_INTERNAL_MAX_HEAP_BITS_OBJECT 512 /* type bits up to this size */

/* A span's layout byte (MSpan::layout): the state and the conservative
 * flag. */
#define GCH_INTERNAL_LAYOUT_EMPTY 0
#define GCH_INTERNAL_LAYOUT_UNIFORM 1
#define GCH_INTERNAL_LAYOUT_MIXED 2
#define GCH_INTERNAL_LAYOUT_STATE_MASK 3
#define GCH_INTERNAL_LAYOUT_CONSERVATIVE 4

/* gcheap::Type::Kind. */
#define GCH_INTERNAL_KIND_NOSCAN 0
#define GCH_INTERNAL_KIND_POINTER_MAP 1
#define GCH_INTERNAL_KIND_TRACED 2
#define GCH_INTERNAL_KIND_CONSERVATIVE 3

/* One cache line. Written by the P that caches the span; layout,
 * uniform_mask, uniform_type, heap_bits, header_bits and freeindex_for_scan
 * are read by markers on other threads (relaxed atomics). */
typedef struct gch_internal_span {
  uintptr_t start_addr;
  size_t elemsize;             /* slot size */
  uint64_t alloc_cache;        /* free slots of the current 64-slot word */
  uint64_t uniform_mask;       /* pointer words of every object (uniform) */
  const void* uniform_type;    /* the Type that made the layout uniform */
  uint64_t* heap_bits;         /* mixed layout: one bit per word */
  uint64_t* header_bits;       /* mixed layout: one bit per slot */
  uint16_t cache_base;         /* first slot of the current word */
  uint16_t freeindex_for_scan; /* every slot below it is allocated */
  uint8_t layout;              /* GCH_INTERNAL_LAYOUT_* */
  bool small_scan;             /* a scan span of objects <= 512 bytes */
  bool needzero;               /* free slots may hold old data */
  bool has_destructors;        /* some object has a destructor */
} gch_internal_span;

typedef struct gch_internal_mcache {
  gch_internal_span* alloc[GCH_INTERNAL_NUM_SPAN_CLASSES];
  uintptr_t tiny;        /* the current tiny block, 0 if none */
  uintptr_t tiny_offset; /* its next free byte */
  uint64_t tiny_allocs;  /* objects packed into tiny blocks, unflushed */
} gch_internal_mcache;

typedef struct gch_internal_mutator {
  gch_internal_mcache* mcache; /* the held P's cache */
  const bool* poll;            /* a stop is pending (atomic) */
  const bool* marking;         /* the collector is marking (atomic) */
  /* Nonzero while the thread runs an inline fast path: a stop by signal
   * (runtime/preempt.cc) asks again a little later. */
  uint8_t in_fast_path;
} gch_internal_mutator;

typedef struct gch_internal_type {
  const char* name;
  size_t size;
  uint8_t kind; /* GCH_INTERNAL_KIND_* */
  uint64_t pointer_mask;
  void (*trace)(void); /* a TraceFn; only compared with null here */
  void (*destructor)(void*);
} gch_internal_type;

/* The size-class lookup (alloc/size_classes.cc). */
GCHEAP_EXPORT extern const uint8_t gch_internal_size_to_class8
    [GCH_INTERNAL_SMALL_SIZE_MAX / GCH_INTERNAL_SMALL_SIZE_DIV + 1];
GCHEAP_EXPORT extern const uint8_t
    gch_internal_size_to_class128[(GCH_INTERNAL_MAX_SMALL_SIZE -
                                   GCH_INTERNAL_SMALL_SIZE_MAX) /
                                      GCH_INTERNAL_LARGE_SIZE_DIV +
                                  1];

/* The out-of-line halves (alloc/mcache.cc, runtime/barrier.cc). */
/* Records slot idx's layout where the inline case does not apply (the
 * span's layout mixed, or turning mixed). */
GCHEAP_EXPORT void gch_internal_set_type_bits_slow(
    gch_internal_mcache* c, gch_internal_span* s, uintptr_t idx,
    bool with_header, uint64_t ptrmask, const void* type);
GCHEAP_EXPORT void gch_internal_write_barrier_slow(void** slot,
                                                   const void* value);
GCHEAP_EXPORT void gch_internal_copy_pointers_slow(void** dst, void* const* src,
                                                   size_t n);
/* Programs built with GCHEAP_DEBUG_CHECKS=1: fails loudly if the slot, in
 * a heap object, is not a pointer word of its object's Type, or if value
 * points into another heap (runtime/store_check.cc). */
GCHEAP_EXPORT void gch_internal_debug_check_store(void** slot,
                                                  const void* value);

/* The barrier flag of the heap the calling thread is attached to (a flag
 * that is always false for unattached threads). */
#ifdef __cplusplus
GCHEAP_EXPORT extern GCHEAP_CONSTINIT thread_local const bool*
    gch_internal_tls_write_barrier __attribute__((tls_model("initial-exec")));
#else
GCHEAP_EXPORT extern __thread const bool* gch_internal_tls_write_barrier
    __attribute__((tls_model("initial-exec")));
#endif

/* Nonzero while the calling thread runs the write barrier's inline part,
 * between its test of the barrier flag and its store: a stop by signal
 * (runtime/preempt.cc) asks again a little later, so no thread is stopped
 * with a store pending that saw marking off. */
#ifdef __cplusplus
GCHEAP_EXPORT extern GCHEAP_CONSTINIT thread_local uint8_t
    gch_internal_tls_in_barrier __attribute__((tls_model("initial-exec")));
#else
GCHEAP_EXPORT extern __thread uint8_t gch_internal_tls_in_barrier
    __attribute__((tls_model("initial-exec")));
#endif

/* C++: inline functions (with C linkage), one definition program-wide;
 * C: static inline. */
#ifdef __cplusplus
#define GCH_INTERNAL_INLINE inline GCHEAP_ALWAYS_INLINE
#else
#define GCH_INTERNAL_INLINE static inline GCHEAP_ALWAYS_INLINE
#endif

GCH_INTERNAL_INLINE bool gch_internal_load_flag(const bool* flag) {
  return __atomic_load_n(flag, __ATOMIC_RELAXED);
}

/* size in [1, GCH_INTERNAL_MAX_SMALL_SIZE] -> its size class. */
GCH_INTERNAL_INLINE int gch_internal_size_to_class(size_t size) {
  if (size <= GCH_INTERNAL_SMALL_SIZE_MAX - GCH_INTERNAL_SMALL_SIZE_DIV) {
    return gch_internal_size_to_class8[(size + GCH_INTERNAL_SMALL_SIZE_DIV -
                                        1) /
                                       GCH_INTERNAL_SMALL_SIZE_DIV];
  }
  return gch_internal_size_to_class128[(size - GCH_INTERNAL_SMALL_SIZE_MAX +
                                        GCH_INTERNAL_LARGE_SIZE_DIV - 1) /
                                       GCH_INTERNAL_LARGE_SIZE_DIV];
}
/* The same as a constant expression, for types known at compile time
 * (GCH_STATIC_TYPE in gcheap/gcheap_c.h); 0 past the largest class.
 * alloc/size_classes_test checks it against the table for every size. */
#define GCH_INTERNAL_SIZE_CLASS_CONST(n) \
  ((n) <= 8       ? 1                    \
   : (n) <= 16    ? 2                    \
   : (n) <= 24    ? 3                    \
   : (n) <= 32    ? 4                    \
   : (n) <= 48    ? 5                    \
   : (n) <= 64    ? 6                    \
   : (n) <= 80    ? 7                    \
   : (n) <= 96    ? 8                    \
   : (n) <= 112   ? 9                    \
   : (n) <= 128   ? 10                   \
   : (n) <= 144   ? 11                   \
   : (n) <= 160   ? 12                   \
   : (n) <= 176   ? 13                   \
   : (n) <= 192   ? 14                   \
   : (n) <= 208   ? 15                   \
   : (n) <= 224   ? 16                   \
   : (n) <= 240   ? 17                   \
   : (n) <= 256   ? 18                   \
   : (n) <= 288   ? 19                   \
   : (n) <= 320   ? 20                   \
   : (n) <= 352   ? 21                   \
   : (n) <= 384   ? 22                   \
   : (n) <= 416   ? 23                   \
   : (n) <= 448   ? 24                   \
   : (n) <= 480   ? 25                   \
   : (n) <= 512   ? 26                   \
   : (n) <= 576   ? 27                   \
   : (n) <= 640   ? 28                   \
   : (n) <= 704   ? 29                   \
   : (n) <= 768   ? 30                   \
   : (n) <= 896   ? 31                   \
   : (n) <= 1024  ? 32                   \
   : (n) <= 1152  ? 33                   \
   : (n) <= 1280  ? 34                   \
   : (n) <= 1408  ? 35                   \
   : (n) <= 1536  ? 36                   \
   : (n) <= 1792  ? 37                   \
   : (n) <= 2048  ? 38                   \
   : (n) <= 2304  ? 39                   \
   : (n) <= 2688  ? 40                   \
   : (n) <= 3072  ? 41                   \
   : (n) <= 3200  ? 42                   \
   : (n) <= 3456  ? 43                   \
   : (n) <= 4096  ? 44                   \
   : (n) <= 4864  ? 45                   \
   : (n) <= 5376  ? 46                   \
   : (n) <= 6144  ? 47                   \
   : (n) <= 6528  ? 48                   \
   : (n) <= 6784  ? 49                   \
   : (n) <= 6912  ? 50                   \
   : (n) <= 8192  ? 51                   \
   : (n) <= 9472  ? 52                   \
   : (n) <= 9728  ? 53                   \
   : (n) <= 10240 ? 54                   \
   : (n) <= 10880 ? 55                   \
   : (n) <= 12288 ? 56                   \
   : (n) <= 13568 ? 57                   \
   : (n) <= 14336 ? 58                   \
   : (n) <= 16384 ? 59                   \
   : (n) <= 18432 ? 60                   \
   : (n) <= 19072 ? 61                   \
   : (n) <= 20480 ? 62                   \
   : (n) <= 21760 ? 63                   \
   : (n) <= 24576 ? 64                   \
   : (n) <= 27264 ? 65                   \
   : (n) <= 28672 ? 66                   \
   : (n) <= 32768 ? 67                   \
                  : 0)

/* A span class: size class << 1 | noscan. */
GCH_INTERNAL_INLINE int gch_internal_span_class(int sizeclass, bool noscan) {
  return sizeclass << 1 | (noscan ? 1 : 0);
}

/* Brackets an inline fast path that changes the P's state in several
 * steps. The signal fences keep its memory operations between the two
 * stores as a signal handler on the same thread sees them; they cost no
 * instruction. */
GCH_INTERNAL_INLINE void gch_internal_enter_fast_path(gch_internal_mutator* m) {
  m->in_fast_path = 1;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
}
GCH_INTERNAL_INLINE void gch_internal_leave_fast_path(gch_internal_mutator* m) {
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  m->in_fast_path = 0;
}

/* Brackets the write barrier's test of the marking flag and its store
 * (gch_internal_tls_in_barrier), with the same compiler-only fences. */
GCH_INTERNAL_INLINE void gch_internal_enter_barrier(void) {
  gch_internal_tls_in_barrier = 1;
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
}
GCH_INTERNAL_INLINE void gch_internal_leave_barrier(void) {
  __atomic_signal_fence(__ATOMIC_SEQ_CST);
  gch_internal_tls_in_barrier = 0;
}

GCH_INTERNAL_INLINE void gch_internal_unpoison(const void* p, size_t n) {
#if defined(GCHEAP_ASAN)
  ASAN_UNPOISON_MEMORY_REGION(p, n);
#endif
#if defined(GCHEAP_VALGRIND) && GCHEAP_VALGRIND
  VALGRIND_MAKE_MEM_DEFINED(p, n);
#endif
  (void)p;
  (void)n;
}

/* Clears a slot of `size` bytes, a multiple of 8. Up to 64 bytes, with
 * stores: a branch per word, which the predictor learns (a span's slots are
 * all one size) and the compiler folds when the size is a constant. Written
 * as a loop, the compilers turn it into a call to memset (or a rep stos),
 * which costs several times more for the 16-byte slots of a tree's nodes. */
GCH_INTERNAL_INLINE void gch_internal_zero_slot(void* p, size_t size) {
  uint64_t* w = (uint64_t*)p;
  if (size > 64) {
    memset(p, 0, size);
    return;
  }
  w[0] = 0;
  if (size <= 8) return;
  w[1] = 0;
  if (size <= 16) return;
  w[2] = 0;
  if (size <= 24) return;
  w[3] = 0;
  if (size <= 32) return;
  w[4] = 0;
  if (size <= 40) return;
  w[5] = 0;
  if (size <= 48) return;
  w[6] = 0;
  if (size <= 56) return;
  w[7] = 0;
}

/* A slot from the cached span of span class spc: null when the span's
 * current word is spent (the caller then takes the slow path). Reports the
 * span and slot index for callers that record the object's layout. */
GCH_INTERNAL_INLINE void* gch_internal_try_alloc_small(
    gch_internal_mcache* c, int spc, gch_internal_span** span_out,
    uintptr_t* idx_out) {
  gch_internal_span* s = c->alloc[spc];
  const uint64_t cache = s->alloc_cache;
  size_t size;
  uintptr_t idx;
  void* p;
  if (GCHEAP_UNLIKELY(cache == 0)) return NULL;
  s->alloc_cache = cache & (cache - 1);
  idx = s->cache_base + (uintptr_t)__builtin_ctzll(cache);
  __atomic_store_n(&s->freeindex_for_scan, (uint16_t)(idx + 1),
                   __ATOMIC_RELAXED);
  size = s->elemsize; /* read once: the stores below may alias it */
  p = (void*)(s->start_addr + idx * size);
  gch_internal_unpoison(p, size);
  if (s->needzero) gch_internal_zero_slot(p, size);
  *span_out = s;
  *idx_out = idx;
  return p;
}

/* Packs `size` bytes (1..15) into the current tiny block: null if they do
 * not fit. Aligned by the size's factors. */
GCH_INTERNAL_INLINE void* gch_internal_try_alloc_tiny(gch_internal_mcache* c,
                                                      size_t size) {
  uintptr_t off = c->tiny_offset;
  if ((size & 7) == 0) {
    off = (off + 7) & ~(uintptr_t)7;
  } else if ((size & 3) == 0) {
    off = (off + 3) & ~(uintptr_t)3;
  } else if ((size & 1) == 0) {
    off = (off + 1) & ~(uintptr_t)1;
  }
  if (GCHEAP_LIKELY(off + size <= GCH_INTERNAL_TINY_SIZE && c->tiny != 0)) {
    c->tiny_offset = off + size;
    c->tiny_allocs++;
    return (void*)(c->tiny + off);
  }
  return NULL;
}
/* A new tiny block holds a `size`-byte object at its start: keeps
 * whichever of it and the current block has more room left. */
GCH_INTERNAL_INLINE void gch_internal_keep_tiny_block(gch_internal_mcache* c,
                                                      void* block,
                                                      size_t size) {
  if (c->tiny == 0 || size < c->tiny_offset) {
    c->tiny = (uintptr_t)block;
    c->tiny_offset = size;
  }
}
/* The same, taking a new block from the cached 16-byte span's current word
 * when the request does not fit: null only when that word is spent too,
 * once per 64 blocks. */
GCH_INTERNAL_INLINE void* gch_internal_try_alloc_tiny_or_block(
    gch_internal_mcache* c, size_t size) {
  gch_internal_span* s;
  uintptr_t idx;
  void* block;
  void* p = gch_internal_try_alloc_tiny(c, size);
  if (GCHEAP_LIKELY(p != NULL)) return p;
  block = gch_internal_try_alloc_small(
      c, gch_internal_span_class(GCH_INTERNAL_TINY_SIZE_CLASS, true), &s, &idx);
  if (block != NULL) gch_internal_keep_tiny_block(c, block, size);
  return block;
}

/* One bit per word of a slot of s. */
GCH_INTERNAL_INLINE uint64_t
gch_internal_slot_words_mask(const gch_internal_span* s) {
  const size_t words = s->elemsize / 8; /* <= 64 */
  return words == 64 ? ~(uint64_t)0 : ((uint64_t)1 << words) - 1;
}

/* Records an object's layout where that needs no type bits: while every
 * object of the span has the same pointer words and no header, only the
 * span's uniform_mask says so. False if the layout is, or must turn, mixed
 * (the caller then records it in the span's type bits). */
GCH_INTERNAL_INLINE bool gch_internal_try_set_type_bits(gch_internal_span* s,
                                                        bool with_header,
                                                        uint64_t ptrmask,
                                                        const void* type) {
  const uint8_t raw = __atomic_load_n(&s->layout, __ATOMIC_RELAXED);
  const uint8_t state = raw & GCH_INTERNAL_LAYOUT_STATE_MASK;
  if (with_header) return false;
  ptrmask &= gch_internal_slot_words_mask(s);
  if (GCHEAP_LIKELY(state == GCH_INTERNAL_LAYOUT_UNIFORM &&
                    s->uniform_mask == ptrmask)) {
    return true;
  }
  if (state != GCH_INTERNAL_LAYOUT_EMPTY) return false;
  __atomic_store_n(&s->uniform_mask, ptrmask, __ATOMIC_RELAXED);
  __atomic_store_n(&s->uniform_type, type, __ATOMIC_RELAXED);
  __atomic_store_n(&s->layout, (uint8_t)(raw | GCH_INTERNAL_LAYOUT_UNIFORM),
                   __ATOMIC_RELEASE);
  return true;
}

/* Records slot idx's layout: with_header, or the pointer words ptrmask
 * (bit i = word i); type bits through the out-of-line half when needed. */
GCH_INTERNAL_INLINE void gch_internal_set_type_bits(
    gch_internal_mcache* c, gch_internal_span* s, uintptr_t idx,
    bool with_header, uint64_t ptrmask, const void* type) {
  if (GCHEAP_UNLIKELY(
          !gch_internal_try_set_type_bits(s, with_header, ptrmask, type))) {
    gch_internal_set_type_bits_slow(c, s, idx, with_header, ptrmask, type);
  }
}

/* Flags s conservative (before its first conservative object is handed
 * out): markers then check each word its type bits name. */
GCH_INTERNAL_INLINE void gch_internal_mark_conservative(gch_internal_span* s) {
  const uint8_t l = __atomic_load_n(&s->layout, __ATOMIC_RELAXED);
  if (GCHEAP_UNLIKELY(!(l & GCH_INTERNAL_LAYOUT_CONSERVATIVE))) {
    __atomic_store_n(&s->layout,
                     (uint8_t)(l | GCH_INTERNAL_LAYOUT_CONSERVATIVE),
                     __ATOMIC_RELEASE);
  }
}

/* The inline part for `size` pointer-free bytes (no header): null when the
 * slow path must run. Allocate-black needs nothing here: while the
 * collector marks, every cached span's free slots are marked already, and
 * the tiny block was taken during the mark. */
GCH_INTERNAL_INLINE void* gch_internal_alloc_noscan_fast(gch_internal_mcache* c,
                                                         size_t size) {
  gch_internal_span* s;
  uintptr_t idx;
  if (size == 0 || size > GCH_INTERNAL_MAX_SMALL_SIZE) return NULL;
  if (size < GCH_INTERNAL_TINY_SIZE) {
    return gch_internal_try_alloc_tiny_or_block(c, size);
  }
  return gch_internal_try_alloc_small(
      c, gch_internal_span_class(gch_internal_size_to_class(size), true), &s,
      &idx);
}

/* The inline part for a conservative object of `size` bytes without a
 * header: every word of the slot is named in the span's type bits. */
GCH_INTERNAL_INLINE void* gch_internal_alloc_conservative_fast(
    gch_internal_mcache* c, size_t size) {
  gch_internal_span* s;
  uintptr_t idx;
  void* p;
  if (size == 0 || size > GCH_INTERNAL_MAX_HEAP_BITS_OBJECT) return NULL;
  p = gch_internal_try_alloc_small(
      c, gch_internal_span_class(gch_internal_size_to_class(size), false), &s,
      &idx);
  if (GCHEAP_UNLIKELY(p == NULL)) return NULL;
  gch_internal_mark_conservative(s);
  gch_internal_set_type_bits(c, s, idx, false, ~(uint64_t)0, NULL);
  return p;
}

/* How an object of a type is allocated inline, decided from the type
 * alone: gch_internal_plan_of. The C++ API decides at each allocation (its
 * Types are constants the compiler sees); the C API decides once, when
 * the type is made, and keeps the plan beside it (gch_internal_c_type). */
#define GCH_INTERNAL_PLAN_SLOW 0         /* no inline path (large objects) */
#define GCH_INTERNAL_PLAN_TINY 1         /* noscan, under 16 bytes */
#define GCH_INTERNAL_PLAN_NOSCAN 2       /* noscan: a slot of span_class */
#define GCH_INTERNAL_PLAN_BITS 3         /* no header: type bits `mask` */
#define GCH_INTERNAL_PLAN_CONSERVATIVE 4 /* no header: every word named */
#define GCH_INTERNAL_PLAN_HEADER 5       /* a header word holding the type */
typedef struct gch_internal_plan {
  uint8_t path;       /* GCH_INTERNAL_PLAN_* */
  uint8_t span_class; /* all but SLOW and TINY */
} gch_internal_plan;

/* A type made by the C API: the type, then its plan. */
typedef struct gch_internal_c_type {
  gch_internal_type type;
  gch_internal_plan plan;
} gch_internal_c_type;

/* gch_internal_plan_of for a pointer-map type of `size` bytes without a
 * destructor, as a constant initializer (GCH_STATIC_TYPE). */
#define GCH_INTERNAL_POINTER_MAP_PLAN(size)                                  \
  {                                                                          \
    (uint8_t)((size) == 0 ? GCH_INTERNAL_PLAN_HEADER                         \
              : (size) <= GCH_INTERNAL_MAX_HEAP_BITS_OBJECT                  \
                  ? GCH_INTERNAL_PLAN_BITS                                   \
              : (size) + GCH_INTERNAL_OBJECT_HEADER_BYTES <=                 \
                      GCH_INTERNAL_MAX_SMALL_SIZE                            \
                  ? GCH_INTERNAL_PLAN_HEADER                                 \
                  : GCH_INTERNAL_PLAN_SLOW),                                 \
        (uint8_t)((size) != 0 && (size) <= GCH_INTERNAL_MAX_HEAP_BITS_OBJECT \
                      ? GCH_INTERNAL_SIZE_CLASS_CONST(size) << 1             \
                  : (size) + GCH_INTERNAL_OBJECT_HEADER_BYTES <=             \
                          GCH_INTERNAL_MAX_SMALL_SIZE                        \
                      ? GCH_INTERNAL_SIZE_CLASS_CONST(                       \
                            (size) + GCH_INTERNAL_OBJECT_HEADER_BYTES)       \
                            << 1                                             \
                      : 0)                                                   \
  }

GCH_INTERNAL_INLINE gch_internal_plan
gch_internal_plan_of(const gch_internal_type* t) {
  gch_internal_plan pl;
  const size_t size = t->size;
  size_t total;
  pl.path = GCH_INTERNAL_PLAN_SLOW;
  pl.span_class = 0;
  if (t->destructor == NULL) {
    if (t->kind == GCH_INTERNAL_KIND_NOSCAN) {
      if (size == 0 || size > GCH_INTERNAL_MAX_SMALL_SIZE) return pl;
      if (size < GCH_INTERNAL_TINY_SIZE) {
        pl.path = GCH_INTERNAL_PLAN_TINY;
        return pl;
      }
      pl.path = GCH_INTERNAL_PLAN_NOSCAN;
      pl.span_class = (uint8_t)gch_internal_span_class(
          gch_internal_size_to_class(size), true);
      return pl;
    }
    if ((t->kind == GCH_INTERNAL_KIND_POINTER_MAP ||
         t->kind == GCH_INTERNAL_KIND_CONSERVATIVE) &&
        size != 0 && size <= GCH_INTERNAL_MAX_HEAP_BITS_OBJECT) {
      /* A small object without a header: type bits. */
      pl.path = t->kind == GCH_INTERNAL_KIND_POINTER_MAP
                    ? GCH_INTERNAL_PLAN_BITS
                    : GCH_INTERNAL_PLAN_CONSERVATIVE;
      pl.span_class = (uint8_t)gch_internal_span_class(
          gch_internal_size_to_class(size), false);
      return pl;
    }
    if (t->kind == GCH_INTERNAL_KIND_CONSERVATIVE) return pl;
  }
  total = size + GCH_INTERNAL_OBJECT_HEADER_BYTES;
  if (total > GCH_INTERNAL_MAX_SMALL_SIZE) return pl;
  pl.path = GCH_INTERNAL_PLAN_HEADER;
  pl.span_class = (uint8_t)gch_internal_span_class(
      gch_internal_size_to_class(total), false);
  return pl;
}

/* The inline part of allocating an object of type t by its plan: null when
 * the slow path must run. */
GCH_INTERNAL_INLINE void* gch_internal_alloc_planned(gch_internal_mcache* c,
                                                     const gch_internal_type* t,
                                                     gch_internal_plan pl) {
  gch_internal_span* s;
  uintptr_t idx;
  void* p;
  /* Tests, not a switch: the common paths first, and no indirect jump
   * when the plan is not a constant (the C API). */
  if (GCHEAP_LIKELY(pl.path == GCH_INTERNAL_PLAN_BITS)) {
    p = gch_internal_try_alloc_small(c, pl.span_class, &s, &idx);
    if (GCHEAP_UNLIKELY(p == NULL)) return NULL;
    gch_internal_set_type_bits(c, s, idx, false, t->pointer_mask, t);
    return p;
  }
  if (pl.path == GCH_INTERNAL_PLAN_HEADER) {
    p = gch_internal_try_alloc_small(c, pl.span_class, &s, &idx);
    if (GCHEAP_UNLIKELY(p == NULL)) return NULL;
    *(const gch_internal_type**)p = t; /* the header: see gc/object.h */
    if (s->small_scan) gch_internal_set_type_bits(c, s, idx, true, 0, NULL);
    if (t->destructor != NULL) s->has_destructors = true;
    return (char*)p + GCH_INTERNAL_OBJECT_HEADER_BYTES;
  }
  if (pl.path == GCH_INTERNAL_PLAN_NOSCAN) {
    return gch_internal_try_alloc_small(c, pl.span_class, &s, &idx);
  }
  if (pl.path == GCH_INTERNAL_PLAN_TINY) {
    return gch_internal_try_alloc_tiny_or_block(c, t->size);
  }
  if (pl.path == GCH_INTERNAL_PLAN_CONSERVATIVE) {
    p = gch_internal_try_alloc_small(c, pl.span_class, &s, &idx);
    if (GCHEAP_UNLIKELY(p == NULL)) return NULL;
    gch_internal_mark_conservative(s);
    gch_internal_set_type_bits(c, s, idx, false, ~(uint64_t)0, NULL);
    return p;
  }
  return NULL;
}

/* The inline part of allocating an object of type t: null when the slow
 * path must run. */
GCH_INTERNAL_INLINE void* gch_internal_alloc_fast(gch_internal_mcache* c,
                                                  const gch_internal_type* t) {
  return gch_internal_alloc_planned(c, t, gch_internal_plan_of(t));
}

/* The write barrier: stores value (a heap pointer, null or any value word)
 * into *slot, a word inside a heap object, shading the old and the new
 * value while the collector marks. */
GCH_INTERNAL_INLINE void gch_internal_write_barrier(void** slot, void* value) {
#if defined(GCHEAP_DEBUG_CHECKS) && GCHEAP_DEBUG_CHECKS
  gch_internal_debug_check_store(slot, value);
#endif
  /* The test and the store are one step for a stop by signal (see
   * gch_internal_tls_in_barrier); the signal fences cost no instruction. */
  gch_internal_enter_barrier();
  if (GCHEAP_UNLIKELY(gch_internal_load_flag(gch_internal_tls_write_barrier))) {
#if defined(__x86_64__) && defined(__ELF__) &&                   \
    !defined(GCHEAP_NO_BARRIER_STUB) && !defined(GCHEAP_ASAN) && \
    !defined(GCHEAP_TSAN_OR_MSAN)
    /* Through a stub that preserves every register
     * (runtime/barrier_stub_x86_64.S), so the caller spills nothing around
     * it. Steps over the caller's red zone (the call pushes a return
     * address), and through the PLT when the stub is in a shared library:
     * r10 and r11 are left to the dynamic linker. */
    __asm__ volatile(
        "lea -128(%%rsp), %%rsp\n\t"
        "call gcheap_write_barrier_stub@PLT\n\t"
        "lea 128(%%rsp), %%rsp"
        :
        : "D"(slot), "S"(value)
        : "memory", "cc", "r10", "r11");
#else
    gch_internal_write_barrier_slow(slot, value);
#endif
  }
  /* A relaxed atomic store (a plain move on x86-64): markers may be
   * reading the slot at the same moment. */
  __atomic_store_n(slot, value, __ATOMIC_RELAXED);
  gch_internal_leave_barrier();
}

/* Copies n words from src to dst (memmove semantics), dst in a heap
 * object: the bulk barrier. In pieces of GCH_INTERNAL_COPY_PIECE words,
 * each tested and copied as one step for a stop by signal (see
 * gch_internal_tls_in_barrier), so a long copy does not hold a stop. */
#define GCH_INTERNAL_COPY_PIECE 256
GCH_INTERNAL_INLINE void gch_internal_copy_piece(void** dst, void* const* src,
                                                 size_t n, bool forward) {
  size_t i;
  gch_internal_enter_barrier();
  if (GCHEAP_UNLIKELY(gch_internal_load_flag(gch_internal_tls_write_barrier))) {
    gch_internal_copy_pointers_slow(dst, src, n);
  }
  /* Word by word (markers may read dst meanwhile), in the direction that
   * is safe for overlapping ranges. */
  if (forward) {
    for (i = 0; i < n; i++) {
      __atomic_store_n(&dst[i], __atomic_load_n(&src[i], __ATOMIC_RELAXED),
                       __ATOMIC_RELAXED);
    }
  } else {
    for (i = n; i > 0; i--) {
      __atomic_store_n(&dst[i - 1],
                       __atomic_load_n(&src[i - 1], __ATOMIC_RELAXED),
                       __ATOMIC_RELAXED);
    }
  }
  gch_internal_leave_barrier();
}
GCH_INTERNAL_INLINE void gch_internal_copy_pointers(void** dst,
                                                    void* const* src,
                                                    size_t n) {
  size_t i, k;
#if defined(GCHEAP_DEBUG_CHECKS) && GCHEAP_DEBUG_CHECKS
  for (i = 0; i < n; i++) gch_internal_debug_check_store(&dst[i], src[i]);
#endif
  if (dst < src) {
    for (i = 0; i < n; i += k) {
      k = n - i < GCH_INTERNAL_COPY_PIECE ? n - i : GCH_INTERNAL_COPY_PIECE;
      gch_internal_copy_piece(dst + i, src + i, k, true);
    }
  } else {
    for (i = n; i > 0; i -= k) {
      k = i < GCH_INTERNAL_COPY_PIECE ? i : GCH_INTERNAL_COPY_PIECE;
      gch_internal_copy_piece(dst + i - k, src + i - k, k, false);
    }
  }
}

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* GCHEAP_INTERNAL_FAST_PATH_H_ */
