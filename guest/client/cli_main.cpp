// xoffload-guest: the guest CLI over the client library.
//
//   xoffload-guest [--port PATH] [--state FILE] [--json] COMMAND
//     caps                         what the host offers (flavors, helpers, quotas)
//     offload FILE [--flavor F] [--prog NAME] [--map-size NAME=N]... [--iface IF] [--no-attach] [--hold S]
//     maps                         offloaded programs and their maps (from the state file)
//     dump-map NAME                every entry of a map, read from the host
//     stats                        per-action packet counters of each program
//     unload                       detach, unload and free every program in the state file
//     reset                        free everything this VM's session owns on the host
//
// Over the virtio port the host session outlives this process, so handles
// are remembered in a state file (offload_state.hpp). Over a unix socket the
// session ends with the process: use `offload --hold S` to keep it.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "guest/builder/elf_builder.hpp"
#include "guest/client/guest_client.hpp"
#include "guest/client/offload_state.hpp"

namespace {

using namespace xo::guest;
namespace tp = xo::transport;

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

struct Args {
  std::string port, state = default_state_path(), command;
  bool json = false;
  std::vector<std::string> rest;
};

void usage(FILE* to) {
  std::fprintf(to,
               "usage: xoffload-guest [--port PATH] [--state FILE] [--json] COMMAND\n"
               "  caps | offload FILE [--flavor tc|chain|devmap|any] [--prog NAME] [--iface IF]\n"
               "         [--map-size NAME=N]... [--no-attach] [--hold SECONDS]\n"
               "       | maps | dump-map NAME | stats | unload | reset\n");
}

std::string json_str(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += char(c);
    else if (c < 0x20) { char b[8]; std::snprintf(b, sizeof b, "\\u%04x", c); out += b; }
    else out += char(c);
  }
  return out + "\"";
}

std::string hex(std::span<const std::uint8_t> bytes, bool json) {
  std::string out;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    char b[8];
    std::snprintf(b, sizeof b, json ? "\"%02x\"" : "%02x", bytes[i]);
    if (i) out += json ? "," : " ";
    out += b;
  }
  return json ? "[" + out + "]" : out;
}

std::string action_name(std::uint32_t a) {
  switch (a) {
    case tp::kActionAborted: return "XDP_ABORTED";
    case tp::kActionDrop: return "XDP_DROP";
    case tp::kActionPass: return "XDP_PASS";
    case tp::kActionTx: return "XDP_TX";
    case tp::kActionRedirect: return "XDP_REDIRECT";
    case tp::kActionPolicyDrop: return "POLICY_DROP";
  }
  return "action " + std::to_string(a);
}

int fail(const std::string& what) {
  std::fprintf(stderr, "xoffload-guest: %s\n", what.c_str());
  return 1;
}

int cmd_caps(GuestClient& c, const Args& a) {
  auto caps = c.caps();
  if (!caps) return fail(caps.error().message);
  const auto& q = caps->quotas;
  if (a.json) {
    std::string helpers, types;
    for (const auto& h : caps->helpers)
      helpers += (helpers.empty() ? "" : ",") + std::string("{\"id\":") + std::to_string(h.id) +
                 ",\"nargs\":" + std::to_string(h.nargs) + ",\"flavors\":" +
                 json_str(flavor_set_name(h.flavors)) + "}";
    for (auto t : caps->map_types) types += (types.empty() ? "" : ",") + std::to_string(t);
    std::printf("{\"version\":%u,\"isa_level\":%u,\"flavors\":%s,\"map_types\":[%s],\"helpers\":[%s],"
                "\"quotas\":{\"max_maps\":%u,\"max_map_bytes\":%llu,\"max_progs\":%u,\"max_insns\":%u,"
                "\"max_btf_bytes\":%u,\"requests_per_sec\":%u,\"request_burst\":%u}}\n",
                caps->version, caps->isa_level, json_str(flavor_set_name(caps->flavors)).c_str(),
                types.c_str(), helpers.c_str(), q.max_maps, (unsigned long long)q.max_map_bytes,
                q.max_progs, q.max_insns, q.max_btf_bytes, q.requests_per_sec, q.request_burst);
    return 0;
  }
  std::printf("protocol version %u, ISA v%u, flavors %s\n", caps->version, caps->isa_level,
              flavor_set_name(caps->flavors).c_str());
  std::printf("map types:");
  for (auto t : caps->map_types) std::printf(" %s", xo::map_type_name(xo::MapType(t)).c_str());
  std::printf("\nhelpers (%zu):", caps->helpers.size());
  for (const auto& h : caps->helpers) std::printf(" %d", h.id);
  std::printf("\nquotas: maps %u, map bytes %llu, progs %u, insns %u, btf bytes %u, %u req/s (burst %u)\n",
              q.max_maps, (unsigned long long)q.max_map_bytes, q.max_progs, q.max_insns,
              q.max_btf_bytes, q.requests_per_sec, q.request_burst);
  return 0;
}

