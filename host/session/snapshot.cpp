// Where snapshots live and how they go away; the file format is
// snapshot_json.cpp.
#include "host/session/snapshot.hpp"

#include <unistd.h>

namespace xo::session {

std::string snapshot_path(const std::string& state_dir, const std::string& session) {
  return state_dir + "/" + session + ".json";
}

std::string peer_path(const std::string& state_dir, const std::string& session) {
  return state_dir + "/" + session + ".peer.json";
}

void remove_snapshot(const std::string& path) { ::unlink(path.c_str()); }

}  // namespace xo::session
