// tc flavor attachment: the program sits on the tap's clsact egress hook,
// i.e. on every skb the host transmits toward the guest.
//
// One filter per tap at a fixed handle/priority, so a reload is a single
// BPF_TC_F_REPLACE (atomic: no packet sees "no program"). The clsact qdisc is
// created when missing and destroyed on detach only if we created it.
#pragma once

#include <cstdint>

#include "core/result.hpp"

namespace xo::host {

inline constexpr std::uint32_t kTcHandle = 0x58;    // 'X'
inline constexpr std::uint32_t kTcPriority = 0x4f;  // 'O'

class TcAttachment {
 public:
  // Errors: no such ifindex, netlink refusal (with errno name).
  static Result<TcAttachment> attach(int ifindex, int prog_fd);
  // Takes over our filter (kTcHandle/kTcPriority) that a crashed owner left,
  // when it runs `prog_id`. ENOENT: no such filter, or another program.
  static Result<TcAttachment> adopt(int ifindex, std::uint32_t prog_id);

  TcAttachment(TcAttachment&& o) noexcept;
  TcAttachment& operator=(TcAttachment&& o) noexcept;
  TcAttachment(const TcAttachment&) = delete;
  TcAttachment& operator=(const TcAttachment&) = delete;
  ~TcAttachment();

  // Atomically points the filter at another program.
  Status replace(int prog_fd);
  // Removes the filter (and the clsact qdisc if we created it). Idempotent.
  Status detach();
  // Leaves the filter (and the qdisc) on the tap and forgets it: the kernel
  // keeps the program running after this object, and the process, are gone.
  void release() {
    ifindex_ = 0;
    created_clsact_ = false;
  }

  int ifindex() const { return ifindex_; }
  bool attached() const { return ifindex_ > 0; }
  bool created_clsact() const { return created_clsact_; }
  // Kernel id of the program currently on the filter (bpf_tc_query), 0 if none.
  std::uint32_t attached_prog_id() const;

 private:
  TcAttachment(int ifindex, bool created) : ifindex_(ifindex), created_clsact_(created) {}
  int ifindex_ = 0;
  bool created_clsact_ = false;
};

}  // namespace xo::host
