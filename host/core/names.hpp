// Names that tell the host admin which VM and tap a kernel object belongs
// to, within the kernel's limits: object names are 15 chars of [A-Za-z0-9_.],
// pin paths are /sys/fs/bpf/xoffload/<session>/<leaf>.
#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace xo::host {

inline constexpr std::size_t kKernelNameMax = 15;  // BPF_OBJ_NAME_LEN - 1

// A session name is a single safe path component: 1..48 chars of
// [A-Za-z0-9_.-], not starting with '.' or '-'.
Status validate_session_name(std::string_view session);

// A pin leaf inside the session directory: same alphabet as a session name.
Status validate_pin_leaf(std::string_view leaf);

// Kernel object name "xo<session>_<name>", characters outside [A-Za-z0-9_.]
// turned into '_', truncated to 15 chars keeping at least the first 3 chars
// of the session and as much of <name> as fits. Examples:
//   ("vm1", "rxcnt")        -> "xovm1_rxcnt"
//   ("vm1", "xdp_prog1")    -> "xovm1_xdp_prog1"
//   ("guest42", "counters") -> "xogues_counters" (session shortened first)
std::string kernel_object_name(std::string_view session, std::string_view name);

}  // namespace xo::host
