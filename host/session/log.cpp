#include "host/session/log.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>

namespace xo::session {
namespace {
std::atomic<int> g_level{int(LogLevel::Info)};
std::atomic<bool> g_quiet{false};
std::mutex g_write;
}  // namespace

std::optional<LogLevel> parse_log_level(std::string_view s) {
  if (s == "error") return LogLevel::Error;
  if (s == "warn" || s == "warning") return LogLevel::Warn;
  if (s == "info") return LogLevel::Info;
  if (s == "debug") return LogLevel::Debug;
  return std::nullopt;
}

void set_log_level(LogLevel level) { g_level = int(level); }
LogLevel log_level() { return LogLevel(g_level.load()); }
void set_log_quiet(bool quiet) { g_quiet = quiet; }

void log_line(LogLevel level, std::string_view who, std::string_view line) {
  if (g_quiet || int(level) > g_level) return;
  std::string out = "xoffloadd";
  if (!who.empty()) out += "[" + std::string(who) + "]";
  out += ": ";
  // One event, one line: guest-controlled text (names, kernel logs) must not
  // forge extra log lines, nor reach the admin's terminal as control bytes
  // (ESC sequences can rewrite the screen or the window title). Line breaks
  // and tabs become spaces; every other byte outside printable ASCII is
  // shown as \xNN.
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : line) {
    if (c == '\n' || c == '\r' || c == '\t') {
      out += ' ';
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += char(c);
    }
  }
  out += '\n';
  std::lock_guard lock(g_write);
  std::fwrite(out.data(), 1, out.size(), stderr);
  std::fflush(stderr);
}

}  // namespace xo::session
