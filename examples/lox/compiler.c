/* compiler.c: the single-pass compiler, a Pratt parser emitting bytecode.
 *
 *   parser state      current/previous token, error flags
 *   FunctionState     one per function being compiled: its ObjFunction,
 *                     locals, upvalues, scope depth; a C local of the
 *                     function that compiles it, chained to the enclosing
 *                     one, so the conservative stack scan keeps every
 *                     function in progress (and its constants) alive
 *   ClassState        the classes being compiled (for this/super checks)
 *   emitting          bytes, constants, jumps, loops
 *   expressions       the rule table and its parse functions
 *   statements and declarations
 *
 * Error messages and recovery follow the book: "[line N] Error at 'x':
 * message", one per statement, then synchronisation at the next
 * statement boundary. */
#include "compiler.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chunk.h"
#include "scanner.h"

typedef struct Parser {
  Token current;
  Token previous;
  bool had_error;
  bool panic_mode;
} Parser;

typedef enum Precedence {
  PREC_NONE,
  PREC_ASSIGNMENT, /* = */
  PREC_OR,         /* or */
  PREC_AND,        /* and */
  PREC_EQUALITY,   /* == != */
  PREC_COMPARISON, /* < > <= >= */
  PREC_TERM,       /* + - */
  PREC_FACTOR,     /* * / */
  PREC_UNARY,      /* ! - */
  PREC_CALL,       /* . () */
  PREC_PRIMARY
} Precedence;

typedef void (*ParseFn)(bool can_assign);

typedef struct ParseRule {
  ParseFn prefix;
  ParseFn infix;
  Precedence precedence;
} ParseRule;

typedef struct Local {
  Token name;
  int depth; /* -1: declared, not yet initialised */
  bool captured;
} Local;

typedef struct UpvalueRef {
  uint8_t index;
  bool is_local;
} UpvalueRef;

typedef enum FunctionKind {
  KIND_FUNCTION,
  KIND_INITIALIZER,
  KIND_METHOD,
  KIND_SCRIPT
} FunctionKind;

typedef struct FunctionState {
  struct FunctionState* enclosing;
  ObjFunction* function;
  FunctionKind kind;
  Local locals[UINT8_COUNT];
  int local_count;
  UpvalueRef upvalues[UINT8_COUNT];
  int scope_depth;
} FunctionState;

typedef struct ClassState {
  struct ClassState* enclosing;
  bool has_superclass;
} ClassState;

static Parser parser;
static FunctionState* current = NULL;
static ClassState* current_class = NULL;

/* ---- Errors ----------------------------------------------------------- */

static void error_at(const Token* token, const char* message) {
  if (parser.panic_mode) return;
  parser.panic_mode = true;
  fprintf(stderr, "[line %d] Error", token->line);
  if (token->type == TOKEN_EOF) {
    fprintf(stderr, " at end");
  } else if (token->type != TOKEN_ERROR) {
    fprintf(stderr, " at '%.*s'", token->length, token->start);
  }
  fprintf(stderr, ": %s\n", message);
  parser.had_error = true;
}

static void error(const char* message) { error_at(&parser.previous, message); }
static void error_at_current(const char* message) {
  error_at(&parser.current, message);
}

/* ---- Tokens ------------------------------------------------------------- */

static void advance(void) {
  parser.previous = parser.current;
  for (;;) {
    parser.current = scan_token();
    if (parser.current.type != TOKEN_ERROR) break;
    error_at_current(parser.current.start);
  }
}

static void consume(TokenType type, const char* message) {
  if (parser.current.type == type) {
    advance();
    return;
  }
  error_at_current(message);
}

static bool check(TokenType type) { return parser.current.type == type; }

static bool match(TokenType type) {
  if (!check(type)) return false;
  advance();
  return true;
}

/* ---- Emitting ------------------------------------------------------------ */

static ObjFunction* current_function(void) { return current->function; }

static void emit_byte(uint8_t byte) {
  chunk_write(current_function(), byte, parser.previous.line);
}

static void emit_bytes(uint8_t a, uint8_t b) {
  emit_byte(a);
  emit_byte(b);
}

