// What xoffloadd knows about its sessions and bpffs does not: each session's
// tap by name (the tcx link only gives an ifindex, which names another
// device, or none, in another network namespace), its socket, and who is
// connected (the daemon's peer record). Read from the daemon's
// configuration and its state dir, so `xoffload status` gives the same
// answer from any netns.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "host/session/config.hpp"
#include "tools/sessions.hpp"

namespace xo::cli {

inline constexpr const char* kDefaultDaemonConfig = "/etc/xoffloadd.conf";

// The daemon configuration at `path`. With `required` false a missing file
// is nullopt (a host without xoffloadd, `xoffload load` sessions only).
Result<std::optional<session::DaemonConfig>> read_daemon_config(const std::string& path, bool required);

// Fills s.socket, s.peer and the tap (name, ifindex, tap_elsewhere) from the
// configuration's session of the same name and the daemon's snapshot.
void add_daemon_view(PinnedSession& s, const session::DaemonConfig& config);

}  // namespace xo::cli
