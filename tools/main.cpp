// xoffload: the command-line front end. `xoffload <command> [args]`; each
// command lives in its own cmd_<name>.cpp and is listed once in kCommands.
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

void print_usage(std::ostream& out) {
  out << "usage: xoffload <command> [options]   (xoffload <command> --help for details)\n\n"
         "commands:\n";
  for (auto command : kCommands) {
    const Command& c = command();
    out << "  " << c.name << std::string(c.name.size() < 12 ? 12 - c.name.size() : 1, ' ')
        << c.summary << '\n';
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_usage(std::cerr);
    return xo::cli::kExitUsage;
  }
  std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage(std::cout);
    return xo::cli::kExitOk;
  }
  for (auto command : kCommands) {
    const Command& c = command();
    if (c.name != name) continue;
    std::vector<std::string> words(argv + 2, argv + argc);
    auto args = xo::cli::parse_args(c, words);
    if (!args) {
      std::cerr << "xoffload " << args.error().describe() << '\n';
      return xo::cli::kExitUsage;
    }
    if (args->help) {
      xo::cli::print_help(c, std::cout);
      return xo::cli::kExitOk;
    }
    return c.run(*args, std::cout, std::cerr);
  }
  std::cerr << "xoffload: unknown command '" << name << "'\n\n";
  print_usage(std::cerr);
  return xo::cli::kExitUsage;
}
