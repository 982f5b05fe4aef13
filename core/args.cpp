// The one command-line parser (core/args.hpp): getopt_long's conventions
// (permuted positionals, bundled short flags, -ovalue, --opt=value, "--")
// over a declarative table, without getopt's global state, so one table
// also renders --help.
#include "core/args.hpp"

#include <algorithm>
#include <charconv>

#include "core/version.hpp"

namespace xo::args {

namespace {

const Option* find_long(const Spec& spec, std::string_view name) {
  for (const Option& o : spec.options)
    if (o.name == name) return &o;
  return nullptr;
}

const Option* find_short(const Spec& spec, char c) {
  const char word[2] = {'-', c};
  const std::string_view s(word, 2);
  for (const Option& o : spec.options)
    if (o.name == s || o.alias == s) return &o;
  return nullptr;
}

std::string quoted(std::string_view s) { return "'" + std::string(s) + "'"; }

Error needs_value(const Option& o) {
  return err("option " + std::string(o.name) + " needs a value (" + std::string(o.metavar) + ")");
}

// "--name" or "--name=value".
Status parse_long(const Spec& spec, std::span<const std::string> words, std::size_t& i, Args& args) {
  const std::string& word = words[i];
  std::string_view name = word;
  std::optional<std::string> inline_value;
  if (auto eq = word.find('='); eq != std::string::npos) {
    name = std::string_view(word).substr(0, eq);
    inline_value = word.substr(eq + 1);
  }
  const Option* o = find_long(spec, name);
  if (!o && (name == "--help" || name == "--version")) {
    if (inline_value) return err("option " + std::string(name) + " takes no value");
    (name == "--help" ? args.help : args.version) = true;
    return Ok{};
  }
  if (!o) return err("unknown option " + quoted(name));
  auto& slot = args.values[std::string(o->name)];
  if (o->metavar.empty()) {
    if (inline_value) return err("option " + std::string(name) + " takes no value");
    slot.emplace_back();
  } else if (inline_value) {
    slot.push_back(*inline_value);
  } else if (i + 1 < words.size()) {
    slot.push_back(words[++i]);
  } else {
    return needs_value(*o);
  }
  return Ok{};
}

// "-x", "-xyz" (flags), "-ovalue", "-o value", or a short-only "-S".
Status parse_short(const Spec& spec, std::span<const std::string> words, std::size_t& i, Args& args) {
  const std::string& word = words[i];
  for (std::size_t j = 1; j < word.size(); ++j) {
    const Option* o = find_short(spec, word[j]);
    if (!o && word[j] == 'h') {
      args.help = true;
      continue;
    }
    if (!o)
      return err(j == 1 ? "unknown option " + quoted(word)
                        : "unknown option '-" + std::string(1, word[j]) + "' in " + quoted(word));
    auto& slot = args.values[std::string(o->name)];
    if (o->metavar.empty()) {
      slot.emplace_back();
      continue;
    }
    if (j + 1 < word.size()) {
      slot.push_back(word.substr(j + 1));
    } else if (i + 1 < words.size()) {
      slot.push_back(words[++i]);
    } else {
      return needs_value(*o);
    }
    break;
  }
  return Ok{};
}

}  // namespace

std::optional<std::string> Args::get(std::string_view name) const {
  auto it = values.find(name);
  if (it == values.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> Args::all(std::string_view name) const {
  auto it = values.find(name);
  return it == values.end() ? std::vector<std::string>{} : it->second;
}

Result<std::uint64_t> Args::unsigned_value(std::string_view name, std::uint64_t fallback,
                                           std::uint64_t min, std::uint64_t max) const {
  auto v = get(name);
  if (!v) return fallback;
  std::string_view s = *v;
  int base = 10;
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
    s.remove_prefix(2);
    base = 16;
  }
  std::uint64_t out = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || out < min || out > max)
    return err(std::string(name) + ": " + quoted(*v) + " is not a number in " + std::to_string(min) +
               ".." + std::to_string(max));
  return out;
}

Result<double> Args::seconds(std::string_view name, double fallback) const {
  auto v = get(name);
  if (!v) return fallback;
  double out = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (v->empty() || ec != std::errc() || end != v->data() + v->size() || !(out >= 0))
    return err(std::string(name) + ": " + quoted(*v) + " is not a number of seconds");
  return out;
}

Result<Args> parse(const Spec& spec, std::span<const std::string> words) {
  Args args;
  bool options_done = false;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (options_done || word.size() < 2 || word[0] != '-') {
      if (spec.stop_at_positional) {
        args.positional.assign(words.begin() + static_cast<std::ptrdiff_t>(i), words.end());
        break;
      }
      args.positional.push_back(word);
      continue;
    }
    if (word == "--") {
      options_done = true;
      continue;
    }
    Status st = word[1] == '-' ? parse_long(spec, words, i, args) : parse_short(spec, words, i, args);
    if (!st) return st.error();
  }
  return args;
}

Result<Args> parse(const Spec& spec, int argc, char** argv) {
  std::vector<std::string> words(argv + std::min(argc, 1), argv + argc);
  return parse(spec, words);
}

std::string help_text(const Spec& spec, std::string_view program) {
  struct Row {
    std::string left;
    std::string_view help;
  };
  std::vector<Row> rows;
  for (const Option& o : spec.options) {
    std::string left = o.alias.empty() ? std::string(o.name) : std::string(o.alias) + ", " + std::string(o.name);
    if (!o.metavar.empty()) left += ' ' + std::string(o.metavar);
    rows.push_back({std::move(left), o.help});
  }
  rows.push_back({"-h, --help", "show this help"});
  rows.push_back({"--version", "print the version"});
  std::size_t width = 20;
  for (const Row& r : rows) width = std::max(width, r.left.size() + 2);

  std::string out = "usage: " + std::string(program) + ' ' + std::string(spec.usage) + '\n';
  if (!spec.summary.empty()) out += '\n' + std::string(spec.summary) + '\n';
  if (!spec.details.empty()) out += '\n' + std::string(spec.details) + '\n';
  out += "\noptions:\n";
  for (const Row& r : rows)
    out += "  " + r.left + std::string(width - r.left.size(), ' ') + std::string(r.help) + '\n';
  return out;
}

std::string_view version() { return kVersion; }

std::string version_text(std::string_view program) {
  return std::string(program) + ' ' + std::string(kVersion) + '\n';
}

}  // namespace xo::args
