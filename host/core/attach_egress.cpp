#include "host/core/attach_egress.hpp"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <string_view>

#include "core/unique_fd.hpp"
#include "host/core/kernel_log.hpp"


namespace xo::host {

namespace {

// tcx hooks hold a list of programs, so a second link would quietly run
// beside the first. xoffload keeps "one offload per tap" (as the cls_bpf
// filter's fixed handle did): a program of ours, named "xo<session>_..."
// (names.hpp), already on the hook refuses the attach with EEXIST.
Status check_no_offload_on(int ifindex) {
  auto q = tcx_query(ifindex, true);
  if (!q) return q.error().code == EINVAL || q.error().code == EOPNOTSUPP ? Status(Ok{}) : Status(q.error());
  for (const auto& e : *q) {
    UniqueFd prog(bpf_prog_get_fd_by_id(e.prog_id));
    if (!prog) continue;
    bpf_prog_info info{};
    std::uint32_t len = sizeof info;
    if (bpf_obj_get_info_by_fd(prog.get(), &info, &len) != 0) continue;
    if (std::string_view(info.name).rfind("xo", 0) == 0)
      return err(EEXIST, "tcx attach: ifindex " + std::to_string(ifindex) + " already runs an offload (prog " +
                             std::to_string(e.prog_id) + " '" + info.name + "', link " + std::to_string(e.link_id) +
                             "): " + errno_name(EEXIST));
  }
  return Ok{};
}

}  // namespace

Result<TapEgress> TapEgress::attach(int ifindex, int prog_fd, const std::string& link_pin, std::string* note) {
  if (auto s = check_no_offload_on(ifindex); !s) return s.error();
  auto link = TcxLink::attach(ifindex, prog_fd, link_pin);
  if (link) return TapEgress(std::move(*link));
  // Only "this kernel has no tcx" falls back; anything else (no device, no
  // permission, a pin that failed) is the answer.
  if (link.error().code != EINVAL && link.error().code != EOPNOTSUPP) return link.error();
  auto tc = TcAttachment::attach(ifindex, prog_fd);
  if (!tc) return tc.error();
  if (note) *note = "no tcx on this kernel (" + link.error().message + "): attached as a cls_bpf filter, which a daemon crash leaves behind";
  return TapEgress(std::move(*tc));
}

Result<TapEgress> TapEgress::adopt(int ifindex, std::uint32_t prog_id, const std::string& link_pin) {
  if (!link_pin.empty()) {
    auto link = TcxLink::open_pinned(link_pin);
    if (link) {
      auto st = link->state();
      if (st.ifindex != ifindex || st.prog_id != prog_id) {
        link->release();  // not ours to detach: the caller decides (reconcile removes the pin)
        return err(ESTALE, "pinned tcx link " + std::to_string(st.link_id) + " runs prog " +
                               std::to_string(st.prog_id) + " on ifindex " + std::to_string(st.ifindex) +
                               ", expected prog " + std::to_string(prog_id) + " on ifindex " + std::to_string(ifindex));
      }
      return TapEgress(std::move(*link));
    }
  }
  auto tc = TcAttachment::adopt(ifindex, prog_id);
  if (!tc) return tc.error();
  return TapEgress(std::move(*tc));
}

Status TapEgress::replace(int prog_fd) {
  return std::visit([&](auto& a) { return a.replace(prog_fd); }, a_);
}

void TapEgress::detach() {
  std::visit([](auto& a) { (void)a.detach(); }, a_);
}

void TapEgress::release() {
  std::visit([](auto& a) { a.release(); }, a_);
}

const std::string& TapEgress::link_pin() const {
  static const std::string none;
  return is_link() ? std::get<TcxLink>(a_).pin_path() : none;
}

int TapEgress::ifindex() const {
  return std::visit([](const auto& a) { return a.ifindex(); }, a_);
}

std::uint32_t TapEgress::attached_prog_id() const {
  return std::visit([](const auto& a) { return a.attached_prog_id(); }, a_);
}

std::string TapEgress::describe() const {
  if (is_link()) return "tcx link " + std::to_string(link_id()) + " on egress";
  return "tc cls_bpf filter on egress";
}

}  // namespace xo::host
