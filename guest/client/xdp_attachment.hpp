// An XDP program attached to a guest NIC (netlink, bpf_xdp_attach), owned:
// the destructor detaches it only if it is still the program on the
// interface (the samples' int_exit rule: never remove someone else's).
//
// Netlink rather than a bpf_link: the attachment must be able to outlive the
// process (the CLI offloads and exits, the trampoline stays; release()), and
// it must be replaceable in one step by the next program (the native
// fallback replaces the trampoline, a new trampoline the native program),
// which a link-attached program is not.
#pragma once

#include <cstdint>
#include <string>

#include "core/result.hpp"

namespace xo::guest {

class XdpAttachment {
 public:
  XdpAttachment() = default;
  // Attaches `prog_fd` on `ifindex` with XDP_FLAGS_* `flags`: replaces what
  // runs there unless flags has XDP_FLAGS_UPDATE_IF_NOEXIST. Errors carry
  // the kernel's errno.
  static Result<XdpAttachment> attach(std::uint32_t ifindex, int prog_fd, std::uint32_t flags);
  XdpAttachment(XdpAttachment&& o) noexcept { *this = std::move(o); }
  XdpAttachment& operator=(XdpAttachment&& o) noexcept;
  XdpAttachment(const XdpAttachment&) = delete;
  XdpAttachment& operator=(const XdpAttachment&) = delete;
  ~XdpAttachment() { detach(); }

  bool attached() const { return attached_; }
  std::uint32_t ifindex() const { return ifindex_; }
  std::uint32_t prog_id() const { return prog_id_; }
  std::uint32_t mode() const { return mode_; }

  // Detaches now; a no-op the second time. Returns what was found instead
  // when the detach was skipped (empty when it detached).
  std::string detach();
  // Leaves the program attached (the kernel keeps it) and forgets it; a
  // later process removes it with detach_if().
  void release() { attached_ = false; }

  // Detaches program `prog_id` from `ifindex` (attach mode `mode`, the
  // XDP_FLAGS_*_MODE bits) if it is still the one there.
  static std::string detach_if(std::uint32_t ifindex, std::uint32_t mode, std::uint32_t prog_id);

 private:
  std::uint32_t ifindex_ = 0;
  std::uint32_t mode_ = 0;
  std::uint32_t prog_id_ = 0;
  bool attached_ = false;
};

// The id of the program `prog_fd` refers to, 0 when unknown.
std::uint32_t prog_id_of(int prog_fd);

}  // namespace xo::guest
