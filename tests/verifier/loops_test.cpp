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
      // Fixed stack slots (dataflow.cpp): a count spilled and filled is
      // still the constant, as the kernel tracks it.
      {"CountSpilledAndFilledWithin",
       cat({MOV64_IMM(1, 1000), STX_MEM(BPF_DW, 10, 1, -8), MOV64_IMM(1, 0), LDX_MEM(BPF_DW, 1, 10, -8),
            loop_call({}, 6), kRet2, kRet0})},
      {"CountSpilledAndFilledOver",
       cat({MOV64_IMM(1, 100000), STX_MEM(BPF_DW, 10, 1, -8), MOV64_IMM(1, 0), LDX_MEM(BPF_DW, 1, 10, -8),
            loop_call({}, 6), kRet2, kRet0}),
       kDefaultMaxLoopIterations, 8, P + "insn 8: bpf_loop (181) runs its callback 100000 times" + kOver},
      {"CountStoredAsAnImmediate",
       cat({ST_MEM(BPF_DW, 10, -16, 100000), LDX_MEM(BPF_DW, 1, 10, -16), loop_call({}, 6), kRet2, kRet0}),
       kDefaultMaxLoopIterations, 6, P + "insn 6: bpf_loop (181) runs its callback 100000 times" + kOver},
      // A narrower store over the spill: the slot no longer holds the constant.
      {"SpillPartlyOverwritten",
       cat({MOV64_IMM(1, 10), STX_MEM(BPF_DW, 10, 1, -8), ST_MEM(BPF_W, 10, -4, 7), LDX_MEM(BPF_DW, 1, 10, -8),
            loop_call({}, 6), kRet2, kRet0}),
       kDefaultMaxLoopIterations, 8,
       P + "insn 8: bpf_loop (181): the iteration count in r1 is not a constant on every path; the host bounds "
           "loops (limit 65536 iterations per program run) and needs a constant count"},
      // A helper given a pointer into the frame may write the slot:
      // bpf_xdp_load_bytes(ctx, 0, r10 - 8, 8) does.
      {"SpillWrittenThroughAHelper",
       cat({MOV64_IMM(2, 10), STX_MEM(BPF_DW, 10, 2, -8), MOV64_IMM(2, 0), MOV64_REG(3, 10), ALU64_IMM(BPF_ADD, 3, -8),
            MOV64_IMM(4, 8), CALL(BPF_FUNC_xdp_load_bytes), LDX_MEM(BPF_DW, 1, 10, -8), loop_call({}, 6), kRet2,
            kRet0}),
       kDefaultMaxLoopIterations, 12,
       P + "insn 12: bpf_loop (181): the iteration count in r1 is not a constant on every path; the host bounds "
           "loops (limit 65536 iterations per program run) and needs a constant count"},
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

// bpf_for_each_map_elem(map, callback, NULL, 0): a loop whose count is the
// map's max_entries (HelperProto::loop_map_arg).
Slots map_walk(Slots set_r1) {
  return cat({std::move(set_r1), LD_FUNC(2, 6), MOV64_IMM(3, 0), MOV64_IMM(4, 0),
              CALL(BPF_FUNC_for_each_map_elem), kRet2, kRet0});
}

TEST(MapWalk, BoundedByMaxEntries) {
  const Submission within = make_sub(map_walk(LD_MAP_FD(1, 1)), {array_map(1, 8, 65536)});
  auto ok = preverify_default(within);
  EXPECT_TRUE(ok.ok()) << ok.error().message;
  const Submission over = make_sub(map_walk(LD_MAP_FD(1, 1)), {array_map(1, 8, 100000)});
  auto r = preverify_default(over);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, P + "insn 6: bpf_for_each_map_elem (164) runs its callback 100000 times" + kOver);
  EXPECT_EQ(r.error().code, EPERM);
  for (const Submission* s : {&within, &over}) {
    const auto v = kernel_load_xdp(*s, /*with_func_info=*/true);
    EXPECT_TRUE(v.accepted) << "errno " << v.error << "\n" << v.log;
  }
}

// The walk's callback runs a bpf_loop per element: the counts multiply.
TEST(MapWalk, NestedLoopsMultiply) {
  const Submission sub = make_sub(
      cat({LD_MAP_FD(1, 1), LD_FUNC(2, 6), MOV64_IMM(3, 0), MOV64_IMM(4, 0), CALL(BPF_FUNC_for_each_map_elem),
           kRet2, loop_call(MOV64_IMM(1, 1000), 6), kRet0, kRet0}),
      {array_map(1, 8, 100)});
  auto r = preverify_default(sub);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, P + "insn 6: bpf_for_each_map_elem (164) runs its callback 100 times and the loops "
                                   "nested in it up to 1000 times per call: 100000 iterations per program run" +
                                   kOver);
  const auto v = kernel_load_xdp(sub, /*with_func_info=*/true);
  EXPECT_TRUE(v.accepted) << "errno " << v.error << "\n" << v.log;
}

// Which map is walked depends on the path: no one max_entries bounds it.
TEST(MapWalk, MapNotKnownOnEveryPath) {
  const Submission sub = make_sub(
      map_walk(cat({CALL(BPF_FUNC_get_prandom_u32), LD_MAP_FD(1, 1), JMP_IMM(BPF_JGT, 0, 5, 2), LD_MAP_FD(1, 2)})),
      {array_map(1, 8, 10), array_map(2, 8, 20, "arr2")});
  auto r = preverify_default(sub);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            P + "insn 10: bpf_for_each_map_elem (164): the map in r1 is not one map of this program on every path; "
                "the host bounds a map walk by its map's max_entries (limit 65536 iterations per program run)");
  const auto v = kernel_load_xdp(sub, /*with_func_info=*/true);
  EXPECT_TRUE(v.accepted) << "errno " << v.error << "\n" << v.log;
}

TEST(MapWalk, TheDefaultPolicyNamesTheMapArgument) {
  const DefaultPolicy p;
  const HelperProto* walk = p.helper(BPF_FUNC_for_each_map_elem);
  ASSERT_NE(walk, nullptr);
  EXPECT_EQ(walk->loop_map_arg, 1);
  EXPECT_EQ(walk->loop_callback_arg, 2);
  EXPECT_EQ(walk->loop_count_arg, 0);
  EXPECT_EQ(walk->nargs, 4);
}

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
