// Who may connect to a session's socket: the owner, group and mode the admin
// configured (socket_owner, socket_group, socket_mode), so that a QEMU
// running as its own user (libvirt-qemu, kvm) can reach its VM's socket and
// nobody else can. Applied right after listen(), before any guest connects.
#pragma once

#include "core/result.hpp"
#include "host/session/config.hpp"

namespace xo::daemon {

// chown (when an owner or group is set: user/group names or numeric ids)
// and chmod of config.socket. An unknown user or group, or a failing
// chown/chmod, is an Error naming the session and carrying the errno.
Status apply_socket_access(const session::SessionConfig& config);

}  // namespace xo::daemon
