// main_stack_depth (translator/passes/stack_depth.hpp): the deepest stack
// byte the main program reaches, as the kernel counts it, or "unknown" where
// a stack pointer escapes what the pass follows. Each case is a program and
// its expected depth.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "tests/translator/insn_dsl.hpp"
#include "translator/isa/cfg.hpp"
#include "translator/passes/stack_depth.hpp"

namespace xo::test {
namespace {

struct Case {
  std::string name;
  std::vector<Insn> prog;
  std::optional<std::uint32_t> depth;
};

std::vector<Case> cases() {
  return {
      {"no stack", {mov64(0, 2), exit_()}, 0},
      {"store below fp", {st(Size::DW, 10, -8, 0), mov64(0, 2), exit_()}, 8},
      {"key pointer for a helper",  // r2 = fp - 16, passed to a helper
       {st(Size::W, 10, -4, 0), mov64r(2, 10), alu64(AluOp::Add, 2, -16), ld_map(1, 1), call(1), mov64(0, 2),
        exit_()},
       16},
      {"access through a moved pointer", {mov64r(3, 10), alu64(AluOp::Sub, 3, 40), stx(Size::DW, 3, 8, 1), mov64(0, 2), exit_()},
       32},
      {"deepest of two paths",
       {jmp(Cond::Eq, 1, 0, 2), st(Size::DW, 10, -64, 0), ja(1), st(Size::DW, 10, -8, 0), mov64(0, 2), exit_()},
       64},
      {"a pointer reassigned on one path stays followed",
       {mov64r(4, 10), alu64(AluOp::Add, 4, -24), jmp(Cond::Eq, 1, 0, 1), mov64(4, 0), jmp(Cond::Eq, 4, 0, 1),
        st(Size::B, 4, 0, 1), mov64(0, 2), exit_()},
       24},
      {"whole frame", {st(Size::DW, 10, -512, 0), mov64(0, 2), exit_()}, 512},
      {"spilled stack pointer", {mov64r(2, 10), stx(Size::DW, 10, -8, 2), mov64(0, 2), exit_()}, std::nullopt},
      {"pointer combined with a register", {mov64r(2, 10), alu64r(AluOp::Add, 2, 1), mov64(0, 2), exit_()},
       std::nullopt},
      {"32-bit copy of fp", {mov32r(2, 10), mov64(0, 2), exit_()}, std::nullopt},
      {"stack pointer passed to a subprogram",
       {mov64r(1, 10), alu64(AluOp::Add, 1, -8), call_local(2), mov64(0, 2), exit_(), st(Size::DW, 1, -8, 0), exit_()},
       std::nullopt},
      {"a subprogram's own stack is not main's",
       {call_local(2), mov64(0, 2), exit_(), st(Size::DW, 10, -256, 0), exit_()}, 0},
  };
}

TEST(StackDepth, MainProgramDepthOrUnknown) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    auto st = isa::analyze(c.prog);
    ASSERT_TRUE(st) << st.error().message;
    EXPECT_EQ(translator::main_stack_depth(c.prog, *st), c.depth);
  }
}

}  // namespace
}  // namespace xo::test
