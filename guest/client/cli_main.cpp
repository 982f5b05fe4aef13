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
// Options go through the one parser (core/args.hpp): global options before
// COMMAND, the command's own (and --json) after it; usage errors exit 2.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "core/args.hpp"
#include "guest/builder/elf_builder.hpp"
#include "guest/client/guest_client.hpp"
#include "guest/client/offload_state.hpp"

namespace {

using namespace xo::guest;
namespace tp = xo::transport;

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

// What every command gets: the global options and its own parsed words.
struct Ctx {
  std::string state;
  bool json = false;
  xo::args::Args args;  // the command's options and positionals
};

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

int cmd_caps(GuestClient& c, const Ctx& a) {
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
    std::printf("{\"name\":%s,\"prog\":%u,\"btf\":%u,\"flavor\":%s,\"attached\":%s,\"maps\":[%s],"
                "\"guest_pin_dir\":%s,\"trampoline_id\":%u,\"trampoline_ifindex\":%u}",
                json_str(p.name).c_str(), p.prog, p.btf, json_str(flavor_name(p.flavor)).c_str(),
                p.attached ? "true" : "false", maps.c_str(), json_str(p.guest_pin_dir).c_str(), p.trampoline_id,
                p.trampoline_ifindex);
    return;
  }
  std::printf("prog %u '%s' flavor %s%s btf %u\n", p.prog, p.name.c_str(),
              flavor_name(p.flavor).c_str(), p.attached ? " attached" : " loaded", p.btf);
  for (const auto& m : p.maps)
    std::printf("  map %u '%s' %s key %u value %u max_entries %u%s\n", m.handle, m.name.c_str(),
                map_type_name(m.type).c_str(), m.key_size, m.value_size, m.max_entries,
                guest_side_map_type(m.type) ? " (guest-side)" : "");
  if (!p.guest_pin_dir.empty()) std::printf("  guest-side maps pinned in %s\n", p.guest_pin_dir.c_str());
  if (p.trampoline_id)
    std::printf("  trampoline prog id %u on ifindex %u\n", p.trampoline_id, p.trampoline_ifindex);
}

// Seconds; hold_s * 1000 stays an int.
constexpr std::uint64_t kMaxHold = 2'000'000;

// What offload's options must be, checked before the host is contacted.
xo::Status check_offload(const xo::args::Args& args) {
  if (auto f = args.get("--flavor"))
    if (auto flavor = parse_flavor(*f); !flavor) return flavor.error();
  if (auto hold = args.unsigned_value("--hold", 0, 0, kMaxHold); !hold) return hold.error();
  std::map<std::string, std::uint32_t, std::less<>> sizes;
  for (const std::string& v : args.all("--map-size"))
    if (auto st = xo::guest::parse_map_size(v, sizes); !st) return xo::err("--map-size: " + st.error().message);
  return xo::Ok{};
}

