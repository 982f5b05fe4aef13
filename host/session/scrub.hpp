// Every text a guest receives passes through here first: reply messages,
// verifier and BTF logs, EVENT texts. The guest is hostile, and a host
// kernel address or host identifier in a diagnostic is a leak (KASLR,
// heap layout, which other objects exist, how the host is configured).
//
// What is replaced, and with what:
//   kernel addresses    0xffff8881047c8800, ffff8881047c8800 (16 hex digits),
//                       and their signed decimal form  -> <kernel address>
//                       (hex values in [0xff00000000000000, 0xffffffffff000000):
//                       the kernel half on x86-64 and arm64, minus the top
//                       16 MiB where small negative constants live)
//   kernel object names xo<session>_rxcnt              -> rxcnt (the guest's name)
//   host paths          /sys/fs/bpf/xoffload/vm1/...   -> <host path>
//                       (the pin root, the session's socket, any bpffs path)
//   host names          the tap, the session name      -> <tap>, <session>
//                       (whole words of 3+ characters)
//   host numbers        ifindex 7, map id 12, prog_id:5 -> ifindex <host>, ...
//   host-inserted code  a verifier-log line for an instruction the host
//                       added (holds e.g. the tap's ifindex)
//                                                      -> "N: (host-inserted instruction)"
//
// Guest-chosen text is not otherwise touched: a guest's own source paths
// and names stay as they were.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "transport/messages.hpp"

namespace xo::session {

// What identifies the host side of one session.
struct HostIdentity {
  std::string session;                  // config name (kernel object names derive from it)
  std::string tap;                      // host tap feeding the VM's NIC
  std::vector<std::string> host_paths;  // pin root, socket path, ...
};

std::string scrub_for_guest(std::string_view text, const HostIdentity& host);

// Scrubs every text field of a message in place (status message, log,
// EVENT text).
void scrub_for_guest(transport::Message& message, const HostIdentity& host);

}  // namespace xo::session
