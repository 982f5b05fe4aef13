// xoffloadd configuration: trusted host data written by the admin.
//
// Format (INI-like; '#' or ';' starts a comment; one `key = value` per line):
//
//   [daemon]
//   pin_root  = /sys/fs/bpf/xoffload   # bpffs directory for session pins
//   log_level = info                   # error | warn | info | debug
//   load_threads = 1                   # workers that run PROG_LOAD's verification
//                                      # (load_pool.hpp), off the serving thread
//   load_nice    = 10                  # their nice (0..19): the serving thread wins the CPU
//   state_dir = /run/xoffload/state    # session snapshots (snapshot.hpp): what a
//                                      # restart after a crash adopts
//
//   [session vm1]                      # one section per VM NIC
//   tap              = tap0            # host tap feeding the VM's NIC
//   socket           = /run/xoffload/vm1.sock  # QEMU: -chardev socket,path=...
//   socket_owner     = libvirt-qemu    # user (name or uid) owning the socket (default: the daemon's)
//   socket_group     = kvm             # its group (name or gid) (default: the daemon's)
//   socket_mode      = 0660            # octal permission bits (at most 0777)
//   flavor           = tc              # preferred host flavor: tc | chain
//   flavors          = tc,chain        # flavors offered to this guest
//   guest_mac        = 52:54:00:12:34:56  # the VM NIC's MAC (QEMU -device ...,mac=)
//   chain_tx         = guest-mac       # chain XDP_TX: guest-mac (source must be guest_mac;
//                                      # without one, every TX is dropped) | any | drop
//   tier             = direct          # translator: direct | ir (the LLVM IR tier) | auto
//                                      # (IR when smaller and the kernel takes it)
//   max_maps         = 16
//   max_map_bytes    = 16777216        # kernel memory of the session's maps, programs
//                                      # and BTF, as the kernel counts it (memlock)
//   max_progs        = 4
//   max_insns        = 100000          # per program
//   max_btf_bytes    = 4194304         # sum over BTF_LOADs
//   requests_per_sec = 1000            # token bucket: sustained rate
//   request_burst    = 200             # token bucket: depth
//   deny_helpers     = 5, 7            # helper ids denied on top of the default policy
//   max_loop_iterations = 65536        # bpf_loop counts per program run, nested ones multiplied
//   max_ns_per_packet = 100000         # runtime budget; a program over it is detached (0: off)
//   verify_cpu_ms_per_sec = 100        # verifier CPU budget: a token bucket of CPU time,
//   verify_cpu_burst_ms   = 2000       # refilled at this rate up to this depth; PROG_LOAD
//                                      # is refused (EBUSY) while it is empty (0: off)
//
// Unknown sections or keys are errors (a typo must not silently drop a
// quota). The command line form `name:tap:socket` gives a session with the
// defaults below.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "transport/messages.hpp"
#include "core/policy.hpp"
#include "translator/passes/passes.hpp"
#include "translator/passes/tier.hpp"

namespace xo::session {

inline constexpr std::string_view kDefaultPinRoot = "/sys/fs/bpf/xoffload";
inline constexpr std::string_view kDefaultStateDir = "/run/xoffload/state";

struct SessionQuotas {
  std::uint32_t max_maps = 16;
  std::uint64_t max_map_bytes = 16u << 20;
  std::uint32_t max_progs = 4;
  std::uint32_t max_insns = 100'000;
  std::uint32_t max_btf_bytes = 4u << 20;
  std::uint32_t requests_per_sec = 1000;
  std::uint32_t request_burst = 200;
  // Not on the wire (CAPS v1 has no field for them); see docs/SECURITY.md.
  std::uint32_t max_loop_iterations = kDefaultMaxLoopIterations;
  std::uint32_t max_ns_per_packet = 100'000;
  // The kernel verifier's CPU time (thread CPU of the load worker), charged
  // to the session that asked for it. verify_cpu_ms_per_sec 0: no budget.
  std::uint32_t verify_cpu_ms_per_sec = 100;
  std::uint32_t verify_cpu_burst_ms = 2000;

  transport::Quotas wire() const {
    return {max_maps, max_map_bytes, max_progs, max_insns, max_btf_bytes, requests_per_sec,
            request_burst};
  }
};

struct SessionConfig {
  std::string name;    // pin directory and log prefix; names.hpp rules
  std::string tap;
  std::string socket;  // unix socket path xoffloadd listens on
  std::string socket_owner, socket_group;  // empty: the daemon's own
  std::uint32_t socket_mode = 0660;
  Flavor flavor = Flavor::Tc;
  // chain XDP_TX leaves through the host's uplink, past the tap's and the
  // bridge's anti-spoofing: by default only with the guest's own source MAC.
  translator::ChainTx chain_tx = translator::ChainTx::GuestMac;
  std::optional<std::array<std::uint8_t, 6>> guest_mac;
  FlavorSet flavors = flavor_bit(Flavor::Tc) | flavor_bit(Flavor::Chain);
  SessionQuotas quotas;
  std::vector<std::int32_t> deny_helpers;
  // Translator tier (`tier = direct|ir|auto`). The IR tier is the door's to
  // give (xoffloadd sets `reemit`; the session library never links LLVM):
  // without it, auto keeps the direct tier with a note and ir refuses.
  translator::Tier tier = translator::Tier::Direct;
  translator::Reemit reemit;
};

struct DaemonConfig {
  std::string pin_root = std::string(kDefaultPinRoot);
  std::string log_level = "info";
  std::uint32_t load_threads = 1;
  std::uint32_t load_nice = 10;  // the load workers' nice, above the serving thread's
  std::string state_dir = std::string(kDefaultStateDir);
  std::vector<SessionConfig> sessions;
};

// Parses the text of a config file; `origin` names it in errors
// ("/etc/xoffloadd.conf:12: unknown key 'max_mpas'").
Result<DaemonConfig> parse_config(std::string_view text, std::string_view origin = "config");
Result<DaemonConfig> load_config_file(const std::string& path);
// "name:tap:socket" (the socket path may itself contain ':').
Result<SessionConfig> parse_session_spec(std::string_view spec);
// Session names, taps and sockets are unique; names valid; flavor offered.
Status validate_config(const DaemonConfig& config);

}  // namespace xo::session
