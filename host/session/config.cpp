// Config parsing: see config.hpp for the format.
#include "host/session/config.hpp"

#include <cctype>
#include <charconv>
#include <fstream>
#include <set>
#include <sstream>

namespace xo::session {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

template <typename T>
bool parse_uint(std::string_view s, T& out) {
  std::uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return false;
  if (v > std::uint64_t(T(~T(0)))) return false;
  out = T(v);
  return true;
}

bool session_name_ok(std::string_view n) {
  if (n.empty() || n.size() > 48 || n.front() == '.' || n.front() == '-') return false;
  for (char c : n)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-')) return false;
  return true;
}

Result<FlavorSet> parse_flavor_list(std::string_view s) {
  FlavorSet set = 0;
  while (!s.empty()) {
    auto comma = s.find(',');
    auto item = trim(s.substr(0, comma));
    auto f = parse_flavor(item);
    if (!f) return err("unknown flavor '" + std::string(item) + "'");
    set |= flavor_bit(*f);
    s = comma == std::string_view::npos ? std::string_view{} : s.substr(comma + 1);
  }
  return set;
}

Status set_session_key(SessionConfig& c, std::string_view key, std::string_view value) {
  auto number = [&](auto& field) -> Status {
    if (!parse_uint(value, field))
      return err("key '" + std::string(key) + "': '" + std::string(value) + "' is not a number in range");
    return Ok{};
  };
  auto& q = c.quotas;
  if (key == "tap") c.tap = value;
  else if (key == "socket") c.socket = value;
  else if (key == "guest_mac") {
    std::array<std::uint8_t, 6> mac{};
    std::string_view rest = value;
    for (std::size_t i = 0; i < 6; ++i) {
      if (rest.size() < 2 || (i < 5 && (rest.size() < 3 || rest[2] != ':')))
        return err("guest_mac: '" + std::string(value) + "' is not a MAC address (aa:bb:cc:dd:ee:ff)");
      unsigned byte = 0;
      auto [p, ec] = std::from_chars(rest.data(), rest.data() + 2, byte, 16);
      if (ec != std::errc{} || p != rest.data() + 2)
        return err("guest_mac: '" + std::string(value) + "' is not a MAC address (aa:bb:cc:dd:ee:ff)");
      mac[i] = std::uint8_t(byte);
      rest.remove_prefix(i < 5 ? 3 : 2);
    }
    if (!rest.empty() || (mac[0] & 1))
      return err("guest_mac: '" + std::string(value) + "' is not a unicast MAC address");
    c.guest_mac = mac;
  } else if (key == "chain_tx") {
    if (value == "guest-mac") c.chain_tx = translator::ChainTx::GuestMac;
    else if (value == "any") c.chain_tx = translator::ChainTx::Any;
    else if (value == "drop") c.chain_tx = translator::ChainTx::Drop;
    else return err("chain_tx: '" + std::string(value) + "' is not guest-mac, any or drop");
  } else if (key == "tier") {
    auto t = translator::parse_tier(value);
    if (!t) return err("tier: '" + std::string(value) + "' is not direct, ir or auto");
    c.tier = *t;
  }
  else if (key == "socket_owner") c.socket_owner = value;
  else if (key == "socket_group") c.socket_group = value;
  else if (key == "socket_mode") {
    std::uint32_t mode = 0;
    const char* end = value.data() + value.size();
    auto [p, ec] = std::from_chars(value.data(), end, mode, 8);
    if (value.empty() || ec != std::errc{} || p != end || mode > 0777)
      return err("socket_mode: '" + std::string(value) + "' is not an octal mode of at most 0777");
    c.socket_mode = mode;
  }
  else if (key == "flavor") {
    auto f = parse_flavor(value);
    if (!f) return err("unknown flavor '" + std::string(value) + "'");
    c.flavor = *f;
  } else if (key == "flavors") {
    auto set = parse_flavor_list(value);
    if (!set) return set.error();
    c.flavors = *set;
  } else if (key == "max_maps") return number(q.max_maps);
  else if (key == "max_map_bytes") return number(q.max_map_bytes);
  else if (key == "max_progs") return number(q.max_progs);
  else if (key == "max_insns") return number(q.max_insns);
  else if (key == "max_btf_bytes") return number(q.max_btf_bytes);
  else if (key == "requests_per_sec") return number(q.requests_per_sec);
  else if (key == "request_burst") return number(q.request_burst);
  else if (key == "max_loop_iterations") return number(q.max_loop_iterations);
  else if (key == "max_ns_per_packet") return number(q.max_ns_per_packet);
  else if (key == "verify_cpu_ms_per_sec") return number(q.verify_cpu_ms_per_sec);
  else if (key == "verify_cpu_burst_ms") return number(q.verify_cpu_burst_ms);
  else if (key == "deny_helpers") {
    std::string_view rest = value;
    while (!rest.empty()) {
      auto comma = rest.find(',');
      auto item = trim(rest.substr(0, comma));
      std::uint32_t id = 0;
      if (!parse_uint(item, id) || id > 0x7fffffff)
        return err("deny_helpers: '" + std::string(item) + "' is not a helper id");
      c.deny_helpers.push_back(std::int32_t(id));
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
    }
  } else return err("unknown key '" + std::string(key) + "' in a session section");
  return Ok{};
}

}  // namespace

