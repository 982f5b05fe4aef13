// bpf_prog_load of host instructions with BTF, func_info and line_info.
// The kernel verifier has the final word; when it refuses, the caller gets
// its log to map back to the guest (verifier_log.hpp).
#pragma once

#include <linux/bpf.h>

#include <cstdint>
#include <span>
#include <string>
#include <variant>

#include "core/unique_fd.hpp"
#include "translator/isa/raw.hpp"
#include "core/submission.hpp"

namespace xo::host {

struct KernelProgSpec {
  std::string kernel_name;  // <= 15 chars; see names.hpp
  bpf_prog_type type = BPF_PROG_TYPE_XDP;
  bpf_attach_type expected_attach_type = static_cast<bpf_attach_type>(0);
  std::span<const isa::RawInsn> insns;
  std::string license = "GPL";
  int btf_fd = -1;  // func_info/line_info are passed only with BTF
  std::span<const FuncInfo> func_info;
  std::span<const LineInfo> line_info;
  // The verifier log buffer, given to the one verification from the start
  // (log_level 1; the kernel keeps the tail when it overflows). A program
  // whose log outgrows it is refused (KernelRefusal::log_overflowed): the
  // kernel then reports ENOSPC instead of its verdict.
  std::size_t log_bytes = 16u << 20;
  // Load again with the host's pointer-leak rights when the unprivileged
  // verifier refuses: only for code proven not to leak an address
  // (Prepared::pointer_safe).
  bool privileged_fallback = false;
};

struct KernelProg {
  UniqueFd fd;
  std::uint32_t id = 0;
  std::string kernel_name;
  bool privileged = false;  // verified with pointer-leak rights (the fallback)
};

struct KernelRefusal {
  int error = 0;    // errno
  std::string log;  // verifier log (tail when it overflowed)
  bool log_overflowed = false;  // ENOSPC: the log outgrew log_bytes, verdict unknown
};

// How many times the kernel verified the program (bpf(BPF_PROG_LOAD) calls)
// in the last load_kernel_prog() on this thread: 1, or 2 when the
// privileged fallback ran. For logs and tests.
unsigned last_kernel_verifications();

// Verifies once, with the bounded log from the start, and the thread's
// CAP_SYS_ADMIN and CAP_PERFMON lowered (load_caps.hpp): the program gets no
// pointer-leak rights and the kernel's Spectre v1 hardening, whoever loads
// it. The verifier is never re-run just to get a log (a hostile program can
// make one verification cost seconds). Only when that is refused (EACCES,
// EINVAL, E2BIG, ENOSPC: a verdict) and spec.privileged_fallback is set does
// it load once more, with the rights; the refusal's log is then the
// privileged one's.
std::variant<KernelProg, KernelRefusal> load_kernel_prog(const KernelProgSpec& spec);

}  // namespace xo::host
