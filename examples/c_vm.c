/* A tiny stack VM in C on a gcheap heap, through the C API: clox's
 * NaN-boxed values, pairs traced by a callback, lists whose items live in
 * a conservative heap array, strings interned in the VM's own weak table,
 * and the value stack, constants and globals reported by a root callback.
 * The worked example of docs/c-api.md.
 *
 *   bazel run //examples:c_vm
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gcheap/gcheap_c.h"

/* ---- Values: clox's NaN boxing ------------------------------------------ */

/* A double is itself; everything else is a quiet NaN. An object is the
 * sign bit and the quiet-NaN bits around its address. */
typedef uint64_t Value;
#define SIGN_BIT ((uint64_t)0x8000000000000000)
#define QNAN ((uint64_t)0x7ffc000000000000)
#define OBJ_TAG (SIGN_BIT | QNAN)
#define NIL_VAL ((Value)(QNAN | 1))
#define FALSE_VAL ((Value)(QNAN | 2))
#define TRUE_VAL ((Value)(QNAN | 3))

static Value number_val(double d) {
  Value v;
  memcpy(&v, &d, sizeof(v));
  return v;
}
static double as_number(Value v) {
  double d;
  memcpy(&d, &v, sizeof(d));
  return d;
}
static bool is_number(Value v) { return (v & QNAN) != QNAN; }
static bool is_obj(Value v) { return (v & OBJ_TAG) == OBJ_TAG; }
static Value obj_val(const void* object) {
  return OBJ_TAG | (uint64_t)(uintptr_t)object;
}
static void* as_obj(Value v) { return (void*)(uintptr_t)(v & ~OBJ_TAG); }

/* Every store of a value into a heap object goes through the barrier. */
static void set_value(Value* slot, Value v) {
  gch_write_barrier((void**)slot, (void*)(uintptr_t)v);
}

/* ---- Objects --------------------------------------------------------------
 * Each starts with its kind. */

typedef enum ObjKind { OBJ_STRING = 1, OBJ_PAIR, OBJ_LIST } ObjKind;

/* Bytes without pointers: allocated noscan, no type needed. */
typedef struct ObjString {
  uint64_t kind;
  uint32_t length;
  uint32_t hash;
  char chars[]; /* NUL-terminated */
} ObjString;

/* Two values: a trace callback reports them. */
typedef struct ObjPair {
  uint64_t kind;
  Value car;
  Value cdr;
} ObjPair;

/* A growable list: items is a plain pointer to a conservative heap array
 * of values (every word read and decoded), so a pointer map describes the
 * list. */
typedef struct ObjList {
  uint64_t kind;
  uint64_t count;
  uint64_t capacity;
  Value* items;
} ObjList;

static uint64_t kind_of(Value v) {
  return is_obj(v) ? *(const uint64_t*)as_obj(v) : 0;
}

/* Runs on marker threads while the VM runs: reads each field once. */
static void trace_pair(void* object, gch_visitor* visitor) {
  ObjPair* p = (ObjPair*)object;
  gch_visit_value(visitor, __atomic_load_n(&p->car, __ATOMIC_RELAXED));
  gch_visit_value(visitor, __atomic_load_n(&p->cdr, __ATOMIC_RELAXED));
}

static const gch_type* pair_type;
static const gch_type* list_type;

static void make_types(void) {
  static const size_t list_pointers[] = {offsetof(ObjList, items)};
  pair_type = gch_type_traced("Pair", sizeof(ObjPair), trace_pair);
  list_type = gch_type_pointers("List", sizeof(ObjList), list_pointers, 1);
}

/* ---- The string table: the VM's own, weak ----------------------------------
 * Open addressing in malloc memory, as clox's. It is no root: a weak
 * callback drops the strings a cycle frees. Lookups and updates run where
 * no signal stop cuts them (gch_no_signal_stop_begin/end), so the callback
 * never sees one halfway. */

#define TOMBSTONE ((ObjString*)1)

