// Frame analysis for the lifter (no LLVM). Per function, a forward dataflow
// over the CFG gives each register's kind before every insn: fp + c (a
// stack address with a known offset), ctx (r1 at main's entry, copied), or
// anything else. From it, the stack slots whose address never escapes:
//
//   *(u64 *)(r10 - 8) = r6      slot -8/8: only ever accessed as itself,
//   ...                         never passed, stored or compared
//   r6 = *(u64 *)(r10 - 8)      -> its own alloca: mem2reg makes it SSA
//
//   r2 = r10; r2 += -16         fp-16 goes to a helper: bytes -16..-1 stay
//   call bpf_map_lookup_elem    in the frame alloca (helpers see memory)
//
// An fp address that goes anywhere else (stored, arithmetic other than +/-
// const, merged with another offset and then used) keeps the whole frame in
// memory: nothing is promoted for that function. Passed to a subprogram it
// is like a helper argument when the subprogram only ever adds non-negative
// constants to its arguments (kParam), else the same.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <vector>

#include "core/result.hpp"
#include "translator/isa/cfg.hpp"
#include "translator/isa/insn.hpp"

namespace xo::ir {

// A register's kind: kUninit / kUnknown / kCtx / kMixed, or an fp offset.
// kMixed: an fp address on some paths only (or different ones); harmless
// while the register is dead, and a use keeps the whole frame in memory.
using Kind = std::int64_t;
inline constexpr Kind kUninit = INT64_MIN;
inline constexpr Kind kUnknown = INT64_MIN + 1;
inline constexpr Kind kCtx = INT64_MIN + 2;
inline constexpr Kind kMixed = INT64_MIN + 3;
// kParam: a subprogram's argument register, or it plus a non-negative
// constant (a caller's stack address reaches a callee this way).
inline constexpr Kind kParam = INT64_MIN + 4;
inline bool is_fp(Kind k) { return k > kParam; }

using RegKinds = std::array<Kind, 11>;

struct Frame {
  std::uint32_t size = 0;  // bytes of the frame alloca below fp (multiple of 8)
  // Promoted slots: fp offset -> size in bytes.
  std::map<std::int32_t, std::uint8_t> promoted;
};

struct FrameAnalysis {
  std::vector<RegKinds> before;  // per insn of the program (kUninit everywhere when unreached)
  std::vector<bool> reached;     // per insn
  std::vector<Frame> frames;     // per subprogram (Structure::subprograms order)
};

// Errors: a stack access outside [-512, 0) through a known fp offset.
// `nargs_of(helper)`: the registers a helper call reads (r1..rN).
Result<FrameAnalysis> analyze_frames(const std::vector<isa::Insn>& insns, const isa::Structure& st,
                                     const std::function<unsigned(std::int32_t helper)>& nargs_of);

}  // namespace xo::ir