static void emit_loop(int loop_start) {
  emit_byte(OP_LOOP);
  const int offset = current_function()->chunk.count - loop_start + 2;
  if (offset > UINT16_MAX) error("Loop body too large.");
  emit_byte((uint8_t)((offset >> 8) & 0xff));
  emit_byte((uint8_t)(offset & 0xff));
}

static int emit_jump(uint8_t op) {
  emit_byte(op);
  emit_byte(0xff);
  emit_byte(0xff);
  return current_function()->chunk.count - 2;
}

static void patch_jump(int offset) {
  Chunk* c = &current_function()->chunk;
  const int jump = c->count - offset - 2;
  if (jump > UINT16_MAX) error("Too much code to jump over.");
  c->code[offset] = (uint8_t)((jump >> 8) & 0xff);
  c->code[offset + 1] = (uint8_t)(jump & 0xff);
}

static void emit_return(void) {
  if (current->kind == KIND_INITIALIZER) {
    emit_bytes(OP_GET_LOCAL, 0);
  } else {
    emit_byte(OP_NIL);
  }
  emit_byte(OP_RETURN);
}

static uint8_t make_constant(Value value) {
  const int index = chunk_add_constant(current_function(), value);
  if (index > UINT8_MAX) {
    error("Too many constants in one chunk.");
    return 0;
  }
  return (uint8_t)index;
}

static void emit_constant(Value value) {
  emit_bytes(OP_CONSTANT, make_constant(value));
}

/* ---- Functions in progress --------------------------------------------- */

static void function_begin(FunctionState* fs, FunctionKind kind) {
  fs->enclosing = current;
  fs->function = NULL;
  fs->kind = kind;
  fs->local_count = 0;
  fs->scope_depth = 0;
  fs->function = new_function();
  current = fs;
  if (kind != KIND_SCRIPT) {
    set_ptr(&fs->function->name,
            copy_string(parser.previous.start, parser.previous.length));
  }
  /* Slot 0: the callee, or `this` in methods. */
  Local* local = &fs->locals[fs->local_count++];
  local->depth = 0;
  local->captured = false;
  if (kind != KIND_FUNCTION) {
    local->name.start = "this";
    local->name.length = 4;
  } else {
    local->name.start = "";
    local->name.length = 0;
  }
}

static ObjFunction* function_end(void) {
  emit_return();
  ObjFunction* f = current->function;
  current = current->enclosing;
  return f;
}

static void begin_scope(void) { current->scope_depth++; }

static void end_scope(void) {
  current->scope_depth--;
  while (current->local_count > 0 &&
         current->locals[current->local_count - 1].depth >
             current->scope_depth) {
    if (current->locals[current->local_count - 1].captured) {
      emit_byte(OP_CLOSE_UPVALUE);
    } else {
      emit_byte(OP_POP);
    }
    current->local_count--;
  }
}

/* ---- Variables ------------------------------------------------------------
 */

static void expression(void);
static void statement(void);
static void declaration(void);
static const ParseRule* get_rule(TokenType type);
static void parse_precedence(Precedence precedence);

static uint8_t identifier_constant(const Token* name) {
  return make_constant(OBJ_VAL(copy_string(name->start, name->length)));
}

static bool identifiers_equal(const Token* a, const Token* b) {
  return a->length == b->length &&
         memcmp(a->start, b->start, (size_t)a->length) == 0;
}

static int resolve_local(FunctionState* fs, const Token* name) {
  for (int i = fs->local_count - 1; i >= 0; i--) {
    const Local* local = &fs->locals[i];
    if (identifiers_equal(name, &local->name)) {
      if (local->depth == -1) {
        error("Can't read local variable in its own initializer.");
      }
      return i;
    }
  }
  return -1;
}

static int add_upvalue(FunctionState* fs, uint8_t index, bool is_local) {
  const int count = fs->function->upvalue_count;
  for (int i = 0; i < count; i++) {
    const UpvalueRef* u = &fs->upvalues[i];
    if (u->index == index && u->is_local == is_local) return i;
  }
  if (count == UINT8_COUNT) {
    error("Too many closure variables in function.");
    return 0;
  }
  fs->upvalues[count].is_local = is_local;
  fs->upvalues[count].index = index;
  return fs->function->upvalue_count++;
}

