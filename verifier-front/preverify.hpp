// The pre-verifier: rejects, early and precisely, guest programs that the host
// kernel would reject anyway or that the host policy forbids, before anything
// is translated or loaded.
//
// Guarantee: it never rejects a program that the host kernel accepts under the
// same policy. Kernel-semantic checks (uninitialised reads, stack bounds,
// division by zero, r10 writes) are therefore reported only where the kernel
// is certain to look (see dataflow.cpp); policy checks (helpers, kfuncs,
// map handles) apply to every instruction.
//
// Every rejection is one line: the program, the instruction (kernel slot
// numbering), the source line when line_info has one, and the reason:
//   prog 'xdp_prog1': insn 17 (xdp1_kern.c:42): helper bpf_fib_lookup (69) is not allowed for offloaded programs
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "translator/isa/program.hpp"
#include "core/result.hpp"
#include "core/submission.hpp"
#include "core/policy.hpp"

namespace xo {

// A warning or remark that does not reject the program (e.g. loop candidates).
struct Finding {
  std::size_t pc;       // guest instruction slot
  std::string message;  // one formatted line, as for errors
  bool operator==(const Finding&) const = default;
};

struct Report {
  std::vector<Finding> notes;
  // The accepted program, decoded and analyzed: hand it to
  // translator::translate(sub, std::move(report.decoded), ...) so the host
  // decodes and analyzes a guest program once, not twice.
  isa::Decoded decoded;
  // True when no kernel address can reach anything the guest observes,
  // whatever pointer-leak rights the kernel verifier grants (pointers.cpp):
  // the host may then verify it with those rights when the unprivileged
  // verifier refuses it. pointer_note says why not, otherwise.
  bool pointer_safe = false;
  std::string pointer_note;
};

// On rejection the Error carries the formatted line in `message` (use it as
// is; Error::describe() would repeat the pc) and the guest slot in `pc`.
Result<Report> preverify(const Submission& sub, const Policy& policy, const MapTable& maps,
                         Flavor flavor);

}  // namespace xo
