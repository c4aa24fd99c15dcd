// Escaping for the JSON the runtime writes (the event trace, a stepped
// cycle's heap state): names and labels come from the program.
#ifndef GCHEAP_BASE_JSON_H_
#define GCHEAP_BASE_JSON_H_

#include <stdio.h>

#include <string>
#include <string_view>

namespace gcheap::internal {

// Appends s to *out as the inside of a JSON string: quotes and
// backslashes escaped, control characters as \u00XX.
inline void AppendJsonEscaped(std::string* out, std::string_view s) {
  for (const char ch : s) {
    const unsigned char c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      *out += '\\';
      *out += ch;
    } else if (c < 0x20) {
      char esc[8];
      snprintf(esc, sizeof esc, "\\u%04x", c);
      *out += esc;
    } else {
      *out += ch;
    }
  }
}

}  // namespace gcheap::internal

#endif  // GCHEAP_BASE_JSON_H_
