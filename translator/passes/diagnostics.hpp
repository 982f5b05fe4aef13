// One-line diagnostics with all the context a guest developer needs:
//   prog 'xdp_prog1': insn 17 (xdp1_kern.c:42): <reason>
// The same format as verifier-front's (preverify.hpp); the source location
// comes from its source_map (line_info + the BTF string section, all checked).
#pragma once

#include <cstddef>
#include <optional>
#include <string>

#include "translator/isa/result.hpp"
#include "translator/isa/submission.hpp"
#include "verifier-front/source_map.hpp"

namespace xo::translator {

class Diagnoser {
 public:
  explicit Diagnoser(const Submission& submission) : sub_(submission), strings_(submission.btf) {}

  // Error{pc, "prog 'x': insn pc (file:line): reason"}; use `message` as is.
  Error at(std::size_t pc, const std::string& reason) const;
  // Error without an instruction: "prog 'x': reason".
  Error whole(const std::string& reason) const;

 private:
  const Submission& sub_;
  BtfStrings strings_;
};

}  // namespace xo::translator
