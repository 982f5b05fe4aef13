// "Never stricter than the kernel": a corpus of valid but tricky programs.
// Each one is loaded into the real host kernel as XDP and must be accepted
// there (so the corpus itself is checked), and preverify must accept it too.
#include <gtest/gtest.h>

#include <chrono>

#include "tests/verifier/harness.hpp"
#include "tests/verifier/kernel_oracle.hpp"

namespace xo::test {
namespace {

using namespace ins;

struct Program {
  std::string name;
  Slots insns;
  std::vector<MapDef> maps;
  std::size_t loop_notes = 0;  // back-edges preverify must report as notes
  bool func_info = false;      // load with generated BTF func_info (callbacks need it)
};

std::ostream& operator<<(std::ostream& os, const Program& p) { return os << p.name; }

std::vector<Program> corpus() {
  return {
      // r3 is set only where r6 <= 10, and read only there: the kernel's
      // path sensitivity sees the second test repeat the first.
      {"PathSensitiveInit",
       prog({CALL(BPF_FUNC_get_prandom_u32), MOV64_REG(6, 0), MOV64_IMM(0, 0),
             JMP_IMM(BPF_JGT, 6, 10, 1), MOV64_IMM(3, 1), JMP_IMM(BPF_JGT, 6, 10, 1),
             MOV64_REG(0, 3), EXIT()})},
      // Dead code behind a constant: uninitialised read, r10 write, division
      // by zero and an out-of-frame store, none of which the kernel visits.
      {"DeadCodeGuardedByConstant",
       prog({MOV64_IMM(0, 0), JMP_IMM(BPF_JEQ, 0, 0, 4), MOV64_REG(0, 5), ALU64_IMM(BPF_ADD, 10, 8),
             ALU64_IMM(BPF_DIV, 0, 0), ST_MEM(BPF_DW, 10, 8, 0), EXIT()})},
      // The only exit on the dead side reads an unset r0.
      {"DeadExitWithoutR0",
       prog({MOV64_IMM(2, 1), JMP_IMM(BPF_JEQ, 2, 1, 1), EXIT(), MOV64_IMM(0, 2), EXIT()})},
      // Dead code the kernel prunes by range, not by a constant.
      {"DeadCodeGuardedByRange",
       prog({CALL(BPF_FUNC_get_prandom_u32), ALU64_IMM(BPF_AND, 0, 0xff),
             JMP_IMM(BPF_JGT, 0, 0x100, 1), EXIT(), MOV64_REG(0, 4), ST_MEM(BPF_W, 10, 0, 1),
             EXIT()})},
      {"BoundedLoop",
       prog({MOV64_IMM(0, 0), MOV64_IMM(2, 0), ALU64_IMM(BPF_ADD, 2, 1), ALU64_REG(BPF_ADD, 0, 2),
             JMP_IMM(BPF_JLT, 2, 10, -3), EXIT()}),
       {}, 1},
      {"StackAtBottomOfFrame",
       prog({ST_MEM(BPF_DW, 10, -512, 7), LDX_MEM(BPF_DW, 0, 10, -512), ST_MEM(BPF_B, 10, -1, 1),
             EXIT()})},
      // Pointer arithmetic on copies of r10, then a load through a copy of the copy.
      {"CopiesOfR10",
       prog({MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -16), ST_MEM(BPF_DW, 2, 8, 1),
             MOV64_REG(3, 2), ALU64_IMM(BPF_ADD, 3, 8), LDX_MEM(BPF_DW, 0, 3, 0), EXIT()})},
      // r2 is r10-8 on one path and r10-16 on the other: both accesses fit.
      {"StackPointerFromTwoPaths",
       prog({CALL(BPF_FUNC_get_prandom_u32), MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -8),
             JMP_IMM(BPF_JGT, 0, 5, 1), ALU64_IMM(BPF_ADD, 2, -8), ST_MEM(BPF_DW, 2, 0, 3),
             MOV64_IMM(0, 2), EXIT()})},
      {"AtomicOnStack",
       prog({ST_MEM(BPF_DW, 10, -8, 1), MOV64_IMM(1, 2), ATOMIC_OP(BPF_DW, BPF_ADD, 10, 1, -8),
             MOV64_IMM(1, 3), ATOMIC_OP(BPF_DW, BPF_XCHG, 10, 1, -8), MOV64_REG(0, 1), EXIT()})},
      // Subprogram reading its argument; r6 survives the call.
      {"Subprogram",
       prog({MOV64_IMM(6, 3), MOV64_IMM(1, 5), CALL_LOCAL(2), ALU64_REG(BPF_ADD, 0, 6), EXIT(),
             MOV64_REG(0, 1), ALU64_IMM(BPF_ADD, 0, 1), EXIT()})},
      // A subprogram using only r1 of r1-r5, called twice; it has its own
      // frame at r10.
      {"SubprogramTwiceWithOwnStack",
       prog({MOV64_IMM(1, 1), CALL_LOCAL(5), MOV64_REG(6, 0), MOV64_IMM(1, 2), CALL_LOCAL(2),
             ALU64_REG(BPF_ADD, 0, 6), EXIT(), STX_MEM(BPF_DW, 10, 1, -512),
             LDX_MEM(BPF_DW, 0, 10, -512), EXIT()})},
      // Helpers with fewer arguments than r1-r5: only r1 (ctx) is set.
      {"HelperWithNoArguments",
       prog({CALL(BPF_FUNC_ktime_get_ns), CALL(BPF_FUNC_get_smp_processor_id), MOV64_IMM(0, 2),
             EXIT()})},
      {"MapLookupUsesTwoArguments",
       prog({ST_MEM(BPF_W, 10, -4, 0), MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -4),
             LD_MAP_FD(1, 1), CALL(BPF_FUNC_map_lookup_elem), JMP_IMM(BPF_JEQ, 0, 0, 1),
             LDX_MEM(BPF_DW, 0, 0, 0), MOV64_IMM(0, 2), EXIT()}),
       {array_map(1, 8, 4)}},
      // Global data: direct value access at the last byte of the value.
      {"MapValueLastByte",
       prog({LD_MAP_VALUE(1, 1, 7), LDX_MEM(BPF_B, 0, 1, 0), EXIT()}),
       {array_map(1, 8, 1, ".bss")}},
      // bpf_loop with a callback reached only through BPF_PSEUDO_FUNC; the
      // callback reads r1 (the index) that the helper passes it.
      {"BpfLoopCallback",
       prog({MOV64_IMM(1, 4), LD_FUNC(2, 6), MOV64_IMM(3, 0), MOV64_IMM(4, 0),
             CALL(BPF_FUNC_loop), MOV64_IMM(0, 2), EXIT(), MOV64_REG(0, 1), ALU64_IMM(BPF_AND, 0, 0),
             EXIT()}),
       {}, 0, true},
      {"JumpToNextInsn",
       prog({MOV64_IMM(0, 1), JA(0), JMP_IMM(BPF_JEQ, 0, 1, 0), JMP32_IMM(BPF_JNE, 0, 3, 0),
             EXIT()})},
      // Division by a register the kernel cannot prove non-zero is fine.
      {"DivisionByRegister",
       prog({CALL(BPF_FUNC_get_prandom_u32), MOV64_IMM(2, 100), ALU64_REG(BPF_DIV, 2, 0),
             ALU64_REG(BPF_MOD, 0, 2), EXIT()})},
      // Exit jumps back to a shared epilogue.
      {"SharedEpilogue",
       prog({CALL(BPF_FUNC_get_prandom_u32), JMP_IMM(BPF_JGT, 0, 3, 2), MOV64_IMM(0, 1), JA(1),
             MOV64_IMM(0, 2), EXIT()})},
      // may_goto (kernel selftests verifier_may_goto): a loop whose only
      // bound is the kernel's loop budget; exhausted, it jumps to the exit.
      {"MayGotoBoundsALoop",
       prog({MOV64_IMM(1, 0), MAY_GOTO(2), ALU64_IMM(BPF_ADD, 1, 1), JA(-3), MOV64_IMM(0, 2),
             EXIT()}),
       {}, 1},
      // "may_goto 0": both edges lead to the next instruction.
      {"MayGotoZero", prog({MAY_GOTO(0), MOV64_IMM(0, 1), MAY_GOTO(0), EXIT()})},
      // A 64-bit constant (two slots) in the middle, jumped over.
      {"LdImm64Skipped",
       prog({CALL(BPF_FUNC_get_prandom_u32), JMP_IMM(BPF_JEQ, 0, 0, 2), LD_IMM64(0, 1LL << 40),
             EXIT()})},
  };
}