static int resolve_upvalue(FunctionState* fs, const Token* name) {
  if (fs->enclosing == NULL) return -1;
  const int local = resolve_local(fs->enclosing, name);
  if (local != -1) {
    fs->enclosing->locals[local].captured = true;
    return add_upvalue(fs, (uint8_t)local, true);
  }
  const int upvalue = resolve_upvalue(fs->enclosing, name);
  if (upvalue != -1) return add_upvalue(fs, (uint8_t)upvalue, false);
  return -1;
}

static void add_local(Token name) {
  if (current->local_count == UINT8_COUNT) {
    error("Too many local variables in function.");
    return;
  }
  Local* local = &current->locals[current->local_count++];
  local->name = name;
  local->depth = -1;
  local->captured = false;
}

static void declare_variable(void) {
  if (current->scope_depth == 0) return;
  const Token* name = &parser.previous;
  for (int i = current->local_count - 1; i >= 0; i--) {
    const Local* local = &current->locals[i];
    if (local->depth != -1 && local->depth < current->scope_depth) break;
    if (identifiers_equal(name, &local->name)) {
      error("Already a variable with this name in this scope.");
    }
  }
  add_local(*name);
}

static uint8_t parse_variable(const char* message) {
  consume(TOKEN_IDENTIFIER, message);
  declare_variable();
  if (current->scope_depth > 0) return 0;
  return identifier_constant(&parser.previous);
}

static void mark_initialized(void) {
  if (current->scope_depth == 0) return;
  current->locals[current->local_count - 1].depth = current->scope_depth;
}

static void define_variable(uint8_t global) {
  if (current->scope_depth > 0) {
    mark_initialized();
    return;
  }
  emit_bytes(OP_DEFINE_GLOBAL, global);
}

static void named_variable(Token name, bool can_assign) {
  uint8_t get_op, set_op;
  int arg = resolve_local(current, &name);
  if (arg != -1) {
    get_op = OP_GET_LOCAL;
    set_op = OP_SET_LOCAL;
  } else if ((arg = resolve_upvalue(current, &name)) != -1) {
    get_op = OP_GET_UPVALUE;
    set_op = OP_SET_UPVALUE;
  } else {
    arg = identifier_constant(&name);
    get_op = OP_GET_GLOBAL;
    set_op = OP_SET_GLOBAL;
  }
  if (can_assign && match(TOKEN_EQUAL)) {
    expression();
    emit_bytes(set_op, (uint8_t)arg);
  } else {
    emit_bytes(get_op, (uint8_t)arg);
  }
}

static Token synthetic_token(const char* text) {
  Token t;
  t.type = TOKEN_IDENTIFIER;
  t.start = text;
  t.length = (int)strlen(text);
  t.line = parser.previous.line;
  return t;
}

/* ---- Expressions ------------------------------------------------------- */

static uint8_t argument_list(void) {
  int count = 0;
  if (!check(TOKEN_RIGHT_PAREN)) {
    do {
      expression();
      if (count == 255) error("Can't have more than 255 arguments.");
      count++;
    } while (match(TOKEN_COMMA));
  }
  consume(TOKEN_RIGHT_PAREN, "Expect ')' after arguments.");
  return (uint8_t)count;
}

static void and_(bool can_assign) {
  (void)can_assign;
  const int end = emit_jump(OP_JUMP_IF_FALSE);
  emit_byte(OP_POP);
  parse_precedence(PREC_AND);
  patch_jump(end);
}

static void or_(bool can_assign) {
  (void)can_assign;
  const int else_jump = emit_jump(OP_JUMP_IF_FALSE);
  const int end_jump = emit_jump(OP_JUMP);
  patch_jump(else_jump);
  emit_byte(OP_POP);
  parse_precedence(PREC_OR);
  patch_jump(end_jump);
}

