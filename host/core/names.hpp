// Names that tell the host admin which VM and tap a kernel object belongs
// to, within the kernel's limits: object names are 15 chars of [A-Za-z0-9_.],
// pin paths are /sys/fs/bpf/xoffload/<session>/<leaf> with no '.' anywhere.
#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace xo::host {

inline constexpr std::size_t kKernelNameMax = 15;  // BPF_OBJ_NAME_LEN - 1

// bpffs refuses '.' anywhere in a name (EPERM: dots are reserved for the
// kernel's own files), so names under the pin root use [A-Za-z0-9_-] only.
inline constexpr std::size_t kPinNameMax = 48;

// A session name is a single safe path component: 1..48 chars of
// [A-Za-z0-9_-], not starting with '-'.
Status validate_session_name(std::string_view session);

// A pin leaf inside the session directory: same alphabet as a session name.
Status validate_pin_leaf(std::string_view leaf);

// The one way a guest-chosen name becomes (part of) a pin leaf: `prefix`
// (ours, already valid) then `name` with every character outside
// [A-Za-z0-9_-] made '_', cut to kPinNameMax in all. Examples:
//   ("map_", "rxcnt")    -> "map_rxcnt"
//   ("map_", ".rodata")  -> "map__rodata"
//   ("prog3_", "xdp.a")  -> "prog3_xdp_a"
std::string pin_leaf(std::string_view prefix, std::string_view name);

// A character the kernel takes in an object name: [A-Za-z0-9_.].
bool kernel_name_char(char c);
// `s` with every other character made '_'.
std::string kernel_chars(std::string_view s);
// The hash tag kernel_object_name() may end a name with: this many lower
// case hex digits. A name of `session` carries one when it is
// kKernelNameMax chars long (shortened) or when the session had to be
// rewritten by kernel_chars(); the guest-text scrubber strips it with this.
inline constexpr std::size_t kKernelNameTagLen = 4;
bool kernel_name_tagged(std::string_view session, std::size_t name_length);

// Kernel object name "xo<session>_<name>", characters outside
// [A-Za-z0-9_.] turned into '_'. When that is over 15 chars, or the session
// had to be rewritten, 4 hex digits of a hash of the original (session,
// name) end it and the rest is cut to fit, keeping at least the first 3
// chars of the session and as much of <name> as fits, so that shortened
// names of different objects differ:
//   ("vm1", "rxcnt")        -> "xovm1_rxcnt"
//   ("vm1", "xdp_prog1")    -> "xovm1_xdp_prog1"
//   ("guest42", "counters") -> "xogue_counXXXX" (XXXX: the hash)
std::string kernel_object_name(std::string_view session, std::string_view name);

}  // namespace xo::host
