#include "host/core/kernel_prog.hpp"

#include <bpf/bpf.h>

#include <cerrno>
#include <cstring>
#include <optional>

#include "host/core/load_caps.hpp"

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
  // Guest code is verified without pointer-leak rights (load_caps.hpp); the
  // guard ends before anything else runs.
  int fd = -1, error = 0;
  {
    auto caps = GuestLoadCaps::enter();
    if (!caps) return KernelRefusal{caps.error().code, caps.error().message};
    fd = load(spec, nullptr, 0);
    error = errno;
  }
  // With the rights only what the pre-verifier proved leak-free: the kernel
  // then skips its Spectre v1 sanitation, which refuses variable packet
  // offsets outright.
  bool privileged = false;
  if (fd < 0 && spec.privileged_fallback) {
    fd = load(spec, nullptr, 0);
    if (fd >= 0) privileged = true;
    else error = errno;
  }
  if (fd < 0) {
    KernelRefusal r;
    r.error = error;
    r.log.assign(spec.log_bytes, '\0');
    // The log of the last refusal: the privileged one when there was one
    // (its reason is the program's real fault, not the sanitation's).
    {
      std::optional<GuestLoadCaps> caps;
      if (!spec.privileged_fallback) {
        auto c = GuestLoadCaps::enter();
        if (!c) return KernelRefusal{c.error().code, c.error().message};
        caps.emplace(std::move(*c));
      }
      fd = load(spec, r.log.data(), static_cast<std::uint32_t>(r.log.size()));
    }
    if (fd < 0) {
      r.log.resize(std::strlen(r.log.c_str()));
      return r;
    }
    // Accepted the second time (a transient failure such as EAGAIN): keep it.
    privileged = spec.privileged_fallback;
  }
  KernelProg p;
  p.fd.reset(fd);
  p.kernel_name = spec.kernel_name;
  p.privileged = privileged;
  bpf_prog_info info{};
  std::uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) p.id = info.id;
  return p;
}

}  // namespace xo::host
