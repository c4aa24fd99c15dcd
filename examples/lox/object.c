/* object.c: the heap and the objects on it.
 *
 *   heap_init          the gcheap heap: NaN-boxed values, the VM's
 *                      safepoints (no signal stops), GCHEAP_DEBUG applies
 *   types              one gcheap type per object layout, made once
 *   alloc_* / new_*    arrays and objects (zeroed; stores through the
 *                      barrier)
 *   strings            interned in a gcheap weak set: a string nobody
 *                      holds vanishes from it at the next cycle
 *   print_value        the book's output format
 *
 * Nothing here protects a new object from the collector: the thread's
 * stack is scanned conservatively (values in C locals are decoded), and
 * everything the VM keeps is reported by its root callback (vm.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "value.h"

gch_heap* lox_heap;
gch_mutator* lox_m;
static gch_weak_set* strings;

static const gch_type* function_type;
static const gch_type* upvalue_type;
static const gch_type* class_type;
static const gch_type* bound_method_type;

/* Closures with n upvalues: pointers at the function and each upvalue.
 * A pointer map covers the first 64 words; larger closures are
 * conservative. Made on first use. */
#define CLOSURE_TYPED_MAX 60
static const gch_type* closure_types[CLOSURE_TYPED_MAX + 1];

static void make_types(void) {
  static const size_t function_pointers[] = {
      offsetof(ObjFunction, chunk.code), offsetof(ObjFunction, chunk.lines),
      offsetof(ObjFunction, chunk.constants), offsetof(ObjFunction, name)};
  static const size_t class_pointers[] = {offsetof(ObjClass, name),
                                          offsetof(ObjClass, init),
                                          offsetof(ObjClass, methods.entries)};
  function_type = gch_type_pointers("LoxFunction", sizeof(ObjFunction),
                                    function_pointers, 4);
  class_type =
      gch_type_pointers("LoxClass", sizeof(ObjClass), class_pointers, 3);
  upvalue_type = gch_type_conservative("LoxUpvalue", sizeof(ObjUpvalue));
  bound_method_type =
      gch_type_conservative("LoxBoundMethod", sizeof(ObjBoundMethod));
}

static const gch_type* closure_type(int upvalues) {
  const gch_type* t = closure_types[upvalues];
  if (t == NULL) {
    size_t offsets[CLOSURE_TYPED_MAX + 1];
    offsets[0] = offsetof(ObjClosure, function);
    for (int i = 0; i < upvalues; i++) {
      offsets[i + 1] = offsetof(ObjClosure, upvalues) + (size_t)i * 8;
    }
    t = gch_type_pointers(
        "LoxClosure",
        sizeof(ObjClosure) + (size_t)upvalues * sizeof(ObjUpvalue*), offsets,
        (size_t)upvalues + 1);
    closure_types[upvalues] = t;
  }
  return t;
}

void heap_init(void) {
  make_types();
  gch_options options;
  gch_options_init(&options);
  options.values = gch_values_nan_boxed(OBJ_TAG, OBJ_TAG, ~OBJ_TAG);
  /* One thread: it polls at every call and backward jump (vm.c), so no
   * stop ever finds it halfway through an instruction. */
  options.preempt_signal = 0;
  /* A script's heap is small: its goal is at least 256 KB, not Go's 4 MB
   * (clox collects first at 1 MB). Under small_heap (512 KB by default)
   * each cycle stops the world and marks at once on this thread, which
   * costs less than a concurrent cycle's hand-offs: a heap this small
   * collects often and cheaply, in the cache, at a small footprint. */
  options.heap_minimum = 256 << 10;
  /* GOGC 90, not 100: a peak heap a tenth smaller (binary_trees: 24.3 MB
   * against 25.5 MB at 100, clox 25.3 MB) for a few more, cheap, cycles. */
  options.gc_percent = 90;
  /* Huge pages once the heap holds 32 MiB (gcheap's default is never): a
   * large script heap, walked again and again, takes fewer page faults
   * and TLB misses (trees: 1.33 -> 1.23 s). A first touch that compacts
   * memory for a huge page delays only this thread; there is no other
   * thread for a stop to wait for. */
  options.huge_pages_above = (size_t)32 << 20;
#ifdef LOX_NO_COLLECTOR
  options.gc_percent = -1; /* value.h: no barrier, no polls, no cycles */
#endif
  lox_heap = gch_heap_new(&options);
  lox_m = gch_attach(lox_heap);
  strings = gch_weak_set_new(lox_heap);
}

void heap_free(void) {
  gch_weak_set_free(strings);
  strings = NULL;
  gch_detach(lox_heap);
  gch_heap_free(lox_heap);
  lox_heap = NULL;
  lox_m = NULL;
}

/* ---- Arrays ---------------------------------------------------------- */

Value* alloc_values(int count) {
  return (Value*)gch_alloc_conservative(lox_m, (size_t)count * sizeof(Value));
}

uint8_t* alloc_bytes(size_t count) {
  return (uint8_t*)gch_alloc_noscan(lox_m, count);
}

Entry* alloc_entries(int count) {
  return (Entry*)gch_alloc_conservative(lox_m, (size_t)count * sizeof(Entry));
}

/* ---- Objects ----------------------------------------------------------- */

ObjBoundMethod* new_bound_method(Value receiver, ObjClosure* method) {
  ObjBoundMethod* b = (ObjBoundMethod*)gch_alloc(lox_m, bound_method_type);
  b->obj.type = OBJ_BOUND_METHOD;
  set_value(&b->receiver, receiver);
  set_ptr(&b->method, method);
  return b;
}