static void binary(bool can_assign) {
  (void)can_assign;
  const TokenType op = parser.previous.type;
  parse_precedence((Precedence)(get_rule(op)->precedence + 1));
  switch (op) {
    case TOKEN_BANG_EQUAL:
      emit_bytes(OP_EQUAL, OP_NOT);
      break;
    case TOKEN_EQUAL_EQUAL:
      emit_byte(OP_EQUAL);
      break;
    case TOKEN_GREATER:
      emit_byte(OP_GREATER);
      break;
    case TOKEN_GREATER_EQUAL:
      emit_bytes(OP_LESS, OP_NOT);
      break;
    case TOKEN_LESS:
      emit_byte(OP_LESS);
      break;
    case TOKEN_LESS_EQUAL:
      emit_bytes(OP_GREATER, OP_NOT);
      break;
    case TOKEN_PLUS:
      emit_byte(OP_ADD);
      break;
    case TOKEN_MINUS:
      emit_byte(OP_SUBTRACT);
      break;
    case TOKEN_STAR:
      emit_byte(OP_MULTIPLY);
      break;
    case TOKEN_SLASH:
      emit_byte(OP_DIVIDE);
      break;
    default:
      return;
  }
}

static void call(bool can_assign) {
  (void)can_assign;
  const uint8_t count = argument_list();
  emit_bytes(OP_CALL, count);
}

static void dot(bool can_assign) {
  consume(TOKEN_IDENTIFIER, "Expect property name after '.'.");
  const uint8_t name = identifier_constant(&parser.previous);
  if (can_assign && match(TOKEN_EQUAL)) {
    expression();
    emit_bytes(OP_SET_PROPERTY, name);
  } else if (match(TOKEN_LEFT_PAREN)) {
    const uint8_t count = argument_list();
    emit_bytes(OP_INVOKE, name);
    emit_bytes(count, 0); /* the method's slot hint (vm.c) */
  } else {
    emit_bytes(OP_GET_PROPERTY, name);
    emit_byte(0); /* the field's slot hint */
  }
}

static void literal(bool can_assign) {
  (void)can_assign;
  switch (parser.previous.type) {
    case TOKEN_FALSE:
      emit_byte(OP_FALSE);
      break;
    case TOKEN_NIL:
      emit_byte(OP_NIL);
      break;
    case TOKEN_TRUE:
      emit_byte(OP_TRUE);
      break;
    default:
      return;
  }
}

static void grouping(bool can_assign) {
  (void)can_assign;
  expression();
  consume(TOKEN_RIGHT_PAREN, "Expect ')' after expression.");
}

static void number(bool can_assign) {
  (void)can_assign;
  emit_constant(NUMBER_VAL(strtod(parser.previous.start, NULL)));
}

static void string(bool can_assign) {
  (void)can_assign;
  emit_constant(OBJ_VAL(
      copy_string(parser.previous.start + 1, parser.previous.length - 2)));
}

static void variable(bool can_assign) {
  named_variable(parser.previous, can_assign);
}

static void super_(bool can_assign) {
  (void)can_assign;
  if (current_class == NULL) {
    error("Can't use 'super' outside of a class.");
  } else if (!current_class->has_superclass) {
    error("Can't use 'super' in a class with no superclass.");
  }
  consume(TOKEN_DOT, "Expect '.' after 'super'.");
  consume(TOKEN_IDENTIFIER, "Expect superclass method name.");
  const uint8_t name = identifier_constant(&parser.previous);
  named_variable(synthetic_token("this"), false);
  if (match(TOKEN_LEFT_PAREN)) {
    const uint8_t count = argument_list();
    named_variable(synthetic_token("super"), false);
    emit_bytes(OP_SUPER_INVOKE, name);
    emit_byte(count);
  } else {
    named_variable(synthetic_token("super"), false);
    emit_bytes(OP_GET_SUPER, name);
  }
}

static void this_(bool can_assign) {
  (void)can_assign;
  if (current_class == NULL) {
    error("Can't use 'this' outside of a class.");
    return;
  }
  variable(false);
}

static void unary(bool can_assign) {
  (void)can_assign;
  const TokenType op = parser.previous.type;
  parse_precedence(PREC_UNARY);
  if (op == TOKEN_BANG) {
    emit_byte(OP_NOT);
  } else if (op == TOKEN_MINUS) {
    emit_byte(OP_NEGATE);
  }
}

