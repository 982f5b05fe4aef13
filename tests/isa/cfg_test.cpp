// The one control-flow graph (cfg.hpp): per-insn successors and callees,
// subprograms (call targets and declared entries), the depth-first walk
// (reachability, back edges), may_goto, and the order and kinds of faults.
#include <gtest/gtest.h>

#include "translator/isa/cfg.hpp"

namespace xo::isa {
namespace {

Insn mov(Reg dst, std::int32_t v) { return Bin{AluOp::Mov, true, dst, Imm{v}}; }
Insn ja(std::int32_t off) { return Ja{off, false}; }
Insn ex() { return Exit{}; }

using Succ = std::array<std::size_t, 2>;
constexpr std::size_t N = kNoInsn;

Structure built(std::span<const Insn> p, std::span<const std::size_t> declared = {}) {
  auto r = build_cfg(p, declared);
  if (auto* f = std::get_if<BranchFault>(&r)) {
    ADD_FAILURE() << "fault at insn " << f->index << ": " << describe(*f, p[f->index]);
    return {};
  }
  return std::get<Structure>(std::move(r));
}

BranchFault fault(std::span<const Insn> p, std::span<const std::size_t> declared = {}) {
  auto r = build_cfg(p, declared);
  if (auto* f = std::get_if<BranchFault>(&r)) return *f;
  ADD_FAILURE() << "no fault";
  return {};
}

// The example at the top of cfg.hpp.
TEST(Cfg, SuccessorsCalleesBackEdgesOfTheHeaderExample) {
  const std::vector<Insn> p{mov(0, 0), MayGoto{2}, CallLocal{2}, ja(-3), ex(), mov(0, 1), ex()};
  const Structure s = built(p);
  EXPECT_EQ(s.succ, (std::vector<Succ>{{1, N}, {2, 4}, {3, N}, {1, N}, {N, N}, {6, N}, {N, N}}));
  EXPECT_EQ(s.callee, (std::vector<std::size_t>{N, N, 5, N, N, N, N}));
  EXPECT_EQ(s.subprograms, (std::vector<Subprogram>{{0, 5}, {5, 7}}));
  EXPECT_EQ(s.subprogram_of, (std::vector<std::uint32_t>{0, 0, 0, 0, 0, 1, 1}));
  EXPECT_EQ(s.back_edges, (std::vector<Edge>{{3, 1}}));
  EXPECT_EQ(s.reachable, std::vector<bool>(7, true));
  EXPECT_EQ(s.is_jump_target, (std::vector<bool>{false, true, false, false, true, false, false}));
  // may_goto ends its block with two successors, like any conditional jump.
  EXPECT_EQ(s.blocks[s.block_of[1]], (BasicBlock{1, 1, {s.block_of[2], s.block_of[4]}}));
}

TEST(Cfg, MayGotoToTheNextInsnHasOneSuccessor) {
  const std::vector<Insn> p{MayGoto{0}, ex()};
  EXPECT_EQ(built(p).succ[0], (Succ{1, N}));
}

TEST(Cfg, UnreachableCodeIsMarkedNotRejected) {
  const std::vector<Insn> p{ja(1), mov(0, 1), mov(0, 0), ex()};
  EXPECT_EQ(built(p).reachable, (std::vector<bool>{true, false, true, true}));
}

TEST(Cfg, DeclaredEntriesSplitSubprogramsAndRootTheWalk) {
  // Insn 2 is never called; func_info declares it (slot 3, after the lddw).
  const std::vector<Insn> p{LoadImm64{0, 1}, ex(), mov(0, 2), ex()};
  EXPECT_EQ(built(p).subprograms, (std::vector<Subprogram>{{0, 4}}));
  EXPECT_FALSE(built(p).reachable[2]);
  const std::vector<std::size_t> declared{0, 3, 1 /* mid-lddw: ignored */, 99 /* ignored */};
  const Structure s = built(p, declared);
  EXPECT_EQ(s.subprograms, (std::vector<Subprogram>{{0, 2}, {2, 4}}));
  EXPECT_EQ(s.reachable, std::vector<bool>(4, true));
}

TEST(Cfg, CallEdgesMakeCalleesReachableButNeverCloseALoop) {
  // main calls the subprogram at 3 twice: visiting it again is not a loop.
  const std::vector<Insn> p{CallLocal{2}, CallLocal{1}, ex(), mov(0, 0), ex()};
  const Structure s = built(p);
  EXPECT_TRUE(s.back_edges.empty());
  EXPECT_EQ(s.reachable, std::vector<bool>(5, true));
}

TEST(Cfg, JumpOutOfItsSubprogramIsAFault) {
  // 0: call +2 -> 3; 1: goto +2 -> 4, inside subprogram 1 [3, 5).
  const std::vector<Insn> p{CallLocal{2}, ja(2), ex(), mov(0, 0), ex()};
  const BranchFault f = fault(p);
  EXPECT_EQ(f.kind, BranchFault::Kind::JumpOutside);
  EXPECT_EQ(f.index, 1u);
  EXPECT_EQ(f.target, 4);
  EXPECT_EQ(f.first, 0u);
  EXPECT_EQ(f.end, 3u);
  EXPECT_EQ(describe(f, p[1]), "jump target 4 is outside its subprogram [insn 0, 3)");
  auto a = analyze(p);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.error().describe(), "insn 1: jump target 4 is outside its subprogram [insn 0, 3)");
}

TEST(Cfg, CallsAreCheckedBeforeJumps) {
  // The jump at 0 is bad, and so is the call at 1: the call is reported.
  const std::vector<Insn> p{ja(7), CallLocal{9}, ex()};
  const BranchFault f = fault(p);
  EXPECT_EQ(f.kind, BranchFault::Kind::CallOutside);
  EXPECT_EQ(f.index, 1u);
  EXPECT_EQ(f.pc, 1u);
  EXPECT_EQ(f.target, 11);
  EXPECT_EQ(f.total, 3u);
}

TEST(Cfg, FaultKindsIntoLdImm64) {
  const std::vector<Insn> jump{MayGoto{1}, LoadImm64{1, 5}, ex()};  // slot 2: mid-lddw
  EXPECT_EQ(fault(jump).kind, BranchFault::Kind::JumpIntoLdImm64);
  EXPECT_EQ(describe(fault(jump), jump[0]), "jump target 2 is the second slot of ld_imm64 at insn 1");
  const std::vector<Insn> call{LoadFunc{1, 0}, ex()};  // slot 1: mid-lddw
  EXPECT_EQ(fault(call).kind, BranchFault::Kind::CallIntoLdImm64);
  EXPECT_EQ(describe(fault(call), call[0]), "ld_imm64 func target 1 is the second slot of ld_imm64 at insn 0");
}

TEST(Cfg, BranchHelpersKnowMayGoto) {
  EXPECT_TRUE(is_jump(MayGoto{3}));
  EXPECT_TRUE(is_jump(Ja{3, true}));
  EXPECT_FALSE(is_jump(CallLocal{3}));
  EXPECT_EQ(branch_offset(MayGoto{-4}), std::optional<std::int64_t>{-4});
  EXPECT_EQ(branch_offset(LoadFunc{1, 6}), std::optional<std::int64_t>{6});
  EXPECT_EQ(branch_offset(ex()), std::nullopt);
}

}  // namespace
}  // namespace xo::isa
