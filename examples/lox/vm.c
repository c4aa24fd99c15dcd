/* vm.c: the bytecode interpreter.
 *
 *   Vm / roots        the value stack, call frames, open upvalues, globals
 *                     and the "init" string, in one static struct, all
 *                     reported to the collector by one root callback
 *   safepoints        the VM polls (gch_safepoint) on backward jumps and
 *                     calls only; the heap sends it no stop signals, so a
 *                     stop always finds the stack consistent. Straight-line
 *                     code without calls is short, and every allocation is
 *                     a safepoint too
 *   errors            the book's runtime error report and stack trace
 *   calls             closures, natives, classes (initialisers), bound
 *                     methods, invocations
 *   upvalues          the open list, captured and closed
 *   run               the dispatch loop (computed goto with GCC/clang):
 *                     the stack top in a register (written back before
 *                     polls, allocations and calls out), slot hints in
 *                     the bytecode for property reads and method calls
 *                     (table_get_hinted), calls inlined
 *
 * No collector work in the loop otherwise: no root pushes around
 * allocations (the operands stay on the VM stack, results live in C
 * locals, which the conservative stack scan sees), and stores into heap
 * objects go through the barrier, one load and a branch while the
 * collector is idle, called out of line from the loop (store_value,
 * store_ptr) so that the loop's hot values keep their registers. */
#include "vm.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "chunk.h"
#include "compiler.h"
#include "table.h"

typedef struct CallFrame {
  ObjClosure* closure;
  uint8_t* ip;
  Value* slots;
  Value* constants; /* closure->function->chunk.constants, fixed by now */
} CallFrame;

typedef struct Vm {
  CallFrame frames[FRAMES_MAX];
  int frame_count;
  Value* stack_top;
  Table globals;
  ObjString* init_string;
  ObjUpvalue* open_upvalues;
  Value stack[STACK_MAX];
} Vm;

static Vm vm;

/* The root callback: runs with the world stopped, once per cycle. The VM
 * thread stops only at safepoints and allocations, where stack_top is
 * current. */
static void visit_roots(gch_visitor* v, void* arg) {
  (void)arg;
  for (const Value* slot = vm.stack; slot < vm.stack_top; slot++) {
    gch_visit_value(v, *slot);
  }
  for (int i = 0; i < vm.frame_count; i++) gch_visit(v, vm.frames[i].closure);
  gch_visit(v, vm.open_upvalues);
  gch_visit(v, vm.globals.entries);
  gch_visit(v, vm.init_string);
}

static void reset_stack(void) {
  vm.stack_top = vm.stack;
  vm.frame_count = 0;
  vm.open_upvalues = NULL;
}

static void push(Value v) { *vm.stack_top++ = v; }
static Value peek(int distance) { return vm.stack_top[-1 - distance]; }

static void runtime_error(const char* format, ...) {
  va_list args;
  va_start(args, format);
  vfprintf(stderr, format, args);
  va_end(args);
  fputs("\n", stderr);
  for (int i = vm.frame_count - 1; i >= 0; i--) {
    const CallFrame* frame = &vm.frames[i];
    const ObjFunction* f = frame->closure->function;
    const size_t instruction = (size_t)(frame->ip - f->chunk.code - 1);
    fprintf(stderr, "[line %d] in ", f->chunk.lines[instruction]);
    if (f->name == NULL) {
      fprintf(stderr, "script\n");
    } else {
      fprintf(stderr, "%s()\n", f->name->chars);
    }
  }
  reset_stack();
}

/* ---- Natives ------------------------------------------------------------ */

static bool clock_native(int arg_count, Value* args, Value* result) {
  (void)arg_count;
  (void)args;
  *result = NUMBER_VAL((double)clock() / CLOCKS_PER_SEC);
  return true;
}

static void define_native(const char* name, NativeFn function, int arity) {
  ObjString* s = copy_string(name, (int)strlen(name));
  ObjNative* n = new_native(function, arity);
  table_set(&vm.globals, s, OBJ_VAL(n));
}

