/* main.c: the lox program.
 *
 *   lox [-stats] [path]
 *
 * With a path: runs the file; exit status 65 after a compile error, 70
 * after a runtime error, 74 when the file cannot be read. Without: a REPL
 * (each line a program; globals persist). -stats writes the collector's
 * counts (collections, longest pause) to stderr at exit. Wrong arguments:
 * status 64. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm.h"

static void repl(void) {
  char line[1024];
  for (;;) {
    printf("> ");
    fflush(stdout);
    /* Waiting for input: the heap may collect without this thread. */
    gch_blocking_begin(lox_m);
    const bool got = fgets(line, sizeof(line), stdin) != NULL;
    gch_blocking_end(lox_m);
    if (!got) {
      printf("\n");
      break;
    }
    interpret(line);
  }
}

static char* read_file(const char* path) {
  FILE* file = fopen(path, "rb");
  if (file == NULL) {
    fprintf(stderr, "Could not open file \"%s\".\n", path);
    exit(74);
  }
  fseek(file, 0L, SEEK_END);
  const long size = ftell(file);
  rewind(file);
  char* buffer = (char*)malloc((size_t)size + 1);
  if (buffer == NULL || size < 0) {
    fprintf(stderr, "Not enough memory to read \"%s\".\n", path);
    exit(74);
  }
  const size_t read = fread(buffer, 1, (size_t)size, file);
  if (read < (size_t)size) {
    fprintf(stderr, "Could not read file \"%s\".\n", path);
    exit(74);
  }
  buffer[read] = '\0';
  fclose(file);
  return buffer;
}

static int run_file(const char* path) {
  char* source = read_file(path);
  const InterpretResult result = interpret(source);
  free(source);
  if (result == INTERPRET_COMPILE_ERROR) return 65;
  if (result == INTERPRET_RUNTIME_ERROR) return 70;
  return 0;
}

int main(int argc, const char* argv[]) {
  bool stats = false;
  int first = 1;
  if (argc > 1 && strcmp(argv[1], "-stats") == 0) {
    stats = true;
    first = 2;
  }
  const int rest = argc - first;
  if (rest > 1) {
    fprintf(stderr, "Usage: lox [-stats] [path]\n");
    return 64;
  }
  vm_init();
  int status = 0;
  if (rest == 0) {
    repl();
  } else {
    status = run_file(argv[first]);
  }
  fflush(stdout);
  if (stats) vm_print_stats();
  vm_free();
  return status;
}
