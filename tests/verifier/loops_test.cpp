// Loop helpers under the policy's bound (verifier-front/loops.cpp): one
// case per rule, as data. Every case is a program the host kernel accepts
// (checked below), so each refusal is the host's policy at work, not the
// kernel's: without loops.cpp every refused case here would load.
#include <gtest/gtest.h>

#include "tests/verifier/harness.hpp"
#include "tests/verifier/kernel_oracle.hpp"

namespace xo::test {
namespace {

using namespace ins;

// The default allowlist with another loop limit.
class LimitPolicy final : public Policy {
 public:
  explicit LimitPolicy(std::uint64_t limit) : limit_(limit) {}
  const HelperProto* helper(std::int32_t id) const override { return base_.helper(id); }
  std::vector<HelperProto> helpers() const override { return base_.helpers(); }
  FlavorSet flavors() const override { return base_.flavors(); }
  std::uint64_t max_loop_iterations() const override { return limit_; }

 private:
  DefaultPolicy base_;
  std::uint64_t limit_;
};

// bpf_loop(count in r1, callback at `cb_off` from the LD_FUNC, NULL, 0)
Slots loop_call(Slots set_r1, int cb_off) {
  Slots out = std::move(set_r1);
  // LD_FUNC would sign-extend a negative offset into the second slot.
  const Slots ld_func = {raw(BPF_LD | BPF_DW | BPF_IMM, 2, BPF_PSEUDO_FUNC, 0, cb_off), raw(0, 0, 0, 0, 0)};
  for (auto& part : {ld_func, MOV64_IMM(3, 0), MOV64_IMM(4, 0), CALL(BPF_FUNC_loop)})
    out.insert(out.end(), part.begin(), part.end());
  return out;
}

Slots cat(std::initializer_list<Slots> parts) {
  Slots out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

const Slots kRet2 = cat({MOV64_IMM(0, 2), EXIT()});
const Slots kRet0 = cat({MOV64_IMM(0, 0), EXIT()});

// main: bpf_loop(n, cb) ; cb: r0 = 0
Slots single(int n) { return cat({loop_call(MOV64_IMM(1, n), 6), kRet2, kRet0}); }
// main: bpf_loop(outer, A) ; A: bpf_loop(inner, B) ; B: r0 = 0
Slots nested(int outer, int inner) {
  return cat({loop_call(MOV64_IMM(1, outer), 6), kRet2, loop_call(MOV64_IMM(1, inner), 6), kRet0, kRet0});
}

struct Case {
  std::string name;
  Slots insns;
  std::uint64_t limit = kDefaultMaxLoopIterations;
  std::optional<std::size_t> pc;  // nullopt: accepted
  std::string message = {};
};

std::ostream& operator<<(std::ostream& os, const Case& c) { return os << c.name; }

const std::string P = "prog 't_prog': ";
const std::string kOver = ", over this host's limit of 65536 loop iterations per program run";

std::vector<Case> cases() {
  return {
      {"AtTheLimit", single(65536)},
      {"OneOverTheLimit", single(65537), kDefaultMaxLoopIterations, 5,
       P + "insn 5: bpf_loop (181) runs its callback 65537 times" + kOver},
      {"TheKernelsMaximum", single(8 << 20), kDefaultMaxLoopIterations, 5,
       P + "insn 5: bpf_loop (181) runs its callback 8388608 times" + kOver},
      {"ThirtyTwoBitMove", cat({loop_call(MOV32_IMM(1, 70000), 6), kRet2, kRet0}), kDefaultMaxLoopIterations, 5,
       P + "insn 5: bpf_loop (181) runs its callback 70000 times" + kOver},
      {"LdImm64Count", cat({loop_call(LD_IMM64(1, 1000), 6), kRet2, kRet0})},
      {"FoldedArithmetic", cat({loop_call(cat({MOV64_IMM(1, 1), ALU64_IMM(BPF_LSH, 1, 20)}), 6), kRet2, kRet0}),
       kDefaultMaxLoopIterations, 6, P + "insn 6: bpf_loop (181) runs its callback 1048576 times" + kOver},
      {"NestedWithin", nested(200, 300)},
      {"NestedMultiplies", nested(300, 300), kDefaultMaxLoopIterations, 5,
       P + "insn 5: bpf_loop (181) runs its callback 300 times and the loops nested in it up to 300 times per "
           "call: 90000 iterations per program run" + kOver},
      {"InnerLoopAloneOver", nested(1, 100000), kDefaultMaxLoopIterations, 13,
       P + "insn 13: bpf_loop (181) runs its callback 100000 times" + kOver},
      {"CountFromAHelper",
       cat({CALL(BPF_FUNC_get_prandom_u32), loop_call(MOV64_REG(1, 0), 6), kRet2, kRet0}),
       kDefaultMaxLoopIterations, 6,
       P + "insn 6: bpf_loop (181): the iteration count in r1 is not a constant on every path; the host bounds "
           "loops (limit 65536 iterations per program run) and needs a constant count"},
      // if (prandom > 5) n = 10 else n = 20: the larger constant counts.
      {"TwoConstantsWithin",
       cat({CALL(BPF_FUNC_get_prandom_u32), MOV64_IMM(1, 10), JMP_IMM(BPF_JGT, 0, 5, 1), MOV64_IMM(1, 20),
            loop_call({}, 6), kRet2, kRet0}),
       20},
      {"TwoConstantsOver",
       cat({CALL(BPF_FUNC_get_prandom_u32), MOV64_IMM(1, 10), JMP_IMM(BPF_JGT, 0, 5, 1), MOV64_IMM(1, 20),
            loop_call({}, 6), kRet2, kRet0}),
       15, 8, P + "insn 8: bpf_loop (181) runs its callback 20 times, over this host's limit of 15 loop "
                  "iterations per program run"},
      // main calls f (bpf-to-bpf); f runs the loop.
      {"LoopInAPlainSubprogram",
       cat({CALL_LOCAL(2), kRet2, loop_call(MOV64_IMM(1, 100000), 6), kRet0, kRet0}), kDefaultMaxLoopIterations,
       8, P + "insn 8: bpf_loop (181) runs its callback 100000 times" + kOver},
  };
}

class LoopBound : public ::testing::TestWithParam<Case> {};

TEST_P(LoopBound, PolicyVerdict) {
  const Case& c = GetParam();
  const Submission sub = make_sub(c.insns);
  LimitPolicy policy(c.limit);
  SubmissionMaps maps(sub);
  auto r = preverify(sub, policy, maps, Flavor::Chain);
  if (!c.pc) {
    EXPECT_TRUE(r.ok()) << r.error().message;
    return;
  }
  ASSERT_FALSE(r.ok()) << c.name << " accepted";
  EXPECT_EQ(r.error().message, c.message);
  EXPECT_EQ(r.error().pc, c.pc);
  EXPECT_EQ(r.error().code, EPERM) << "a policy verdict";
  EXPECT_EQ(r.error().stage, Stage::Preverify);
}

TEST_P(LoopBound, TheKernelAcceptsIt) {
  const auto v = kernel_load_xdp(make_sub(GetParam().insns), /*with_func_info=*/true);
  EXPECT_TRUE(v.accepted) << "errno " << v.error << "\n" << v.log;
}

INSTANTIATE_TEST_SUITE_P(Cases, LoopBound, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

// A callback that runs its own loop again is unbounded (the kernel bounds
// the recursion by call depth only, far beyond any policy).
TEST(LoopBoundPolicy, RecursiveCallbackIsRefused) {
  const Slots insns = cat({loop_call(MOV64_IMM(1, 2), 6), kRet2, loop_call(MOV64_IMM(1, 2), -2), kRet0});
  const Submission sub = make_sub(insns);
  auto r = preverify_default(sub);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, P + "insn 13: bpf_loop (181): its callback can reach this loop again (recursion), "
                                   "so the number of iterations is unbounded");
  EXPECT_EQ(r.error().code, EPERM);
}

TEST(LoopBoundPolicy, TheDefaultPolicyCarriesTheBound) {
  const DefaultPolicy p;
  EXPECT_EQ(p.max_loop_iterations(), 65536u);
  const HelperProto* loop = p.helper(BPF_FUNC_loop);
  ASSERT_NE(loop, nullptr);
  EXPECT_EQ(loop->loop_count_arg, 1);
  EXPECT_EQ(loop->loop_callback_arg, 2);
  for (const auto& h : p.helpers()) {
    if (h.id != BPF_FUNC_loop) {
      EXPECT_EQ(h.loop_count_arg, 0) << h.name;
    }
  }
}

}  // namespace
}  // namespace xo::test
