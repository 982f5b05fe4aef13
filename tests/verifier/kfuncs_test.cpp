// kfunc calls in the pre-verifier (maprefs.cpp, dataflow.cpp): a guest names
// a kfunc by an extern function of its own BTF; the policy allows it by
// name and flavor; the kernel's argument count applies. Everything else is
// refused with the name, so refusals of other kfuncs stay precise.
#include <gtest/gtest.h>

#include "tests/translator/func_btf.hpp"
#include "tests/verifier/harness.hpp"

namespace xo::test {
namespace {

using namespace ins;

const std::string P = "prog 't_prog': ";

Slots cat(std::initializer_list<Slots> parts) {
  Slots out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// BTF ids: 2 bpf_dynptr_from_xdp, 3 bpf_dynptr_slice, 4 bpf_xo_made_up (1 is a FUNC_PROTO).
Submission with_kfuncs(Slots insns) {
  Submission s = make_sub(std::move(insns));
  s.btf = func_btf({"bpf_dynptr_from_xdp", "bpf_dynptr_slice", "bpf_xo_made_up"});
  return s;
}

// bpf_dynptr_from_xdp(ctx, 0, r10 - 16)
const Slots kFromXdp = cat({MOV64_IMM(2, 0), MOV64_REG(3, 10), ALU64_IMM(BPF_ADD, 3, -16), CALL_KFUNC(2)});

TEST(Kfuncs, AllowedByNameInEveryFlavor) {
  for (Flavor f : {Flavor::Tc, Flavor::Chain}) {
    auto r = preverify_default(with_kfuncs(cat({kFromXdp, MOV64_IMM(0, 2), EXIT()})), f);
    EXPECT_TRUE(r.ok()) << flavor_name(f) << ": " << r.error().message;
  }
}

TEST(Kfuncs, OtherKfuncsRefusedByName) {
  auto r = preverify_default(with_kfuncs(cat({CALL_KFUNC(4), MOV64_IMM(0, 2), EXIT()})));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, P + "insn 0: kfunc 'bpf_xo_made_up' (btf_id 4) is not allowed for offloaded programs");
  EXPECT_EQ(r.error().code, EPERM);
}

TEST(Kfuncs, AnIdThatIsNoFunctionRefused) {
  for (int id : {1, 5, 0x7fffffff}) {
    auto r = preverify_default(with_kfuncs(cat({CALL_KFUNC(id), MOV64_IMM(0, 2), EXIT()})));
    ASSERT_FALSE(r.ok()) << id;
    EXPECT_EQ(r.error().message, P + "insn 0: kfunc call (btf_id " + std::to_string(id) +
                                     ") does not name a function of the program's BTF; guests name kfuncs by an "
                                     "extern function declaration, never by a kernel's BTF id");
    EXPECT_EQ(r.error().code, EPERM);
  }
}

// A kfunc in a module BTF (fd index != 0) is not something a guest names.
TEST(Kfuncs, ModuleBtfIndexRefused) {
  Slots call = CALL_KFUNC(2);
  call[0].off = 1;
  auto r = preverify_default(with_kfuncs(cat({call, MOV64_IMM(0, 2), EXIT()})));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("does not name a function of the program's BTF"), std::string::npos)
      << r.error().message;
}

// bpf_dynptr_slice(ptr, off, buf, size) with r4 never set.
TEST(Kfuncs, ArgumentsMustBeInitialised) {
  auto r = preverify_default(with_kfuncs(cat(
      {kFromXdp, MOV64_REG(1, 10), ALU64_IMM(BPF_ADD, 1, -16), MOV64_IMM(2, 0), MOV64_IMM(3, 0), CALL_KFUNC(3),
       MOV64_IMM(0, 2), EXIT()})));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, P + "insn 8: kfunc bpf_dynptr_slice takes 4 arguments but reads r4, which no path "
                                   "initialises (kernel: R4 !read_ok)");
}

// bpf_dynptr_slice may return its buffer, which may be on the stack: a
// store through its result may overwrite a spilled loop count, so the count
// filled afterwards is no longer known (dataflow.cpp).
TEST(Kfuncs, AStoreThroughAKfuncResultForgetsSpills) {
  auto r = preverify_default(with_kfuncs(cat(
      {MOV64_IMM(6, 10), STX_MEM(BPF_DW, 10, 6, -8), MOV64_IMM(1, 0), MOV64_IMM(2, 0), MOV64_IMM(3, 0),
       MOV64_IMM(4, 0), CALL_KFUNC(3), ST_MEM(BPF_DW, 0, 0, 100000), LDX_MEM(BPF_DW, 1, 10, -8), LD_FUNC(2, 6),
       MOV64_IMM(3, 0), MOV64_IMM(4, 0), CALL(BPF_FUNC_loop), MOV64_IMM(0, 2), EXIT(), MOV64_IMM(0, 0), EXIT()})));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, P + "insn 13: bpf_loop (181): the iteration count in r1 is not a constant on every "
                                   "path; the host bounds loops (limit 65536 iterations per program run) and needs "
                                   "a constant count");
}

}  // namespace
}  // namespace xo::test