static const ParseRule rules[] = {
    [TOKEN_LEFT_PAREN] = {grouping, call, PREC_CALL},
    [TOKEN_RIGHT_PAREN] = {NULL, NULL, PREC_NONE},
    [TOKEN_LEFT_BRACE] = {NULL, NULL, PREC_NONE},
    [TOKEN_RIGHT_BRACE] = {NULL, NULL, PREC_NONE},
    [TOKEN_COMMA] = {NULL, NULL, PREC_NONE},
    [TOKEN_DOT] = {NULL, dot, PREC_CALL},
    [TOKEN_MINUS] = {unary, binary, PREC_TERM},
    [TOKEN_PLUS] = {NULL, binary, PREC_TERM},
    [TOKEN_SEMICOLON] = {NULL, NULL, PREC_NONE},
    [TOKEN_SLASH] = {NULL, binary, PREC_FACTOR},
    [TOKEN_STAR] = {NULL, binary, PREC_FACTOR},
    [TOKEN_BANG] = {unary, NULL, PREC_NONE},
    [TOKEN_BANG_EQUAL] = {NULL, binary, PREC_EQUALITY},
    [TOKEN_EQUAL] = {NULL, NULL, PREC_NONE},
    [TOKEN_EQUAL_EQUAL] = {NULL, binary, PREC_EQUALITY},
    [TOKEN_GREATER] = {NULL, binary, PREC_COMPARISON},
    [TOKEN_GREATER_EQUAL] = {NULL, binary, PREC_COMPARISON},
    [TOKEN_LESS] = {NULL, binary, PREC_COMPARISON},
    [TOKEN_LESS_EQUAL] = {NULL, binary, PREC_COMPARISON},
    [TOKEN_IDENTIFIER] = {variable, NULL, PREC_NONE},
    [TOKEN_STRING] = {string, NULL, PREC_NONE},
    [TOKEN_NUMBER] = {number, NULL, PREC_NONE},
    [TOKEN_AND] = {NULL, and_, PREC_AND},
    [TOKEN_CLASS] = {NULL, NULL, PREC_NONE},
    [TOKEN_ELSE] = {NULL, NULL, PREC_NONE},
    [TOKEN_FALSE] = {literal, NULL, PREC_NONE},
    [TOKEN_FOR] = {NULL, NULL, PREC_NONE},
    [TOKEN_FUN] = {NULL, NULL, PREC_NONE},
    [TOKEN_IF] = {NULL, NULL, PREC_NONE},
    [TOKEN_NIL] = {literal, NULL, PREC_NONE},
    [TOKEN_OR] = {NULL, or_, PREC_OR},
    [TOKEN_PRINT] = {NULL, NULL, PREC_NONE},
    [TOKEN_RETURN] = {NULL, NULL, PREC_NONE},
    [TOKEN_SUPER] = {super_, NULL, PREC_NONE},
    [TOKEN_THIS] = {this_, NULL, PREC_NONE},
    [TOKEN_TRUE] = {literal, NULL, PREC_NONE},
    [TOKEN_VAR] = {NULL, NULL, PREC_NONE},
    [TOKEN_WHILE] = {NULL, NULL, PREC_NONE},
    [TOKEN_ERROR] = {NULL, NULL, PREC_NONE},
    [TOKEN_EOF] = {NULL, NULL, PREC_NONE},
};

static const ParseRule* get_rule(TokenType type) { return &rules[type]; }

static void parse_precedence(Precedence precedence) {
  advance();
  const ParseFn prefix = get_rule(parser.previous.type)->prefix;
  if (prefix == NULL) {
    error("Expect expression.");
    return;
  }
  const bool can_assign = precedence <= PREC_ASSIGNMENT;
  prefix(can_assign);
  while (precedence <= get_rule(parser.current.type)->precedence) {
    advance();
    get_rule(parser.previous.type)->infix(can_assign);
  }
  if (can_assign && match(TOKEN_EQUAL)) error("Invalid assignment target.");
}

static void expression(void) { parse_precedence(PREC_ASSIGNMENT); }

/* ---- Declarations and statements ------------------------------------- */

static void block(void) {
  while (!check(TOKEN_RIGHT_BRACE) && !check(TOKEN_EOF)) declaration();
  consume(TOKEN_RIGHT_BRACE, "Expect '}' after block.");
}

