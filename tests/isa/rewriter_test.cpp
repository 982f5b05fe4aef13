// Rewriter: inserting, replacing, removing and appending code keeps every
// jump right, and yields the old<->new slot maps.
#include <gtest/gtest.h>

#include "translator/isa/program.hpp"

namespace xo::isa {
namespace {

Insn mov(Reg dst, std::int32_t v) { return Bin{AluOp::Mov, true, dst, Imm{v}}; }
Insn jeq(Reg dst, std::int32_t v, std::int16_t off) { return Jmp{Cond::Eq, false, dst, Imm{v}, off}; }
Insn ja(std::int32_t off) { return Ja{off, false}; }
Insn ex() { return Exit{}; }
using Slots = std::vector<std::optional<std::size_t>>;
constexpr std::nullopt_t kAppended = std::nullopt;

Rewritten finish_ok(const Rewriter& rw) {
  auto out = rw.finish();
  EXPECT_TRUE(out.ok()) << out.error().describe();
  return out.ok() ? std::move(out).value() : Rewritten{};
}

TEST(Rewriter, NoChangesIsIdentity) {
  const std::vector<Insn> p{jeq(1, 0, 2), LoadImm64{0, 1}, ex()};
  const Rewritten out = finish_ok(Rewriter(p));
  EXPECT_TRUE(out.insns == p);
  EXPECT_EQ(out.map.old_to_new, (std::vector<std::size_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(out.map.new_to_old, (Slots{0, 1, 2, 3}));
}

TEST(Rewriter, InsertBeforeAJumpTargetMovesTheJumpOntoTheNewCode) {
  const std::vector<Insn> p{jeq(1, 0, 1), mov(0, 1), ex()};
  Rewriter rw(p);
  rw.insert_before(2, {Emit{mov(0, 0)}});
  const Rewritten out = finish_ok(rw);
  const std::vector<Insn> expected{jeq(1, 0, 1), mov(0, 1), mov(0, 0), ex()};
  EXPECT_TRUE(out.insns == expected);
  EXPECT_EQ(out.map.old_to_new, (std::vector<std::size_t>{0, 1, 2, 4}));
  EXPECT_EQ(out.map.new_to_old, (Slots{0, 1, 2, 2}));
}

TEST(Rewriter, ReplaceExitsWithJumpsToAnAppendedEpilogue) {
  const std::vector<Insn> p{jeq(1, 0, 1), ex(), mov(0, 1), ex()};
  Rewriter rw(p);
  const std::size_t epilogue = rw.append({Emit{mov(0, 2)}, Emit{ex()}});
  rw.replace(1, {Emit{ja(0), ToAppended{epilogue, 0}}});
  rw.replace(3, {Emit{ja(0), ToAppended{epilogue, 0}}});
  const Rewritten out = finish_ok(rw);
  const std::vector<Insn> expected{jeq(1, 0, 1), ja(2), mov(0, 1), ja(0), mov(0, 2), ex()};
  EXPECT_TRUE(out.insns == expected);
  EXPECT_EQ(out.map.old_to_new, (std::vector<std::size_t>{0, 1, 2, 3, 4}));
  EXPECT_EQ(out.map.new_to_old, (Slots{0, 1, 2, 3, kAppended, kAppended}));
}

TEST(Rewriter, BackwardJumpsStretchOverInsertedCode) {
  const std::vector<Insn> p{mov(0, 0), Bin{AluOp::Add, true, 0, Imm{1}},
                            Jmp{Cond::Lt, false, 0, Imm{10}, -2}, ex()};
  Rewriter rw(p);
  rw.insert_before(1, {Emit{mov(2, 0)}});
  rw.insert_before(2, {Emit{mov(3, 0)}, Emit{LoadImm64{4, 7}}});
  const Rewritten out = finish_ok(rw);
  ASSERT_EQ(out.insns.size(), 7u);
  // The loop edge lands on the code inserted before the old target (insn 1).
  // new slots: 0 mov, 1 ins, 2 add, 3 ins, 4-5 lddw, 6 jlt, 7 exit
  EXPECT_TRUE(out.insns[5] == (Insn{Jmp{Cond::Lt, false, 0, Imm{10}, -6}}));
  EXPECT_EQ(out.map.old_to_new, (std::vector<std::size_t>{0, 1, 3, 7, 8}));
  EXPECT_EQ(out.map.new_to_old, (Slots{0, 1, 1, 2, 2, 2, 2, 3}));
}

TEST(Rewriter, RemovalLandsJumpsOnWhatFollows) {
  const std::vector<Insn> p{jeq(1, 0, 1), mov(0, 1), mov(0, 2), ex()};
  Rewriter rw(p);
  rw.replace(2, {});
  const Rewritten out = finish_ok(rw);
  const std::vector<Insn> expected{jeq(1, 0, 1), mov(0, 1), ex()};
  EXPECT_TRUE(out.insns == expected);
  EXPECT_EQ(out.map.old_to_new, (std::vector<std::size_t>{0, 1, 2, 2, 3}));
  EXPECT_EQ(out.map.new_to_old, (Slots{0, 1, 3}));
}

TEST(Rewriter, RemovingTheLastTargetWithNothingAfterIsAnError) {
  const std::vector<Insn> p{jeq(1, 0, 0), ex()};
  Rewriter rw(p);
  rw.replace(1, {});
  auto out = rw.finish();
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().message,
            "rewritten insn 0 (for original insn 0): jump target was removed and nothing follows it");
}

TEST(Rewriter, LdImm64SlotsInTheIndexMaps) {
  const std::vector<Insn> p{LoadImm64{1, 5}, LoadMapFd{2, 7}, ex()};
  Rewriter rw(p);
  rw.insert_before(0, {Emit{mov(0, 0)}});
  rw.replace(1, {Emit{LoadMapFd{2, 1000}}, Emit{mov(3, 0)}});
  const Rewritten out = finish_ok(rw);
  // new: 0 mov, 1-2 lddw, 3-4 map_fd, 5 mov, 6 exit
  EXPECT_EQ(out.map.old_to_new, (std::vector<std::size_t>{0, 2, 3, 3, 6, 7}));
  EXPECT_EQ(out.map.new_to_old, (Slots{0, 0, 1, 2, 2, 2, 4}));
}

TEST(Rewriter, EmitTargetsOriginalCode) {
  // Inserted code may jump to, call, or take the address of original code.
  const std::vector<Insn> p{mov(0, 0), ex(), mov(0, 1), ex()};
  Rewriter rw(p);
  rw.insert_before(0, {Emit{jeq(1, 0, 0), ToOriginal{1}},
                       Emit{CallLocal{0}, ToOriginal{2}},
                       Emit{LoadFunc{1, 0}, ToOriginal{2}},
                       Emit{Ja{0, true}, ToOriginal{3}}});
  rw.insert_before(2, {Emit{mov(5, 5)}});
  const Rewritten out = finish_ok(rw);
  // new slots: 0 jeq, 1 call, 2-3 ldfunc, 4 gotol, 5 mov, 6 exit, 7 ins, 8 mov, 9 exit
  EXPECT_TRUE(out.insns[0] == jeq(1, 0, 5));
  EXPECT_TRUE(out.insns[1] == (Insn{CallLocal{5}}));
  EXPECT_TRUE(out.insns[2] == (Insn{LoadFunc{1, 4}}));
  EXPECT_TRUE(out.insns[3] == (Insn{Ja{4, true}}));
}

TEST(Rewriter, EmitWithoutTargetKeepsItsOffset) {
  const std::vector<Insn> p{mov(0, 0), ex()};
  Rewriter rw(p);
  rw.insert_before(1, {Emit{jeq(1, 0, 1)}, Emit{mov(0, 1)}});
  const Rewritten out = finish_ok(rw);
  EXPECT_TRUE(out.insns[1] == jeq(1, 0, 1));
}

TEST(Rewriter, OriginalCallsAndFuncPointersAreFixed) {
  const std::vector<Insn> p{CallLocal{3}, LoadFunc{1, 2}, ex(), mov(0, 0), ex()};
  // slots: 0 call -> 4, 1-2 ldfunc -> 4, 3 exit, 4 mov, 5 exit
  Rewriter rw(p);
  rw.insert_before(2, {Emit{mov(2, 2)}, Emit{mov(3, 3)}});
  const Rewritten out = finish_ok(rw);
  EXPECT_TRUE(out.insns[0] == (Insn{CallLocal{5}}));
  EXPECT_TRUE(out.insns[1] == (Insn{LoadFunc{1, 4}}));
}

TEST(Rewriter, OffsetOverflowIsAnError) {
  const std::vector<Insn> p{jeq(1, 0, 1), mov(0, 0), ex()};
  Rewriter rw(p);
  rw.insert_before(1, std::vector<Emit>(33000, Emit{mov(0, 0)}));
  auto out = rw.finish();
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().message,
            "rewritten insn 0 (for original insn 0): offset 33001 does not fit in the 16-bit off of a "
            "conditional jump");

  // ja has the same 16-bit limit; gotol does not.
  const std::vector<Insn> q{ja(1), mov(0, 0), ex()};
  Rewriter narrow(q);
  narrow.insert_before(1, std::vector<Emit>(33000, Emit{mov(0, 0)}));
  auto bad = narrow.finish();
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            "rewritten insn 0 (for original insn 0): offset 33001 does not fit in the 16-bit off of "
            "ja (use gotol)");
  const std::vector<Insn> w{Ja{1, true}, mov(0, 0), ex()};
  Rewriter wide(w);
  wide.insert_before(1, std::vector<Emit>(33000, Emit{mov(0, 0)}));
  auto ok = wide.finish();
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(ok->insns[0] == (Insn{Ja{33001, true}}));
}

TEST(Rewriter, MisuseIsReportedByFinish) {
  const std::vector<Insn> p{mov(0, 0), ex()};
  {
    Rewriter rw(p);
    rw.replace(5, {});
    auto out = rw.finish();
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.error().message, "rewriter: replace(5) is past the end (2 insns)");
  }
  {
    Rewriter rw(p);
    rw.replace(0, {});
    rw.replace(0, {});
    EXPECT_EQ(rw.finish().error().message, "rewriter: insn 0 is replaced twice");
  }
  {
    Rewriter rw(p);
    rw.insert_before(2, {});
    EXPECT_EQ(rw.finish().error().message, "rewriter: insert_before(2) is past the end (2 insns)");
  }
  {
    Rewriter rw(p);
    rw.insert_before(0, {Emit{mov(1, 1), ToOriginal{1}}});
    EXPECT_EQ(rw.finish().error().message,
              "rewritten insn 0 (for original insn 0): a target was given for an instruction that "
              "does not branch");
  }
  {
    Rewriter rw(p);
    rw.append({Emit{ja(0), ToAppended{0, 3}}});
    EXPECT_EQ(rw.finish().error().message,
              "rewritten insn 2 (appended): target appended block 0 pos 3 does not exist");
  }
  {
    Rewriter rw(p);
    rw.insert_before(0, {Emit{ja(0), ToOriginal{3}}});
    EXPECT_EQ(rw.finish().error().message,
              "rewritten insn 0 (for original insn 0): target original insn 3 is past the end (2 insns)");
  }
}

TEST(Rewriter, ToOriginalEndMeansTheStartOfAppendedCode) {
  const std::vector<Insn> p{mov(0, 0), ex()};
  Rewriter rw(p);
  rw.append({Emit{ex()}});
  rw.insert_before(0, {Emit{ja(0), ToOriginal{2}}});
  const Rewritten out = finish_ok(rw);
  EXPECT_TRUE(out.insns[0] == ja(2));
}

TEST(Rewriter, OriginalBadJumpIsReported) {
  const std::vector<Insn> p{ja(7), ex()};
  auto out = Rewriter(p).finish();
  ASSERT_FALSE(out.ok());
  EXPECT_EQ(out.error().describe(), "insn 0: jump target 8 is outside the program (2 slots)");
}

}  // namespace
}  // namespace xo::isa