ObjClass* new_class(ObjString* name) {
  ObjClass* c = (ObjClass*)gch_alloc(lox_m, class_type);
  c->obj.type = OBJ_CLASS;
  set_ptr(&c->name, name);
  return c;
}

ObjClosure* new_closure(ObjFunction* function) {
  const int n = function->upvalue_count;
  ObjClosure* c;
  if (n <= CLOSURE_TYPED_MAX) {
    c = (ObjClosure*)gch_alloc(lox_m, closure_type(n));
  } else {
    c = (ObjClosure*)gch_alloc_conservative(
        lox_m, sizeof(ObjClosure) + (size_t)n * sizeof(ObjUpvalue*));
  }
  c->obj.type = OBJ_CLOSURE;
  c->upvalue_count = n;
  set_ptr(&c->function, function);
  return c;
}

ObjFunction* new_function(void) {
  ObjFunction* f = (ObjFunction*)gch_alloc(lox_m, function_type);
  f->obj.type = OBJ_FUNCTION;
  return f;
}

ObjInstance* new_instance(ObjClass* klass) {
  const int capacity = (int)klass->field_capacity;
  ObjInstance* i = (ObjInstance*)gch_alloc_conservative(
      lox_m, sizeof(ObjInstance) + (size_t)capacity * sizeof(Entry));
  i->obj.type = OBJ_INSTANCE;
  set_ptr(&i->klass, klass);
  if (capacity > 0) {
    /* Zeroed entries are empty ones. */
    set_ptr(&i->fields.entries, i->inline_fields);
    i->fields.capacity = capacity;
  }
  return i;
}

ObjNative* new_native(NativeFn function, int arity) {
  ObjNative* n = (ObjNative*)gch_alloc_noscan(lox_m, sizeof(ObjNative));
  n->obj.type = OBJ_NATIVE;
  n->arity = arity;
  n->function = function;
  return n;
}

ObjUpvalue* new_upvalue(Value* slot) {
  ObjUpvalue* u = (ObjUpvalue*)gch_alloc(lox_m, upvalue_type);
  u->obj.type = OBJ_UPVALUE;
  u->closed = NIL_VAL;
  /* location points into the VM stack (not the heap): a plain store. */
  u->location = slot;
  return u;
}

/* ---- Strings ------------------------------------------------------------ */

uint32_t hash_string(const char* chars, int length) {
  uint32_t hash = 2166136261u;
  for (int i = 0; i < length; i++) {
    hash ^= (uint8_t)chars[i];
    hash *= 16777619u;
  }
  return hash;
}

typedef struct StringKey {
  const char* chars;
  int length;
  uint32_t hash;
} StringKey;

static bool string_eq(const void* object, void* ctx) {
  const ObjString* s = (const ObjString*)object;
  const StringKey* k = (const StringKey*)ctx;
  return s->hash == k->hash && s->length == k->length &&
         memcmp(s->chars, k->chars, (size_t)k->length) == 0;
}

static void* string_make(gch_mutator* m, void* ctx) {
  const StringKey* k = (const StringKey*)ctx;
  ObjString* s = (ObjString*)gch_alloc_noscan(
      m, sizeof(ObjString) + (size_t)k->length + 1);
  s->obj.type = OBJ_STRING;
  s->length = k->length;
  s->hash = k->hash;
  memcpy(s->chars, k->chars, (size_t)k->length);
  s->chars[k->length] = '\0';
  return s;
}

static ObjString* intern(const char* chars, int length, uint32_t hash) {
  StringKey key = {chars, length, hash};
  return (ObjString*)gch_weak_set_find_or_insert(strings, lox_m, hash,
                                                 string_eq, string_make, &key);
}

ObjString* copy_string(const char* chars, int length) {
  return intern(chars, length, hash_string(chars, length));
}

ObjString* concat_strings(const ObjString* a, const ObjString* b) {
  const int length = a->length + b->length;
  char small[256];
  char* buf =
      length <= (int)sizeof(small) ? small : (char*)malloc((size_t)length);
  if (buf == NULL) {
    fprintf(stderr, "out of memory\n");
    exit(74);
  }
  memcpy(buf, a->chars, (size_t)a->length);
  memcpy(buf + a->length, b->chars, (size_t)b->length);
  ObjString* s = copy_string(buf, length);
  if (buf != small) free(buf);
  return s;
}

/* ---- Printing -------------------------------------------------------------
 */

static void print_function(const ObjFunction* f) {
  if (f->name == NULL) {
    printf("<script>");
  } else {
    printf("<fn %s>", f->name->chars);
  }
}

void print_value(Value v) {
  if (IS_NUMBER(v)) {
    printf("%g", AS_NUMBER(v));
    return;
  }
  if (v == NIL_VAL) {
    printf("nil");
    return;
  }
  if (IS_BOOL(v)) {
    printf(AS_BOOL(v) ? "true" : "false");
    return;
  }
  switch (OBJ_TYPE(v)) {
    case OBJ_BOUND_METHOD:
      print_function(AS_BOUND_METHOD(v)->method->function);
      break;
    case OBJ_CLASS:
      printf("%s", AS_CLASS(v)->name->chars);
      break;
    case OBJ_CLOSURE:
      print_function(AS_CLOSURE(v)->function);
      break;
    case OBJ_FUNCTION:
      print_function(AS_FUNCTION(v));
      break;
    case OBJ_INSTANCE:
      printf("%s instance", AS_INSTANCE(v)->klass->name->chars);
      break;
    case OBJ_NATIVE:
      printf("<native fn>");
      break;
    case OBJ_STRING:
      printf("%s", AS_CSTRING(v));
      break;
    case OBJ_UPVALUE:
      printf("upvalue");
      break;
  }
}