void vm_init(void) {
  heap_init();
  reset_stack();
  gch_add_root_callback(lox_heap, visit_roots, NULL);
  vm.init_string = copy_string("init", 4);
  define_native("clock", clock_native, 0);
}

void vm_free(void) {
  gch_remove_root_callback(lox_heap, visit_roots, NULL);
  memset(&vm.globals, 0, sizeof(vm.globals));
  vm.init_string = NULL;
  heap_free();
}

void vm_print_stats(void) {
  gch_memstats s;
  gch_read_memstats(lox_heap, &s);
  uint64_t max_pause = 0;
  const uint32_t n = s.num_gc < 256 ? s.num_gc : 256;
  for (uint32_t i = 0; i < n; i++) {
    if (s.pause_ns[i] > max_pause) max_pause = s.pause_ns[i];
  }
  fprintf(stderr,
          "lox stats: num_gc %u max_pause_ns %llu pause_total_ns %llu "
          "total_alloc %llu heap_sys %llu\n",
          s.num_gc, (unsigned long long)max_pause,
          (unsigned long long)s.pause_total_ns,
          (unsigned long long)s.total_alloc, (unsigned long long)s.heap_sys);
}

/* ---- Calls ------------------------------------------------------------- */

static LOX_ALWAYS_INLINE bool call(ObjClosure* closure, int arg_count) {
  if (LOX_UNLIKELY(arg_count != closure->function->arity)) {
    runtime_error("Expected %d arguments but got %d.", closure->function->arity,
                  arg_count);
    return false;
  }
  if (LOX_UNLIKELY(vm.frame_count == FRAMES_MAX)) {
    runtime_error("Stack overflow.");
    return false;
  }
  CallFrame* frame = &vm.frames[vm.frame_count++];
  frame->closure = closure;
  frame->ip = closure->function->chunk.code;
  frame->constants = closure->function->chunk.constants;
  frame->slots = vm.stack_top - arg_count - 1;
  return true;
}

static bool call_value(Value callee, int arg_count) {
  if (IS_OBJ(callee)) {
    switch (OBJ_TYPE(callee)) {
      case OBJ_CLOSURE:
        return call(AS_CLOSURE(callee), arg_count);
      case OBJ_BOUND_METHOD: {
        const ObjBoundMethod* bound = AS_BOUND_METHOD(callee);
        vm.stack_top[-arg_count - 1] = bound->receiver;
        return call(bound->method, arg_count);
      }
      case OBJ_CLASS: {
        ObjClass* klass = AS_CLASS(callee);
        /* The class stays in its slot until the instance replaces it. */
        ObjInstance* instance = new_instance(klass);
        vm.stack_top[-arg_count - 1] = OBJ_VAL(instance);
        if (klass->init != NULL) return call(klass->init, arg_count);
        if (arg_count != 0) {
          runtime_error("Expected 0 arguments but got %d.", arg_count);
          return false;
        }
        return true;
      }
      case OBJ_NATIVE: {
        const ObjNative* native = (const ObjNative*)AS_OBJ(callee);
        if (arg_count != native->arity) {
          runtime_error("Expected %d arguments but got %d.", native->arity,
                        arg_count);
          return false;
        }
        Value result;
        if (!native->function(arg_count, vm.stack_top - arg_count, &result)) {
          return false;
        }
        vm.stack_top -= arg_count + 1;
        push(result);
        return true;
      }
      default:
        break;
    }
  }
  runtime_error("Can only call functions and classes.");
  return false;
}

static bool invoke_from_class(const ObjClass* klass, const ObjString* name,
                              int arg_count) {
  Value method;
  if (!table_get(&klass->methods, name, &method)) {
    runtime_error("Undefined property '%s'.", name->chars);
    return false;
  }
  return call(AS_CLOSURE(method), arg_count);
}