typedef struct StringTable {
  ObjString** slots; /* NULL: empty */
  uint32_t capacity; /* a power of two */
  uint32_t used;     /* live and deleted slots */
  uint32_t live;
} StringTable;

static uint32_t hash_chars(const char* chars, uint32_t length) {
  uint32_t h = 2166136261u;
  for (uint32_t i = 0; i < length; i++) h = (h ^ (uint8_t)chars[i]) * 16777619u;
  return h;
}

static ObjString* table_find(const StringTable* t, const char* chars,
                             uint32_t length, uint32_t hash) {
  if (t->capacity == 0) return NULL;
  for (uint32_t i = hash & (t->capacity - 1);;
       i = (i + 1) & (t->capacity - 1)) {
    ObjString* s = t->slots[i];
    if (s == NULL) return NULL;
    if (s != TOMBSTONE && s->hash == hash && s->length == length &&
        memcmp(s->chars, chars, length) == 0) {
      return s;
    }
  }
}

static void table_insert(StringTable* t, ObjString* s) {
  if ((t->used + 1) * 4 > t->capacity * 3) {
    uint32_t capacity = t->capacity < 16 ? 16 : t->capacity;
    while ((t->live + 1) * 2 > capacity) capacity *= 2;
    ObjString** slots = (ObjString**)calloc(capacity, sizeof(ObjString*));
    if (slots == NULL) abort();
    for (uint32_t j = 0; j < t->capacity; j++) {
      ObjString* e = t->slots[j];
      if (e == NULL || e == TOMBSTONE) continue;
      uint32_t i = e->hash & (capacity - 1);
      while (slots[i] != NULL) i = (i + 1) & (capacity - 1);
      slots[i] = e;
    }
    free(t->slots);
    t->slots = slots;
    t->capacity = capacity;
    t->used = t->live;
  }
  uint32_t i = s->hash & (t->capacity - 1);
  while (t->slots[i] != NULL && t->slots[i] != TOMBSTONE) {
    i = (i + 1) & (t->capacity - 1);
  }
  if (t->slots[i] == NULL) t->used++;
  t->slots[i] = s;
  t->live++;
}

/* The weak callback (clox's tableRemoveWhite): once per cycle, marking
 * done, the world stopped. */
static void remove_white(gch_weak_processor* weak, void* arg) {
  StringTable* t = (StringTable*)arg;
  for (uint32_t i = 0; i < t->capacity; i++) {
    ObjString* s = t->slots[i];
    if (s != NULL && s != TOMBSTONE && !gch_is_live(weak, s)) {
      t->slots[i] = TOMBSTONE;
      t->live--;
    }
  }
}

/* ---- The VM ----------------------------------------------------------------
 */

#define STACK_MAX 256
#define GLOBALS_MAX 16
#define CONSTANTS_MAX 64

typedef struct Global {
  ObjString* name;
  Value value;
} Global;

typedef struct Vm {
  gch_heap* heap;
  gch_mutator* m;
  Value stack[STACK_MAX];
  int sp;
  Value constants[CONSTANTS_MAX];
  int num_constants;
  Global globals[GLOBALS_MAX];
  int num_globals;
  StringTable strings;
} Vm;

/* The root callback: the stack, the constants and the globals. It runs
 * with the world stopped, on the collecting thread. */
static void visit_roots(gch_visitor* visitor, void* arg) {
  Vm* vm = (Vm*)arg;
  for (int i = 0; i < vm->sp; i++) gch_visit_value(visitor, vm->stack[i]);
  for (int i = 0; i < vm->num_constants; i++) {
    gch_visit_value(visitor, vm->constants[i]);
  }
  for (int i = 0; i < vm->num_globals; i++) {
    gch_visit(visitor, vm->globals[i].name);
    gch_visit_value(visitor, vm->globals[i].value);
  }
}

static void push(Vm* vm, Value v) { vm->stack[vm->sp++] = v; }
static Value pop(Vm* vm) { return vm->stack[--vm->sp]; }
static Value peek(const Vm* vm, int distance) {
  return vm->stack[vm->sp - 1 - distance];
}

