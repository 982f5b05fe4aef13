#include "host/core/kernel_prog.hpp"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>

namespace xo::host {

namespace {

int load(const KernelProgSpec& spec, char* log, std::uint32_t log_size) {
  LIBBPF_OPTS(bpf_prog_load_opts, opts);
  opts.expected_attach_type = spec.expected_attach_type;
  if (spec.btf_fd >= 0) {
    opts.prog_btf_fd = static_cast<std::uint32_t>(spec.btf_fd);
    if (!spec.func_info.empty()) {
      opts.func_info = spec.func_info.data();
      opts.func_info_cnt = static_cast<std::uint32_t>(spec.func_info.size());
      opts.func_info_rec_size = sizeof(FuncInfo);
    }
    if (!spec.line_info.empty()) {
      opts.line_info = spec.line_info.data();
      opts.line_info_cnt = static_cast<std::uint32_t>(spec.line_info.size());
      opts.line_info_rec_size = sizeof(LineInfo);
    }
  }
  if (log) {
    opts.log_buf = log;
    opts.log_size = log_size;
    opts.log_level = 1;
  }
  static_assert(sizeof(isa::RawInsn) == sizeof(bpf_insn));
  return bpf_prog_load(spec.type, spec.kernel_name.c_str(), spec.license.c_str(),
                       reinterpret_cast<const bpf_insn*>(spec.insns.data()), spec.insns.size(), &opts);
}

}  // namespace

std::variant<KernelProg, KernelRefusal> load_kernel_prog(const KernelProgSpec& spec) {
  static_assert(sizeof(FuncInfo) == sizeof(bpf_func_info));
  static_assert(sizeof(LineInfo) == sizeof(bpf_line_info));
  int fd = load(spec, nullptr, 0);
  if (fd < 0) {
    KernelRefusal r;
    r.error = errno;
    r.log.assign(spec.log_bytes, '\0');
    fd = load(spec, r.log.data(), static_cast<std::uint32_t>(r.log.size()));
    if (fd < 0) {
      r.log.resize(std::strlen(r.log.c_str()));
      return r;
    }
    // Accepted the second time (a transient failure such as EAGAIN): keep it.
  }
  KernelProg p;
  p.fd.reset(fd);
  p.kernel_name = spec.kernel_name;
  bpf_prog_info info{};
  std::uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) p.id = info.id;
  return p;
}

}  // namespace xo::host
