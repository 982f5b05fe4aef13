// bpffs pins for one session: /sys/fs/bpf/xoffload/<session>/<leaf>.
// The directory and every pin are created on load and removed, in reverse
// order, when the owner goes away; so `ls /sys/fs/bpf/xoffload` is a list
// of live sessions and bpftool can name each object's owner.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace xo::host {

inline constexpr std::string_view kDefaultPinRoot = "/sys/fs/bpf/xoffload";

class SessionPins {
 public:
  // Creates <root>/<session>/. Errors: invalid session name, root not on a
  // bpffs, or the session directory already exists (a live or stale session).
  static Result<SessionPins> create(std::string_view session,
                                    std::string_view root = kDefaultPinRoot);

  // Takes over <root>/<session>/ as a crashed owner left it (daemon
  // restart): every entry becomes one of our leaves. ENOENT: no such dir.
  static Result<SessionPins> adopt(std::string_view session, std::string_view root = kDefaultPinRoot);

  SessionPins(SessionPins&& o) noexcept;
  SessionPins& operator=(SessionPins&& o) noexcept;
  SessionPins(const SessionPins&) = delete;
  SessionPins& operator=(const SessionPins&) = delete;
  ~SessionPins();

  // Pins `fd` at <dir>/<leaf>; replaces nothing (an existing leaf is an error).
  Status pin(int fd, std::string_view leaf);
  // Removes one pin now (e.g. before re-pinning a reloaded program).
  void unpin(std::string_view leaf);
  // Stops tracking a leaf without removing it: another owner (a TcxLink
  // adopted from its pin) removes it.
  void forget(std::string_view leaf) {
    std::erase(leaves_, std::string(leaf));
  }
  // Leaves the directory and every pin in bpffs and forgets them, so they
  // outlive this object (Offload::persist, for `xoffload load`);
  // remove_stale_session() removes them later.
  void release() {
    dir_.clear();
    leaves_.clear();
  }

  const std::string& dir() const { return dir_; }
  std::string path(std::string_view leaf) const { return dir_ + "/" + std::string(leaf); }
  const std::vector<std::string>& leaves() const { return leaves_; }

 private:
  SessionPins() = default;
  void release_all();

  std::string root_;
  std::string dir_;  // empty when moved-from
  std::vector<std::string> leaves_;
};

// Removes a session directory left behind by a crashed owner: unlinks its
// pins (dropping the references they held) and the directory itself. Link
// pins ("link*") go first, so the program is off the tap before its maps and
// the program itself lose their pins.
Status remove_stale_session(std::string_view session, std::string_view root = kDefaultPinRoot);

}  // namespace xo::host