/* Compiles a function's parameters and body, then emits the closure. */
static void function(FunctionKind kind) {
  FunctionState fs;
  function_begin(&fs, kind);
  begin_scope();
  consume(TOKEN_LEFT_PAREN, "Expect '(' after function name.");
  if (!check(TOKEN_RIGHT_PAREN)) {
    do {
      current->function->arity++;
      if (current->function->arity > 255) {
        error_at_current("Can't have more than 255 parameters.");
      }
      const uint8_t constant = parse_variable("Expect parameter name.");
      define_variable(constant);
    } while (match(TOKEN_COMMA));
  }
  consume(TOKEN_RIGHT_PAREN, "Expect ')' after parameters.");
  consume(TOKEN_LEFT_BRACE, "Expect '{' before function body.");
  block();
  ObjFunction* f = function_end();
  emit_bytes(OP_CLOSURE, make_constant(OBJ_VAL(f)));
  for (int i = 0; i < f->upvalue_count; i++) {
    emit_byte(fs.upvalues[i].is_local ? 1 : 0);
    emit_byte(fs.upvalues[i].index);
  }
}

static void method(void) {
  consume(TOKEN_IDENTIFIER, "Expect method name.");
  const uint8_t constant = identifier_constant(&parser.previous);
  FunctionKind kind = KIND_METHOD;
  if (parser.previous.length == 4 &&
      memcmp(parser.previous.start, "init", 4) == 0) {
    kind = KIND_INITIALIZER;
  }
  function(kind);
  emit_bytes(OP_METHOD, constant);
}

static void class_declaration(void) {
  consume(TOKEN_IDENTIFIER, "Expect class name.");
  const Token class_name = parser.previous;
  const uint8_t name_constant = identifier_constant(&parser.previous);
  declare_variable();
  emit_bytes(OP_CLASS, name_constant);
  define_variable(name_constant);

  ClassState cs;
  cs.has_superclass = false;
  cs.enclosing = current_class;
  current_class = &cs;

  if (match(TOKEN_LESS)) {
    consume(TOKEN_IDENTIFIER, "Expect superclass name.");
    variable(false);
    if (identifiers_equal(&class_name, &parser.previous)) {
      error("A class can't inherit from itself.");
    }
    begin_scope();
    add_local(synthetic_token("super"));
    define_variable(0);
    named_variable(class_name, false);
    emit_byte(OP_INHERIT);
    cs.has_superclass = true;
  }

  named_variable(class_name, false);
  consume(TOKEN_LEFT_BRACE, "Expect '{' before class body.");
  while (!check(TOKEN_RIGHT_BRACE) && !check(TOKEN_EOF)) method();
  consume(TOKEN_RIGHT_BRACE, "Expect '}' after class body.");
  emit_byte(OP_POP);

  if (cs.has_superclass) end_scope();
  current_class = current_class->enclosing;
}

static void fun_declaration(void) {
  const uint8_t global = parse_variable("Expect function name.");
  mark_initialized();
  function(KIND_FUNCTION);
  define_variable(global);
}

static void var_declaration(void) {
  const uint8_t global = parse_variable("Expect variable name.");
  if (match(TOKEN_EQUAL)) {
    expression();
  } else {
    emit_byte(OP_NIL);
  }
  consume(TOKEN_SEMICOLON, "Expect ';' after variable declaration.");
  define_variable(global);
}

static void expression_statement(void) {
  expression();
  consume(TOKEN_SEMICOLON, "Expect ';' after expression.");
  emit_byte(OP_POP);
}

