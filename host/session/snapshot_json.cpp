// The snapshot file format: cereal's JSON archive (readable by an admin).
// Kept apart from snapshot.cpp because Debian's rapidjson 1.1 headers, which
// cereal's JSON archive includes, do not compile with clang 19 (the
// libFuzzer build); the fuzzer links fuzz/daemon/no_snapshot_file.cpp instead.
#include "host/session/snapshot.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cereal/archives/json.hpp>
#include <cereal/types/common.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace xo {

// Non-intrusive: core/ stays free of cereal.
template <class Archive>
void serialize(Archive& a, MapDef& d) {
  a(cereal::make_nvp("handle", d.handle), cereal::make_nvp("type", d.type), cereal::make_nvp("key_size", d.key_size),
    cereal::make_nvp("value_size", d.value_size), cereal::make_nvp("max_entries", d.max_entries),
    cereal::make_nvp("flags", d.flags), cereal::make_nvp("name", d.name),
    cereal::make_nvp("btf_key_type_id", d.btf_key_type_id), cereal::make_nvp("btf_value_type_id", d.btf_value_type_id),
    cereal::make_nvp("initial_value", d.initial_value), cereal::make_nvp("frozen", d.frozen));
}

namespace session {

template <class Archive>
void serialize(Archive& a, SnapshotBtf& b) {
  a(cereal::make_nvp("handle", b.handle), cereal::make_nvp("kernel_id", b.kernel_id), cereal::make_nvp("blob", b.blob));
}
template <class Archive>
void serialize(Archive& a, SnapshotMap& m) {
  a(cereal::make_nvp("btf", m.btf), cereal::make_nvp("def", m.def));
}
template <class Archive>
void serialize(Archive& a, SnapshotProg& p) {
  a(cereal::make_nvp("handle", p.handle), cereal::make_nvp("kernel_id", p.kernel_id), cereal::make_nvp("name", p.name),
    cereal::make_nvp("flavor", p.flavor), cereal::make_nvp("insns", p.insns), cereal::make_nvp("maps", p.maps),
    cereal::make_nvp("btf", p.btf));
}
template <class Archive>
void serialize(Archive& a, SessionSnapshot& s) {
  a(cereal::make_nvp("version", s.version), cereal::make_nvp("session", s.session), cereal::make_nvp("tap", s.tap),
    cereal::make_nvp("tap_ifindex", s.tap_ifindex), cereal::make_nvp("next_handle", s.next_handle),
    cereal::make_nvp("attached", s.attached), cereal::make_nvp("btf_bytes", s.btf_bytes),
    cereal::make_nvp("btfs", s.btfs), cereal::make_nvp("maps", s.maps), cereal::make_nvp("progs", s.progs));
}

template <class Archive>
void serialize(Archive& a, PeerRecord& p) {
  a(cereal::make_nvp("pid", p.pid), cereal::make_nvp("uid", p.uid), cereal::make_nvp("gid", p.gid),
    cereal::make_nvp("socket", p.socket), cereal::make_nvp("connected_unix", p.connected_unix));
}

namespace {

// Atomic: a crash mid-write leaves the previous file. Creates the directory.
template <class T>
Status write_json(const std::string& path, const char* root, const T& value) {
  const auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    // The default state dir (/run/xoffload/state) has a parent that only a
    // systemd RuntimeDirectory= makes: without the parent no snapshot is
    // written, and a crash would lose the session. Parents get the usual
    // modes; the state dir itself stays the daemon's alone.
    const std::string dir = path.substr(0, slash);
    std::error_code ec;
    const auto parent = std::filesystem::path(dir).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    if (ec) return err(ec.value(), "snapshot: cannot create " + parent.string() + ": " + ec.message());
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
      return err(errno, "snapshot: cannot create " + dir + ": " + std::strerror(errno));
  }
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    if (!out) return err(errno ? errno : EIO, "snapshot: cannot write " + tmp);
    {
      cereal::JSONOutputArchive ar(out);
      ar(cereal::make_nvp(root, value));
    }
    out.flush();
    if (!out) return err(EIO, "snapshot: write to " + tmp + " failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0)
    return err(errno, "snapshot: cannot rename " + tmp + ": " + std::strerror(errno));
  return Ok{};
}

template <class T>
Result<T> read_json(const std::string& path, const char* root) {
  std::ifstream in(path);
  if (!in) return err(ENOENT, "snapshot: no " + path);
  T value;
  try {
    cereal::JSONInputArchive ar(in);
    ar(cereal::make_nvp(root, value));
  } catch (const std::exception& e) {
    return err(EINVAL, "snapshot: " + path + " does not parse: " + e.what());
  }
  return value;
}

}  // namespace

Status write_snapshot(const std::string& path, const SessionSnapshot& s) {
  return write_json(path, "xoffload_session", s);
}

Status write_peer(const std::string& path, const PeerRecord& p) { return write_json(path, "xoffload_peer", p); }

Result<PeerRecord> read_peer(const std::string& path) { return read_json<PeerRecord>(path, "xoffload_peer"); }

Result<SessionSnapshot> read_snapshot(const std::string& path) {
  auto r = read_json<SessionSnapshot>(path, "xoffload_session");
  if (!r) return r.error();
  SessionSnapshot& s = *r;
  if (s.version != SessionSnapshot::kVersion)
    return err(EINVAL, "snapshot: " + path + " has version " + std::to_string(s.version));
  return s;
}

}  // namespace session
}  // namespace xo
