// The capabilities a guest program is verified with.
//
// The kernel decides at BPF_PROG_LOAD time, from the loading thread's
// *effective* capabilities, how much a program may do:
//   allow_ptr_leaks, bypass_spec_v1/v4   <- CAP_PERFMON (or CAP_SYS_ADMIN)
//   loading XDP / SCHED_CLS at all        <- CAP_BPF + CAP_NET_ADMIN
// A guest is hostile, so its program must be verified as a program without
// pointer-leak rights: it may not store a map, map-value, stack or packet
// pointer where the guest can read it back, it gets Spectre v1 masking and
// ALU sanitation, and the verifier log prints map addresses as 0.
//
// The same capability also grants bypass_spec_v1, without which the kernel
// refuses variable packet offsets; load_kernel_prog() therefore retries with
// the rights, but only for code the pre-verifier proved cannot leak an
// address (verifier-front/pointers.cpp).
//
// GuestLoadCaps lowers the calling thread's effective set to what loading
// needs (CAP_SYS_ADMIN and CAP_PERFMON off) for its lifetime and restores
// it afterwards. Capabilities are per thread on Linux (capset(2) with pid 0
// changes only the caller), so other threads of the daemon are untouched
// and the guard must live on the thread that calls bpf(BPF_PROG_LOAD).
// Why this and not a BPF token: docs/DECISIONS.md (host/core).
#pragma once

#include <cstdint>

#include "core/result.hpp"

namespace xo::host {

class GuestLoadCaps {
 public:
  // Fails (and changes nothing) when the thread's capabilities cannot be
  // read or lowered; a caller must then not load the guest's program.
  static Result<GuestLoadCaps> enter();
  ~GuestLoadCaps();
  GuestLoadCaps(GuestLoadCaps&& o) noexcept;
  GuestLoadCaps& operator=(GuestLoadCaps&&) = delete;
  GuestLoadCaps(const GuestLoadCaps&) = delete;

 private:
  GuestLoadCaps(std::uint32_t eff0, std::uint32_t eff1) : saved_{eff0, eff1}, active_(true) {}
  std::uint32_t saved_[2];  // effective set before, as capget(2) words
  bool active_ = false;
};

// The calling thread's effective capability bits (bit n = capability n).
std::uint64_t thread_effective_caps();

// What xoffloadd keeps: CAP_BPF and CAP_NET_ADMIN to load and attach,
// CAP_PERFMON and CAP_SYS_ADMIN for the privileged fallback of proven code
// and BPF_ENABLE_STATS (the watchdog), CAP_CHOWN to hand each session's
// socket to the VMM's user and group (socket_owner/socket_group, also for
// sessions a SIGHUP adds). Every other capability of root (DAC override,
// setuid, raw sockets, module loading, ...) is gone.
inline constexpr std::uint64_t kDaemonCaps = (1ull << 39) | (1ull << 12) | (1ull << 38) | (1ull << 21) |
                                             (1ull << 0);  // BPF, NET_ADMIN, PERFMON, SYS_ADMIN, CHOWN

// Lowers the process to `keep`: the bounding set first (needs CAP_SETPCAP,
// so a daemon started without it skips that step), then permitted,
// effective and inheritable of the calling thread, which threads created
// afterwards inherit. Call it before any thread starts.
Status keep_only_capabilities(std::uint64_t keep);

}  // namespace xo::host