/* The interned string with these bytes. The heap is precise: the result
 * must reach the VM's roots before the next allocation. */
static ObjString* intern(Vm* vm, const char* chars, uint32_t length) {
  const uint32_t hash = hash_chars(chars, length);
  gch_no_signal_stop_begin(vm->m);
  ObjString* s = table_find(&vm->strings, chars, length, hash);
  /* Found in a weak table: shaded before use, so a mark that is running
   * keeps it. */
  if (s != NULL) gch_shade(vm->m, s);
  gch_no_signal_stop_end(vm->m);
  if (s != NULL) return s;
  s = (ObjString*)gch_alloc_noscan(vm->m, sizeof(ObjString) + length + 1);
  s->kind = OBJ_STRING;
  s->length = length;
  s->hash = hash;
  memcpy(s->chars, chars, length);
  gch_no_signal_stop_begin(vm->m);
  table_insert(&vm->strings, s);
  gch_no_signal_stop_end(vm->m);
  return s;
}

static ObjString* intern_cstr(Vm* vm, const char* chars) {
  return intern(vm, chars, (uint32_t)strlen(chars));
}

static Global* find_global(Vm* vm, const ObjString* name) {
  for (int i = 0; i < vm->num_globals; i++) {
    if (vm->globals[i].name == name) return &vm->globals[i];
  }
  return NULL;
}

/* Globals live in the VM struct (a root): plain stores. */
static void set_global(Vm* vm, ObjString* name, Value v) {
  Global* g = find_global(vm, name);
  if (g == NULL) {
    g = &vm->globals[vm->num_globals++];
    g->name = name;
  }
  g->value = v;
}

static int format_value(char* buf, size_t size, Value v) {
  if (is_number(v)) return snprintf(buf, size, "%.15g", as_number(v));
  if (v == NIL_VAL) return snprintf(buf, size, "nil");
  if (v == TRUE_VAL || v == FALSE_VAL) {
    return snprintf(buf, size, v == TRUE_VAL ? "true" : "false");
  }
  switch (kind_of(v)) {
    case OBJ_STRING:
      return snprintf(buf, size, "%s", ((ObjString*)as_obj(v))->chars);
    case OBJ_PAIR:
      return snprintf(buf, size, "(pair)");
    case OBJ_LIST: {
      const ObjList* l = (const ObjList*)as_obj(v);
      int n = snprintf(buf, size, "[");
      for (uint64_t i = 0; i < l->count && i < 3; i++) {
        n += format_value(buf + n, size - n, l->items[i]);
        n += snprintf(buf + n, size - n, ", ");
      }
      return n + snprintf(buf + n, size - n, "... (%llu items)]",
                          (unsigned long long)l->count);
    }
  }
  return snprintf(buf, size, "?");
}

/* ---- Bytecode
 * ---------------------------------------------------------------- */

typedef enum Op {
  OP_CONSTANT,      /* [] -> [constants[arg]] */
  OP_NIL,           /* [] -> [nil] */
  OP_POP,           /* [a] -> [] */
  OP_GET_GLOBAL,    /* [] -> [global] (arg: the name's constant) */
  OP_SET_GLOBAL,    /* [a] -> [a], global = a */
  OP_ADD,           /* [a b] -> [a + b] */
  OP_LESS,          /* [a b] -> [a < b] */
  OP_NOT_NIL,       /* [a] -> [a != nil] */
  OP_CONS,          /* [a b] -> [(a . b)] */
  OP_CAR,           /* [(a . b)] -> [a] */
  OP_CDR,           /* [(a . b)] -> [b] */
  OP_LIST,          /* [] -> [a new list] */
  OP_APPEND,        /* [list a] -> [list], a appended */
  OP_CONCAT,        /* [a b] -> [the interned string "ab"] */
  OP_JUMP,          /* ip = arg */
  OP_JUMP_IF_FALSE, /* [c] -> [], ip = arg if c is false */
  OP_PRINT,         /* [a] -> [], a printed */
  OP_HALT
} Op;

