// The one command-line parser of every xoffload program (xoffload,
// xoffloadd, xoffload-guest, the xdp1/xdp2 loaders): a declarative option
// table, one parse, generated --help, --version, and the shared exit codes.
//
// Conventions (the same in every program):
//   --opt value, --opt=value, -o value, -ovalue, bundled short flags (-SF),
//   options and positionals in any order (unless a command word follows),
//   "--" ends the options, -h/--help and --version are always known,
//   an option given twice keeps every value (get() returns the last).
// A usage error is a Result error; the program prints "<prog>: <message>"
// and exits kExitUsage.
//
// Header-light and exception-free, so the static guest tools link it from
// xo_core like everything else (docs/DECISIONS.md: "one argument parser").
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace xo::args {

// Exit codes shared by all programs.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the operation failed (bad input file, no host, ...)
inline constexpr int kExitUsage = 2;    // bad command line

struct Option {
  std::string_view name;      // "--section", or a short-only "-S"
  std::string_view metavar;   // empty for a flag; else the value's name, e.g. "S"
  std::string_view help;
  std::string_view alias{};   // a short form of a long option ("-o" for "--object"), or empty
};

struct Spec {
  std::string_view usage;     // after "usage: <program> ", e.g. "FILE.o [--json]"
  std::string_view summary;   // one line
  std::string_view details;   // paragraph(s) after the summary in --help; may be empty
  std::vector<Option> options;
  // The first positional is a command word: it and everything after it are
  // left unparsed in `positional` (xoffload-guest's global options).
  bool stop_at_positional = false;
};

struct Args {
  std::vector<std::string> positional;
  // Option name (always the Option's `name`, never its alias) -> every value
  // given, in order ("" for a flag).
  std::map<std::string, std::vector<std::string>, std::less<>> values;
  bool help = false;
  bool version = false;

  bool flag(std::string_view name) const { return values.find(name) != values.end(); }
  // The last value given.
  std::optional<std::string> get(std::string_view name) const;
  std::vector<std::string> all(std::string_view name) const;
  // An unsigned number (decimal or 0x hex) in [min, max], or `fallback`
  // when the option is absent.
  Result<std::uint64_t> unsigned_value(std::string_view name, std::uint64_t fallback,
                                       std::uint64_t min = 0, std::uint64_t max = UINT64_MAX) const;
  // A non-negative decimal number such as 2.5, or `fallback`.
  Result<double> seconds(std::string_view name, double fallback) const;
};

Result<Args> parse(const Spec& spec, std::span<const std::string> words);
// argv[1..argc-1].
Result<Args> parse(const Spec& spec, int argc, char** argv);

// The --help text: "usage: <program> <usage>", the summary, the details and
// the option table. Text, not a stream: the static guest tools print with
// stdio and stay free of iostream.
std::string help_text(const Spec& spec, std::string_view program);
// "<program> <version>\n": the version of CMake's project() (core/version.hpp).
std::string version_text(std::string_view program);
std::string_view version();

}  // namespace xo::args
