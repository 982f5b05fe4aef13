#include "host/core/kernel_prog.hpp"

#include <bpf/bpf.h>

#include <algorithm>
#include <cerrno>
#include <memory>
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

// The unprivileged verifier's verdicts: EACCES (its Spectre sanitation),
// EINVAL, E2BIG, ENOSPC (the log outgrew its bound) and EFAULT (the
// jump-sequence limit: "The sequence of 8193 jumps is too complex", which
// the speculative branches it pushes make it reach first). Not EPERM or
// ENOMEM: the rights do not change what the host may create.
bool retried_verdict(int error) {
  return error == EACCES || error == EINVAL || error == E2BIG || error == ENOSPC || error == EFAULT;
}

}  // namespace

namespace {
thread_local unsigned verifications = 0;
}  // namespace

unsigned last_kernel_verifications() { return verifications; }

std::variant<KernelProg, KernelRefusal> load_kernel_prog(const KernelProgSpec& spec) {
  static_assert(sizeof(FuncInfo) == sizeof(bpf_func_info));
  static_assert(sizeof(LineInfo) == sizeof(bpf_line_info));
  verifications = 0;
  // The kernel wants at least 128 bytes and at most UINT_MAX >> 2.
  const std::size_t log_bytes = std::clamp<std::size_t>(spec.log_bytes, 128, 1u << 30);
  std::unique_ptr<char[]> log(new char[log_bytes]);
  log[0] = '\0';
  // Guest code is verified without pointer-leak rights (load_caps.hpp); the
  // guard ends before anything else runs.
  int fd = -1, error = 0;
  {
    auto caps = GuestLoadCaps::enter();
    if (!caps) return KernelRefusal{caps.error().code, caps.error().message};
    fd = load(spec, log.get(), static_cast<std::uint32_t>(log_bytes));
    error = errno;
    ++verifications;
  }
  // With the rights only what the pre-verifier proved leak-free: the kernel
  // then skips its Spectre v1 sanitation, which refuses variable packet
  // offsets outright (EACCES), and its exploration of speculative paths,
  // which turns bounded loops into "infinite loop detected" (EINVAL) or
  // into a million processed instructions (E2BIG, or ENOSPC when that
  // outgrows the log) -- loops the kernel loads natively for the guest's
  // own root. So every verdict is retried, once: the rights cannot make the
  // program leak (that is the proof), and two verifications were already
  // the worst case (a program can make its unprivileged run expensive and
  // end it with an EACCES), both charged to the session.
  bool privileged = false;
  if (fd < 0 && spec.privileged_fallback && retried_verdict(error)) {
    log[0] = '\0';
    fd = load(spec, log.get(), static_cast<std::uint32_t>(log_bytes));
    ++verifications;
    if (fd >= 0) privileged = true;
    else error = errno;
  }
  if (fd < 0) {
    KernelRefusal r;
    r.error = error;
    r.log_overflowed = error == ENOSPC;
    log[log_bytes - 1] = '\0';
    r.log.assign(log.get());
    return r;
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
