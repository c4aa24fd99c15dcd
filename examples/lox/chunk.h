/* chunk.h: bytecode. The opcodes, and appending code and constants to a
 * function's chunk (whose arrays are gcheap arrays, grown by copy). */
#ifndef LOX_CHUNK_H_
#define LOX_CHUNK_H_

#include "value.h"

typedef enum OpCode {
  OP_CONSTANT,
  OP_NIL,
  OP_TRUE,
  OP_FALSE,
  OP_POP,
  OP_GET_LOCAL,
  OP_SET_LOCAL,
  OP_GET_GLOBAL,
  OP_DEFINE_GLOBAL,
  OP_SET_GLOBAL,
  OP_GET_UPVALUE,
  OP_SET_UPVALUE,
  OP_GET_PROPERTY, /* name, slot hint: see vm.c */
  OP_SET_PROPERTY,
  OP_GET_SUPER,
  OP_EQUAL,
  OP_GREATER,
  OP_LESS,
  OP_ADD,
  OP_SUBTRACT,
  OP_MULTIPLY,
  OP_DIVIDE,
  OP_NOT,
  OP_NEGATE,
  OP_PRINT,
  OP_JUMP,
  OP_JUMP_IF_FALSE,
  OP_LOOP,
  OP_CALL,
  OP_INVOKE, /* name, argument count, slot hint */
  OP_SUPER_INVOKE,
  OP_CLOSURE,
  OP_CLOSE_UPVALUE,
  OP_RETURN,
  OP_CLASS,
  OP_INHERIT,
  OP_METHOD,
  OP_COUNT
} OpCode;

/* Appends a byte of code (of source line `line`) to f's chunk. */
void chunk_write(ObjFunction* f, uint8_t byte, int line);
/* Appends a constant; returns its index. */
int chunk_add_constant(ObjFunction* f, Value value);

#endif /* LOX_CHUNK_H_ */
