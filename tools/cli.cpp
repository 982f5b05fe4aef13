// Option parsing, --help rendering and file helpers shared by all commands.
#include "tools/cli.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace xo::cli {

namespace {

const OptionSpec* find_option(const Command& cmd, std::string_view name) {
  for (const OptionSpec& o : cmd.options)
    if (o.name == name) return &o;
  return nullptr;
}

}  // namespace

Result<Args> parse_args(const Command& cmd, std::span<const std::string> argv) {
  Args args;
  bool options_done = false;
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string& word = argv[i];
    if (options_done || word.size() < 2 || word[0] != '-') {
      args.positional.push_back(word);
      continue;
    }
    if (word == "--") {
      options_done = true;
      continue;
    }
    if (word == "--help" || word == "-h") {
      args.help = true;
      continue;
    }
    std::string name = word;
    std::optional<std::string> inline_value;
    if (auto eq = word.find('='); word.rfind("--", 0) == 0 && eq != std::string::npos) {
      name = word.substr(0, eq);
      inline_value = word.substr(eq + 1);
    }
    const OptionSpec* spec = find_option(cmd, name);
    if (!spec) return err(std::string(cmd.name) + ": unknown option '" + name + "'");
    if (spec->metavar.empty()) {
      if (inline_value) return err(std::string(cmd.name) + ": option " + name + " takes no value");
      args.values[name] = "";
      args.all.emplace_back(name, "");
      continue;
    }
    if (inline_value) {
      args.values[name] = *inline_value;
    } else if (i + 1 < argv.size()) {
      args.values[name] = argv[++i];
    } else {
      return err(std::string(cmd.name) + ": option " + name + " needs a value (" +
                 std::string(spec->metavar) + ")");
    }
    args.all.emplace_back(name, args.values[name]);
  }
  return args;
}

void print_help(const Command& cmd, std::ostream& out) {
  out << "usage: xoffload " << cmd.name << ' ' << cmd.usage << "\n\n" << cmd.summary << "\n";
  if (!cmd.details.empty()) out << '\n' << cmd.details << '\n';
  out << "\noptions:\n";
  for (const OptionSpec& o : cmd.options) {
    std::string left = std::string(o.name);
    if (!o.metavar.empty()) left += ' ' + std::string(o.metavar);
    out << "  " << left << std::string(left.size() < 20 ? 20 - left.size() : 1, ' ') << o.help
        << '\n';
  }
  out << "  --help              show this help\n";
}

Result<std::vector<std::uint8_t>> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return err(path + ": " + std::strerror(errno));
  std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                  std::istreambuf_iterator<char>());
  if (in.bad()) return err(path + ": read error");
  return bytes;
}

Status write_file(const std::string& path, std::span<const std::uint8_t> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return err(path + ": " + std::strerror(errno));
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) return err(path + ": write error");
  return Ok{};
}

std::string hex(std::span<const std::uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  s.reserve(bytes.size() * 2);
  for (std::uint8_t b : bytes) {
    s += kDigits[b >> 4];
    s += kDigits[b & 15];
  }
  return s;
}

}  // namespace xo::cli
