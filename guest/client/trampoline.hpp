// The trampoline loaded into this (the guest's) kernel and attached to its
// NIC: one per offload that defers (PROTOCOL.md 8), bound to that offload's
// cookie and guest-side maps (trampoline_code.hpp).
//
//   auto t = Trampoline::load(binding);         // bpf(BPF_PROG_LOAD), XDP
//   t->attach(ifindex, XDP_FLAGS_DRV_MODE);     // before the host attaches
//   ...                                         // ~Trampoline: detach (if still ours), close
//
// RAII: the attachment goes first, then the program fd. release() leaves
// it attached for a later process (the CLI exits while the host runs the
// program); XdpAttachment::detach_if() removes it then.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "core/result.hpp"
#include "core/unique_fd.hpp"
#include "guest/client/trampoline_code.hpp"
#include "guest/client/xdp_attachment.hpp"

namespace xo::guest {

// Loads generated XDP instructions (map references are fds of this kernel).
// A refusal is an Error with the kernel's errno and the last lines of its
// verifier log.
Result<UniqueFd> load_xdp_program(const std::string& name, std::span<const isa::Insn> insns);

class Trampoline {
 public:
  // The program's name in this kernel (bpftool prog show).
  static constexpr const char* kName = "xo_trampoline";

  static Result<Trampoline> load(const TrampolineBinding& binding);
  Trampoline(Trampoline&&) = default;
  Trampoline& operator=(Trampoline&&) = default;

  int fd() const { return fd_.get(); }
  std::uint32_t prog_id() const { return prog_id_; }
  // Attaches on `ifindex` with XDP_FLAGS_* `flags`. Without
  // XDP_FLAGS_UPDATE_IF_NOEXIST this replaces what runs there in one step
  // (the native program, when the host comes back).
  Status attach(std::uint32_t ifindex, std::uint32_t flags);
  const XdpAttachment& attachment() const { return attachment_; }
  XdpAttachment& attachment() { return attachment_; }

 private:
  Trampoline() = default;
  UniqueFd fd_;
  std::uint32_t prog_id_ = 0;
  XdpAttachment attachment_;  // declared last: detached before fd_ closes
};

}  // namespace xo::guest