class Corpus : public ::testing::TestWithParam<Program> {};

TEST_P(Corpus, KernelAccepts) {
  const auto v = kernel_load_xdp(make_sub(GetParam().insns, GetParam().maps), GetParam().func_info);
  EXPECT_TRUE(v.accepted) << "corpus program is not valid for this kernel (errno " << v.error
                          << "):\n"
                          << v.log;
}

TEST_P(Corpus, PreverifyAccepts) {
  const Submission sub = make_sub(GetParam().insns, GetParam().maps);
  auto r = preverify_default(sub);
  ASSERT_TRUE(r.ok()) << r.error().message;
  std::size_t loops = 0;
  for (const auto& n : r->notes) loops += n.message.find("loop candidate") != std::string::npos;
  EXPECT_EQ(loops, GetParam().loop_notes);
}

INSTANTIATE_TEST_SUITE_P(Tricky, Corpus, ::testing::ValuesIn(corpus()),
                         [](const auto& info) { return info.param.name; });

TEST(LoopNotes, BackEdgeIsReportedWithBothEnds) {
  const Submission sub = make_sub(prog({MOV64_IMM(0, 0), ALU64_IMM(BPF_ADD, 0, 1),
                                        JMP_IMM(BPF_JLT, 0, 10, -2), EXIT()}));
  auto r = preverify_default(sub);
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->notes.size(), 1u);
  EXPECT_EQ(r->notes[0].pc, 2u);
  EXPECT_EQ(r->notes[0].message,
            "prog 't_prog': insn 2: loop candidate: back-edge to insn 1; the kernel must prove "
            "the loop bounded");
}

}  // namespace
}  // namespace xo::test

namespace xo::test {
namespace {

// Hostile sizes: close to the kernel's 1M-insn limit, with a branch every
// few instructions, the passes stay linear-ish (no recursion, no per-insn
// state copies).
TEST(Scale, NearLimitProgramIsAnalysedQuickly) {
  using namespace ins;
  Slots insns = MOV64_IMM(0, 0);
  while (insns.size() < 900'000) {
    for (const auto& s : {JMP_IMM(BPF_JGT, 1, 3, 1), MOV64_IMM(2, 1), ALU64_IMM(BPF_ADD, 0, 1)})
      insns.insert(insns.end(), s.begin(), s.end());
  }
  insns.push_back(EXIT()[0]);
  const auto start = std::chrono::steady_clock::now();
  auto r = preverify_default(make_sub(insns));
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_LT(ms, 5000);
}

}  // namespace
}  // namespace xo::test
