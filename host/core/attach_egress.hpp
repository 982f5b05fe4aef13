// The tc flavor's one owner of "the program on the tap's egress": a tcx link
// (attach_tcx.hpp) when the kernel has tcx, the clsact cls_bpf filter
// (attach_tc.hpp) only when tcx link creation fails with EINVAL or
// EOPNOTSUPP (kernels before 6.6). Offload and the session backend both go
// through this, so the fallback rule exists once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>

#include "core/result.hpp"
#include "host/core/attach_tc.hpp"
#include "host/core/attach_tcx.hpp"

namespace xo::host {

class TapEgress {
 public:
  // `link_pin` (empty: a tcx link then dies with the process) is where the
  // link is pinned, normally pins.path(kTcxEgressLeaf). `note` gets one line
  // when the fallback is used.
  static Result<TapEgress> attach(int ifindex, int prog_fd, const std::string& link_pin, std::string* note = nullptr);
  // Adopts what a previous owner left attached (daemon restart): the link
  // pinned at `link_pin`, else our cls_bpf filter when it runs `prog_id`.
  // ENOENT: nothing of ours is attached there; ESTALE: the pinned link runs
  // something else or sits on another device.
  static Result<TapEgress> adopt(int ifindex, std::uint32_t prog_id, const std::string& link_pin);

  Status replace(int prog_fd);
  void detach();
  void release();  // leave it attached (and pinned) on purpose

  int ifindex() const;
  bool is_link() const { return std::holds_alternative<TcxLink>(a_); }
  const std::string& link_pin() const;  // empty for a filter
  std::uint32_t link_id() const { return is_link() ? std::get<TcxLink>(a_).state().link_id : 0; }
  std::uint32_t attached_prog_id() const;
  // "tcx link 12 on egress" / "tc cls_bpf filter on egress"
  std::string describe() const;

 private:
  template <typename A>
  explicit TapEgress(A a) : a_(std::move(a)) {}
  std::variant<TcxLink, TcAttachment> a_;
};

}  // namespace xo::host
