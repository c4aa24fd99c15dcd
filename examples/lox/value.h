/* value.h: Lox values and heap objects.
 *
 * Values are NaN-boxed: a double is itself; nil, true and false are quiet
 * NaNs with a small payload; an object is the sign bit and the quiet-NaN
 * bits around its address. The heap is told this encoding
 * (gch_values_nan_boxed), so it decodes values wherever it reads words
 * without a pointer map: the C stack, conservative objects, the barrier.
 *
 * Every object lives on the gcheap heap. Which gcheap type each kind has:
 *   ObjString        noscan bytes (no pointers)
 *   ObjNative        noscan (a C function pointer)
 *   ObjFunction      fixed pointer offsets (name, the chunk's arrays)
 *   ObjClosure       fixed pointer offsets, one type per upvalue count
 *                    (conservative past what a pointer map holds)
 *   ObjUpvalue       conservative (a boxed Value and pointers)
 *   ObjClass         fixed pointer offsets (name, methods, init)
 *   ObjInstance      conservative (its first field entries inline)
 *   ObjBoundMethod   conservative (a boxed receiver)
 * Arrays: chunk code and line numbers are noscan, constants and table
 * entries are conservative arrays of values.
 *
 * Every store of a pointer or a value into a heap object goes through
 * set_value / set_ptr (gch_write_barrier). */
#ifndef LOX_VALUE_H_
#define LOX_VALUE_H_

#include <string.h>

#include "common.h"
#include "gcheap/gcheap_c.h"

typedef uint64_t Value;

#define SIGN_BIT ((uint64_t)0x8000000000000000)
#define QNAN ((uint64_t)0x7ffc000000000000)
#define OBJ_TAG (SIGN_BIT | QNAN)

#define TAG_NIL 1
#define TAG_FALSE 2
#define TAG_TRUE 3

#define NIL_VAL ((Value)(uint64_t)(QNAN | TAG_NIL))
#define FALSE_VAL ((Value)(uint64_t)(QNAN | TAG_FALSE))
#define TRUE_VAL ((Value)(uint64_t)(QNAN | TAG_TRUE))
#define BOOL_VAL(b) ((b) ? TRUE_VAL : FALSE_VAL)
#define OBJ_VAL(o) ((Value)(OBJ_TAG | (uint64_t)(uintptr_t)(o)))

#define IS_NIL(v) ((v) == NIL_VAL)
#define IS_BOOL(v) (((v) | 1) == TRUE_VAL)
#define IS_NUMBER(v) (((v)&QNAN) != QNAN)
#define IS_OBJ(v) (((v)&OBJ_TAG) == OBJ_TAG)

#define AS_BOOL(v) ((v) == TRUE_VAL)
#define AS_OBJ(v) ((Obj*)(uintptr_t)((v) & ~OBJ_TAG))

static inline Value NUMBER_VAL(double d) {
  Value v;
  memcpy(&v, &d, sizeof(v));
  return v;
}
static inline double AS_NUMBER(Value v) {
  double d;
  memcpy(&d, &v, sizeof(d));
  return d;
}
static inline bool is_falsey(Value v) { return v == NIL_VAL || v == FALSE_VAL; }

/* ---- Objects ------------------------------------------------------------ */

typedef enum ObjType {
  OBJ_BOUND_METHOD = 1,
  OBJ_CLASS,
  OBJ_CLOSURE,
  OBJ_FUNCTION,
  OBJ_INSTANCE,
  OBJ_NATIVE,
  OBJ_STRING,
  OBJ_UPVALUE
} ObjType;

/* The first word of every object. */
typedef struct Obj {
  uint32_t type;
  uint32_t spare;
} Obj;

#define OBJ_TYPE(v) (AS_OBJ(v)->type)
static inline bool is_obj_type(Value v, ObjType type) {
  return IS_OBJ(v) && AS_OBJ(v)->type == (uint32_t)type;
}
#define IS_BOUND_METHOD(v) is_obj_type(v, OBJ_BOUND_METHOD)
#define IS_CLASS(v) is_obj_type(v, OBJ_CLASS)
#define IS_CLOSURE(v) is_obj_type(v, OBJ_CLOSURE)
#define IS_FUNCTION(v) is_obj_type(v, OBJ_FUNCTION)
#define IS_INSTANCE(v) is_obj_type(v, OBJ_INSTANCE)
#define IS_NATIVE(v) is_obj_type(v, OBJ_NATIVE)
#define IS_STRING(v) is_obj_type(v, OBJ_STRING)

#define AS_BOUND_METHOD(v) ((ObjBoundMethod*)AS_OBJ(v))
#define AS_CLASS(v) ((ObjClass*)AS_OBJ(v))
#define AS_CLOSURE(v) ((ObjClosure*)AS_OBJ(v))
#define AS_FUNCTION(v) ((ObjFunction*)AS_OBJ(v))
#define AS_INSTANCE(v) ((ObjInstance*)AS_OBJ(v))
#define AS_NATIVE(v) (((ObjNative*)AS_OBJ(v))->function)
#define AS_STRING(v) ((ObjString*)AS_OBJ(v))
#define AS_CSTRING(v) (((ObjString*)AS_OBJ(v))->chars)

