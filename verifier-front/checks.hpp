// The pre-verifier's passes, in the order preverify() runs them. This header
// is the table of contents; each pass lives in its own file. Internal to
// xo_verifier.
//
//   structural.cpp   decode, sizes, slot layout (unknown opcodes, bad
//                    registers, broken ld_imm64 pairs come from the decoder)
//   cfg.cpp          subprograms, jump targets, fall-off-the-end, unreachable
//                    code, reachable exit, back-edges (notes)
//   coverage.cpp     which instructions the kernel is certain to visit
//   maprefs.cpp      ld_imm64 map references, BTF ids, kfunc calls, LD_ABS
//   helpers.cpp      helper calls against the policy and the flavor
//   dataflow.cpp     uninitialised reads, r10 writes, stack bounds, div by 0;
//                    constants and callbacks at loop-helper calls
//   loops.cpp        loop helpers: constant counts, nesting multiplied, under
//                    the policy's limit
//   pointers.cpp     whether any kernel address can reach guest-visible state
//                    (a verdict, never a rejection)
//   diagnostics.cpp  one-line messages with program, insn and source line
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "translator/isa/insn.hpp"
#include "core/diagnostics.hpp"
#include "core/result.hpp"
#include "core/submission.hpp"
#include "core/policy.hpp"
#include "verifier-front/preverify.hpp"

namespace xo::verifier {

inline constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();

// The kernel's limit on a privileged program (BPF_COMPLEXITY_LIMIT_INSNS).
inline constexpr std::size_t kMaxSlots = 1'000'000;

// Control flow over instruction indexes (not slots).
struct Cfg {
  std::vector<std::size_t> subprog_entries;          // sorted insn indexes; [0] == 0
  std::vector<std::uint32_t> subprog_of;             // per insn: position in subprog_entries
  std::vector<std::array<std::size_t, 2>> succ;      // per insn: intraprocedural successors, kNone-padded
  std::vector<std::size_t> callee;                   // per insn: CallLocal/LoadFunc entry, else kNone
  std::vector<bool> reachable;                       // from the main entry, through calls
  std::vector<bool> surely_visited;                  // coverage.cpp
  std::size_t subprog_end(std::size_t sp, std::size_t n) const {
    return sp + 1 < subprog_entries.size() ? subprog_entries[sp + 1] : n;
  }
};

// A reachable call of a loop helper (HelperProto::loop_count_arg), with
// what every path agrees it is given.
struct LoopCall {
  std::size_t insn = 0;
  const HelperProto* helper = nullptr;
  std::optional<std::uint64_t> count;  // r<loop_count_arg> when a constant (64-bit register)
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
  std::vector<std::size_t> slot_of;  // per insn, plus one end entry = total slots
  Cfg cfg;
  Report report;
  std::vector<LoopCall> loop_calls;  // dataflow.cpp, sorted by insn

  std::size_t size() const { return insns.size(); }
};

// Passes. Each validates one aspect and returns the first violation.
Status check_structure(Context& cx);  // fills insns, slot_of
Status check_cfg(Context& cx);        // fills cfg (not surely_visited); adds loop notes
void compute_coverage(Context& cx);   // fills cfg.surely_visited
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
