// One-line diagnostics with all the context a guest developer needs:
//   prog 'xdp_prog1': insn 17 (xdp1_kern.c:42): <reason>
// Every stage (pre-verifier, translator, host loader) formats through this
// one class, so a guest sees the same shape whichever stage refused.
// Guest-supplied names are made printable and bounded before they are quoted.
#pragma once

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/result.hpp"
#include "core/source_map.hpp"
#include "core/submission.hpp"

namespace xo {

class Diagnoser {
 public:
  explicit Diagnoser(const Submission& submission);

  // "prog 'x'" (printable, at most 64 bytes of the guest's name).
  const std::string& label() const { return label_; }
  // "prog 'x': insn pc (file:line)"
  std::string where(std::size_t pc) const;
  // Error{pc, code, "prog 'x': insn pc (file:line): reason"}; use `message` as is.
  Error at(std::size_t pc, const std::string& reason, int code = EINVAL) const;
  // Error without an instruction: "prog 'x': reason".
  Error whole(const std::string& reason, int code = EINVAL) const;

 private:
  const Submission& sub_;
  BtfStrings strings_;
  std::string label_;
};

// Kernel helper name for any id ("bpf_fib_lookup"), from the UAPI header's
// own __BPF_FUNC_MAPPER; empty when unknown.
std::string kernel_helper_name(std::int32_t id);

}  // namespace xo