typedef struct Chunk {
  int code[256];
  int count;
} Chunk;

static void emit(Chunk* c, Op op) { c->code[c->count++] = op; }

/* Emits op and its operand; returns where the operand is, for patching. */
static int emit_arg(Chunk* c, Op op, int arg) {
  c->code[c->count++] = op;
  c->code[c->count++] = arg;
  return c->count - 1;
}

static int add_constant(Vm* vm, Value v) {
  vm->constants[vm->num_constants] = v;
  return vm->num_constants++;
}

static int string_constant(Vm* vm, const char* chars) {
  return add_constant(vm, obj_val(intern_cstr(vm, chars)));
}

/* [list a] -> [list]. Both stay on the stack, where the root callback sees
 * them, while the items array grows. */
static void list_append(Vm* vm) {
  ObjList* list = (ObjList*)as_obj(peek(vm, 1));
  if (list->count == list->capacity) {
    const uint64_t capacity = list->capacity < 8 ? 8 : 2 * list->capacity;
    Value* items =
        (Value*)gch_alloc_conservative(vm->m, capacity * sizeof(Value));
    /* Copied with the bulk barrier; the old array stays valid for a marker
     * still reading it, until no cycle can reach it. */
    gch_copy_pointers((void**)items, (void* const*)list->items, list->count);
    gch_write_barrier((void**)&list->items, items);
    list->capacity = capacity;
  }
  set_value(&list->items[list->count], peek(vm, 0));
  list->count++;
  vm->sp--;
}

static void run(Vm* vm, const Chunk* chunk) {
  char buf[256], buf2[128];
  int ip = 0;
  for (;;) {
    const Op op = (Op)chunk->code[ip++];
    switch (op) {
      case OP_CONSTANT:
        push(vm, vm->constants[chunk->code[ip++]]);
        break;
      case OP_NIL:
        push(vm, NIL_VAL);
        break;
      case OP_POP:
        vm->sp--;
        break;
      case OP_GET_GLOBAL: {
        const Global* g = find_global(
            vm, (ObjString*)as_obj(vm->constants[chunk->code[ip++]]));
        push(vm, g != NULL ? g->value : NIL_VAL);
        break;
      }
      case OP_SET_GLOBAL:
        set_global(vm, (ObjString*)as_obj(vm->constants[chunk->code[ip++]]),
                   peek(vm, 0));
        break;
      case OP_ADD: {
        const double b = as_number(pop(vm));
        push(vm, number_val(as_number(pop(vm)) + b));
        break;
      }
      case OP_LESS: {
        const double b = as_number(pop(vm));
        push(vm, as_number(pop(vm)) < b ? TRUE_VAL : FALSE_VAL);
        break;
      }
      case OP_NOT_NIL:
        push(vm, pop(vm) != NIL_VAL ? TRUE_VAL : FALSE_VAL);
        break;
      case OP_CONS: {
        /* Allocate first: both operands are still on the stack. */
        ObjPair* p = (ObjPair*)gch_alloc(vm->m, pair_type);
        p->kind = OBJ_PAIR;
        set_value(&p->car, peek(vm, 1));
        set_value(&p->cdr, peek(vm, 0));
        vm->sp -= 2;
        push(vm, obj_val(p));
        break;
      }
      case OP_CAR:
        push(vm, ((ObjPair*)as_obj(pop(vm)))->car);
        break;
      case OP_CDR:
        push(vm, ((ObjPair*)as_obj(pop(vm)))->cdr);
        break;
      case OP_LIST: {
        ObjList* l = (ObjList*)gch_alloc(vm->m, list_type);
        l->kind = OBJ_LIST;
        push(vm, obj_val(l));
        break;
      }
      case OP_APPEND:
        list_append(vm);
        break;
      case OP_CONCAT: {
        format_value(buf, sizeof(buf) / 2, peek(vm, 1));
        format_value(buf2, sizeof(buf2), peek(vm, 0));
        strncat(buf, buf2, sizeof(buf) - strlen(buf) - 1);
        ObjString* s = intern_cstr(vm, buf); /* operands still on the stack */
        vm->sp -= 2;
        push(vm, obj_val(s));
        break;
      }
      case OP_JUMP:
        ip = chunk->code[ip];
        gch_safepoint(vm->m); /* loops that do not allocate still stop */
        break;
      case OP_JUMP_IF_FALSE: {
        const int target = chunk->code[ip++];
        if (pop(vm) == FALSE_VAL) ip = target;
        break;
      }
      case OP_PRINT:
        format_value(buf, sizeof(buf), pop(vm));
        printf("%s\n", buf);
        break;
      case OP_HALT:
        return;
    }
  }
}

