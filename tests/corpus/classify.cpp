#include "tests/corpus/classify.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <algorithm>

#include "core/diagnostics.hpp"

namespace xo::corpus {

namespace {

bool guest_side_helper(std::int32_t id) {
  return id == BPF_FUNC_redirect || id == BPF_FUNC_redirect_map || id == BPF_FUNC_perf_event_output;
}

bool guest_side_map(std::uint32_t type) {
  switch (type) {
    case BPF_MAP_TYPE_DEVMAP:
    case BPF_MAP_TYPE_DEVMAP_HASH:
    case BPF_MAP_TYPE_CPUMAP:
    case BPF_MAP_TYPE_XSKMAP:
    case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
      return true;
    default:
      return false;
  }
}

void add(std::vector<std::string>& out, std::string s) {
  if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(std::move(s));
}

}  // namespace

std::vector<std::string> guest_side_uses(const bpf_insn* insns, std::size_t count,
                                         bpf_attach_type expected_attach_type) {
  std::vector<std::string> out;
  if (expected_attach_type == BPF_XDP_DEVMAP) add(out, "runs in a devmap entry (xdp/devmap)");
  if (expected_attach_type == BPF_XDP_CPUMAP) add(out, "runs in a cpumap entry (xdp/cpumap)");
  for (std::size_t i = 0; i < count; ++i) {
    const bpf_insn& in = insns[i];
    if (in.code == (BPF_JMP | BPF_CALL) && in.src_reg == 0 && guest_side_helper(in.imm)) {
      add(out, "helper " + kernel_helper_name(in.imm) + " (" + std::to_string(in.imm) + ")");
    } else if (in.code == (BPF_LD | BPF_IMM | BPF_DW)) {
      if (in.src_reg == BPF_PSEUDO_MAP_FD || in.src_reg == BPF_PSEUDO_MAP_VALUE) {
        bpf_map_info info{};
        std::uint32_t len = sizeof info;
        if (bpf_obj_get_info_by_fd(in.imm, &info, &len) == 0 && guest_side_map(info.type)) {
          const char* t = libbpf_bpf_map_type_str(static_cast<bpf_map_type>(info.type));
          add(out, std::string("map ") + info.name + " (" + (t ? t : "?") + ")");
        }
      }
      ++i;  // second slot of the ld_imm64
    }
  }
  return out;
}

std::vector<int> referenced_map_fds(const bpf_insn* insns, std::size_t count) {
  std::vector<int> out;
  for (std::size_t i = 0; i + 1 < count; ++i) {
    const bpf_insn& in = insns[i];
    if (in.code != (BPF_LD | BPF_IMM | BPF_DW)) continue;
    if ((in.src_reg == BPF_PSEUDO_MAP_FD || in.src_reg == BPF_PSEUDO_MAP_VALUE) &&
        std::find(out.begin(), out.end(), in.imm) == out.end())
      out.push_back(in.imm);
    ++i;
  }
  return out;
}

}  // namespace xo::corpus