void print_program(const OffloadedProgram& p, bool json) {
  if (json) {
    std::string maps;
    for (const auto& m : p.maps)
      maps += (maps.empty() ? "" : ",") + std::string("{\"name\":") + json_str(m.name) +
              ",\"handle\":" + std::to_string(m.handle) + ",\"type\":" +
              json_str(map_type_name(m.type)) + ",\"key_size\":" + std::to_string(m.key_size) +
              ",\"value_size\":" + std::to_string(m.value_size) +
              ",\"max_entries\":" + std::to_string(m.max_entries) + "}";
    std::printf("{\"name\":%s,\"prog\":%u,\"btf\":%u,\"flavor\":%s,\"attached\":%s,\"maps\":[%s]}",
                json_str(p.name).c_str(), p.prog, p.btf, json_str(flavor_name(p.flavor)).c_str(),
                p.attached ? "true" : "false", maps.c_str());
    return;
  }
  std::printf("prog %u '%s' flavor %s%s btf %u\n", p.prog, p.name.c_str(),
              flavor_name(p.flavor).c_str(), p.attached ? " attached" : " loaded", p.btf);
  for (const auto& m : p.maps)
    std::printf("  map %u '%s' %s key %u value %u max_entries %u\n", m.handle, m.name.c_str(),
                map_type_name(m.type).c_str(), m.key_size, m.value_size, m.max_entries);
}

int cmd_offload(GuestClient& c, const Args& a) {
  OffloadOptions o;
  std::string file;
  int hold_s = -1;
  for (std::size_t i = 0; i < a.rest.size(); ++i) {
    const std::string& s = a.rest[i];
    auto next = [&]() -> const std::string* { return i + 1 < a.rest.size() ? &a.rest[++i] : nullptr; };
    if (s == "--flavor") {
      const std::string* v = next();
      if (!v) return fail("--flavor needs a value");
      auto f = parse_flavor(*v);
      if (!f) return fail(f.error().message);
      o.flavor = *f;
    } else if (s == "--prog") {
      const std::string* v = next();
      if (!v) return fail("--prog needs a value");
      o.program = *v;
    } else if (s == "--map-size") {
      const std::string* v = next();
      if (!v) return fail("--map-size needs NAME=N");
      if (auto st = parse_map_size(*v, o.map_sizes); !st) return fail("--map-size: " + st.error().message);
    } else if (s == "--iface") {
      const std::string* v = next();
      if (!v) return fail("--iface needs a value");
      o.ifname = *v;
    } else if (s == "--no-attach") {
      o.attach = false;
    } else if (s == "--hold") {
      const std::string* v = next();
      if (!v) return fail("--hold needs seconds");
      hold_s = std::atoi(v->c_str());
    } else if (file.empty() && s[0] != '-') {
      file = s;
    } else {
      return fail("offload: unexpected argument '" + s + "'");
    }
  }
  if (file.empty()) return fail("offload: FILE missing");
  auto state = load_state(a.state);
  if (!state) return fail(state.error().message);
  auto prog = c.offload_file(file, o);
  if (!prog) return fail(prog.error().message);
  for (const std::string& n : prog->notes) std::fprintf(stderr, "xoffload-guest: note: %s\n", n.c_str());
  state->push_back(*prog);
  if (auto st = save_state(a.state, *state); !st) return fail(st.error().message);
  print_program(*prog, a.json);
  if (a.json) std::printf("\n");
  std::fflush(stdout);
  if (hold_s < 0) return 0;
  // Keep the session (unix socket) alive, then unload what we offloaded.
  for (int ms = 0; !g_stop && (hold_s == 0 || ms < hold_s * 1000); ms += 100)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  auto st = c.unload(*prog);
  state->pop_back();
  (void)save_state(a.state, *state);
  return st ? 0 : fail(st.error().message);
}

int cmd_maps(const Args& a) {
  auto state = load_state(a.state);
  if (!state) return fail(state.error().message);
  if (a.json) std::printf("[");
  for (std::size_t i = 0; i < state->size(); ++i) {
    if (a.json && i) std::printf(",");
    print_program((*state)[i], a.json);
  }
  if (a.json) std::printf("]\n");
  else if (state->empty()) std::printf("no offloaded programs\n");
  return 0;
}