/* The program, in a made-up source language:
 *
 *   n = 0; cells = nil;
 *   while (n < 100000) { n = n + 1; cells = cons(n, cells); }
 *   sum = 0; p = cells;
 *   while (p != nil) { sum = sum + car(p); p = cdr(p); }
 *   print "sum = " ++ sum;
 *   words = list(); i = 0;
 *   while (i < 1000) { append(words, "word-" ++ i); i = i + 1; }
 *   print words;
 */
static void compile(Vm* vm, Chunk* c) {
  const int n = string_constant(vm, "n"), cells = string_constant(vm, "cells");
  const int sum = string_constant(vm, "sum"), p = string_constant(vm, "p");
  const int words = string_constant(vm, "words");
  const int i = string_constant(vm, "i");
  const int sum_is = string_constant(vm, "sum = ");
  const int word = string_constant(vm, "word-");
  const int zero = add_constant(vm, number_val(0));
  const int one = add_constant(vm, number_val(1));
  const int cell_count = add_constant(vm, number_val(100000));
  const int word_count = add_constant(vm, number_val(1000));
  int loop, done;

  emit_arg(c, OP_CONSTANT, zero);
  emit_arg(c, OP_SET_GLOBAL, n);
  emit(c, OP_POP);
  emit(c, OP_NIL);
  emit_arg(c, OP_SET_GLOBAL, cells);
  emit(c, OP_POP);
  loop = c->count;
  emit_arg(c, OP_GET_GLOBAL, n);
  emit_arg(c, OP_CONSTANT, cell_count);
  emit(c, OP_LESS);
  done = emit_arg(c, OP_JUMP_IF_FALSE, 0);
  emit_arg(c, OP_GET_GLOBAL, n);
  emit_arg(c, OP_CONSTANT, one);
  emit(c, OP_ADD);
  emit_arg(c, OP_SET_GLOBAL, n);
  emit(c, OP_POP);
  emit_arg(c, OP_GET_GLOBAL, n);
  emit_arg(c, OP_GET_GLOBAL, cells);
  emit(c, OP_CONS);
  emit_arg(c, OP_SET_GLOBAL, cells);
  emit(c, OP_POP);
  emit_arg(c, OP_JUMP, loop);
  c->code[done] = c->count;

  emit_arg(c, OP_CONSTANT, zero);
  emit_arg(c, OP_SET_GLOBAL, sum);
  emit(c, OP_POP);
  emit_arg(c, OP_GET_GLOBAL, cells);
  emit_arg(c, OP_SET_GLOBAL, p);
  emit(c, OP_POP);
  loop = c->count;
  emit_arg(c, OP_GET_GLOBAL, p);
  emit(c, OP_NOT_NIL);
  done = emit_arg(c, OP_JUMP_IF_FALSE, 0);
  emit_arg(c, OP_GET_GLOBAL, sum);
  emit_arg(c, OP_GET_GLOBAL, p);
  emit(c, OP_CAR);
  emit(c, OP_ADD);
  emit_arg(c, OP_SET_GLOBAL, sum);
  emit(c, OP_POP);
  emit_arg(c, OP_GET_GLOBAL, p);
  emit(c, OP_CDR);
  emit_arg(c, OP_SET_GLOBAL, p);
  emit(c, OP_POP);
  emit_arg(c, OP_JUMP, loop);
  c->code[done] = c->count;
  emit_arg(c, OP_CONSTANT, sum_is);
  emit_arg(c, OP_GET_GLOBAL, sum);
  emit(c, OP_CONCAT);
  emit(c, OP_PRINT);

  emit(c, OP_LIST);
  emit_arg(c, OP_SET_GLOBAL, words);
  emit(c, OP_POP);
  emit_arg(c, OP_CONSTANT, zero);
  emit_arg(c, OP_SET_GLOBAL, i);
  emit(c, OP_POP);
  loop = c->count;
  emit_arg(c, OP_GET_GLOBAL, i);
  emit_arg(c, OP_CONSTANT, word_count);
  emit(c, OP_LESS);
  done = emit_arg(c, OP_JUMP_IF_FALSE, 0);
  emit_arg(c, OP_GET_GLOBAL, words);
  emit_arg(c, OP_CONSTANT, word);
  emit_arg(c, OP_GET_GLOBAL, i);
  emit(c, OP_CONCAT);
  emit(c, OP_APPEND);
  emit(c, OP_POP);
  emit_arg(c, OP_GET_GLOBAL, i);
  emit_arg(c, OP_CONSTANT, one);
  emit(c, OP_ADD);
  emit_arg(c, OP_SET_GLOBAL, i);
  emit(c, OP_POP);
  emit_arg(c, OP_JUMP, loop);
  c->code[done] = c->count;
  emit_arg(c, OP_GET_GLOBAL, words);
  emit(c, OP_PRINT);
  emit(c, OP_HALT);
}

