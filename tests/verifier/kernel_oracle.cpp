#include "tests/verifier/kernel_oracle.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <linux/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <set>
#include <vector>

#include "translator/isa/cfg.hpp"
#include "translator/isa/codec.hpp"

namespace xo::test {

KernelMaps::KernelMaps(const Submission& sub) {
  for (const auto& m : sub.maps) {
    const std::string name = m.name.substr(0, 15);
    LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = m.flags);
    const int fd = bpf_map_create(static_cast<enum bpf_map_type>(m.type), name.c_str(), m.key_size,
                                  m.value_size, m.max_entries, &opts);
    if (fd < 0) {
      error_ = "bpf_map_create(" + m.name + ") failed: errno " + std::to_string(errno);
      continue;
    }
    fds_[m.handle] = fd;
    // Global data as the host would load it: contents, then frozen .rodata
    // (the kernel verifier reads frozen values as constants).
    const std::uint32_t key = 0;
    if (!m.initial_value.empty() && m.initial_value.size() == m.value_size &&
        bpf_map_update_elem(fd, &key, m.initial_value.data(), BPF_ANY) != 0)
      error_ = "initialising " + m.name + " failed: errno " + std::to_string(errno);
    if (m.frozen && bpf_map_freeze(fd) != 0)
      error_ = "freezing " + m.name + " failed: errno " + std::to_string(errno);
  }
}

KernelMaps::~KernelMaps() {
  for (auto& [handle, fd] : fds_) close(fd);
}

int KernelMaps::fd(std::uint32_t handle) const {
  auto it = fds_.find(handle);
  return it == fds_.end() ? -1 : it->second;
}

namespace {

struct BtfDeleter {
  void operator()(btf* b) const { btf__free(b); }
};

// Subprogram entries (slots) of a raw program: 0 and every bpf-to-bpf call or
// BPF_PSEUDO_FUNC target.
std::set<std::uint32_t> subprogram_entries(const std::vector<isa::RawInsn>& insns) {
  std::set<std::uint32_t> out{0};
  isa::for_each_insn(insns, [&](std::size_t pc, const isa::Insn& insn) {
    const bool entry = std::holds_alternative<isa::CallLocal>(insn) ||
                       std::holds_alternative<isa::LoadFunc>(insn);
    if (entry) out.insert(static_cast<std::uint32_t>(pc + 1 + *isa::branch_offset(insn)));
  });
  return out;
}

}  // namespace

KernelVerdict kernel_load_xdp(const Submission& sub, bool with_func_info) {
  KernelMaps maps(sub);
  std::vector<isa::RawInsn> raw = sub.insns;
  (void)isa::rebind_map_refs(raw, [&](std::size_t, std::int32_t handle) -> Result<std::int32_t> {
    return maps.fd(static_cast<std::uint32_t>(handle));
  });
  std::vector<bpf_insn> insns(raw.size());
  static_assert(sizeof(bpf_insn) == sizeof(isa::RawInsn));
  std::memcpy(insns.data(), raw.data(), raw.size() * sizeof(bpf_insn));
  KernelVerdict v;
  std::vector<char> log(1 << 20);
  LIBBPF_OPTS(bpf_prog_load_opts, opts, .log_level = 1, .log_size = static_cast<__u32>(log.size()),
              .log_buf = log.data());
  std::unique_ptr<btf, BtfDeleter> types;
  std::vector<bpf_func_info> funcs;
  int own_btf_fd = -1;
  if (!sub.btf.empty()) {
    // The submission's own BTF and debug info, as the host loader passes them.
    own_btf_fd = bpf_btf_load(sub.btf.data(), sub.btf.size(), nullptr);
    if (own_btf_fd < 0) {
      v.error = errno;
      v.log = "bpf_btf_load failed";
      return v;
    }
    opts.prog_btf_fd = own_btf_fd;
    static_assert(sizeof(FuncInfo) == sizeof(bpf_func_info));
    static_assert(sizeof(LineInfo) == sizeof(bpf_line_info));
    if (!sub.func_info.empty()) {
      opts.func_info = sub.func_info.data();
      opts.func_info_cnt = static_cast<__u32>(sub.func_info.size());
      opts.func_info_rec_size = sizeof(bpf_func_info);
    }
    if (!sub.line_info.empty()) {
      opts.line_info = sub.line_info.data();
      opts.line_info_cnt = static_cast<__u32>(sub.line_info.size());
      opts.line_info_rec_size = sizeof(bpf_line_info);
    }
  } else if (with_func_info) {
    types.reset(btf__new_empty());
    const int int_id = btf__add_int(types.get(), "int", 4, BTF_INT_SIGNED);
    const int proto = btf__add_func_proto(types.get(), int_id);
    for (std::uint32_t entry : subprogram_entries(raw)) {
      const std::string name = "f" + std::to_string(entry);
      const int id = btf__add_func(types.get(), name.c_str(), BTF_FUNC_STATIC, proto);
      funcs.push_back(bpf_func_info{entry, static_cast<__u32>(id)});
    }
    if (btf__load_into_kernel(types.get()) != 0) {
      v.error = errno;
      v.log = "btf__load_into_kernel failed";
      return v;
    }
    opts.prog_btf_fd = btf__fd(types.get());
    opts.func_info = funcs.data();
    opts.func_info_cnt = static_cast<__u32>(funcs.size());
    opts.func_info_rec_size = sizeof(bpf_func_info);
  }
  const int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "xo_vtest", "GPL", insns.data(), insns.size(),
                               &opts);
  v.accepted = fd >= 0;
  v.error = fd >= 0 ? 0 : errno;
  if (fd >= 0) close(fd);
  if (own_btf_fd >= 0) close(own_btf_fd);
  v.log = log.data();
  if (!maps.error().empty()) v.log = maps.error() + "\n" + v.log;
  return v;
}

}  // namespace xo::test
