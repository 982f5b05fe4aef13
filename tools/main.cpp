// xoffload: the command-line front end. `xoffload <command> [args]`; each
// command lives in its own cmd_<name>.cpp and is listed once in kCommands.
// Options go through the one parser (core/args.hpp).
#include <iostream>
#include <string>
#include <vector>

#include "tools/cli.hpp"
#include "tools/commands.hpp"

namespace {

using xo::cli::Command;

// The command table: add one line per command (declared in commands.hpp).
const Command& (*const kCommands[])() = {
    xo::cli::disasm_command,
    xo::cli::asm_command,
    xo::cli::verify_command,
    xo::cli::translate_command,
    xo::cli::dump_command,
    xo::cli::run_command,
    xo::cli::load_command,
    xo::cli::unload_command,
    xo::cli::status_command,
};

// The top level: only --help and --version; the first word is the command.
std::string usage_text() {
  std::string commands = "commands:";
  for (auto command : kCommands) {
    const Command& c = command();
    commands += "\n  " + std::string(c.name) +
                std::string(c.name.size() < 12 ? 12 - c.name.size() : 1, ' ') + std::string(c.summary);
  }
  const xo::args::Spec top{"<command> [options]   (xoffload <command> --help for details)", "", commands, {},
                           /*stop_at_positional=*/true};
  return xo::args::help_text(top, "xoffload");
}

int run_command(const Command& c, const std::vector<std::string>& words) {
  auto args = xo::args::parse(c.spec(), words);
  if (!args) {
    std::cerr << "xoffload " << c.name << ": " << args.error().message << '\n';
    return xo::cli::kExitUsage;
  }
  if (args->help) {
    std::cout << xo::args::help_text(c.spec(), "xoffload " + std::string(c.name));
    return xo::cli::kExitOk;
  }
  if (args->version) {
    std::cout << xo::args::version_text("xoffload");
    return xo::cli::kExitOk;
  }
  return c.run(*args, std::cout, std::cerr);
}

}  // namespace

int main(int argc, char** argv) {
  const xo::args::Spec top{"", "", "", {}, /*stop_at_positional=*/true};
  auto args = xo::args::parse(top, argc, argv);
  if (!args) {
    std::cerr << "xoffload: " << args.error().message << "\n\n" << usage_text();
    return xo::cli::kExitUsage;
  }
  if (args->version) {
    std::cout << xo::args::version_text("xoffload");
    return xo::cli::kExitOk;
  }
  if (args->help || (!args->positional.empty() && args->positional[0] == "help")) {
    std::cout << usage_text();
    return xo::cli::kExitOk;
  }
  if (args->positional.empty()) {
    std::cerr << usage_text();
    return xo::cli::kExitUsage;
  }
  const std::string& name = args->positional[0];
  for (auto command : kCommands)
    if (command().name == name)
      return run_command(command(), std::vector<std::string>(args->positional.begin() + 1, args->positional.end()));
  std::cerr << "xoffload: unknown command '" << name << "'\n\n" << usage_text();
  return xo::cli::kExitUsage;
}
