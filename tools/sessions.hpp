// Offloads that outlive the process that loaded them, seen from their bpffs
// pins: /sys/fs/bpf/xoffload/<session>/{prog,stats,map_<name>,chain_<tap>}
// (xoffload load), or prog<handle>_<name>, stats<handle>, map<handle>_<name>
// (xoffloadd sessions, which may hold several programs: status reports the
// attached one).
// `xoffload load` leaves a session pinned and attached; `status` and
// `unload` find it again here, from the pins and the kernel alone:
//  - flavor: the pinned program's type (SCHED_CLS = tc, XDP = chain);
//  - tc attachment: the pinned tcx link link_egress (host/core/attach_tcx.hpp:
//    link id, program id, ifindex as the kernel reports them), or, for the
//    cls_bpf fallback, the tap whose clsact egress filter (handle 0x58, prio
//    0x4f, host/core/attach_tc.hpp) runs this program id (bpf_tc_query over
//    the interfaces of the current network namespace);
//  - chain attachment: slot 0 of the pinned prog array chain_<tap>.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/unique_fd.hpp"
#include "core/result.hpp"

namespace xo::cli {

struct PinnedMap {
  std::string leaf;  // "map_rxcnt", "stats", "chain_tap0"
  std::string name;  // guest name ("rxcnt"), "stats", or the leaf
  UniqueFd fd;
  std::uint32_t id = 0, type = 0, key_size = 0, value_size = 0, max_entries = 0;
  std::string kernel_name;
};

struct PinnedSession {
  std::string name, dir;
  std::vector<std::string> leaves;  // sorted
  UniqueFd prog;              // invalid when there is no "prog" pin
  std::uint32_t prog_id = 0, prog_type = 0, btf_id = 0;
  std::string prog_kernel_name, prog_tag;  // tag: 16 hex digits
  std::vector<PinnedMap> maps;           // map_* leaves
  std::optional<PinnedMap> stats;        // "stats"
  std::optional<PinnedMap> chain;        // "chain_<tap>"
  std::string flavor;                    // "tc", "chain", or "" when unknown

  // tc: the tap (ifname, ifindex) whose egress filter runs prog_id.
  std::string tap;
  int tap_ifindex = 0;
  bool attached = false;
  std::uint32_t chain_slot_prog_id = 0;  // chain: what slot 0 holds (0 = empty)
  // tc through a tcx link: the pinned link_egress as the kernel reports it.
  UniqueFd link;
  std::uint32_t link_id = 0, link_prog_id = 0;
  int link_ifindex = 0;  // 0: the tap is gone and the link defunct

  std::string problem;  // list_sessions: why this directory could not be read

  // From the daemon's configuration and state dir (daemon_view.hpp), when
  // the session is one of xoffloadd's: valid from any network namespace.
  std::string socket;          // the session's socket
  bool tap_elsewhere = false;  // the tap lives in another netns than this tool's
  struct Peer {
    std::int32_t pid = 0;
    std::uint32_t uid = 0;
    std::int64_t connected_unix = 0;
  };
  std::optional<Peer> peer;  // who is connected now (SO_PEERCRED at accept)
};

Result<PinnedSession> open_session(const std::string& root, const std::string& name);
// Every session directory under root (missing root = none), by name; one
// that cannot be read (e.g. being torn down right now) has `problem` set.
std::vector<PinnedSession> list_sessions(const std::string& root);

// The interface of this netns whose xoffload tc filter runs `prog_id`.
std::optional<int> find_tc_filter(std::uint32_t prog_id);
// The prog id in slot 0 of a prog array, 0 when empty.
std::uint32_t prog_array_slot0(int map_fd);

// Per-action counts from a pinned stats map (summed over CPUs), indexed like
// host::kActionNames.
Result<std::vector<std::uint64_t>> read_action_stats(int stats_fd);

// Throwaway sessions (`run`, `verify --kernel`) are named <prefix>-<pid>.
// Before making one, directories left by such commands that died (their
// pid no longer exists) are removed; live ones are never touched.
std::string throwaway_session(const std::string& prefix, const std::string& root);

}  // namespace xo::cli
