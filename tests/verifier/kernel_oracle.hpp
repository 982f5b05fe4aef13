// The host kernel as the reference: create real maps for a Submission's map
// definitions, substitute guest handles with their fds, and load the program
// as XDP with BPF_PROG_LOAD. Used to prove that the pre-verifier is never
// stricter than the kernel (and, for rejection classes, that the kernel
// rejects too).
#pragma once

#include <map>
#include <string>

#include "core/submission.hpp"

namespace xo::test {

class KernelMaps {
 public:
  explicit KernelMaps(const Submission& sub);
  ~KernelMaps();
  KernelMaps(const KernelMaps&) = delete;
  KernelMaps& operator=(const KernelMaps&) = delete;
  int fd(std::uint32_t handle) const;  // -1 when the handle has no map
  const std::string& error() const { return error_; }

 private:
  std::map<std::uint32_t, int> fds_;
  std::string error_;
};

struct KernelVerdict {
  bool accepted = false;
  int error = 0;  // errno on rejection
  std::string log;
};

// Loads sub.insns (handles replaced by fds, unknown handles by -1) as an XDP
// program. A submission with BTF is loaded with its own BTF, func_info and
// line_info, and its global data maps are filled and frozen as the host would.
// Otherwise, without `with_func_info` no BTF is passed; with it, a minimal BTF
// (one "int f(void)" FUNC per subprogram, found from the call and
// BPF_PSEUDO_FUNC targets) and matching func_info are generated, as the
// kernel requires for callbacks. The program fd is closed before returning.
KernelVerdict kernel_load_xdp(const Submission& sub, bool with_func_info = false);

}  // namespace xo::test