int cmd_dump_map(GuestClient& c, const Args& a) {
  if (a.rest.size() != 1) return fail("dump-map: NAME missing");
  auto state = load_state(a.state);
  if (!state) return fail(state.error().message);
  const OffloadedMap* map = nullptr;
  for (const auto& p : *state)
    if ((map = p.find_map(a.rest[0]))) break;
  if (!map) return fail("no offloaded map named '" + a.rest[0] + "'");
  auto entries = c.dump_map(*map);
  if (!entries) return fail(entries.error().message);
  const bool percpu = map_type_is_percpu(map->type);
  if (a.json) std::printf("[");
  bool first = true;
  for (const auto& e : *entries) {
    std::string sum;
    if (percpu) {
      auto s = sum_percpu_u64(e.value, map->value_size);
      if (!s) return fail("map '" + map->name + "': " + s.error().message);
      sum = std::to_string(*s);
    }
    if (a.json) {
      std::printf("%s{\"key\":%s,\"value\":%s%s%s}", first ? "" : ",", hex(e.key, true).c_str(),
                  hex(e.value, true).c_str(), percpu ? ",\"sum\":" : "", sum.c_str());
    } else {
      std::printf("key: %s  value: %s%s%s\n", hex(e.key, false).c_str(), hex(e.value, false).c_str(),
                  percpu ? "  sum: " : "", sum.c_str());
    }
    first = false;
  }
  if (a.json) std::printf("]\n");
  return 0;
}

int cmd_stats(GuestClient& c, const Args& a) {
  auto state = load_state(a.state);
  if (!state) return fail(state.error().message);
  if (a.json) std::printf("[");
  for (std::size_t i = 0; i < state->size(); ++i) {
    const auto& p = (*state)[i];
    auto counters = c.stats(p.prog);
    if (!counters) return fail("prog '" + p.name + "': " + counters.error().message);
    if (a.json) {
      std::string cs;
      for (const auto& k : *counters)
        cs += (cs.empty() ? "" : ",") + std::string("{\"action\":") + json_str(action_name(k.action)) +
              ",\"packets\":" + std::to_string(k.packets) + ",\"bytes\":" + std::to_string(k.bytes) + "}";
      std::printf("%s{\"prog\":%u,\"name\":%s,\"counters\":[%s]}", i ? "," : "", p.prog,
                  json_str(p.name).c_str(), cs.c_str());
    } else {
      std::printf("prog %u '%s':\n", p.prog, p.name.c_str());
      for (const auto& k : *counters)
        std::printf("  %-13s %12llu pkts %14llu bytes\n", action_name(k.action).c_str(),
                    (unsigned long long)k.packets, (unsigned long long)k.bytes);
    }
  }
  if (a.json) std::printf("]\n");
  return 0;
}

int cmd_unload(GuestClient& c, const Args& a) {
  auto state = load_state(a.state);
  if (!state) return fail(state.error().message);
  int rc = 0;
  for (auto& p : *state) {
    const std::string name = p.name;
    const std::uint32_t handle = p.prog;
    if (auto st = c.unload(p); !st) rc = fail("prog '" + name + "': " + st.error().message);
    else if (!a.json) std::printf("unloaded prog %u '%s'\n", handle, name.c_str());
  }
  (void)save_state(a.state, {});
  if (a.json) std::printf("{\"unloaded\":%zu}\n", state->size());
  return rc;
}

int cmd_reset(GuestClient& c, const Args& a) {
  if (auto st = c.reset(); !st) return fail(st.error().message);
  (void)save_state(a.state, {});
  std::printf(a.json ? "{\"reset\":true}\n" : "session reset\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  int i = 1;
  for (; i < argc; ++i) {
    const std::string s = argv[i];
    if (s == "--json") a.json = true;
    else if ((s == "--port" || s == "--state") && i + 1 < argc) (s == "--port" ? a.port : a.state) = argv[++i];
    else if (s == "-h" || s == "--help") { usage(stdout); return 0; }
    else if (s[0] == '-') { usage(stderr); return 2; }
    else break;
  }
  if (i >= argc) { usage(stderr); return 2; }
  a.command = argv[i++];
  for (; i < argc; ++i) {
    const std::string s = argv[i];
    if (s == "--json") a.json = true;
    else a.rest.push_back(s);
  }
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);

  if (a.command == "maps") return cmd_maps(a);
  const bool known = a.command == "caps" || a.command == "offload" || a.command == "dump-map" ||
                     a.command == "stats" || a.command == "unload" || a.command == "reset";
  if (!known) { usage(stderr); return 2; }
  auto client = GuestClient::connect(a.port);
  if (!client) return fail(client.error().message);
  if (a.command == "caps") return cmd_caps(*client, a);
  if (a.command == "offload") return cmd_offload(*client, a);
  if (a.command == "dump-map") return cmd_dump_map(*client, a);
  if (a.command == "stats") return cmd_stats(*client, a);
  if (a.command == "unload") return cmd_unload(*client, a);
  return cmd_reset(*client, a);
}
