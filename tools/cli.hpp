// Shared plumbing for xoffload subcommands: the command table entry type
// (its options go through the one parser, core/args.hpp) and file helpers.
//
// Adding a command = a cmd_<name>.cpp that defines `const Command& <name>_command()`
// + one line in commands.hpp + one line in the table in main.cpp.
#pragma once

#include <cstdint>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/args.hpp"
#include "core/result.hpp"

namespace xo::cli {

// Options, parsed arguments and exit codes are the shared parser's
// (core/args.hpp), so every xoffload program has the same conventions.
using OptionSpec = args::Option;
using Args = args::Args;
using args::kExitFailure;
using args::kExitOk;
using args::kExitUsage;

struct Command {
  std::string_view name;
  std::string_view summary;   // one line, for the command list
  std::string_view usage;     // e.g. "FILE.o [--section S] [--json]"
  std::string_view details;   // paragraph(s) after usage in --help; may be empty
  std::vector<OptionSpec> options;
  // Runs with parsed args; returns the process exit code. Writes data to
  // `out`, diagnostics to `err`.
  int (*run)(const Args& args, std::ostream& out, std::ostream& err);

  args::Spec spec() const { return {usage, summary, details, options}; }
};

// Small helpers for commands.
Result<std::vector<std::uint8_t>> read_file(const std::string& path);
Status write_file(const std::string& path, std::span<const std::uint8_t> bytes);
std::string hex(std::span<const std::uint8_t> bytes);

}  // namespace xo::cli