/* A method call: a field of that name, if any, else the class's method.
 * hint: the method's entry in its class's table, kept in the bytecode.
 * Unless some field shadows a method (ObjClass), a method found is the
 * answer, without looking at the fields. */
static bool invoke(const ObjString* name, int arg_count, uint8_t* hint) {
  const Value receiver = peek(arg_count);
  if (!IS_INSTANCE(receiver)) {
    runtime_error("Only instances have methods.");
    return false;
  }
  const ObjInstance* instance = AS_INSTANCE(receiver);
  Value value;
  if (!instance->klass->field_shadows_method &&
      table_get_hinted(&instance->klass->methods, name, hint, &value)) {
    return call(AS_CLOSURE(value), arg_count);
  }
  if (table_get(&instance->fields, name, &value)) {
    vm.stack_top[-arg_count - 1] = value;
    return call_value(value, arg_count);
  }
  return invoke_from_class(instance->klass, name, arg_count);
}

/* [receiver] -> [bound method]. */
static bool bind_method(const ObjClass* klass, const ObjString* name) {
  Value method;
  if (!table_get(&klass->methods, name, &method)) {
    runtime_error("Undefined property '%s'.", name->chars);
    return false;
  }
  ObjBoundMethod* bound = new_bound_method(peek(0), AS_CLOSURE(method));
  vm.stack_top[-1] = OBJ_VAL(bound);
  return true;
}

/* ---- Upvalues ------------------------------------------------------------
 */

LOX_NOINLINE static ObjUpvalue* capture_upvalue(Value* local) {
  ObjUpvalue* prev = NULL;
  ObjUpvalue* u = vm.open_upvalues;
  while (u != NULL && u->location > local) {
    prev = u;
    u = u->next;
  }
  if (u != NULL && u->location == local) return u;
  ObjUpvalue* created = new_upvalue(local);
  set_ptr(&created->next, u);
  if (prev == NULL) {
    vm.open_upvalues = created;
  } else {
    set_ptr(&prev->next, created);
  }
  return created;
}

LOX_NOINLINE static void close_upvalues(const Value* last) {
  while (vm.open_upvalues != NULL && vm.open_upvalues->location >= last) {
    ObjUpvalue* u = vm.open_upvalues;
    set_value(&u->closed, *u->location);
    set_ptr(&u->location, &u->closed);
    vm.open_upvalues = u->next;
  }
}

/* ---- Stores from the loop ------------------------------------------------
 * The loop's own stores into heap objects go through these calls, not the
 * inline barrier: the barrier's thread-local flags and compiler fences,
 * inlined into the dispatch function, cost registers the compiler then
 * takes from the loop's hot values (the frame's constants and slots
 * spilled to the stack), about 16 instructions a Lox call on fib.lox
 * (tools/bench_collector_cost.sh). A call costs the store alone. */

LOX_NOINLINE static void store_value(Value* slot, Value v) {
  set_value(slot, v);
}
LOX_NOINLINE static void store_ptr(void* slot, const void* p) {
  set_ptr(slot, p);
}

/* ---- The loop ---------------------------------------------------------- */

#if defined(__GNUC__)
#define LOX_COMPUTED_GOTO 1
#endif

