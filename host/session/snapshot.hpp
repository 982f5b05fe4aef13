// A session's state snapshot: its handle tables (BTF/map/program handles ->
// the objects pinned in <pin root>/<session>/), flavor and attach state, so
// that a daemon restarted after a crash (kill -9, OOM, a bug) adopts the
// objects its predecessor left running and the guest's handles keep their
// meaning (reconcile.hpp).
//
// Trusted host data, written by the daemon itself with cereal (JSON, so the
// admin can read it) to <state_dir>/<session>.json after every change of the
// tables, atomically (write + rename). bpffs holds only BPF objects, so the
// file lives beside the pins, not among them. Never parsed from guest bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/submission.hpp"

namespace xo::session {

struct SnapshotBtf {
  std::uint32_t handle = 0;
  std::uint32_t kernel_id = 0;
  std::vector<std::uint8_t> blob;  // kept for line info in verifier logs
};

struct SnapshotMap {
  std::uint32_t btf = 0;  // BTF handle it was created with
  MapDef def;             // def.handle is the guest's handle
};

struct SnapshotProg {
  std::uint32_t handle = 0;
  std::uint32_t kernel_id = 0;  // must match the pinned program (a stale pin is not ours)
  std::string name;
  std::uint8_t flavor = 0;
  std::uint64_t insns = 0;
  std::vector<std::uint32_t> maps;  // map handles it references
  std::uint32_t btf = 0;
};

struct SessionSnapshot {
  static constexpr std::uint32_t kVersion = 1;
  std::uint32_t version = kVersion;
  std::string session, tap;
  std::int32_t tap_ifindex = 0;  // a recreated tap (new ifindex) is not the NIC the program ran for
  std::uint32_t next_handle = 1;
  std::uint32_t attached = 0;  // program handle on the tap, 0 = none
  std::uint64_t btf_bytes = 0;
  std::vector<SnapshotBtf> btfs;
  std::vector<SnapshotMap> maps;
  std::vector<SnapshotProg> progs;
};

// Who is connected to a session now, for `xoffload status` (an admin's
// question: which QEMU owns this offload?): the peer's SO_PEERCRED at
// accept, the socket and the time. <state_dir>/<session>.peer.json, written
// by the daemon at accept (same atomic write), removed at hang-up and at
// start (no connection survives a restart).
struct PeerRecord {
  std::int32_t pid = 0;
  std::uint32_t uid = 0, gid = 0;
  std::string socket;
  std::int64_t connected_unix = 0;  // seconds since the epoch
};

std::string snapshot_path(const std::string& state_dir, const std::string& session);
std::string peer_path(const std::string& state_dir, const std::string& session);
Status write_peer(const std::string& path, const PeerRecord& p);
// ENOENT when nobody is connected.
Result<PeerRecord> read_peer(const std::string& path);
// Atomic: a crash mid-write leaves the previous snapshot. Creates state_dir.
Status write_snapshot(const std::string& path, const SessionSnapshot& s);
// ENOENT when there is none; EINVAL when it does not parse or has another version.
Result<SessionSnapshot> read_snapshot(const std::string& path);
void remove_snapshot(const std::string& path);

}  // namespace xo::session
