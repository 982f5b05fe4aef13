// xoffload unload: undo `xoffload load`, from the pins alone. Detaches first
// (tc: detaches the pinned tcx link, or removes the xoffload egress filter
// that runs the session's program on kernels without tcx;
// chain: empties slot 0 of the session's prog array), then removes the pin
// directory, which drops the last references to program, maps and BTF.
// A clsact qdisc stays: it may carry other users' filters, and an empty one
// costs nothing.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <ostream>

#include "host/core/attach_tc.hpp"
#include "host/core/pins.hpp"
#include "tools/cli.hpp"
#include "tools/commands.hpp"
#include "tools/json.hpp"
#include "tools/sessions.hpp"

namespace xo::cli {

namespace {

// The sessions to unload: the named one, or every one attached to --tap.
Result<std::vector<PinnedSession>> select_sessions(const Args& args, const std::string& root) {
  auto session = args.get("--session");
  auto tap = args.get("--tap");
  if (session.has_value() == tap.has_value()) return err("give exactly one of --session NAME or --tap DEV");
  std::vector<PinnedSession> out;
  if (session) {
    auto s = open_session(root, *session);
    if (!s) return err("no session '" + *session + "' under " + root + " (" + s.error().message + ")");
    out.push_back(std::move(*s));
    return out;
  }
  for (PinnedSession& s : list_sessions(root))
    if (s.problem.empty() && s.tap == *tap) out.push_back(std::move(s));
  if (out.empty()) return err("no xoffload session is attached to tap '" + *tap + "'");
  return out;
}

Status detach(const PinnedSession& s, std::vector<std::string>& done) {
  if (s.link) {
    // Detached even if someone else holds the link open; the pin goes with
    // the directory.
    if (bpf_link_detach(s.link.get()) != 0 && errno != ENOLINK)
      return err("session '" + s.name + "': tcx link " + std::to_string(s.link_id) + " detach: " + std::strerror(errno));
    const std::string link = "detached tcx link " + std::to_string(s.link_id) + " (prog id " + std::to_string(s.link_prog_id);
    done.push_back(s.tap.empty() ? link + "; its tap is gone)" : link + ") from " + s.tap + " egress");
  } else if (s.flavor == "tc" && s.attached) {
    LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = s.tap_ifindex, .attach_point = BPF_TC_EGRESS);
    LIBBPF_OPTS(bpf_tc_opts, opts, .handle = host::kTcHandle, .priority = host::kTcPriority);
    int rc = bpf_tc_detach(&hook, &opts);
    if (rc != 0 && rc != -ENOENT)
      return err("session '" + s.name + "': tc detach on " + s.tap + ": " + std::strerror(-rc));
    done.push_back("removed tc egress filter on " + s.tap + " (prog id " + std::to_string(s.prog_id) + ")");
  } else if (s.chain && s.chain_slot_prog_id != 0) {
    std::uint32_t key = 0;
    if (bpf_map_delete_elem(s.chain->fd.get(), &key) != 0 && errno != ENOENT)
      return err("session '" + s.name + "': clearing " + s.dir + "/" + s.chain->leaf + " slot 0: " +
                 std::strerror(errno));
    done.push_back("emptied chain slot 0 of " + s.dir + "/" + s.chain->leaf);
  }
  return Ok{};
}

int run(const Args& args, std::ostream& out, std::ostream& err) {
  if (!args.positional.empty()) {
    err << "unload: takes no FILE (see xoffload unload --help)\n";
    return kExitUsage;
  }
  std::string root = args.get("--pin-root").value_or(std::string(host::kDefaultPinRoot));
  auto sessions = select_sessions(args, root);
  if (!sessions) {
    err << "unload: " << sessions.error().message << '\n';
    return args.get("--session") || args.get("--tap") ? kExitFailure : kExitUsage;
  }
  JsonWriter j;
  j.begin_object();
  j.key("unloaded");
  j.begin_array();
  int rc = kExitOk;
  for (PinnedSession& s : *sessions) {
    std::vector<std::string> done;
    Status st = detach(s, done);
    std::string name = s.name, dir = s.dir;
    std::uint32_t prog_id = s.prog_id;
    s = PinnedSession{};  // close our own fds before the pins go
    if (st) {
      if (auto rm = host::remove_stale_session(name, root); !rm)
        st = rm;
      else
        done.push_back("removed " + dir);
    }
    if (!st) {
      err << "unload: " << st.error().message << '\n';
      rc = kExitFailure;
    }
    j.begin_object();
    j.field("session", name);
    j.field("prog_id", prog_id);
    j.field("ok", static_cast<bool>(st));
    j.key("actions");
    j.begin_array();
    for (const auto& d : done) j.value(d);
    j.end_array();
    j.end_object();
    if (!args.flag("--json"))
      for (const auto& d : done) out << name << ": " << d << '\n';
  }
  j.end_array();
  j.end_object();
  if (args.flag("--json")) out << j.str() << '\n';
  return rc;
}

}  // namespace

const Command& unload_command() {
  static const Command cmd{
      "unload",
      "Detach and remove an offload left by `xoffload load` (by session or tap).",
      "--session NAME | --tap DEV [--json]",
      "Detaches (tc filter / chain slot), then removes the session's pin\n"
      "directory; with nothing else holding them, the kernel frees the\n"
      "program, its maps and its BTF. --tap DEV unloads every session\n"
      "attached to DEV in the current network namespace.",
      {{"--session", "NAME", "the session (pin directory name)"},
       {"--tap", "DEV", "every session attached to this tap"},
       {"--pin-root", "DIR", "bpffs directory for sessions (default /sys/fs/bpf/xoffload)"},
       {"--json", "", "machine-readable output"}},
      run};
  return cmd;
}

}  // namespace xo::cli