Result<DaemonConfig> parse_config(std::string_view text, std::string_view origin) {
  DaemonConfig config;
  enum class Section { None, Daemon, Session } section = Section::None;
  std::size_t line_no = 0;
  auto fail = [&](const std::string& m) {
    return err(std::string(origin) + ":" + std::to_string(line_no) + ": " + m);
  };
  while (!text.empty()) {
    ++line_no;
    auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (auto hash = line.find_first_of("#;"); hash != std::string_view::npos) line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;
    if (line.front() == '[') {
      if (line.back() != ']') return fail("section header without ']'");
      auto inner = trim(line.substr(1, line.size() - 2));
      if (inner == "daemon") {
        section = Section::Daemon;
      } else if (inner.substr(0, 8) == "session " || inner.substr(0, 8) == "session\t") {
        SessionConfig s;
        s.name = trim(inner.substr(8));
        config.sessions.push_back(std::move(s));
        section = Section::Session;
      } else {
        return fail("unknown section [" + std::string(inner) + "] (expected [daemon] or [session NAME])");
      }
      continue;
    }
    auto eq = line.find('=');
    if (eq == std::string_view::npos) return fail("expected 'key = value'");
    auto key = trim(line.substr(0, eq));
    auto value = trim(line.substr(eq + 1));
    if (section == Section::None) return fail("'" + std::string(key) + "' outside a section");
    if (section == Section::Daemon) {
      if (key == "pin_root") config.pin_root = value;
      else if (key == "log_level") config.log_level = value;
      else if (key == "load_nice") {
        if (!parse_uint(value, config.load_nice) || config.load_nice > 19)
          return fail("load_nice: '" + std::string(value) + "' is not a number in 0..19");
      } else if (key == "load_threads") {
        if (!parse_uint(value, config.load_threads) || config.load_threads == 0 || config.load_threads > 64)
          return fail("load_threads: '" + std::string(value) + "' is not a number in 1..64");
      } else if (key == "state_dir") {
        config.state_dir = value;
      }
      else return fail("unknown key '" + std::string(key) + "' in [daemon]");
    } else if (auto s = set_session_key(config.sessions.back(), key, value); !s) {
      return fail("[session " + config.sessions.back().name + "] " + s.error().message);
    }
  }
  return config;
}

Result<DaemonConfig> load_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return err("cannot open config file '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str(), path);
}

Result<SessionConfig> parse_session_spec(std::string_view spec) {
  auto a = spec.find(':');
  auto b = a == std::string_view::npos ? a : spec.find(':', a + 1);
  if (b == std::string_view::npos)
    return err("session '" + std::string(spec) + "': expected name:tap:socket");
  SessionConfig s;
  s.name = spec.substr(0, a);
  s.tap = spec.substr(a + 1, b - a - 1);
  s.socket = spec.substr(b + 1);
  return s;
}

Status validate_config(const DaemonConfig& config) {
  if (config.sessions.empty()) return err("no sessions configured");
  std::set<std::string> names, taps, sockets;
  for (const auto& s : config.sessions) {
    std::string label = "session '" + s.name + "'";
    if (!session_name_ok(s.name))
      return err(label + ": name must be 1..48 chars of [A-Za-z0-9_.-], not starting with '.' or '-'");
    if (s.tap.empty() || s.tap.size() > 15) return err(label + ": tap name must be 1..15 chars");
    if (s.socket.empty() || s.socket.size() > 107) return err(label + ": socket path must be 1..107 chars");
    if (!(s.flavors & flavor_bit(s.flavor)))
      return err(label + ": preferred flavor " + std::string(flavor_name(s.flavor)) + " is not in its flavors");
    if (s.flavors & ~(flavor_bit(Flavor::Tc) | flavor_bit(Flavor::Chain)))
      return err(label + ": this host supports the tc and chain flavors only");
    if (s.quotas.requests_per_sec == 0 || s.quotas.request_burst == 0)
      return err(label + ": requests_per_sec and request_burst must be > 0");
    if (!names.insert(s.name).second) return err(label + ": duplicate session name");
    if (!taps.insert(s.tap).second) return err(label + ": tap '" + s.tap + "' used by two sessions");
    if (!sockets.insert(s.socket).second) return err(label + ": socket '" + s.socket + "' used twice");
  }
  return Ok{};
}

}  // namespace xo::session
