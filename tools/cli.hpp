// Shared plumbing for xoffload subcommands: a declarative option spec, one
// parser, generated --help, and the command table entry type.
//
// Adding a command = a cmd_<name>.cpp that defines `const Command& <name>_command()`
// + one line in commands.hpp + one line in the table in main.cpp.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace xo::cli {

struct OptionSpec {
  std::string_view name;      // "--section" or "-o"
  std::string_view metavar;   // empty for a flag; else the value's name, e.g. "S"
  std::string_view help;
};

struct Args {
  std::vector<std::string> positional;
  std::map<std::string, std::string, std::less<>> values;  // option -> value ("" for flags); the last one given
  std::vector<std::pair<std::string, std::string>> all;    // every option in order, repeats included
  bool help = false;

  // Every value of an option that may be repeated (--map-size a=1 --map-size b=2).
  std::vector<std::string> get_all(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& [n, v] : all)
      if (n == name) out.push_back(v);
    return out;
  }

  bool flag(std::string_view name) const { return values.find(name) != values.end(); }
  std::optional<std::string> get(std::string_view name) const {
    auto it = values.find(name);
    if (it == values.end()) return std::nullopt;
    return it->second;
  }
};

struct Command {
  std::string_view name;
  std::string_view summary;   // one line, for the command list
  std::string_view usage;     // e.g. "FILE.o [--section S] [--json]"
  std::string_view details;   // paragraph(s) after usage in --help; may be empty
  std::vector<OptionSpec> options;
  // Runs with parsed args; returns the process exit code. Writes data to
  // `out`, diagnostics to `err`.
  int (*run)(const Args& args, std::ostream& out, std::ostream& err);
};

// Parses `argv` (the words after the command name) against the command's
// options. Accepts "--opt value", "--opt=value", "-o value", flags, "--"
// (end of options) and "--help"/"-h".
Result<Args> parse_args(const Command& cmd, std::span<const std::string> argv);

void print_help(const Command& cmd, std::ostream& out);

// Exit codes shared by all commands.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the operation failed (bad input file, ...)
inline constexpr int kExitUsage = 2;    // bad command line

// Small helpers for commands.
Result<std::vector<std::uint8_t>> read_file(const std::string& path);
Status write_file(const std::string& path, std::span<const std::uint8_t> bytes);
std::string hex(std::span<const std::uint8_t> bytes);

}  // namespace xo::cli
