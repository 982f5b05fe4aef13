#include "host/core/attach_tcx.hpp"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <utility>

#include "core/uapi.hpp"
#include "host/core/kernel_log.hpp"

namespace xo::host {

namespace {

// libbpf 1.1 has no tcx API: BPF_LINK_CREATE by hand. The link_create
// layout up to `flags` is the same for every attach type; zeroed tcx
// fields (relative_fd, expected_revision) mean "append, any revision".
int link_create_tcx(int prog_fd, int ifindex, std::uint32_t attach_type) {
  union bpf_attr attr;
  std::memset(&attr, 0, sizeof attr);
  attr.link_create.prog_fd = static_cast<std::uint32_t>(prog_fd);
  attr.link_create.target_ifindex = static_cast<std::uint32_t>(ifindex);
  attr.link_create.attach_type = attach_type;
  int fd = static_cast<int>(::syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof attr));
  if (fd >= 0) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  return fd;
}

}  // namespace

std::optional<TcxLinkState> tcx_link_state(int link_fd) {
  uapi::TcxLinkInfo info{};
  std::uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(link_fd, &info, &len) != 0) return std::nullopt;
  if (info.type != uapi::kLinkTypeTcx) return std::nullopt;
  return TcxLinkState{info.id, info.prog_id, static_cast<int>(info.ifindex),
                      info.attach_type == uapi::kAttachTypeTcxEgress};
}

Result<std::vector<TcxLinkState>> tcx_query(int ifindex, bool egress) {
  constexpr std::uint32_t kMax = 64;
  std::uint32_t prog_ids[kMax] = {}, link_ids[kMax] = {};
  uapi::TcxQueryAttr q{};
  q.target_ifindex = static_cast<std::uint32_t>(ifindex);
  q.attach_type = egress ? uapi::kAttachTypeTcxEgress : uapi::kAttachTypeTcxIngress;
  q.prog_ids = reinterpret_cast<std::uintptr_t>(prog_ids);
  q.link_ids = reinterpret_cast<std::uintptr_t>(link_ids);
  q.count = kMax;
  if (::syscall(__NR_bpf, BPF_PROG_QUERY, &q, sizeof q) != 0) {
    const int e = errno;
    return err(e, "tcx query on ifindex " + std::to_string(ifindex) + ": " + errno_name(e));
  }
  std::vector<TcxLinkState> out;
  for (std::uint32_t i = 0; i < q.count && i < kMax; ++i)
    out.push_back(TcxLinkState{link_ids[i], prog_ids[i], ifindex, egress});
  return out;
}

Result<TcxLink> TcxLink::attach(int ifindex, int prog_fd, const std::string& pin_path) {
  if (ifindex <= 0) return err(ENODEV, "tcx attach: invalid ifindex " + std::to_string(ifindex));
  UniqueFd fd(link_create_tcx(prog_fd, ifindex, uapi::kAttachTypeTcxEgress));
  if (!fd) {
    const int e = errno;
    return err(e, "tcx attach: cannot link the program to egress of ifindex " + std::to_string(ifindex) + ": " +
                      errno_name(e));
  }
  // A link that nothing pins dies with the process: the program would stop
  // filtering at a crash (the gap the pin exists to avoid), so a pin that
  // fails fails the attach (the fd closing undoes the link).
  if (!pin_path.empty() && bpf_obj_pin(fd.get(), pin_path.c_str()) != 0) {
    const int e = errno;
    return err(e, "tcx attach: cannot pin the link at " + pin_path + ": " + errno_name(e));
  }
  return TcxLink(std::move(fd), ifindex, pin_path);
}

Result<TcxLink> TcxLink::open_pinned(const std::string& path) {
  UniqueFd fd(bpf_obj_get(path.c_str()));
  if (!fd) {
    const int e = errno;
    return err(e, "tcx: cannot open " + path + ": " + errno_name(e));
  }
  auto st = tcx_link_state(fd.get());
  if (!st) return err(EINVAL, "tcx: " + path + " is not a tcx link");
  return TcxLink(std::move(fd), st->ifindex, path);
}

TcxLink::TcxLink(TcxLink&& o) noexcept
    : fd_(std::move(o.fd_)),
      ifindex_(std::exchange(o.ifindex_, 0)),
      pin_(std::exchange(o.pin_, {})) {}

TcxLink& TcxLink::operator=(TcxLink&& o) noexcept {
  if (this != &o) {
    detach();
    fd_ = std::move(o.fd_);
    ifindex_ = std::exchange(o.ifindex_, 0);
    pin_ = std::exchange(o.pin_, {});
  }
  return *this;
}

TcxLink::~TcxLink() { detach(); }

Status TcxLink::replace(int prog_fd) {
  if (!attached()) return err("tcx replace: not attached");
  if (bpf_link_update(fd_.get(), prog_fd, nullptr) != 0) {
    const int e = errno;
    return err(e, "tcx replace on ifindex " + std::to_string(ifindex_) + ": " + errno_name(e));
  }
  return Ok{};
}

void TcxLink::detach() {
  if (!attached()) return;
  // Detach first: another holder of the link (an admin's bpftool, a pin we
  // failed to remove) must not keep the program on the tap.
  (void)bpf_link_detach(fd_.get());
  if (!pin_.empty()) ::unlink(pin_.c_str());
  pin_.clear();
  fd_.reset();
  ifindex_ = 0;
}

void TcxLink::release() {
  pin_.clear();
  fd_.reset();
  ifindex_ = 0;
}

TcxLinkState TcxLink::state() const {
  if (!attached()) return {};
  return tcx_link_state(fd_.get()).value_or(TcxLinkState{});
}

}  // namespace xo::host
