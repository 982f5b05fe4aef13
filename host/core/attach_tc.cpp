#include "host/core/attach_tc.hpp"

#include <bpf/libbpf.h>
#include <net/if.h>

#include <utility>

#include "host/core/kernel_log.hpp"

namespace xo::host {

namespace {

std::string dev(int ifindex) {
  char name[IF_NAMESIZE] = {};
  if (if_indextoname(static_cast<unsigned>(ifindex), name))
    return std::string(name) + " (ifindex " + std::to_string(ifindex) + ")";
  return "ifindex " + std::to_string(ifindex);
}

int tc_attach(int ifindex, int prog_fd, bool replace) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_EGRESS);
  LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = prog_fd, .flags = replace ? static_cast<__u32>(BPF_TC_F_REPLACE) : 0u,
              .handle = kTcHandle, .priority = kTcPriority);
  return bpf_tc_attach(&hook, &opts);
}

}  // namespace

Result<TcAttachment> TcAttachment::attach(int ifindex, int prog_fd) {
  if (ifindex <= 0) return err("tc attach: invalid ifindex " + std::to_string(ifindex));
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_EGRESS);
  int rc = bpf_tc_hook_create(&hook);
  if (rc != 0 && rc != -EEXIST)
    return err("tc attach: cannot create clsact on " + dev(ifindex) + ": " + errno_name(-rc));
  bool created = rc == 0;
  // No REPLACE on first attach: an existing filter at our handle belongs to
  // someone else (or a stale session) and must not be silently taken over.
  rc = tc_attach(ifindex, prog_fd, false);
  if (rc != 0) {
    // Undo only what we did: the qdisc if we made it, never the filter that
    // is in our way.
    if (created) {
      hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
      bpf_tc_hook_destroy(&hook);
    }
    char handle[16];
    std::snprintf(handle, sizeof handle, "0x%x", kTcHandle);
    return err("tc attach: cannot add egress filter on " + dev(ifindex) + " (handle " + handle +
               ", prio " + std::to_string(kTcPriority) + "): " + errno_name(-rc));
  }
  return TcAttachment(ifindex, created);
}

Result<TcAttachment> TcAttachment::adopt(int ifindex, std::uint32_t prog_id) {
  TcAttachment a(ifindex, false);
  if (ifindex <= 0 || prog_id == 0 || a.attached_prog_id() != prog_id) {
    a.release();
    return err(ENOENT, "tc: no xoffload filter running prog " + std::to_string(prog_id) + " on " + dev(ifindex));
  }
  return a;
}

TcAttachment::TcAttachment(TcAttachment&& o) noexcept
    : ifindex_(std::exchange(o.ifindex_, 0)), created_clsact_(std::exchange(o.created_clsact_, false)) {}

TcAttachment& TcAttachment::operator=(TcAttachment&& o) noexcept {
  if (this != &o) {
    (void)detach();
    ifindex_ = std::exchange(o.ifindex_, 0);
    created_clsact_ = std::exchange(o.created_clsact_, false);
  }
  return *this;
}

TcAttachment::~TcAttachment() { (void)detach(); }

Status TcAttachment::replace(int prog_fd) {
  if (!attached()) return err("tc replace: not attached");
  int rc = tc_attach(ifindex_, prog_fd, true);
  if (rc != 0) return err("tc replace on " + dev(ifindex_) + ": " + errno_name(-rc));
  return Ok{};
}

Status TcAttachment::detach() {
  if (!attached()) return Ok{};
  int ifindex = std::exchange(ifindex_, 0);
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_EGRESS);
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kTcHandle, .priority = kTcPriority);
  int rc = bpf_tc_detach(&hook, &opts);
  // ENOENT/ENODEV: the filter or the whole device is already gone (tap deleted).
  Status result = Ok{};
  if (rc != 0 && rc != -ENOENT && rc != -ENODEV && rc != -EINVAL)
    result = err("tc detach on " + dev(ifindex) + ": " + errno_name(-rc));
  if (std::exchange(created_clsact_, false)) {
    hook.attach_point = static_cast<bpf_tc_attach_point>(BPF_TC_INGRESS | BPF_TC_EGRESS);
    bpf_tc_hook_destroy(&hook);  // removes clsact itself; errors mean it is gone already
  }
  return result;
}

std::uint32_t TcAttachment::attached_prog_id() const {
  if (!attached()) return 0;
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex_, .attach_point = BPF_TC_EGRESS);
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kTcHandle, .priority = kTcPriority);
  if (bpf_tc_query(&hook, &opts) != 0) return 0;
  return opts.prog_id;
}

}  // namespace xo::host
