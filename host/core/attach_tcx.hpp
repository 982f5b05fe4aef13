// tc flavor attachment through a tcx link (kernel 6.6+): the program runs on
// the tap's tcx egress hook, i.e. on every skb the host transmits toward the
// guest, like the clsact filter it replaces (attach_tc.hpp, now the fallback).
//
// Why a link and not a filter: a link is an object with an owner. It is
// pinned in the session's directory (<pin root>/<session>/link_egress), so
//  - a daemon killed with -9 leaves a link that a restart finds, adopts or
//    removes (host/session/reconcile.hpp); a cls_bpf filter was an orphan
//    that nothing named;
//  - removing the pin and closing the fd detaches the program: no stale
//    filter can ever block the next attach with EEXIST;
//  - bpftool net/link show it with its program id.
// Replacing the program is BPF_LINK_UPDATE: atomic, no packet sees none.
//
// Egress is an owning link (the tcx "mprog" list holds it alongside other
// users' programs; we append and never touch theirs).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/unique_fd.hpp"

namespace xo::host {

// What the kernel says about a tcx link (BPF_OBJ_GET_INFO_BY_FD).
struct TcxLinkState {
  std::uint32_t link_id = 0;
  std::uint32_t prog_id = 0;
  int ifindex = 0;  // 0: the device is gone and the link is defunct
  bool egress = true;
};

class TcxLink {
 public:
  // BPF_LINK_CREATE(prog, ifindex, BPF_TCX_EGRESS), then pinned at
  // `pin_path` (empty: not pinned, the link dies with the process). The link
  // owns its pin (a path, not a SessionPins entry, so that its owner may move).
  // Error codes: EINVAL/EOPNOTSUPP when the kernel has no tcx (the caller
  // falls back to cls_bpf), ENODEV, EPERM, EEXIST (pin), ...
  static Result<TcxLink> attach(int ifindex, int prog_fd, const std::string& pin_path);
  // Opens a pinned tcx link (a restarted daemon adopting it). Errors: not
  // a tcx link (EINVAL), no such pin (ENOENT).
  static Result<TcxLink> open_pinned(const std::string& pin_path);

  TcxLink(TcxLink&& o) noexcept;
  TcxLink& operator=(TcxLink&& o) noexcept;
  TcxLink(const TcxLink&) = delete;
  TcxLink& operator=(const TcxLink&) = delete;
  ~TcxLink();

  // Atomically points the link at another program (BPF_LINK_UPDATE).
  Status replace(int prog_fd);
  // Detaches (BPF_LINK_DETACH), unpins, closes. Idempotent.
  void detach();
  // Leaves the link pinned and attached and forgets it (xoffload load).
  void release();

  bool attached() const { return fd_.valid(); }
  const std::string& pin_path() const { return pin_; }
  int ifindex() const { return ifindex_; }
  int fd() const { return fd_.get(); }
  TcxLinkState state() const;
  std::uint32_t attached_prog_id() const { return state().prog_id; }

 private:
  TcxLink(UniqueFd fd, int ifindex, std::string pin)
      : fd_(std::move(fd)), ifindex_(ifindex), pin_(std::move(pin)) {}
  UniqueFd fd_;
  int ifindex_ = 0;
  std::string pin_;  // empty: not pinned
};

// The kernel's view of any link fd; nullopt when it is not a tcx link.
std::optional<TcxLinkState> tcx_link_state(int link_fd);

// Every program on the tcx egress (or ingress) hook of `ifindex`, with its
// link id (BPF_PROG_QUERY; 0 for a program attached without a link), and
// the link's ifindex. ENODEV when the device does not exist.
Result<std::vector<TcxLinkState>> tcx_query(int ifindex, bool egress = true);

inline constexpr const char* kTcxEgressLeaf = "link_egress";

}  // namespace xo::host
