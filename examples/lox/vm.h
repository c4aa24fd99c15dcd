/* vm.h: the interpreter. */
#ifndef LOX_VM_H_
#define LOX_VM_H_

#include "value.h"

typedef enum InterpretResult {
  INTERPRET_OK,
  INTERPRET_COMPILE_ERROR,
  INTERPRET_RUNTIME_ERROR
} InterpretResult;

/* Makes the heap and registers the VM's roots. */
void vm_init(void);
/* Removes the roots and frees the heap. */
void vm_free(void);
/* Compiles and runs source; globals persist between calls (the REPL). */
InterpretResult interpret(const char* source);
/* Writes the collector's statistics to stderr (lox -stats). */
void vm_print_stats(void);

#endif /* LOX_VM_H_ */
