// The fuzzed sessions keep no state file (Session::set_state_file is never
// called), so the snapshot format (host/session/snapshot_json.cpp, cereal's
// JSON archive) is left out: Debian's rapidjson 1.1 headers do not compile
// with clang 19. Reaching these is a bug in the fuzzer's setup.
#include <cerrno>

#include "host/session/snapshot.hpp"

namespace xo::session {

Status write_snapshot(const std::string& path, const SessionSnapshot&) {
  return err(ENOTSUP, "snapshot: the fuzzer keeps no state file (" + path + ")");
}

Result<SessionSnapshot> read_snapshot(const std::string& path) {
  return err(ENOTSUP, "snapshot: the fuzzer keeps no state file (" + path + ")");
}

Status write_peer(const std::string& path, const PeerRecord&) {
  return err(ENOTSUP, "peer record: the fuzzer keeps no state file (" + path + ")");
}

Result<PeerRecord> read_peer(const std::string& path) {
  return err(ENOTSUP, "peer record: the fuzzer keeps no state file (" + path + ")");
}

}  // namespace xo::session