/* ---- main ------------------------------------------------------------------
 */

static void print_stats(Vm* vm, const char* label) {
  gch_memstats s;
  gch_read_memstats(vm->heap, &s);
  printf("%-18s objects %7llu  heap_alloc %8llu  strings %5u\n", label,
         (unsigned long long)s.heap_objects, (unsigned long long)s.heap_alloc,
         vm->strings.live);
}

static Vm vm; /* the root callback's argument: a fixed address */

int main(void) {
  make_types();
  gch_options options;
  gch_options_init(&options);
  options.stack_scanning = GCH_STACK_PRECISE; /* exact counts below */
  options.values = gch_values_nan_boxed(OBJ_TAG, OBJ_TAG, ~OBJ_TAG);
  vm.heap = gch_heap_new(&options);
  vm.m = gch_attach(vm.heap);
  gch_add_root_callback(vm.heap, visit_roots, &vm);
  gch_add_weak_callback(vm.heap, remove_white, &vm.strings);

  static Chunk chunk;
  compile(&vm, &chunk);
  run(&vm, &chunk);
  gch_collect(vm.heap);
  print_stats(&vm, "after the program");

  /* Interning again finds the same object. */
  const ObjList* words = (const ObjList*)as_obj(
      find_global(&vm, intern_cstr(&vm, "words"))->value);
  printf("\"word-7\" interned once: %s\n",
         as_obj(words->items[7]) == intern_cstr(&vm, "word-7") ? "yes" : "no");

  /* Drop the list and the words: the weak callback forgets the strings. */
  set_global(&vm, intern_cstr(&vm, "cells"), NIL_VAL);
  set_global(&vm, intern_cstr(&vm, "words"), NIL_VAL);
  gch_collect(vm.heap);
  print_stats(&vm, "dropped, collected");

  gch_memstats s;
  gch_read_memstats(vm.heap, &s);
  printf("mallocs %llu frees %llu collections %u (forced %u)\n",
         (unsigned long long)s.mallocs, (unsigned long long)s.frees, s.num_gc,
         s.num_forced_gc);

  gch_remove_weak_callback(vm.heap, remove_white, &vm.strings);
  gch_remove_root_callback(vm.heap, visit_roots, &vm);
  free(vm.strings.slots);
  gch_detach(vm.heap);
  gch_heap_free(vm.heap);
  return 0;
}
