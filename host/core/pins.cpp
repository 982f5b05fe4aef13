#include "host/core/pins.hpp"

#include <bpf/bpf.h>
#include <dirent.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "host/core/kernel_log.hpp"
#include "host/core/names.hpp"

namespace xo::host {

namespace {

bool on_bpffs(const std::string& path) {
  struct statfs st {};
  return ::statfs(path.c_str(), &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

}  // namespace

Result<SessionPins> SessionPins::create(std::string_view session, std::string_view root) {
  if (auto s = validate_session_name(session); !s) return s.error();
  std::string root_s(root);
  if (::mkdir(root_s.c_str(), 0700) != 0 && errno != EEXIST)
    return err("pins: cannot create " + root_s + ": " + std::strerror(errno));
  if (!on_bpffs(root_s))
    return err("pins: " + root_s + " is not on a bpffs (mount -t bpf bpf /sys/fs/bpf)");
  SessionPins p;
  p.root_ = root_s;
  std::string dir = root_s + "/" + std::string(session);
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST)
      return err("pins: " + dir + " already exists (session '" + std::string(session) +
                 "' is live, or stale: remove it first)");
    return err("pins: cannot create " + dir + ": " + std::strerror(errno));
  }
  p.dir_ = std::move(dir);
  return p;
}

Result<SessionPins> SessionPins::adopt(std::string_view session, std::string_view root) {
  if (auto s = validate_session_name(session); !s) return s.error();
  SessionPins p;
  p.root_ = std::string(root);
  std::string dir = p.root_ + "/" + std::string(session);
  DIR* d = ::opendir(dir.c_str());
  if (!d) return err(errno, "pins: cannot open " + dir + ": " + std::strerror(errno));
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") p.leaves_.emplace_back(n);
  }
  ::closedir(d);
  // Links last in the list: release_all() unlinks in reverse, links first.
  std::stable_partition(p.leaves_.begin(), p.leaves_.end(),
                        [](const std::string& l) { return l.rfind("link", 0) != 0; });
  p.dir_ = std::move(dir);
  return p;
}

SessionPins::SessionPins(SessionPins&& o) noexcept
    : root_(std::move(o.root_)), dir_(std::exchange(o.dir_, {})), leaves_(std::move(o.leaves_)) {
  o.leaves_.clear();
}

SessionPins& SessionPins::operator=(SessionPins&& o) noexcept {
  if (this != &o) {
    release_all();
    root_ = std::move(o.root_);
    dir_ = std::exchange(o.dir_, {});
    leaves_ = std::exchange(o.leaves_, {});
  }
  return *this;
}

SessionPins::~SessionPins() { release_all(); }

void SessionPins::release_all() {
  if (dir_.empty()) return;
  for (auto it = leaves_.rbegin(); it != leaves_.rend(); ++it) ::unlink(path(*it).c_str());
  leaves_.clear();
  ::rmdir(dir_.c_str());
  // The root stays: removing it would race with another session being created.
  dir_.clear();
}

Status SessionPins::pin(int fd, std::string_view leaf) {
  if (dir_.empty()) return err("pins: session directory already released");
  if (auto s = validate_pin_leaf(leaf); !s) return s.error();
  std::string p = path(leaf);
  if (bpf_obj_pin(fd, p.c_str()) != 0)
    return err("pins: cannot pin " + p + ": " + errno_name(errno));
  leaves_.emplace_back(leaf);
  return Ok{};
}

void SessionPins::unpin(std::string_view leaf) {
  auto it = std::find(leaves_.begin(), leaves_.end(), leaf);
  if (it == leaves_.end()) return;
  ::unlink(path(leaf).c_str());
  leaves_.erase(it);
}

Status remove_stale_session(std::string_view session, std::string_view root) {
  if (auto s = validate_session_name(session); !s) return s.error();
  std::string dir = std::string(root) + "/" + std::string(session);
  DIR* d = ::opendir(dir.c_str());
  if (!d) return errno == ENOENT ? Status(Ok{}) : Status(err("pins: cannot open " + dir + ": " + std::strerror(errno)));
  std::vector<std::string> leaves;
  while (dirent* e = ::readdir(d)) {
    std::string_view n = e->d_name;
    if (n != "." && n != "..") leaves.emplace_back(n);
  }
  ::closedir(d);
  std::stable_partition(leaves.begin(), leaves.end(), [](const std::string& l) { return l.rfind("link", 0) == 0; });
  for (const auto& l : leaves) {
    const std::string p = dir + "/" + l;
    // Dropping a link's last reference frees it later (deferred work);
    // BPF_LINK_DETACH takes the program off the hook now, whoever else
    // still holds the link.
    if (l.rfind("link", 0) == 0)
      if (int fd = bpf_obj_get(p.c_str()); fd >= 0) {
        (void)bpf_link_detach(fd);
        ::close(fd);
      }
    ::unlink(p.c_str());
  }
  if (::rmdir(dir.c_str()) != 0) return err("pins: cannot remove " + dir + ": " + std::strerror(errno));
  return Ok{};
}

}  // namespace xo::host
