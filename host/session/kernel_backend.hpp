// The real backend: xo_host (BTF loader, host maps, kernel program load with
// verifier-log mapping, tc/chain attach, bpffs pins) behind SessionBackend.
//
// Every object of a session is pinned under <pin_root>/<session>/ while it
// lives ("btf" cannot be pinned; maps as map<handle>_<name>, programs as
// prog<handle>_<name>, their action counters as stats<handle>), so
// `bpftool prog show pinned ...` and `ls /sys/fs/bpf/xoffload` show the host
// admin which VM owns what.
#pragma once

#include <memory>
#include <string>

#include "host/session/backend.hpp"
#include "host/session/config.hpp"

namespace xo::session {

// Errors only when even the session directory cannot be made (bpffs
// missing); objects are then still created, just not pinned (logged).
// `adopt`: take over <pin_root>/<session> as a crashed daemon left it (the
// adopt_* calls claim its pins, finish_adoption() removes the rest) instead
// of removing it and starting empty.
std::unique_ptr<SessionBackend> make_kernel_backend(const SessionConfig& config, const std::string& pin_root,
                                                    bool adopt = false);

// Removes <pin_root>/<session> left behind by a daemon that crashed.
void remove_stale_pins(const std::string& session, const std::string& pin_root);

}  // namespace xo::session
