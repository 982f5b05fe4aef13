// The CLI's state file: format, parse, atomic save.
#include "guest/client/offload_state.hpp"

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace xo::guest {
namespace {

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t tab = line.find('\t', start);
    out.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) return out;
    start = tab + 1;
  }
}

bool to_u32(const std::string& s, std::uint32_t& out) {
  if (s.empty() || s.size() > 10) return false;
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + std::uint64_t(c - '0');
  }
  if (v > 0xffffffffu) return false;
  out = std::uint32_t(v);
  return true;
}

}  // namespace

std::string default_state_path() {
  if (const char* p = std::getenv("XOFFLOAD_GUEST_STATE"); p && *p) return p;
  return "/run/xoffload-guest.state";
}

std::string format_state(const std::vector<OffloadedProgram>& programs) {
  std::ostringstream out;
  for (const auto& p : programs) {
    out << "prog\t" << p.name << '\t' << p.prog << '\t' << p.btf << '\t' << unsigned(p.flavor)
        << '\t' << (p.attached ? 1 : 0) << '\n';
    if (!p.guest_pin_dir.empty() || p.trampoline_id != 0)
      out << "guest\t" << p.guest_pin_dir << '\t' << p.trampoline_ifindex << '\t' << p.trampoline_id << '\t'
          << p.trampoline_mode << '\n';
    for (const auto& m : p.maps)
      out << "map\t" << m.name << '\t' << m.handle << '\t' << std::uint32_t(m.type) << '\t'
          << m.key_size << '\t' << m.value_size << '\t' << m.max_entries << '\n';
  }
  return out.str();
}

Result<std::vector<OffloadedProgram>> parse_state(const std::string& text) {
  std::vector<OffloadedProgram> out;
  std::istringstream in(text);
  std::string line;
  for (int lineno = 1; std::getline(in, line); ++lineno) {
    if (line.empty()) continue;
    const auto f = split_tabs(line);
    auto bad = [&] { return err("state line " + std::to_string(lineno) + ": malformed: " + line); };
    if (f[0] == "prog" && f.size() == 6) {
      OffloadedProgram p;
      std::uint32_t flavor = 0, attached = 0;
      p.name = f[1];
      if (!to_u32(f[2], p.prog) || !to_u32(f[3], p.btf) || !to_u32(f[4], flavor) ||
          !to_u32(f[5], attached) || flavor > 0xff || attached > 1)
        return bad();
      p.flavor = std::uint8_t(flavor);
      p.attached = attached == 1;
      out.push_back(std::move(p));
    } else if (f[0] == "guest" && f.size() == 5 && !out.empty()) {
      OffloadedProgram& p = out.back();
      p.guest_pin_dir = f[1];
      if (!to_u32(f[2], p.trampoline_ifindex) || !to_u32(f[3], p.trampoline_id) || !to_u32(f[4], p.trampoline_mode))
        return bad();
    } else if (f[0] == "map" && f.size() == 7 && !out.empty()) {
      OffloadedMap m;
      std::uint32_t type = 0;
      m.name = f[1];
      if (!to_u32(f[2], m.handle) || !to_u32(f[3], type) || !to_u32(f[4], m.key_size) ||
          !to_u32(f[5], m.value_size) || !to_u32(f[6], m.max_entries))
        return bad();
      m.type = MapType(type);
      out.back().maps.push_back(std::move(m));
    } else {
      return bad();
    }
  }
  return out;
}

Result<std::vector<OffloadedProgram>> load_state(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::vector<OffloadedProgram>{};
  std::ostringstream text;
  text << in.rdbuf();
  auto parsed = parse_state(text.str());
  if (!parsed) return err(path + ": " + parsed.error().message);
  return parsed;
}

Status save_state(const std::string& path, const std::vector<OffloadedProgram>& programs) {
  if (programs.empty()) {
    std::remove(path.c_str());
    return Ok{};
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return err("cannot write " + tmp);
    out << format_state(programs);
    if (!out.flush()) return err("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) return err("cannot rename " + tmp + " to " + path);
  return Ok{};
}

}  // namespace xo::guest
