// tun flavor attachment: a patched host tun (kernel-patches/linux-6.12,
// patch "tun: XDP on the transmit path") runs an XDP program on every frame
// on its way to the tap's reader (QEMU), with every XDP action native:
// PASS = to the guest, DROP, TX = re-injected into the host's receive path.
//
// The daemon does not hold the tap's file (QEMU does), so it attaches by
// interface name: TUN_SIOCSTXXDP on any socket (struct ifreq with ifr_data at
// the program fd), under CAP_NET_ADMIN. The program stays attached while the
// tap lives; this object detaches it when destroyed, and only if the tap
// still runs our program (another owner's later attach is left alone).
//
// No libbpf: only ioctls, so a static guest-side test binary can link it
// (tests/patched).
#pragma once

#include <cstdint>
#include <string>

#include "core/result.hpp"

namespace xo::host {

// The uapi of the patch (include/uapi/linux/if_tun.h after it), for building
// against unpatched headers.
namespace tun_uapi {
inline constexpr unsigned kIffTxXdp = 0x0080;        // TUNGETFEATURES bit
inline constexpr unsigned long kTunSetTxXdp = 0x400454e4;   // _IOW('T', 228, int)
inline constexpr unsigned long kTunGetTxXdp = 0x800454e5;   // _IOR('T', 229, __u32)
inline constexpr unsigned long kSiocSTxXdp = 0x89F0;  // SIOCDEVPRIVATE + 0
inline constexpr unsigned long kSiocGTxXdp = 0x89F1;  // SIOCDEVPRIVATE + 1
}  // namespace tun_uapi

// Whether this kernel's tun has the hook: TUNGETFEATURES reports IFF_TX_XDP
// (opens /dev/net/tun; no device is created).
Result<bool> tun_tx_xdp_supported();

// The id of the program on `ifname`'s Tx-path hook (0: none). Errors:
// EOPNOTSUPP/ENOTTY on an unpatched kernel or a device that is not a tap,
// ENODEV.
Result<std::uint32_t> tun_tx_xdp_prog_id(const std::string& ifname);

class TunTxXdp {
 public:
  // Attaches prog_fd (an XDP program, expected_attach_type BPF_XDP) to
  // `ifname`, replacing what was there. Errors carry the kernel's errno:
  // EOPNOTSUPP (unpatched kernel, or a tun not a tap), EPERM, EINVAL
  // (not BPF_XDP), ENODEV.
  static Result<TunTxXdp> attach(const std::string& ifname, int prog_fd);

  TunTxXdp(TunTxXdp&& o) noexcept;
  TunTxXdp& operator=(TunTxXdp&& o) noexcept;
  TunTxXdp(const TunTxXdp&) = delete;
  TunTxXdp& operator=(const TunTxXdp&) = delete;
  ~TunTxXdp();

  // Points the hook at another program (one pointer swap in the kernel: no
  // frame sees none).
  Status replace(int prog_fd);
  // Detaches if the hook still runs our program. Idempotent.
  void detach();
  // Leaves the program attached and forgets it (xoffload load: the tap holds
  // it; the next attach or the tap's deletion ends it).
  void release() { prog_id_ = 0; }
  const std::string& ifname() const { return ifname_; }
  std::uint32_t prog_id() const { return prog_id_; }

 private:
  TunTxXdp(std::string ifname, std::uint32_t prog_id) : ifname_(std::move(ifname)), prog_id_(prog_id) {}
  std::string ifname_;
  std::uint32_t prog_id_ = 0;  // 0: detached
};

}  // namespace xo::host
