// Names and messages that come out of a guest ELF end up in one-line
// diagnostics; control bytes (newlines, escapes) must not reach a terminal or
// a log, so everything outside printable ASCII is shown as \xNN.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>

namespace xo::guest {

inline std::string printable(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (unsigned char c : raw) {
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char esc[5];
      std::snprintf(esc, sizeof esc, "\\x%02x", c);
      out += esc;
    }
  }
  return out;
}

}  // namespace xo::guest