static void for_statement(void) {
  begin_scope();
  consume(TOKEN_LEFT_PAREN, "Expect '(' after 'for'.");
  if (match(TOKEN_SEMICOLON)) {
    /* No initializer. */
  } else if (match(TOKEN_VAR)) {
    var_declaration();
  } else {
    expression_statement();
  }

  int loop_start = current_function()->chunk.count;
  int exit_jump = -1;
  if (!match(TOKEN_SEMICOLON)) {
    expression();
    consume(TOKEN_SEMICOLON, "Expect ';' after loop condition.");
    exit_jump = emit_jump(OP_JUMP_IF_FALSE);
    emit_byte(OP_POP);
  }

  if (!match(TOKEN_RIGHT_PAREN)) {
    const int body_jump = emit_jump(OP_JUMP);
    const int increment_start = current_function()->chunk.count;
    expression();
    emit_byte(OP_POP);
    consume(TOKEN_RIGHT_PAREN, "Expect ')' after for clauses.");
    emit_loop(loop_start);
    loop_start = increment_start;
    patch_jump(body_jump);
  }

  statement();
  emit_loop(loop_start);
  if (exit_jump != -1) {
    patch_jump(exit_jump);
    emit_byte(OP_POP);
  }
  end_scope();
}

static void if_statement(void) {
  consume(TOKEN_LEFT_PAREN, "Expect '(' after 'if'.");
  expression();
  consume(TOKEN_RIGHT_PAREN, "Expect ')' after condition.");
  const int then_jump = emit_jump(OP_JUMP_IF_FALSE);
  emit_byte(OP_POP);
  statement();
  const int else_jump = emit_jump(OP_JUMP);
  patch_jump(then_jump);
  emit_byte(OP_POP);
  if (match(TOKEN_ELSE)) statement();
  patch_jump(else_jump);
}

static void print_statement(void) {
  expression();
  consume(TOKEN_SEMICOLON, "Expect ';' after value.");
  emit_byte(OP_PRINT);
}

static void return_statement(void) {
  if (current->kind == KIND_SCRIPT) error("Can't return from top-level code.");
  if (match(TOKEN_SEMICOLON)) {
    emit_return();
    return;
  }
  if (current->kind == KIND_INITIALIZER) {
    error("Can't return a value from an initializer.");
  }
  expression();
  consume(TOKEN_SEMICOLON, "Expect ';' after return value.");
  emit_byte(OP_RETURN);
}

static void while_statement(void) {
  const int loop_start = current_function()->chunk.count;
  consume(TOKEN_LEFT_PAREN, "Expect '(' after 'while'.");
  expression();
  consume(TOKEN_RIGHT_PAREN, "Expect ')' after condition.");
  const int exit_jump = emit_jump(OP_JUMP_IF_FALSE);
  emit_byte(OP_POP);
  statement();
  emit_loop(loop_start);
  patch_jump(exit_jump);
  emit_byte(OP_POP);
}

static void synchronize(void) {
  parser.panic_mode = false;
  while (parser.current.type != TOKEN_EOF) {
    if (parser.previous.type == TOKEN_SEMICOLON) return;
    switch (parser.current.type) {
      case TOKEN_CLASS:
      case TOKEN_FUN:
      case TOKEN_VAR:
      case TOKEN_FOR:
      case TOKEN_IF:
      case TOKEN_WHILE:
      case TOKEN_PRINT:
      case TOKEN_RETURN:
        return;
      default:
        break;
    }
    advance();
  }
}

static void declaration(void) {
  if (match(TOKEN_CLASS)) {
    class_declaration();
  } else if (match(TOKEN_FUN)) {
    fun_declaration();
  } else if (match(TOKEN_VAR)) {
    var_declaration();
  } else {
    statement();
  }
  if (parser.panic_mode) synchronize();
}

static void statement(void) {
  if (match(TOKEN_PRINT)) {
    print_statement();
  } else if (match(TOKEN_FOR)) {
    for_statement();
  } else if (match(TOKEN_IF)) {
    if_statement();
  } else if (match(TOKEN_RETURN)) {
    return_statement();
  } else if (match(TOKEN_WHILE)) {
    while_statement();
  } else if (match(TOKEN_LEFT_BRACE)) {
    begin_scope();
    block();
    end_scope();
  } else {
    expression_statement();
  }
}

ObjFunction* compile(const char* source) {
  scanner_init(source);
  FunctionState fs;
  function_begin(&fs, KIND_SCRIPT);
  parser.had_error = false;
  parser.panic_mode = false;
  advance();
  while (!match(TOKEN_EOF)) declaration();
  ObjFunction* f = function_end();
  current_class = NULL;
  return parser.had_error ? NULL : f;
}
