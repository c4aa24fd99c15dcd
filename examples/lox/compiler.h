/* compiler.h: source to bytecode in one pass. */
#ifndef LOX_COMPILER_H_
#define LOX_COMPILER_H_

#include "value.h"

/* The top-level script's function, or NULL after a compile error (the
 * errors are on stderr). */
ObjFunction* compile(const char* source);

#endif /* LOX_COMPILER_H_ */