typedef struct ObjString {
  Obj obj;
  int length;
  uint32_t hash;
  char chars[]; /* NUL-terminated */
} ObjString;

/* A hash table keyed by interned strings (table.h). The entries array is
 * a conservative gcheap array of Entry. */
typedef struct Entry {
  ObjString* key; /* NULL: empty (value 0, as allocated) or a tombstone
                     (value true) */
  Value value;
} Entry;

typedef struct Table {
  int count; /* live entries and tombstones */
  int capacity;
  Entry* entries;
} Table;

/* A chunk of bytecode (chunk.h). code and lines are noscan gcheap arrays;
 * constants a conservative array of values. */
typedef struct Chunk {
  int count;
  int capacity;
  int constant_count;
  int constant_capacity;
  uint8_t* code;
  int* lines;
  Value* constants;
} Chunk;

typedef struct ObjFunction {
  Obj obj;
  int arity;
  int upvalue_count;
  Chunk chunk;
  ObjString* name; /* NULL: the top-level script */
} ObjFunction;

typedef bool (*NativeFn)(int arg_count, Value* args, Value* result);

typedef struct ObjNative {
  Obj obj;
  int arity;
  NativeFn function;
} ObjNative;

typedef struct ObjUpvalue {
  Obj obj;
  Value* location; /* into the VM stack while open, else &closed */
  Value closed;
  struct ObjUpvalue* next; /* the VM's open list, by stack slot */
} ObjUpvalue;

typedef struct ObjClosure {
  Obj obj;
  int upvalue_count;
  int spare;
  ObjFunction* function;
  ObjUpvalue* upvalues[];
} ObjClosure;

typedef struct ObjClass {
  Obj obj;
  ObjString* name;
  ObjClosure* init; /* the initializer, cached; NULL: none */
  Table methods;
  /* The largest field table its instances needed so far: new instances
   * start with that many entries inline. */
  int64_t field_capacity;
  /* Some instance has a field named as one of the methods (which are all
   * defined before the first instance exists): only then must a method
   * call look in the instance's fields first. */
  int64_t field_shadows_method;
} ObjClass;

/* The fields table's first entries array sits inside the instance (sized
 * by the class's field_capacity), next to the fields' owner in memory;
 * a table that outgrows it moves to a separate array. */
typedef struct ObjInstance {
  Obj obj;
  ObjClass* klass;
  Table fields;
  Entry inline_fields[];
} ObjInstance;

#define INSTANCE_INLINE_MAX 64

typedef struct ObjBoundMethod {
  Obj obj;
  Value receiver;
  ObjClosure* method;
} ObjBoundMethod;

/* ---- The heap ------------------------------------------------------------
 * One heap, one mutator (the VM's thread), made by heap_init. */

extern gch_heap* lox_heap;
extern gch_mutator* lox_m;

/* Creates the heap with the VM's options (NaN-boxed values). */
void heap_init(void);
/* Frees it (after the VM removed its roots). */
void heap_free(void);

/* The collector's hooks in the VM: the barrier on every store of a value
 * or a pointer into a heap object, and the poll (vm.c).
 *
 * Built with LOX_NO_COLLECTOR (for measuring only: what the hooks cost,
 * tools/bench_collector_cost.sh), the heap never collects (gc_percent -1,
 * heap_init) and the hooks compile to plain stores and nothing; the same
 * VM on the same allocator, with no collector to serve. */
#ifdef LOX_NO_COLLECTOR
#define LOX_SAFEPOINT(m) ((void)(m))
static inline void set_value(Value* slot, Value v) { *slot = v; }
static inline void set_ptr(void* slot, const void* p) {
  *(const void**)slot = p;
}
#else
#define LOX_SAFEPOINT(m) gch_safepoint(m)
static inline void set_value(Value* slot, Value v) {
  gch_write_barrier((void**)slot, (void*)(uintptr_t)v);
}
static inline void set_ptr(void* slot, const void* p) {
  gch_write_barrier((void**)slot, (void*)(uintptr_t)p);
}
#endif

/* Arrays. Each is zeroed. */
Value* alloc_values(int count);
uint8_t* alloc_bytes(size_t count);
Entry* alloc_entries(int count);

ObjBoundMethod* new_bound_method(Value receiver, ObjClosure* method);
ObjClass* new_class(ObjString* name);
ObjClosure* new_closure(ObjFunction* function);
ObjFunction* new_function(void);
ObjInstance* new_instance(ObjClass* klass);
ObjNative* new_native(NativeFn function, int arity);
ObjUpvalue* new_upvalue(Value* slot);

/* Interned strings: the one string with these characters. */
ObjString* copy_string(const char* chars, int length);
/* The interned concatenation of a and b. */
ObjString* concat_strings(const ObjString* a, const ObjString* b);
uint32_t hash_string(const char* chars, int length);

void print_value(Value v);
static inline bool values_equal(Value a, Value b) {
  if (IS_NUMBER(a) && IS_NUMBER(b)) return AS_NUMBER(a) == AS_NUMBER(b);
  return a == b;
}

#endif /* LOX_VALUE_H_ */