int cmd_offload(GuestClient& c, const Ctx& a) {
  OffloadOptions o;
  const std::string& file = a.args.positional[0];
  if (auto f = a.args.get("--flavor")) o.flavor = *parse_flavor(*f);  // checked by check_offload
  if (auto p = a.args.get("--prog")) o.program = *p;
  if (auto i = a.args.get("--iface")) o.ifname = *i;
  if (auto r = a.args.get("--pin-root")) o.pin_root = *r;
  for (const std::string& v : a.args.all("--map-size"))
    (void)parse_map_size(v, o.map_sizes);  // checked by check_offload
  o.attach = !a.args.flag("--no-attach");
  const int hold_s = a.args.flag("--hold") ? int(*a.args.unsigned_value("--hold", 0, 0, kMaxHold)) : -1;
  auto state = load_state(a.state);
  if (!state) return fail(state.error().message);
  auto prog = c.offload_file(file, o);
  if (!prog) return fail(prog.error().message);
  for (const std::string& n : prog->notes) std::fprintf(stderr, "xoffload-guest: note: %s\n", n.c_str());
  // A trampoline must outlive this process; `unload` removes it by id.
  if (hold_s < 0) c.keep_guest_side(*prog);
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

int cmd_maps(const Ctx& a) {
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

int cmd_dump_map(GuestClient& c, const Ctx& a) {
  auto state = load_state(a.state);
  if (!state) return fail(state.error().message);
  const OffloadedMap* map = nullptr;
  for (const auto& p : *state)
    if ((map = p.find_map(a.args.positional[0]))) break;
  if (!map) return fail("no offloaded map named '" + a.args.positional[0] + "'");
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

int cmd_stats(GuestClient& c, const Ctx& a) {
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

int cmd_unload(GuestClient& c, const Ctx& a) {
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

int cmd_reset(GuestClient& c, const Ctx& a) {
  if (auto st = c.reset(); !st) return fail(st.error().message);
  (void)save_state(a.state, {});
  std::printf(a.json ? "{\"reset\":true}\n" : "session reset\n");
  return 0;
}

// ---- the command table and the command line ---------------------------------

constexpr xo::args::Option kJson{"--json", "", "machine-readable output"};

struct GuestCommand {
  std::string_view name;
  std::size_t positionals;  // exactly this many words after the command
  bool needs_host;          // connects to the host (maps reads the state file only)
  xo::args::Spec spec;
  int (*run)(GuestClient* c, const Ctx& ctx);
  xo::Status (*check)(const xo::args::Args& args) = nullptr;
};

const std::vector<GuestCommand>& commands() {
  static const std::vector<GuestCommand> table = {
      {"caps", 0, true, {"[--json]", "What the host offers: flavors, map types, helpers, quotas.", "", {kJson}},
       [](GuestClient* c, const Ctx& a) { return cmd_caps(*c, a); }},
      {"offload", 1, true,
       {"FILE [--flavor tc|chain|devmap|any] [--prog NAME] [--map-size NAME=N]... [--iface IF] [--no-attach]\n"
        "       [--pin-root DIR] [--hold SECONDS]",
        "Offload the XDP program in FILE (a BPF object) to the host.",
        "The handles are recorded in the state file for maps, dump-map, stats and unload.\n"
        "Over a unix socket the host session ends with this process: --hold keeps it.\n"
        "A program that redirects (DEVMAP, CPUMAP, XSKMAP, an ifindex) or emits perf samples\n"
        "keeps those maps in the guest, pinned under --pin-root/IF, and gets a trampoline on IF\n"
        "that carries out what the host defers to the guest; unload removes both.",
        {{"--flavor", "F", "host flavor: tc, chain, devmap or any (default: the host's choice)"},
         {"--prog", "NAME", "the program of a multi-program object"},
         {"--map-size", "NAME=N", "max_entries of map NAME before load (repeatable)"},
         {"--iface", "IF", "the guest NIC it runs for (its ifindex is ctx->ingress_ifindex)"},
         {"--pin-root", "DIR", "guest-side maps (DEVMAP, XSKMAP, perf arrays) are pinned under DIR/IF\n"
                               "(default /sys/fs/bpf/xoffload-guest)"},
         {"--no-attach", "", "load it on the host but do not attach it"},
         {"--hold", "SECONDS", "stay connected for SECONDS (0: until a signal), then unload"},
         kJson}},
       [](GuestClient* c, const Ctx& a) { return cmd_offload(*c, a); }, check_offload},
      {"maps", 0, false, {"[--json]", "Offloaded programs and their maps (from the state file).", "", {kJson}},
       [](GuestClient*, const Ctx& a) { return cmd_maps(a); }},
      {"dump-map", 1, true, {"NAME [--json]", "Every entry of an offloaded map, read from the host.", "", {kJson}},
       [](GuestClient* c, const Ctx& a) { return cmd_dump_map(*c, a); }},
      {"stats", 0, true, {"[--json]", "Per-action packet counters of each offloaded program.", "", {kJson}},
       [](GuestClient* c, const Ctx& a) { return cmd_stats(*c, a); }},
      {"unload", 0, true,
       {"[--json]", "Detach, unload and free every program in the state file.", "", {kJson}},
       [](GuestClient* c, const Ctx& a) { return cmd_unload(*c, a); }},
      {"reset", 0, true,
       {"[--json]", "Free everything this VM's session owns on the host.", "", {kJson}},
       [](GuestClient* c, const Ctx& a) { return cmd_reset(*c, a); }},
  };
  return table;
}

std::string usage_text() {
  static const std::string state_help = "where offloaded handles are kept (default " + default_state_path() + ")";
  std::string list = "commands (xoffload-guest COMMAND --help for details):";
  for (const auto& c : commands())
    list += "\n  " + std::string(c.name) + std::string(c.name.size() < 10 ? 10 - c.name.size() : 1, ' ') +
            std::string(c.spec.summary);
  const xo::args::Spec top{
      "[--port PATH] [--state FILE] [--json] COMMAND [ARGS]",
      "The guest side of xoffload: offload XDP programs to the host and inspect them.",
      list,
      {{"--port", "PATH", "the host channel: a virtio port or a unix socket (default /dev/xoffload0)"},
       {"--state", "FILE", state_help},
       kJson},
      /*stop_at_positional=*/true};
  return xo::args::help_text(top, "xoffload-guest");
}

int usage_error(const std::string& what, const std::string& help) {
  std::fprintf(stderr, "xoffload-guest: %s\n%s", what.c_str(), help.c_str());
  return xo::args::kExitUsage;
}

}  // namespace

int main(int argc, char** argv) {
  const xo::args::Spec global{"", "", "",
                              {{"--port", "PATH", ""}, {"--state", "FILE", ""}, kJson},
                              /*stop_at_positional=*/true};
  auto top = xo::args::parse(global, argc, argv);
  if (!top) return usage_error(top.error().message, usage_text());
  if (top->version) {
    std::fputs(xo::args::version_text("xoffload-guest").c_str(), stdout);
    return xo::args::kExitOk;
  }
  if (top->help) {
    std::fputs(usage_text().c_str(), stdout);
    return xo::args::kExitOk;
  }
  if (top->positional.empty()) {
    std::fputs(usage_text().c_str(), stderr);
    return xo::args::kExitUsage;
  }
  const std::string name = top->positional[0];
  const GuestCommand* cmd = nullptr;
  for (const auto& c : commands())
    if (c.name == name) cmd = &c;
  if (!cmd) return usage_error("unknown command '" + name + "'", usage_text());

  const std::string program = "xoffload-guest " + name;
  const std::vector<std::string> words(top->positional.begin() + 1, top->positional.end());
  auto args = xo::args::parse(cmd->spec, words);
  if (!args) return usage_error(name + ": " + args.error().message, "");
  if (args->help) {
    std::fputs(xo::args::help_text(cmd->spec, program).c_str(), stdout);
    return xo::args::kExitOk;
  }
  if (args->version) {
    std::fputs(xo::args::version_text("xoffload-guest").c_str(), stdout);
    return xo::args::kExitOk;
  }
  if (args->positional.size() < cmd->positionals)
    return usage_error(name + ": " + std::string(cmd->spec.usage.substr(0, cmd->spec.usage.find(' '))) + " missing",
                       "usage: " + program + " " + std::string(cmd->spec.usage) + "\n");
  if (args->positional.size() > cmd->positionals)
    return usage_error(name + ": unexpected argument '" + args->positional[cmd->positionals] + "'", "");
  if (cmd->check)
    if (auto st = cmd->check(*args); !st) return usage_error(name + ": " + st.error().message, "");

  Ctx ctx{top->get("--state").value_or(default_state_path()), top->flag("--json") || args->flag("--json"),
          std::move(*args)};
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  if (!cmd->needs_host) return cmd->run(nullptr, ctx);
  auto client = GuestClient::connect(top->get("--port").value_or(""));
  if (!client) return fail(client.error().message);
  return cmd->run(&*client, ctx);
}
