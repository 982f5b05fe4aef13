#include "tools/daemon_view.hpp"

#include <net/if.h>
#include <sys/stat.h>

#include "host/session/snapshot.hpp"

namespace xo::cli {

Result<std::optional<session::DaemonConfig>> read_daemon_config(const std::string& path, bool required) {
  struct stat st {};
  if (!required && ::stat(path.c_str(), &st) != 0) return std::optional<session::DaemonConfig>{};
  auto c = session::load_config_file(path);
  if (!c) return c.error();
  return std::optional<session::DaemonConfig>(std::move(*c));
}

void add_daemon_view(PinnedSession& s, const session::DaemonConfig& config) {
  const session::SessionConfig* sc = nullptr;
  for (const auto& c : config.sessions)
    if (c.name == s.name) sc = &c;
  if (!sc) return;  // not one of the daemon's (an `xoffload load` session)
  s.socket = sc->socket;
  if (auto p = session::read_peer(session::peer_path(config.state_dir, s.name)))
    s.peer = PinnedSession::Peer{p->pid, p->uid, p->connected_unix};
  if (s.flavor != "tc" || !s.link_ifindex) return;
  // The tcx link's ifindex is the tap's in the daemon's netns. The snapshot
  // names the tap with the ifindex it was attached to; the configuration
  // names it otherwise.
  std::string tap = sc->tap;
  if (auto snap = session::read_snapshot(session::snapshot_path(config.state_dir, s.name)))
    if (snap->tap_ifindex == s.link_ifindex) tap = snap->tap;
  s.tap = tap;
  s.tap_ifindex = s.link_ifindex;
  s.attached = true;
  s.tap_elsewhere = int(::if_nametoindex(tap.c_str())) != s.link_ifindex;
}

}  // namespace xo::cli
