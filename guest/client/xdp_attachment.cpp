// XdpAttachment: bpf_xdp_attach and the careful detach.
#include "guest/client/xdp_attachment.hpp"

#include <linux/if_link.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

namespace xo::guest {

std::uint32_t prog_id_of(int prog_fd) {
  bpf_prog_info info{};
  __u32 len = sizeof info;
  return bpf_obj_get_info_by_fd(prog_fd, &info, &len) == 0 ? info.id : 0;
}

Result<XdpAttachment> XdpAttachment::attach(std::uint32_t ifindex, int prog_fd, std::uint32_t flags) {
  if (int rc = bpf_xdp_attach(int(ifindex), prog_fd, flags, nullptr); rc < 0)
    return err(-rc, "attaching XDP on ifindex " + std::to_string(ifindex) + ": " + std::strerror(-rc));
  XdpAttachment a;
  a.ifindex_ = ifindex;
  a.mode_ = flags & XDP_FLAGS_MODES;
  a.prog_id_ = prog_id_of(prog_fd);
  a.attached_ = true;
  return a;
}

XdpAttachment& XdpAttachment::operator=(XdpAttachment&& o) noexcept {
  if (this != &o) {
    detach();
    ifindex_ = o.ifindex_;
    mode_ = o.mode_;
    prog_id_ = o.prog_id_;
    attached_ = std::exchange(o.attached_, false);
  }
  return *this;
}

std::string XdpAttachment::detach() {
  if (!attached_) return {};
  attached_ = false;
  return detach_if(ifindex_, mode_, prog_id_);
}

std::string XdpAttachment::detach_if(std::uint32_t ifindex, std::uint32_t mode, std::uint32_t prog_id) {
  __u32 current = 0;
  if (bpf_xdp_query_id(int(ifindex), int(mode), &current) != 0) return "cannot query the interface's XDP program";
  if (current == 0) return "couldn't find a prog id on a given interface";
  if (current != prog_id) return "program on interface changed, not removing";
  // Atomic: the kernel detaches only if `prog_id` is still there (REPLACE
  // with the old program), closing the race with a program attached since.
  const int old = bpf_prog_get_fd_by_id(prog_id);
  if (old < 0) return "program " + std::to_string(prog_id) + " is gone";
  LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = old);
  const int rc = bpf_xdp_attach(int(ifindex), -1, mode | XDP_FLAGS_REPLACE, &opts);
  ::close(old);
  if (rc == -EEXIST) return "program on interface changed, not removing";
  if (rc < 0) return std::string("detach failed: ") + std::strerror(-rc);
  return {};
}

}  // namespace xo::guest
