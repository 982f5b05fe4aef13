// Logs a host admin can read: one line per event, prefixed with the
// session it is about, e.g.
//   xoffloadd[vm1/tap0]: PROG_LOAD 'xdp_prog1' 31 insns -> tc prog id 123
// Lines go to stderr (journald picks them up under systemd). The level is
// process-wide and set once at start-up.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace xo::session {

enum class LogLevel { Error = 0, Warn = 1, Info = 2, Debug = 3 };

std::optional<LogLevel> parse_log_level(std::string_view s);
void set_log_level(LogLevel level);
LogLevel log_level();
// Silences everything (the fuzzer; tests that flood on purpose).
void set_log_quiet(bool quiet);

// "xoffloadd[<who>]: <line>" when `level` is enabled. `who` is
// "<session>/<tap>" for session events and empty for the daemon itself.
void log_line(LogLevel level, std::string_view who, std::string_view line);

}  // namespace xo::session
