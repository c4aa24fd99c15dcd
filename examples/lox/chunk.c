/* chunk.c: growing a function's chunk. Code and line arrays are noscan
 * (copied with memcpy); the constants array holds values (copied with
 * gch_copy_pointers, the bulk barrier). The new array is stored into the
 * function through the barrier. The function itself is held by the
 * compiler, on the C stack. */
#include "chunk.h"

#include <string.h>

void chunk_write(ObjFunction* f, uint8_t byte, int line) {
  Chunk* c = &f->chunk;
  if (c->count == c->capacity) {
    const int capacity = c->capacity < 8 ? 8 : c->capacity * 2;
    uint8_t* code = alloc_bytes((size_t)capacity);
    int* lines = (int*)alloc_bytes((size_t)capacity * sizeof(int));
    if (c->count > 0) {
      memcpy(code, c->code, (size_t)c->count);
      memcpy(lines, c->lines, (size_t)c->count * sizeof(int));
    }
    set_ptr(&c->code, code);
    set_ptr(&c->lines, lines);
    c->capacity = capacity;
  }
  c->code[c->count] = byte;
  c->lines[c->count] = line;
  c->count++;
}

int chunk_add_constant(ObjFunction* f, Value value) {
  Chunk* c = &f->chunk;
  if (c->constant_count == c->constant_capacity) {
    const int capacity =
        c->constant_capacity < 8 ? 8 : c->constant_capacity * 2;
    Value* constants = alloc_values(capacity);
    gch_copy_pointers((void**)constants, (void* const*)c->constants,
                      (size_t)c->constant_count);
    set_ptr(&c->constants, constants);
    c->constant_capacity = capacity;
  }
  set_value(&c->constants[c->constant_count], value);
  return c->constant_count++;
}
