// Program structure: slot layout, slot <-> index, branch targets, basic
// blocks with successors, subprograms, and structural errors.
#include <gtest/gtest.h>

#include "translator/isa/program.hpp"

namespace xo::isa {
namespace {

Insn mov(Reg dst, std::int32_t v) { return Bin{AluOp::Mov, true, dst, Imm{v}}; }
Insn jeq(Reg dst, std::int32_t v, std::int16_t off) { return Jmp{Cond::Eq, false, dst, Imm{v}, off}; }
Insn ja(std::int32_t off) { return Ja{off, false}; }
Insn lddw(Reg dst, std::uint64_t v) { return LoadImm64{dst, v}; }
Insn ex() { return Exit{}; }

TEST(SlotLayout, LdImm64TakesTwoSlots) {
  const std::vector<Insn> p{mov(0, 0), lddw(1, 5), ex()};
  EXPECT_EQ(slot_layout(p), (std::vector<std::size_t>{0, 1, 3, 4}));
  EXPECT_EQ(slot_layout({}), (std::vector<std::size_t>{0}));
}

TEST(SlotLayout, IndexAtSlot) {
  const std::vector<Insn> p{mov(0, 0), lddw(1, 5), ex()};
  const auto layout = slot_layout(p);
  EXPECT_EQ(index_at_slot(layout, 0), std::optional<std::size_t>{0});
  EXPECT_EQ(index_at_slot(layout, 1), std::optional<std::size_t>{1});
  EXPECT_EQ(index_at_slot(layout, 2), std::nullopt);  // second slot of ld_imm64
  EXPECT_EQ(index_at_slot(layout, 3), std::optional<std::size_t>{2});
  EXPECT_EQ(index_at_slot(layout, 4), std::nullopt);  // one past the end
  EXPECT_EQ(index_at_slot(layout, 99), std::nullopt);
}

TEST(BranchTarget, CountsSlotsAcrossLdImm64) {
  // 0: if r1 == 0 goto +3 -> slot 4, which is insn 3 (ld_imm64 insn 2 takes slots 2-3)
  const std::vector<Insn> p{jeq(1, 0, 3), mov(0, 0), lddw(1, 5), ex()};
  const auto layout = slot_layout(p);
  auto t = branch_target(p, layout, 0);
  ASSERT_TRUE(t.ok()) << t.error().describe();
  EXPECT_EQ(*t, std::optional<std::size_t>{3});
  auto none = branch_target(p, layout, 1);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, std::nullopt);
}

TEST(BranchTarget, IntoTheMiddleOfLdImm64IsRejected) {
  const std::vector<Insn> p{mov(0, 0), jeq(1, 0, 1), lddw(1, 5), ex()};  // slot 1+1+1 = 3: middle
  const auto layout = slot_layout(p);
  auto t = branch_target(p, layout, 1);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().pc, std::optional<std::size_t>{1});
  EXPECT_EQ(t.error().message, "jump target 3 is the second slot of ld_imm64 at insn 2");
  auto s = analyze(p);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error(), t.error());
}

TEST(BranchTarget, OutsideTheProgramIsRejected) {
  const std::vector<Insn> forward{ja(5), ex()};
  auto t = branch_target(forward, slot_layout(forward), 0);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().message, "jump target 6 is outside the program (2 slots)");
  const std::vector<Insn> backward{mov(0, 0), Insn{CallLocal{-3}}, ex()};
  auto c = branch_target(backward, slot_layout(backward), 1);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.error().describe(), "insn 1: call target -1 is outside the program (3 slots)");
  const std::vector<Insn> to_end{jeq(1, 0, 1), ex()};  // lands one past the last slot
  EXPECT_FALSE(branch_target(to_end, slot_layout(to_end), 0).ok());
}

TEST(Analyze, BlocksAndSuccessors) {
  const std::vector<Insn> p{
      mov(0, 0),      // 0  B0
      jeq(1, 0, 2),   // 1  B0 -> B1 (fall), B2 (taken, insn 4)
      mov(0, 1),      // 2  B1
      ja(1),          // 3  B1 -> B3
      mov(0, 2),      // 4  B2 -> B3 (fall)
      ex(),           // 5  B3
  };
  auto s = analyze(p);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  ASSERT_EQ(s->blocks.size(), 4u);
  EXPECT_EQ(s->blocks[0], (BasicBlock{0, 1, {1, 2}}));
  EXPECT_EQ(s->blocks[1], (BasicBlock{2, 3, {3}}));
  EXPECT_EQ(s->blocks[2], (BasicBlock{4, 4, {3}}));
  EXPECT_EQ(s->blocks[3], (BasicBlock{5, 5, {}}));
  EXPECT_EQ(s->block_of, (std::vector<std::size_t>{0, 0, 1, 1, 2, 3}));
  EXPECT_EQ(s->is_jump_target, (std::vector<bool>{false, false, false, false, true, true}));
  ASSERT_EQ(s->subprograms.size(), 1u);
  EXPECT_EQ(s->subprograms[0], (Subprogram{0, 6}));
  EXPECT_EQ(s->layout, slot_layout(p));
}

TEST(Analyze, JumpToNextHasOneSuccessor) {
  const std::vector<Insn> p{jeq(1, 0, 0), ex()};
  auto s = analyze(p);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->blocks[0].successors, (std::vector<std::size_t>{1}));
}

TEST(Analyze, BackwardJumpSplitsTheLoopHead) {
  const std::vector<Insn> p{mov(0, 0), Bin{AluOp::Add, true, 0, Imm{1}},
                            Jmp{Cond::Lt, false, 0, Imm{10}, -2}, ex()};
  auto s = analyze(p);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(s->blocks.size(), 3u);
  EXPECT_EQ(s->blocks[1], (BasicBlock{1, 2, {2, 1}}));  // fall-through first, then the loop edge
}

TEST(Analyze, SubprogramsFromCallsAndFuncPointers) {
  const std::vector<Insn> p{
      CallLocal{2},     // 0 (slot 0) -> slot 3 = insn 3
      mov(0, 0),        // 1
      ex(),             // 2
      LoadFunc{1, 2},   // 3 (slots 3-4) -> slot 6 = insn 5
      ex(),             // 4 (slot 5)
      mov(0, 1),        // 5 (slot 6)
      ex(),             // 6
  };
  auto s = analyze(p);
  ASSERT_TRUE(s.ok()) << s.error().describe();
  EXPECT_EQ(s->subprograms, (std::vector<Subprogram>{{0, 3}, {3, 5}, {5, 7}}));
  // A call does not end its block; subprogram entries start blocks.
  ASSERT_EQ(s->blocks.size(), 3u);
  EXPECT_EQ(s->blocks[0], (BasicBlock{0, 2, {}}));
  EXPECT_EQ(s->blocks[1], (BasicBlock{3, 4, {}}));
  EXPECT_EQ(s->blocks[2], (BasicBlock{5, 6, {}}));
  EXPECT_EQ(s->is_jump_target, std::vector<bool>(7, false));  // calls are not jumps
}

TEST(Analyze, EmptyProgramIsAnError) {
  auto s = analyze({});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().message, "empty program");
}

TEST(Analyze, FallingOffTheEndHasNoSuccessor) {
  const std::vector<Insn> p{mov(0, 0)};
  auto s = analyze(p);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->blocks[0].successors.empty());
}

}  // namespace
}  // namespace xo::isa