static InterpretResult run(void) {
  gch_mutator* const m = lox_m;
  CallFrame* frame = &vm.frames[vm.frame_count - 1];
  uint8_t* ip = frame->ip;
  Value* constants = frame->constants;
  Value* slots = frame->slots;
  /* The stack top lives in a register: vm.stack_top is written back
   * (SYNC) before anything that allocates, polls or calls out (a
   * collection reads it, through visit_roots), and read again (RELOAD)
   * after a call that moved it. */
  Value* sp = vm.stack_top;

#define READ_BYTE() (*ip++)
#define READ_SHORT() (ip += 2, (uint16_t)((ip[-2] << 8) | ip[-1]))
#define READ_CONSTANT() (constants[READ_BYTE()])
#define READ_STRING() AS_STRING(READ_CONSTANT())
#define SAVE_IP() (frame->ip = ip)
#define LOAD_FRAME()                        \
  do {                                      \
    frame = &vm.frames[vm.frame_count - 1]; \
    ip = frame->ip;                         \
    constants = frame->constants;           \
    slots = frame->slots;                   \
  } while (0)
#define PUSH(v) (*sp++ = (v))
#define POP() (*--sp)
#define PEEK(distance) (sp[-1 - (distance)])
#define SYNC() (vm.stack_top = sp)
#define RELOAD() (sp = vm.stack_top)
#define RUNTIME_ERROR(...)          \
  do {                              \
    SAVE_IP();                      \
    SYNC();                         \
    runtime_error(__VA_ARGS__);     \
    return INTERPRET_RUNTIME_ERROR; \
  } while (0)
#define BINARY_OP(value_type, op)                         \
  do {                                                    \
    const Value b_ = sp[-1];                              \
    const Value a_ = sp[-2];                              \
    if (LOX_UNLIKELY(!IS_NUMBER(a_) || !IS_NUMBER(b_))) { \
      RUNTIME_ERROR("Operands must be numbers.");         \
    }                                                     \
    sp--;                                                 \
    sp[-1] = value_type(AS_NUMBER(a_) op AS_NUMBER(b_));  \
  } while (0)

#ifdef LOX_COMPUTED_GOTO
  static void* const dispatch_table[OP_COUNT] = {
      [OP_CONSTANT] = &&L_OP_CONSTANT,
      [OP_NIL] = &&L_OP_NIL,
      [OP_TRUE] = &&L_OP_TRUE,
      [OP_FALSE] = &&L_OP_FALSE,
      [OP_POP] = &&L_OP_POP,
      [OP_GET_LOCAL] = &&L_OP_GET_LOCAL,
      [OP_SET_LOCAL] = &&L_OP_SET_LOCAL,
      [OP_GET_GLOBAL] = &&L_OP_GET_GLOBAL,
      [OP_DEFINE_GLOBAL] = &&L_OP_DEFINE_GLOBAL,
      [OP_SET_GLOBAL] = &&L_OP_SET_GLOBAL,
      [OP_GET_UPVALUE] = &&L_OP_GET_UPVALUE,
      [OP_SET_UPVALUE] = &&L_OP_SET_UPVALUE,
      [OP_GET_PROPERTY] = &&L_OP_GET_PROPERTY,
      [OP_SET_PROPERTY] = &&L_OP_SET_PROPERTY,
      [OP_GET_SUPER] = &&L_OP_GET_SUPER,
      [OP_EQUAL] = &&L_OP_EQUAL,
      [OP_GREATER] = &&L_OP_GREATER,
      [OP_LESS] = &&L_OP_LESS,
      [OP_ADD] = &&L_OP_ADD,
      [OP_SUBTRACT] = &&L_OP_SUBTRACT,
      [OP_MULTIPLY] = &&L_OP_MULTIPLY,
      [OP_DIVIDE] = &&L_OP_DIVIDE,
      [OP_NOT] = &&L_OP_NOT,
      [OP_NEGATE] = &&L_OP_NEGATE,
      [OP_PRINT] = &&L_OP_PRINT,
      [OP_JUMP] = &&L_OP_JUMP,
      [OP_JUMP_IF_FALSE] = &&L_OP_JUMP_IF_FALSE,
      [OP_LOOP] = &&L_OP_LOOP,
      [OP_CALL] = &&L_OP_CALL,
      [OP_INVOKE] = &&L_OP_INVOKE,
      [OP_SUPER_INVOKE] = &&L_OP_SUPER_INVOKE,
      [OP_CLOSURE] = &&L_OP_CLOSURE,
      [OP_CLOSE_UPVALUE] = &&L_OP_CLOSE_UPVALUE,
      [OP_RETURN] = &&L_OP_RETURN,
      [OP_CLASS] = &&L_OP_CLASS,
      [OP_INHERIT] = &&L_OP_INHERIT,
      [OP_METHOD] = &&L_OP_METHOD,
  };
#define DISPATCH() goto* dispatch_table[*ip++]
#define CASE(op) L_##op
  DISPATCH();
#else
#define DISPATCH() goto dispatch
#define CASE(op) case op
dispatch:
  switch (*ip++) {
#endif

  CASE(OP_CONSTANT) : {
    PUSH(READ_CONSTANT());
    DISPATCH();
  }
  CASE(OP_NIL) : {
    PUSH(NIL_VAL);
    DISPATCH();
  }
  CASE(OP_TRUE) : {
    PUSH(TRUE_VAL);
    DISPATCH();
  }
  CASE(OP_FALSE) : {
    PUSH(FALSE_VAL);
    DISPATCH();
  }
  CASE(OP_POP) : {
    sp--;
    DISPATCH();
  }
  CASE(OP_GET_LOCAL) : {
    PUSH(slots[READ_BYTE()]);
    DISPATCH();
  }
  CASE(OP_SET_LOCAL) : {
    slots[READ_BYTE()] = PEEK(0);
    DISPATCH();
  }
  CASE(OP_GET_GLOBAL) : {
    const ObjString* name = READ_STRING();
    Value value;
    if (LOX_UNLIKELY(!table_get(&vm.globals, name, &value))) {
      RUNTIME_ERROR("Undefined variable '%s'.", name->chars);
    }
    PUSH(value);
    DISPATCH();
  }
  CASE(OP_DEFINE_GLOBAL) : {
    ObjString* name = READ_STRING();
    SYNC(); /* the table may grow */
    table_set(&vm.globals, name, PEEK(0));
    sp--;
    DISPATCH();
  }
  CASE(OP_SET_GLOBAL) : {
    ObjString* name = READ_STRING();
    SYNC();
    if (LOX_UNLIKELY(table_set(&vm.globals, name, PEEK(0)))) {
      table_delete(&vm.globals, name);
      RUNTIME_ERROR("Undefined variable '%s'.", name->chars);
    }
    DISPATCH();
  }
  CASE(OP_GET_UPVALUE) : {
    PUSH(*frame->closure->upvalues[READ_BYTE()]->location);
    DISPATCH();
  }
  CASE(OP_SET_UPVALUE) : {
    ObjUpvalue* u = frame->closure->upvalues[READ_BYTE()];
    /* A closed upvalue's slot is in the heap: the barrier. An open one's
     * is on the VM stack, where it costs nothing either way. */
    store_value(u->location, PEEK(0));
    DISPATCH();
  }
  CASE(OP_GET_PROPERTY) : {
    const Value receiver = PEEK(0);
    if (LOX_UNLIKELY(!IS_INSTANCE(receiver))) {
      RUNTIME_ERROR("Only instances have properties.");
    }
    const ObjInstance* instance = AS_INSTANCE(receiver);
    const ObjString* name = READ_STRING();
    uint8_t* hint = ip++;
    Value value;
    if (table_get_hinted(&instance->fields, name, hint, &value)) {
      sp[-1] = value;
      DISPATCH();
    }
    SAVE_IP();
    SYNC();
    if (!bind_method(instance->klass, name)) return INTERPRET_RUNTIME_ERROR;
    DISPATCH();
  }
  CASE(OP_SET_PROPERTY) : {
    const Value target = PEEK(1);
    if (LOX_UNLIKELY(!IS_INSTANCE(target))) {
      RUNTIME_ERROR("Only instances have fields.");
    }
    ObjInstance* instance = AS_INSTANCE(target);
    Table* fields = &instance->fields;
    ObjString* name = READ_STRING();
    SYNC(); /* the table may grow */
    if (table_set(fields, name, PEEK(0)) &&
        LOX_UNLIKELY(!instance->klass->field_shadows_method)) {
      Value method;
      if (table_get(&instance->klass->methods, name, &method)) {
        instance->klass->field_shadows_method = 1;
      }
    }
    if (LOX_UNLIKELY(fields->capacity > instance->klass->field_capacity) &&
        fields->capacity <= INSTANCE_INLINE_MAX) {
      instance->klass->field_capacity = fields->capacity;
    }
    const Value value = POP();
    sp[-1] = value;
    DISPATCH();
  }
  CASE(OP_GET_SUPER) : {
    const ObjString* name = READ_STRING();
    const ObjClass* superclass = AS_CLASS(POP());
    SAVE_IP();
    SYNC();
    if (!bind_method(superclass, name)) return INTERPRET_RUNTIME_ERROR;
    DISPATCH();
  }
  CASE(OP_EQUAL) : {
    const Value b = POP();
    sp[-1] = BOOL_VAL(values_equal(sp[-1], b));
    DISPATCH();
  }
  CASE(OP_GREATER) : {
    BINARY_OP(BOOL_VAL, >);
    DISPATCH();
  }
  CASE(OP_LESS) : {
    BINARY_OP(BOOL_VAL, <);
    DISPATCH();
  }
  CASE(OP_ADD) : {
    const Value b = sp[-1];
    const Value a = sp[-2];
    if (IS_NUMBER(a) && IS_NUMBER(b)) {
      sp--;
      sp[-1] = NUMBER_VAL(AS_NUMBER(a) + AS_NUMBER(b));
    } else if (IS_STRING(a) && IS_STRING(b)) {
      /* Both operands stay on the stack while the result is made. */
      SYNC();
      ObjString* s = concat_strings(AS_STRING(a), AS_STRING(b));
      sp--;
      sp[-1] = OBJ_VAL(s);
    } else {
      RUNTIME_ERROR("Operands must be two numbers or two strings.");
    }
    DISPATCH();
  }
  CASE(OP_SUBTRACT) : {
    BINARY_OP(NUMBER_VAL, -);
    DISPATCH();
  }
  CASE(OP_MULTIPLY) : {
    BINARY_OP(NUMBER_VAL, *);
    DISPATCH();
  }
  CASE(OP_DIVIDE) : {
    BINARY_OP(NUMBER_VAL, /);
    DISPATCH();
  }
  CASE(OP_NOT) : {
    sp[-1] = BOOL_VAL(is_falsey(sp[-1]));
    DISPATCH();
  }
  CASE(OP_NEGATE) : {
    const Value v = sp[-1];
    if (LOX_UNLIKELY(!IS_NUMBER(v))) {
      RUNTIME_ERROR("Operand must be a number.");
    }
    sp[-1] = NUMBER_VAL(-AS_NUMBER(v));
    DISPATCH();
  }
  CASE(OP_PRINT) : {
    print_value(POP());
    putchar('\n');
    DISPATCH();
  }
  CASE(OP_JUMP) : {
    const uint16_t offset = READ_SHORT();
    ip += offset;
    DISPATCH();
  }
  CASE(OP_JUMP_IF_FALSE) : {
    const uint16_t offset = READ_SHORT();
    if (is_falsey(PEEK(0))) ip += offset;
    DISPATCH();
  }
  CASE(OP_LOOP) : {
    const uint16_t offset = READ_SHORT();
    ip -= offset;
    SYNC();
    LOX_SAFEPOINT(m);
    DISPATCH();
  }
  CASE(OP_CALL) : {
    const int arg_count = READ_BYTE();
    SAVE_IP();
    SYNC();
    LOX_SAFEPOINT(m);
    if (!call_value(PEEK(arg_count), arg_count)) {
      return INTERPRET_RUNTIME_ERROR;
    }
    LOAD_FRAME();
    RELOAD();
    DISPATCH();
  }
  CASE(OP_INVOKE) : {
    const ObjString* method = READ_STRING();
    const int arg_count = READ_BYTE();
    uint8_t* hint = ip++;
    SAVE_IP();
    SYNC();
    LOX_SAFEPOINT(m);
    if (!invoke(method, arg_count, hint)) return INTERPRET_RUNTIME_ERROR;
    LOAD_FRAME();
    RELOAD();
    DISPATCH();
  }
  CASE(OP_SUPER_INVOKE) : {
    const ObjString* method = READ_STRING();
    const int arg_count = READ_BYTE();
    const ObjClass* superclass = AS_CLASS(POP());
    SAVE_IP();
    SYNC();
    LOX_SAFEPOINT(m);
    if (!invoke_from_class(superclass, method, arg_count)) {
      return INTERPRET_RUNTIME_ERROR;
    }
    LOAD_FRAME();
    RELOAD();
    DISPATCH();
  }
  CASE(OP_CLOSURE) : {
    ObjFunction* function = AS_FUNCTION(READ_CONSTANT());
    SYNC();
    ObjClosure* closure = new_closure(function);
    PUSH(OBJ_VAL(closure));
    SYNC(); /* capturing allocates upvalues */
    for (int i = 0; i < closure->upvalue_count; i++) {
      const uint8_t is_local = READ_BYTE();
      const uint8_t index = READ_BYTE();
      ObjUpvalue* u = is_local ? capture_upvalue(slots + index)
                               : frame->closure->upvalues[index];
      store_ptr(&closure->upvalues[i], u);
    }
    DISPATCH();
  }
  CASE(OP_CLOSE_UPVALUE) : {
    close_upvalues(sp - 1);
    sp--;
    DISPATCH();
  }
  CASE(OP_RETURN) : {
    const Value result = POP();
    if (vm.open_upvalues != NULL) close_upvalues(slots);
    vm.frame_count--;
    if (vm.frame_count == 0) {
      vm.stack_top = sp - 1;
      return INTERPRET_OK;
    }
    sp = slots;
    PUSH(result);
    LOAD_FRAME();
    DISPATCH();
  }
  CASE(OP_CLASS) : {
    SYNC();
    PUSH(OBJ_VAL(new_class(READ_STRING())));
    DISPATCH();
  }
  CASE(OP_INHERIT) : {
    const Value superclass = PEEK(1);
    if (LOX_UNLIKELY(!IS_CLASS(superclass))) {
      RUNTIME_ERROR("Superclass must be a class.");
    }
    ObjClass* subclass = AS_CLASS(PEEK(0));
    SYNC(); /* the table may grow */
    table_add_all(&AS_CLASS(superclass)->methods, &subclass->methods);
    store_ptr(&subclass->init, AS_CLASS(superclass)->init);
    sp--;
    DISPATCH();
  }
  CASE(OP_METHOD) : {
    ObjString* name = READ_STRING();
    const Value method = PEEK(0);
    ObjClass* klass = AS_CLASS(PEEK(1));
    SYNC(); /* the table may grow */
    table_set(&klass->methods, name, method);
    if (name == vm.init_string) store_ptr(&klass->init, AS_CLOSURE(method));
    sp--;
    DISPATCH();
  }

#ifndef LOX_COMPUTED_GOTO
}
return INTERPRET_RUNTIME_ERROR;
#endif

#undef READ_BYTE
#undef READ_SHORT
#undef READ_CONSTANT
#undef READ_STRING
#undef SAVE_IP
#undef LOAD_FRAME
#undef PUSH
#undef POP
#undef PEEK
#undef SYNC
#undef RELOAD
#undef RUNTIME_ERROR
#undef BINARY_OP
#undef DISPATCH
#undef CASE
}

InterpretResult interpret(const char* source) {
  ObjFunction* function = compile(source);
  if (function == NULL) return INTERPRET_COMPILE_ERROR;
  ObjClosure* closure = new_closure(function);
  push(OBJ_VAL(closure));
  call(closure, 0);
  return run();
}
