// tun flavor attachment (attach_tun.hpp): three ioctls of the patched tun.
#include "host/core/attach_tun.hpp"

#include <fcntl.h>
#include <linux/bpf.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "core/unique_fd.hpp"

namespace xo::host {
namespace {

Error sys_error(int code, const std::string& what) {
  return err(code, what + ": " + std::strerror(code));
}

Result<std::uint32_t> prog_id_of(int prog_fd) {
  bpf_prog_info info{};
  bpf_attr attr{};
  attr.info.bpf_fd = static_cast<std::uint32_t>(prog_fd);
  attr.info.info_len = sizeof info;
  attr.info.info = reinterpret_cast<std::uintptr_t>(&info);
  if (::syscall(__NR_bpf, BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof attr) != 0)
    return sys_error(errno, "program fd " + std::to_string(prog_fd));
  return info.id;
}

// One ioctl on `ifname` through a throwaway socket; `data` goes in ifr_data.
Status dev_ioctl(const std::string& ifname, unsigned long cmd, void* data, const char* what) {
  if (ifname.empty() || ifname.size() >= IFNAMSIZ) return err(EINVAL, "bad interface name '" + ifname + "'");
  UniqueFd sock(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sock) return sys_error(errno, "socket");
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, ifname.c_str(), ifname.size());
  ifr.ifr_data = static_cast<char*>(data);
  if (::ioctl(sock.get(), cmd, &ifr) != 0) {
    const int e = errno;
    // An unpatched tun has no ndo_siocdevprivate: the core says EOPNOTSUPP.
    return sys_error(e, std::string(what) + " on " + ifname +
                            (e == EOPNOTSUPP || e == ENOTTY ? " (is the host tun patched? kernel-patches/)" : ""));
  }
  return Ok{};
}

Status set_prog(const std::string& ifname, int prog_fd) {
  int fd = prog_fd;
  return dev_ioctl(ifname, tun_uapi::kSiocSTxXdp, &fd, prog_fd < 0 ? "detaching the Tx-path XDP program"
                                                                      : "attaching the Tx-path XDP program");
}

}  // namespace

Result<bool> tun_tx_xdp_supported() {
  UniqueFd tun(::open("/dev/net/tun", O_RDWR | O_CLOEXEC));
  if (!tun) return sys_error(errno, "/dev/net/tun");
  unsigned features = 0;
  if (::ioctl(tun.get(), TUNGETFEATURES, &features) != 0) return sys_error(errno, "TUNGETFEATURES");
  return (features & tun_uapi::kIffTxXdp) != 0;
}

Result<std::uint32_t> tun_tx_xdp_prog_id(const std::string& ifname) {
  std::uint32_t id = 0;
  if (auto s = dev_ioctl(ifname, tun_uapi::kSiocGTxXdp, &id, "reading the Tx-path XDP program"); !s)
    return s.error();
  return id;
}

Result<TunTxXdp> TunTxXdp::attach(const std::string& ifname, int prog_fd) {
  if (prog_fd < 0) return err(EBADF, "no program to attach to " + ifname);
  auto id = prog_id_of(prog_fd);
  if (!id) return id.error();
  if (auto s = set_prog(ifname, prog_fd); !s) return s.error();
  return TunTxXdp(ifname, *id);
}

TunTxXdp::TunTxXdp(TunTxXdp&& o) noexcept
    : ifname_(std::move(o.ifname_)), prog_id_(std::exchange(o.prog_id_, 0)) {}

TunTxXdp& TunTxXdp::operator=(TunTxXdp&& o) noexcept {
  if (this != &o) {
    detach();
    ifname_ = std::move(o.ifname_);
    prog_id_ = std::exchange(o.prog_id_, 0);
  }
  return *this;
}

TunTxXdp::~TunTxXdp() { detach(); }

Status TunTxXdp::replace(int prog_fd) {
  auto id = prog_id_of(prog_fd);
  if (!id) return id.error();
  if (auto s = set_prog(ifname_, prog_fd); !s) return s.error();
  prog_id_ = *id;
  return Ok{};
}

void TunTxXdp::detach() {
  if (prog_id_ == 0) return;
  // Not someone else's: the check and the detach are two ioctls, but only
  // privileged owners of this tap can race here, and they are us.
  auto current = tun_tx_xdp_prog_id(ifname_);
  if (current && *current == prog_id_) (void)set_prog(ifname_, -1);
  prog_id_ = 0;
}

}  // namespace xo::host
