// What the guest CLI remembers between invocations: the programs it
// offloaded and their maps, by host handle.
//
// Over virtio-serial one host session lives as long as the VM's port, not
// as long as one process, so `xoffload-guest offload` and a later
// `xoffload-guest dump-map rxcnt` talk to the same session; this file
// carries the handle <-> name table from one to the other. It is written by
// this tool only (trusted), one record per line, tab separated:
//   prog <name> <prog> <btf> <flavor> <attached>
//   guest <pin dir> <trampoline ifindex> <trampoline prog id> <attach mode>
//   map  <name> <handle> <type> <key_size> <value_size> <max_entries>
// A guest line (a program that defers to the guest: its pinned guest-side
// maps and trampoline) and map lines belong to the prog line above them.
#pragma once

#include <string>
#include <vector>

#include "guest/client/guest_client.hpp"

namespace xo::guest {

// $XOFFLOAD_GUEST_STATE, else /run/xoffload-guest.state.
std::string default_state_path();

// A missing file is an empty list.
Result<std::vector<OffloadedProgram>> load_state(const std::string& path);
Status save_state(const std::string& path, const std::vector<OffloadedProgram>& programs);

std::string format_state(const std::vector<OffloadedProgram>& programs);
Result<std::vector<OffloadedProgram>> parse_state(const std::string& text);

}  // namespace xo::guest
