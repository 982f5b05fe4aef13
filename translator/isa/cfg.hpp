// The one control-flow graph of a program: slot layout, branch targets,
// subprograms, per-instruction successors and callees, reachability, back
// edges and basic blocks. The pre-verifier checks it (verifier-front/cfg.cpp)
// and hands it to the translator passes, which read it; nobody else computes
// a branch target.
//
// Indexes: an *index* is a position in std::vector<Insn>; a *slot* (pc) is the
// kernel's instruction number, where ld_imm64 counts twice. func_info,
// line_info and verifier logs speak slots; the graph speaks indexes.
//
//   0: r0 = 0            succ {1}                    subprogram 0
//   1: may_goto +2       succ {2, 4}
//   2: call pc+2         succ {3}, callee 5
//   3: goto -3           succ {1}, back edge 3 -> 1
//   4: exit              succ {}
//   5: r0 = 1            succ {6}                    subprogram 1 (a call target)
//   6: exit              succ {}
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "core/result.hpp"
#include "translator/isa/insn.hpp"

namespace xo::isa {

inline constexpr std::size_t kNoInsn = std::numeric_limits<std::size_t>::max();

// slot_of[i] = slot pc of insn i; slot_of.back() = total slots (one past the end).
std::vector<std::size_t> slot_layout(std::span<const Insn> insns);

// Instruction index starting at slot pc, or nullopt when pc is mid-ld_imm64
// or out of range.
std::optional<std::size_t> index_at_slot(std::span<const std::size_t> layout, std::size_t slot);

// Jumps: Jmp, Ja and MayGoto (they stay inside their subprogram).
bool is_jump(const Insn& insn);
// The relative offset (in slots, from the next slot) of a jump, CallLocal or
// LoadFunc; nullopt for every other instruction.
std::optional<std::int64_t> branch_offset(const Insn& insn);
// "call", "ld_imm64 func" or "jump", for messages.
const char* branch_kind(const Insn& insn);

// Where control may go from insn i when it is a jump (branch target), or the
// callee entry for CallLocal / LoadFunc. Error when the target is not the start
// of an instruction.
Result<std::optional<std::size_t>> branch_target(std::span<const Insn> insns,
                                                 std::span<const std::size_t> layout,
                                                 std::size_t i);

struct BasicBlock {
  std::size_t first;  // instruction indexes, inclusive
  std::size_t last;
  std::vector<std::size_t> successors;  // block ids
  bool operator==(const BasicBlock&) const = default;
};

struct Subprogram {
  std::size_t first;  // instruction index of the entry
  std::size_t end;    // one past the last instruction
  bool operator==(const Subprogram&) const = default;
};

struct Edge {
  std::size_t from;
  std::size_t to;
  bool operator==(const Edge&) const = default;
};

struct Structure {
  std::vector<std::size_t> layout;          // slot_layout()
  std::vector<Subprogram> subprograms;      // ordered by first; [0] is the main program
  std::vector<std::uint32_t> subprogram_of;  // per insn: index into subprograms
  // Per insn, the intraprocedural successors: the fall-through first (none
  // after exit and ja, none past the last instruction), then the jump target
  // unless it is the fall-through; kNoInsn-padded.
  std::vector<std::array<std::size_t, 2>> succ;
  std::vector<std::size_t> callee;  // per insn: CallLocal / LoadFunc target entry, else kNoInsn
  // Depth-first from the main entry, then from each declared entry, through
  // successors and callee edges (the kernel's check_cfg walk): which insns it
  // reaches, and the edges to an insn still on its stack (loops), in the order found.
  std::vector<bool> reachable;
  std::vector<Edge> back_edges;
  std::vector<BasicBlock> blocks;           // ordered by first
  std::vector<std::size_t> block_of;        // insn index -> block id
  std::vector<bool> is_jump_target;         // per insn index

  const Subprogram& subprogram_at(std::size_t i) const { return subprograms[subprogram_of[i]]; }
};

// A control transfer that no graph can be built for. Calls (CallLocal,
// LoadFunc) are checked before jumps, since they define the subprograms a
// jump must stay in; each kind in instruction order. These are the kernel's
// check_subprogs() rules, in its order, so the pre-verifier can word them the
// kernel's way.
struct BranchFault {
  enum class Kind : std::uint8_t {
    CallOutside,      // call / ld_imm64 func target outside the program
    CallIntoLdImm64,  // ... on the second slot of an ld_imm64
    JumpOutside,      // jump target outside the jump's subprogram (or the program)
    JumpIntoLdImm64,  // ... on the second slot of an ld_imm64
  };
  Kind kind;
  std::size_t index;    // the branching instruction
  std::size_t pc;       // its slot
  std::int64_t target;  // the target slot
  std::size_t total;    // slots in the program
  std::size_t first;    // JumpOutside: slots [first, end) of the jump's subprogram
  std::size_t end;
  bool operator==(const BranchFault&) const = default;
};
// One line, without the pc (Error::describe adds it).
std::string describe(const BranchFault& fault, const Insn& insn);

// `declared_entries` are subprogram entries the program declares besides its
// call targets (func_info insn_off, in slots; ones that are not an
// instruction start are ignored): they split subprograms and root the walk,
// as the kernel explores them (e.g. an exception callback) uncalled.
std::variant<Structure, BranchFault> build_cfg(std::span<const Insn> insns,
                                               std::span<const std::size_t> declared_entries = {});

// build_cfg() as a Result. Errors: an empty program; a BranchFault.
Result<Structure> analyze(std::span<const Insn> insns,
                          std::span<const std::size_t> declared_entries = {});

}  // namespace xo::isa
