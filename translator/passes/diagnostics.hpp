// One-line diagnostics with all the context a guest developer needs:
//   prog 'xdp_prog1': insn 17 (xdp1_kern.c:42): <reason>
// The source location comes from the submission's line_info and the string
// section of its BTF blob; both are guest bytes, so every offset is checked.
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "translator/isa/result.hpp"
#include "translator/isa/submission.hpp"

namespace xo::translator {

class Diagnoser {
 public:
  explicit Diagnoser(const Submission& submission) : sub_(submission) {}

  // "file.c:42" for the line_info entry covering guest slot `pc`, if any.
  std::optional<std::string> source_of(std::size_t pc) const;
  // Error{pc, "prog 'x': insn pc (file:line): reason"}.
  Error at(std::size_t pc, const std::string& reason) const;
  // Error without an instruction: "prog 'x': reason".
  Error whole(const std::string& reason) const;

 private:
  std::optional<std::string> btf_string(std::uint32_t off) const;
  const Submission& sub_;
};

}  // namespace xo::translator
