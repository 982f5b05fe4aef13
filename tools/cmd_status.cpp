// xoffload status: what is offloaded where. Walks the session directories
// under /sys/fs/bpf/xoffload/ and asks the kernel about each: the pinned
// program (id, name, tag, type = flavor), its maps, the per-action stats,
// and whether it is attached right now (tc: the tap whose egress filter runs
// it, found by bpf_tc_query in the current netns; chain: prog array slot 0).
#include <ctime>
#include <ostream>

#include "host/core/offload.hpp"
#include "host/core/pins.hpp"
#include "tools/cli.hpp"
#include "tools/commands.hpp"
#include "tools/daemon_view.hpp"
#include "tools/json.hpp"
#include "tools/map_dump.hpp"
#include "tools/sessions.hpp"

namespace xo::cli {

namespace {

// "2026-12-03T16:40:00Z"
std::string utc_time(std::int64_t unix_seconds) {
  const std::time_t t = std::time_t(unix_seconds);
  std::tm tm{};
  char buf[32] = "?";
  if (::gmtime_r(&t, &tm)) std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string attach_text(const PinnedSession& s) {
  if (s.flavor == "tc" && s.link_id) {
    const std::string link = "tcx link " + std::to_string(s.link_id) + " (prog id " + std::to_string(s.link_prog_id) + ")";
    if (s.attached)
      return link + " egress on " + s.tap + (s.tap_elsewhere ? " (ifindex " + std::to_string(s.link_ifindex) +
                                                                    ", in another network namespace)"
                                                              : "");
    return s.link_ifindex ? link + " on ifindex " + std::to_string(s.link_ifindex) + ", not in this netns"
                          : link + ", defunct: its tap is gone";
  }
  if (s.flavor == "tc")
    return s.attached ? "tc clsact egress on " + s.tap : "not attached (no tc filter runs it in this netns)";
  if (s.flavor == "chain" && s.chain) {
    std::string slot = s.dir + "/" + s.chain->leaf + " slot 0";
    if (s.attached) return "chain " + slot;
    return s.chain_slot_prog_id ? "not attached (" + slot + " holds prog id " + std::to_string(s.chain_slot_prog_id) + ")"
                                : "not attached (" + slot + " is empty)";
  }
  return "unknown";
}

void session_json(JsonWriter& j, const PinnedSession& s, bool entries) {
  j.begin_object();
  j.field("session", s.name);
  j.field("pin_dir", s.dir);
  if (!s.problem.empty()) {
    j.field("problem", s.problem);
    j.end_object();
    return;
  }
  j.field("flavor", s.flavor);
  j.field("tap", s.tap);
  j.field("tap_ifindex", s.tap_ifindex);
  j.field("attached", s.attached);
  j.field("attach", attach_text(s));
  if (!s.socket.empty()) j.field("socket", s.socket);
  if (s.peer) {
    j.key("guest");
    j.begin_object();
    j.field("pid", s.peer->pid);
    j.field("uid", s.peer->uid);
    j.field("connected", utc_time(s.peer->connected_unix));
    j.end_object();
  }
  if (s.link_id) {
    j.key("link");
    j.begin_object();
    j.field("id", s.link_id);
    j.field("prog_id", s.link_prog_id);
    j.field("ifindex", s.link_ifindex);
    j.end_object();
  }
  j.key("prog");
  j.begin_object();
  j.field("id", s.prog_id);
  j.field("name", s.prog_kernel_name);
  j.field("tag", s.prog_tag);
  j.field("type", s.prog_type);
  j.field("btf_id", s.btf_id);
  j.end_object();
  j.key("maps");
  j.begin_array();
  for (const PinnedMap& m : s.maps) {
    j.begin_object();
    j.field("name", m.name);
    j.field("kernel_name", m.kernel_name);
    j.field("id", m.id);
    j.field("pin", s.dir + "/" + m.leaf);
    j.field("key_size", m.key_size);
    j.field("value_size", m.value_size);
    j.field("max_entries", m.max_entries);
    if (entries) {
      if (auto c = read_map(m.fd.get(), m.name)) {
        j.key("entries");
        write_map_entries(j, *c);
      }
    }
    j.end_object();
  }
  j.end_array();
  if (s.chain) {
    j.key("chain");
    j.begin_object();
    j.field("pin", s.dir + "/" + s.chain->leaf);
    j.field("map_id", s.chain->id);
    j.field("slot0_prog_id", s.chain_slot_prog_id);
    j.end_object();
  }
  if (s.stats) {
    j.key("stats");
    j.begin_object();
    if (auto counts = read_action_stats(s.stats->fd.get()))
      for (std::size_t i = 0; i < counts->size() && i < host::kActionNames.size(); ++i)
        j.field(host::kActionNames[i], (*counts)[i]);
    j.end_object();
  }
  j.key("pins");
  j.begin_array();
  for (const auto& l : s.leaves) j.value(s.dir + "/" + l);
  j.end_array();
  j.end_object();
}

void session_text(const PinnedSession& s, bool entries, std::ostream& out) {
  out << "session " << s.name << " (" << s.dir << ")\n";
  if (!s.problem.empty()) {
    out << "  unreadable: " << s.problem << '\n';
    return;
  }
  out << "  " << s.flavor << " flavor, tap " << (s.tap.empty() ? "?" : s.tap) << ": " << attach_text(s) << '\n';
  if (!s.socket.empty()) {
    out << "  socket " << s.socket << ": ";
    if (s.peer)
      out << "guest pid " << s.peer->pid << " (uid " << s.peer->uid << "), connected " << utc_time(s.peer->connected_unix)
          << '\n';
    else
      out << "no guest connected\n";
  }
  out << "  prog id " << s.prog_id << " " << s.prog_kernel_name << " tag " << s.prog_tag << " btf id "
      << s.btf_id << '\n';
  for (const PinnedMap& m : s.maps) {
    out << "  map '" << m.name << "': id " << m.id << " " << m.kernel_name << " (" << s.dir << "/" << m.leaf << ")\n";
    if (entries)
      if (auto c = read_map(m.fd.get(), m.name)) out << format_map_text(*c);
  }
  if (s.stats) {
    if (auto counts = read_action_stats(s.stats->fd.get())) {
      out << "  stats:";
      for (std::size_t i = 0; i < counts->size() && i < host::kActionNames.size(); ++i)
        out << ' ' << host::kActionNames[i] << '=' << (*counts)[i];
      out << '\n';
    }
  }
}

int run(const Args& args, std::ostream& out, std::ostream& err) {
  if (!args.positional.empty()) {
    err << "status: takes no FILE (see xoffload status --help)\n";
    return kExitUsage;
  }
  // The daemon's configuration: its pin root, and per session the tap by
  // name, the socket and who is connected (valid from any netns).
  const auto config_arg = args.get("--config");
  auto config = read_daemon_config(config_arg.value_or(kDefaultDaemonConfig), config_arg.has_value());
  if (!config) {
    err << "status: " << config.error().message << '\n';
    return kExitFailure;
  }
  std::string root = args.get("--pin-root").value_or(*config ? (*config)->pin_root : std::string(host::kDefaultPinRoot));
  std::vector<PinnedSession> sessions;
  if (auto only = args.get("--session")) {
    auto s = open_session(root, *only);
    if (!s) {
      err << "status: " << s.error().message << '\n';
      return kExitFailure;
    }
    sessions.push_back(std::move(*s));
  } else {
    sessions = list_sessions(root);
  }
  if (*config)
    for (auto& s : sessions) add_daemon_view(s, **config);
  bool entries = args.flag("--entries");
  if (args.flag("--json")) {
    JsonWriter j;
    j.begin_object();
    j.field("pin_root", root);
    j.key("sessions");
    j.begin_array();
    for (const auto& s : sessions) session_json(j, s, entries);
    j.end_array();
    j.end_object();
    out << j.str() << '\n';
  } else {
    if (sessions.empty()) out << "no offloads (nothing under " << root << ")\n";
    for (const auto& s : sessions) session_text(s, entries, out);
  }
  return kExitOk;
}

}  // namespace

const Command& status_command() {
  static const Command cmd{
      "status",
      "What is offloaded where: every session pinned under /sys/fs/bpf/xoffload.",
      "[--session NAME] [--entries] [--json]",
      "Per session: flavor, tap, whether it is attached now (tc filters are\n"
      "looked up in the current network namespace), the program (id, name,\n"
      "tag), its maps (id, pin) and the per-action statistics when on. For\n"
      "xoffloadd's sessions also the tap by name from any network namespace,\n"
      "the socket and the connected guest (QEMU's pid and uid, since when).",
      {{"--session", "NAME", "only this session"},
       {"--entries", "", "also print every map's entries (typed by BTF)"},
       {"--pin-root", "DIR", "bpffs directory for sessions (default: the daemon config's pin_root, else /sys/fs/bpf/xoffload)"},
       {"--config", "FILE", "xoffloadd's configuration (default /etc/xoffloadd.conf, when it exists): pin root, taps, sockets, who is connected"},
       {"--json", "", "machine-readable output"}},
      run};
  return cmd;
}

}  // namespace xo::cli
