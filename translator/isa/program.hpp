// A decoded program with its control-flow graph (cfg.hpp), and the rewriter
// that inserts/replaces instructions while keeping every jump right and
// yielding old->new maps.
//
// Indexes: an *index* is a position in std::vector<Insn>; a *slot* (pc) is the
// kernel's instruction number, where ld_imm64 counts twice. func_info,
// line_info and verifier logs speak slots; passes mostly speak indexes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <variant>
#include <vector>

#include "translator/isa/cfg.hpp"
#include "translator/isa/insn.hpp"
#include "core/result.hpp"

namespace xo::isa {

// A program decoded and analyzed once. preverify() returns it in its Report
// so that translate() does not decode and analyze the same bytes again.
struct Decoded {
  std::vector<Insn> insns;
  Structure structure;  // analyze(insns, declared func_info entries)
};

// ---------------------------------------------------------------------------
// Rewriting.

// A jump target expressed in terms of the program being rewritten.
struct ToOriginal {  // original instruction index (lands on the start of what replaced it)
  std::size_t index;
};
struct ToAppended {  // an instruction of an appended block
  std::size_t block;
  std::size_t pos;
};
using Target = std::variant<ToOriginal, ToAppended>;

// One instruction of new code. When `target` is set, the instruction must be a
// jump (Jmp, Ja, MayGoto), CallLocal or LoadFunc, and its offset is computed by finish();
// otherwise its offset is kept as written (relative within the new sequence).
struct Emit {
  Insn insn;
  std::optional<Target> target{};
};

// Maps between original and rewritten slot numbers.
struct IndexMap {
  std::vector<std::size_t> old_to_new;                // per old slot (+1 end entry)
  std::vector<std::optional<std::size_t>> new_to_old;  // per new slot; nullopt for appended code
};

struct Rewritten {
  std::vector<Insn> insns;
  IndexMap map;
};

class Rewriter {
 public:
  explicit Rewriter(std::vector<Insn> original);

  // Replace original insn `index` with `with` (may be empty: removal).
  // Jumps that targeted `index` land on the first new instruction (or, when
  // empty, on whatever follows).
  void replace(std::size_t index, std::vector<Emit> with);
  // Insert before original insn `index`; jumps to `index` land on the inserted code.
  void insert_before(std::size_t index, std::vector<Emit> seq);
  // Append a block after the last instruction; returns its block id.
  std::size_t append(std::vector<Emit> block);

  // Errors: a recomputed offset that does not fit its field, bad target.
  Result<Rewritten> finish() const;

  const std::vector<Insn>& original() const { return original_; }

 private:
  std::vector<Insn> original_;
  std::vector<std::optional<std::vector<Emit>>> replaced_;  // per original index
  std::vector<std::vector<Emit>> inserted_;                 // per original index
  std::vector<std::vector<Emit>> appended_;
  std::optional<Error> misuse_;  // first bad argument to replace/insert_before, reported by finish()
};

}  // namespace xo::isa
