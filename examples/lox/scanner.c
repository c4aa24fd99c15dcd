/* scanner.c: the scanner. One token per call; keywords recognised by
 * comparing the identifier's text with a small table. */
#include "scanner.h"

#include <stdbool.h>
#include <string.h>

static struct {
  const char* start;
  const char* current;
  int line;
} sc;

void scanner_init(const char* source) {
  sc.start = source;
  sc.current = source;
  sc.line = 1;
}

static bool is_alpha(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool at_end(void) { return *sc.current == '\0'; }
static char advance(void) { return *sc.current++; }
static char peek(void) { return *sc.current; }
static char peek_next(void) { return at_end() ? '\0' : sc.current[1]; }

static bool match(char expected) {
  if (at_end() || *sc.current != expected) return false;
  sc.current++;
  return true;
}

static Token make_token(TokenType type) {
  Token t;
  t.type = type;
  t.start = sc.start;
  t.length = (int)(sc.current - sc.start);
  t.line = sc.line;
  return t;
}

static Token error_token(const char* message) {
  Token t;
  t.type = TOKEN_ERROR;
  t.start = message;
  t.length = (int)strlen(message);
  t.line = sc.line;
  return t;
}

static void skip_whitespace(void) {
  for (;;) {
    switch (peek()) {
      case ' ':
      case '\r':
      case '\t':
        advance();
        break;
      case '\n':
        sc.line++;
        advance();
        break;
      case '/':
        if (peek_next() != '/') return;
        while (peek() != '\n' && !at_end()) advance();
        break;
      default:
        return;
    }
  }
}

static const struct {
  const char* text;
  TokenType type;
} keywords[] = {
    {"and", TOKEN_AND},     {"class", TOKEN_CLASS},   {"else", TOKEN_ELSE},
    {"false", TOKEN_FALSE}, {"for", TOKEN_FOR},       {"fun", TOKEN_FUN},
    {"if", TOKEN_IF},       {"nil", TOKEN_NIL},       {"or", TOKEN_OR},
    {"print", TOKEN_PRINT}, {"return", TOKEN_RETURN}, {"super", TOKEN_SUPER},
    {"this", TOKEN_THIS},   {"true", TOKEN_TRUE},     {"var", TOKEN_VAR},
    {"while", TOKEN_WHILE},
};

static TokenType identifier_type(void) {
  const size_t length = (size_t)(sc.current - sc.start);
  for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
    if (strlen(keywords[i].text) == length &&
        memcmp(keywords[i].text, sc.start, length) == 0) {
      return keywords[i].type;
    }
  }
  return TOKEN_IDENTIFIER;
}

static Token identifier(void) {
  while (is_alpha(peek()) || is_digit(peek())) advance();
  return make_token(identifier_type());
}

static Token number(void) {
  while (is_digit(peek())) advance();
  if (peek() == '.' && is_digit(peek_next())) {
    advance();
    while (is_digit(peek())) advance();
  }
  return make_token(TOKEN_NUMBER);
}

static Token string(void) {
  while (peek() != '"' && !at_end()) {
    if (peek() == '\n') sc.line++;
    advance();
  }
  if (at_end()) return error_token("Unterminated string.");
  advance();
  return make_token(TOKEN_STRING);
}

Token scan_token(void) {
  skip_whitespace();
  sc.start = sc.current;
  if (at_end()) return make_token(TOKEN_EOF);
  const char c = advance();
  if (is_alpha(c)) return identifier();
  if (is_digit(c)) return number();
  switch (c) {
    case '(':
      return make_token(TOKEN_LEFT_PAREN);
    case ')':
      return make_token(TOKEN_RIGHT_PAREN);
    case '{':
      return make_token(TOKEN_LEFT_BRACE);
    case '}':
      return make_token(TOKEN_RIGHT_BRACE);
    case ';':
      return make_token(TOKEN_SEMICOLON);
    case ',':
      return make_token(TOKEN_COMMA);
    case '.':
      return make_token(TOKEN_DOT);
    case '-':
      return make_token(TOKEN_MINUS);
    case '+':
      return make_token(TOKEN_PLUS);
    case '/':
      return make_token(TOKEN_SLASH);
    case '*':
      return make_token(TOKEN_STAR);
    case '!':
      return make_token(match('=') ? TOKEN_BANG_EQUAL : TOKEN_BANG);
    case '=':
      return make_token(match('=') ? TOKEN_EQUAL_EQUAL : TOKEN_EQUAL);
    case '<':
      return make_token(match('=') ? TOKEN_LESS_EQUAL : TOKEN_LESS);
    case '>':
      return make_token(match('=') ? TOKEN_GREATER_EQUAL : TOKEN_GREATER);
    case '"':
      return string();
    default:
      break;
  }
  return error_token("Unexpected character.");
}
