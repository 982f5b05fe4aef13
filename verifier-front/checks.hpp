// The pre-verifier's passes, in the order preverify() runs them. This header
// is the table of contents; each pass lives in its own file. Internal to
// xo_verifier.
//
//   structural.cpp   decode and sizes (unknown opcodes, bad
//                    registers, broken ld_imm64 pairs come from the decoder)
//   cfg.cpp          builds the CFG (isa::build_cfg) and checks it: call and
//                    jump targets, fall-off-the-end, unreachable code,
//                    reachable exit, back-edges (notes)
//   coverage.cpp     which instructions the kernel is certain to visit
//   maprefs.cpp      ld_imm64 map references, BTF ids, kfunc calls (by name),
//                    LD_ABS
//   helpers.cpp      helper calls against the policy and the flavor
//   dataflow.cpp     uninitialised reads, r10 writes, stack bounds, div by 0;
//                    constants and callbacks at loop-helper calls
//   loops.cpp        loop helpers: constant counts (map walks: max_entries),
//                    nesting multiplied, under the policy's limit
//   pointers.cpp     whether any kernel address can reach guest-visible state
//                    (a verdict, never a rejection)
//   diagnostics.cpp  one-line messages with program, insn and source line
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "translator/isa/cfg.hpp"
#include "translator/isa/insn.hpp"
#include "core/diagnostics.hpp"
#include "core/result.hpp"
#include "core/submission.hpp"
#include "core/policy.hpp"
#include "verifier-front/preverify.hpp"

namespace xo::verifier {

inline constexpr std::size_t kNone = isa::kNoInsn;

// The kernel's limit on a privileged program (BPF_COMPLEXITY_LIMIT_INSNS).
inline constexpr std::size_t kMaxSlots = 1'000'000;

// A reachable call of a loop helper (HelperProto::loop_count_arg), with
// what every path agrees it is given.
struct LoopCall {
  std::size_t insn = 0;
  const HelperProto* helper = nullptr;
  std::optional<std::uint64_t> count;  // r<loop_count_arg> when a constant (64-bit register),
                                       // or the max_entries of the map in r<loop_map_arg>
  bool count_is_bound = false;         // count is the largest of several constants
  std::size_t callback = kNone;        // insn index of the callback's entry
};

struct Context {
  const Submission& sub;
  const Policy& policy;
  const MapTable& maps;
  Flavor flavor;
  Diagnoser diag;

  std::vector<isa::Insn> insns;
  isa::Structure cfg;                // the one CFG (translator/isa/cfg.hpp): layout, subprograms,
                                     // successors, callees, reachability; handed on to translate()
  std::vector<bool> surely_visited;  // per insn: coverage.cpp
  Report report;
  std::vector<LoopCall> loop_calls;  // dataflow.cpp, sorted by insn

  std::size_t size() const { return insns.size(); }
};

// Passes. Each validates one aspect and returns the first violation.
Status check_structure(Context& cx);  // fills insns
Status check_cfg(Context& cx);        // fills cfg; adds loop notes
void compute_coverage(Context& cx);   // fills surely_visited
Status check_map_refs(Context& cx);
Status check_helpers(Context& cx);
Status check_dataflow(Context& cx);   // fills loop_calls
Status check_loop_bounds(Context& cx);
void check_pointer_flow(Context& cx);  // fills report.pointer_safe / pointer_note

// Diagnostics: one formatted line naming the program, the slot, the source
// line when known, and the reason.
// `code` is the errno a caller decides on: EPERM for policy verdicts,
// EBADF for handles the session does not own, EINVAL for malformed code.
Error reject_at_slot(const Context& cx, std::size_t slot, const std::string& reason, int code = EINVAL);
Error reject_insn(const Context& cx, std::size_t index, const std::string& reason, int code = EINVAL);
Error reject_program(const Context& cx, const std::string& reason, int code = EINVAL);
Finding note_insn(const Context& cx, std::size_t index, const std::string& message);


}  // namespace xo::verifier
