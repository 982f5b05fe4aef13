// Control-flow pass: builds the program's one CFG (isa::build_cfg, which the
// translator then reuses) and checks the static rules the kernel applies in
// check_subprogs() and check_cfg() before it simulates anything, so every
// violation here is a certain kernel rejection:
//   * call and jump targets exist, land on an instruction start (never the
//     second slot of ld_imm64) and, for jumps, stay inside their subprogram;
//   * each subprogram ends in exit or ja, so control cannot fall off the end;
//   * every instruction is reachable from the entry (through calls);
//   * the main program can reach an exit.
// Back-edges are not errors (a privileged loader may use bounded loops; the
// kernel decides): they become "loop candidate" notes.
//
//   0: r0 = 0            ; jump to insn 3 = the middle of the ld_imm64 at 2
//   1: if r1 > 0 goto +1
//   2: r2 = 0x1 ll
//   4: exit
//   -> prog 'p': insn 1: jump target insn 3 is the middle of the ld_imm64 at insn 2
#include <variant>

#include "verifier-front/checks.hpp"

namespace xo::verifier {
namespace {

constexpr std::size_t kMaxLoopNotes = 64;

std::string middle_of_ldimm64(std::int64_t slot) {
  return "insn " + std::to_string(slot) + " is the middle of the ld_imm64 at insn " +
         std::to_string(slot - 1);
}

// The kernel's words: "call to invalid destination", "jump out of range from
// insn %d to %d", "jump into the middle of ldimm64 insn %d".
Error reject_branch(const Context& cx, const isa::BranchFault& f) {
  using Kind = isa::BranchFault::Kind;
  switch (f.kind) {
    case Kind::CallOutside:
      return reject_at_slot(cx, f.pc, "call to invalid destination: insn " +
                                          std::to_string(f.target) + " is outside the program (" +
                                          std::to_string(f.total) + " insns)");
    case Kind::CallIntoLdImm64:
      return reject_at_slot(cx, f.pc, "call target " + middle_of_ldimm64(f.target));
    case Kind::JumpOutside: {
      const bool whole_program = f.first == 0 && f.end == f.total;
      return reject_at_slot(cx, f.pc,
                            "jump out of range: target insn " + std::to_string(f.target) +
                                (whole_program ? " is outside the program"
                                               : " is outside this subprogram [insn " +
                                                     std::to_string(f.first) + ", " +
                                                     std::to_string(f.end) + ")"));
    }
    case Kind::JumpIntoLdImm64:
      return reject_at_slot(cx, f.pc, "jump target " + middle_of_ldimm64(f.target));
  }
  return reject_at_slot(cx, f.pc, "invalid control transfer");
}

// Kernel: "last insn is not an exit or jmp".
Status check_subprogram_ends(const Context& cx) {
  const auto& subprograms = cx.cfg.subprograms;
  for (std::size_t sp = 0; sp < subprograms.size(); ++sp) {
    const std::size_t last = subprograms[sp].end - 1;
    const auto& insn = cx.insns[last];
    if (std::holds_alternative<isa::Exit>(insn) || std::holds_alternative<isa::Ja>(insn)) continue;
    const bool final = sp + 1 == subprograms.size();
    return reject_insn(cx, last,
                       std::string("last instruction is not an exit or jump: control falls off "
                                   "the end of ") +
                           (final ? "the program" : "the subprogram into the next one"));
  }
  return Ok{};
}

void note_loops(Context& cx) {
  const auto& edges = cx.cfg.back_edges;
  for (std::size_t k = 0; k < edges.size() && k < kMaxLoopNotes; ++k)
    cx.report.notes.push_back(note_insn(
        cx, edges[k].from,
        "loop candidate: back-edge to insn " + std::to_string(cx.cfg.layout[edges[k].to]) +
            "; the kernel must prove the loop bounded"));
  if (edges.size() > kMaxLoopNotes)
    cx.report.notes.push_back(note_insn(cx, 0, std::to_string(edges.size() - kMaxLoopNotes) +
                                                   " more loop candidates not listed"));
}

// Kernel: "unreachable insn %d".
Status check_all_reachable(const Context& cx) {
  for (std::size_t i = 0; i < cx.size(); ++i)
    if (!cx.cfg.reachable[i])
      return reject_insn(cx, i,
                         "unreachable instruction: no path from the program entry reaches it "
                         "(the kernel rejects unreachable code)");
  return Ok{};
}

// Without a reachable exit every path of the main program runs forever or
// stays in a callee that never returns: the kernel can never accept that.
Status check_exit_reachable(const Context& cx) {
  std::vector<bool> seen(cx.size(), false);
  std::vector<std::size_t> work{0};
  seen[0] = true;
  while (!work.empty()) {
    const std::size_t u = work.back();
    work.pop_back();
    if (std::holds_alternative<isa::Exit>(cx.insns[u])) return Ok{};
    for (std::size_t v : cx.cfg.succ[u])
      if (v != kNone && !seen[v]) {
        seen[v] = true;
        work.push_back(v);
      }
  }
  return reject_insn(cx, 0, "no exit is reachable from the program entry: every path loops "
                            "forever");
}

}  // namespace

Status check_cfg(Context& cx) {
  // Every function func_info declares is an entry too. Extra entries can only
  // make us agree with the kernel or lose to its own check that func_info
  // matches the subprogram layout; they also root the walk, like the
  // exception callback the kernel explores uncalled.
  auto built = isa::build_cfg(cx.insns, declared_entries(cx.sub));
  if (const auto* fault = std::get_if<isa::BranchFault>(&built)) return reject_branch(cx, *fault);
  cx.cfg = std::get<isa::Structure>(std::move(built));

  if (auto s = check_subprogram_ends(cx); !s) return s;
  note_loops(cx);
  if (auto s = check_all_reachable(cx); !s) return s;
  return check_exit_reachable(cx);
}

}  // namespace xo::verifier
