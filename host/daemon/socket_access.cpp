#include "host/daemon/socket_access.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <vector>

namespace xo::daemon {
namespace {

// A numeric id, or the id of the named user (group when `group`), through
// NSS as getpwnam_r/getgrnam_r do it.
Result<std::uint32_t> resolve_id(const std::string& name, bool group) {
  std::uint32_t id = 0;
  const char* end = name.data() + name.size();
  if (auto [p, ec] = std::from_chars(name.data(), end, id); ec == std::errc{} && p == end) return id;
  std::vector<char> buf(16384);
  int rc = 0;
  if (group) {
    struct group g {}, *found = nullptr;
    rc = ::getgrnam_r(name.c_str(), &g, buf.data(), buf.size(), &found);
    if (rc == 0 && found) return std::uint32_t(found->gr_gid);
  } else {
    struct passwd pw {}, *found = nullptr;
    rc = ::getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &found);
    if (rc == 0 && found) return std::uint32_t(found->pw_uid);
  }
  return err(rc ? rc : ENOENT, std::string(group ? "no group '" : "no user '") + name + "'" +
                                   (rc ? std::string(": ") + std::strerror(rc) : ""));
}

}  // namespace

Status apply_socket_access(const session::SessionConfig& c) {
  auto fail = [&](const Error& e) { return err(e.code, "session '" + c.name + "': socket " + c.socket + ": " + e.message); };
  uid_t uid = uid_t(-1);
  gid_t gid = gid_t(-1);
  if (!c.socket_owner.empty()) {
    auto id = resolve_id(c.socket_owner, false);
    if (!id) return fail(id.error());
    uid = uid_t(*id);
  }
  if (!c.socket_group.empty()) {
    auto id = resolve_id(c.socket_group, true);
    if (!id) return fail(id.error());
    gid = gid_t(*id);
  }
  // chmod while the daemon still owns the file (it keeps no CAP_FOWNER).
  if (::chmod(c.socket.c_str(), mode_t(c.socket_mode)) != 0)
    return fail(err(errno, std::string("chmod: ") + std::strerror(errno)));
  if ((uid != uid_t(-1) || gid != gid_t(-1)) && ::chown(c.socket.c_str(), uid, gid) != 0)
    return fail(err(errno, std::string("chown: ") + std::strerror(errno)));
  return Ok{};
}

}  // namespace xo::daemon
