// One case per rejection class: the exact one-line message and pc, and — for
// every class that is kernel semantics rather than host policy — proof that
// the host kernel rejects the same program (we are never stricter).
#include <gtest/gtest.h>

#include "tests/verifier/harness.hpp"
#include "tests/verifier/kernel_oracle.hpp"

namespace xo::test {
namespace {

using namespace ins;

struct Case {
  std::string name;
  Slots insns;
  std::vector<MapDef> maps;
  std::size_t pc;
  std::string message;        // full expected line
  bool kernel_rejects = true;  // false: a host-policy decision the kernel would not make
  Flavor flavor = Flavor::Chain;
  bool has_pc = true;
};

std::ostream& operator<<(std::ostream& os, const Case& c) { return os << c.name; }

const std::string P = "prog 't_prog': ";

std::vector<Case> cases() {
  return {
      {"UnknownOpcode", prog({MOV64_IMM(0, 0), {raw(0xff, 0, 0, 0, 0)}, EXIT()}), {}, 1,
       P + "insn 1: unknown opcode 0xff"},
      {"BadRegister", prog({MOV64_IMM(11, 0), MOV64_IMM(0, 0), EXIT()}), {}, 0,
       P + "insn 0: alu64 mov k (0xb7): invalid register r11 in dst_reg (max r10)"},
      {"TruncatedLdImm64", prog({MOV64_IMM(0, 0), EXIT(), {LD_IMM64(1, 5)[0]}}), {}, 2,
       P + "insn 2: ld_imm64 at insn 2 is truncated (second slot missing)"},
      {"JumpIntoLdImm64", prog({MOV64_IMM(0, 0), JMP_IMM(BPF_JGT, 1, 0, 1), LD_IMM64(2, 1), EXIT()}),
       {}, 1, P + "insn 1: jump target insn 3 is the middle of the ld_imm64 at insn 2"},
      {"JumpOutOfRange", prog({MOV64_IMM(0, 0), JMP_IMM(BPF_JEQ, 1, 0, 5), EXIT()}), {}, 1,
       P + "insn 1: jump out of range: target insn 7 is outside the program"},
      {"JumpIntoOtherSubprogram",
       prog({MOV64_IMM(0, 0), CALL_LOCAL(2), JMP_IMM(BPF_JEQ, 0, 0, 1), EXIT(), MOV64_IMM(0, 1),
             EXIT()}),
       {}, 2,
       P + "insn 2: jump out of range: target insn 4 is outside this subprogram [insn 0, 4)"},
      {"MayGotoOutOfRange", prog({MOV64_IMM(0, 0), MAY_GOTO(3), EXIT()}), {}, 1,
       P + "insn 1: jump out of range: target insn 5 is outside the program"},
      {"MayGotoWithRegister", prog({MOV64_IMM(0, 0), {raw(BPF_JMP | isa::bits::kJcond, 1, 0, 1, 0)}, EXIT(), EXIT()}),
       {}, 1, P + "insn 1: jmp jcond k (0xe5): reserved field dst_reg is 1, must be 0"},
      {"CallToInvalidDestination", prog({MOV64_IMM(0, 0), CALL_LOCAL(10), EXIT()}), {}, 1,
       P + "insn 1: call to invalid destination: insn 12 is outside the program (3 insns)"},
      {"FallsOffTheEnd", prog({MOV64_IMM(0, 0), EXIT(), MOV64_IMM(0, 1)}), {}, 2,
       P + "insn 2: last instruction is not an exit or jump: control falls off the end of the "
           "program"},
      {"SubprogramFallsIntoNext",
       prog({MOV64_IMM(0, 0), CALL_LOCAL(1), EXIT(), MOV64_IMM(0, 1), CALL_LOCAL(0),
             MOV64_IMM(0, 2), EXIT()}),
       {}, 4,
       P + "insn 4: last instruction is not an exit or jump: control falls off the end of the "
           "subprogram into the next one"},
      {"UnreachableCode", prog({MOV64_IMM(0, 0), EXIT(), MOV64_IMM(0, 1), EXIT()}), {}, 2,
       P + "insn 2: unreachable instruction: no path from the program entry reaches it (the "
           "kernel rejects unreachable code)"},
      {"NoReachableExit", prog({MOV64_IMM(0, 0), JA(-1)}), {}, 0,
       P + "insn 0: no exit is reachable from the program entry: every path loops forever"},
      {"UninitialisedRead", prog({MOV64_REG(0, 2), EXIT()}), {}, 0,
       P + "insn 0: reads r2, which no path initialises (kernel: R2 !read_ok)"},
      {"UninitialisedAfterHelperClobber",
       prog({MOV64_IMM(3, 1), CALL(BPF_FUNC_ktime_get_ns), MOV64_REG(0, 3), EXIT()}), {}, 2,
       P + "insn 2: reads r3, which no path initialises (kernel: R3 !read_ok)"},
      {"ExitWithoutR0", prog({MOV64_IMM(2, 0), EXIT()}), {}, 1,
       P + "insn 1: exits with r0 unset: reads r0, which no path initialises (kernel: R0 "
           "!read_ok)"},
      {"WriteToR10", prog({MOV64_IMM(0, 0), ALU64_IMM(BPF_ADD, 10, 8), EXIT()}), {}, 1,
       P + "insn 1: writes r10, the read-only frame pointer (kernel: frame pointer is read only)"},
      {"LoadIntoR10", prog({MOV64_IMM(0, 0), LDX_MEM(BPF_DW, 10, 1, 0), EXIT()}), {}, 1,
       P + "insn 1: writes r10, the read-only frame pointer (kernel: frame pointer is read only)"},
      {"StackBelowFrame", prog({MOV64_IMM(0, 0), ST_MEM(BPF_DW, 10, -520, 0), EXIT()}), {}, 1,
       P + "insn 1: stack access [-520, -512) through r10 is outside the 512-byte frame [-512, 0) "
           "(kernel: invalid stack access)"},
      {"StackAccessCrossesZero", prog({MOV64_IMM(0, 0), ST_MEM(BPF_DW, 10, -4, 0), EXIT()}), {}, 1,
       P + "insn 1: stack access [-4, 4) through r10 is outside the 512-byte frame [-512, 0) "
           "(kernel: invalid stack access)"},
      {"StackThroughCopyOfR10",
       prog({MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -8), MOV64_IMM(0, 0),
             STX_MEM(BPF_DW, 2, 0, 8), EXIT()}),
       {}, 3,
       P + "insn 3: stack access [0, 8) through r2 = r10-8 is outside the 512-byte frame [-512, 0) "
           "(kernel: invalid stack access)"},
      {"DivisionByConstantZero", prog({MOV64_IMM(0, 7), ALU64_IMM(BPF_DIV, 0, 0), EXIT()}), {}, 1,
       P + "insn 1: division by the constant 0 (kernel: div by zero)"},
      {"ModuloByConstantZero", prog({MOV32_IMM(0, 7), ALU32_IMM(BPF_MOD, 0, 0), EXIT()}), {}, 1,
       P + "insn 1: modulo by the constant 0 (kernel: div by zero)"},
      {"HelperNotAllowed",
       prog({MOV64_IMM(2, 0), MOV64_IMM(3, 0), MOV64_IMM(4, 0), CALL(BPF_FUNC_fib_lookup), EXIT()}),
       {}, 3, P + "insn 3: helper bpf_fib_lookup (69) is not allowed for offloaded programs",
       false},
      {"HelperUnknownId", prog({CALL(100000), EXIT()}), {}, 0,
       P + "insn 0: helper 100000 is not allowed for offloaded programs"},
      {"HelperNotInFlavor", prog({MOV64_IMM(2, 0), CALL(BPF_FUNC_xdp_adjust_meta), EXIT()}), {}, 1,
       P + "insn 1: helper bpf_xdp_adjust_meta (54) is not available in the tc flavor "
           "(available in: chain, devmap, tun)",
       false, Flavor::Tc},
      {"HelperArgumentUninitialised",
       prog({LD_MAP_FD(1, 1), CALL(BPF_FUNC_map_lookup_elem), MOV64_IMM(0, 0), EXIT()}),
       {array_map(1, 8, 4)}, 2,
       P + "insn 2: helper bpf_map_lookup_elem (1) takes 2 arguments but reads r2, which no path "
           "initialises (kernel: R2 !read_ok)"},
      {"UnknownMapHandle", prog({LD_MAP_FD(1, 7), MOV64_IMM(0, 0), EXIT()}), {array_map(1, 8, 4)},
       0, P + "insn 0: map handle 7 is not one of this session's maps"},
      {"MapValueOffsetOutOfRange", prog({LD_MAP_VALUE(1, 1, 8), MOV64_IMM(0, 0), EXIT()}),
       {array_map(1, 8, 1, ".data")}, 0,
       P + "insn 0: direct value access at offset 8 is outside map '.data' (handle 1) "
           "(value_size 8)"},
      {"MapValueOnHashMap", prog({LD_MAP_VALUE(1, 1, 0), MOV64_IMM(0, 0), EXIT()}), {hash_map(1)},
       0,
       P + "insn 0: direct value access to map 'hash' (handle 1) needs an array map with "
           "max_entries 1"},
      {"MapIdx", prog({LD_MAP_IDX(1, 0), MOV64_IMM(0, 0), EXIT()}), {array_map(1, 8, 4)}, 0,
       P + "insn 0: ld_imm64 BPF_PSEUDO_MAP_IDX is not accepted: guests reference maps by handle "
           "(BPF_PSEUDO_MAP_FD)"},
      {"BtfIdLoad", prog({LD_BTF_ID(1, 1), MOV64_IMM(0, 0), EXIT()}), {}, 0,
       P + "insn 0: ld_imm64 BPF_PSEUDO_BTF_ID (kernel variable, btf_id 1) is not allowed for "
           "offloaded programs"},
      {"KfuncCall", prog({CALL_KFUNC(1), MOV64_IMM(0, 0), EXIT()}), {}, 0,
       P + "insn 0: kfunc call (btf_id 1) does not name a function of the program's BTF; guests name "
           "kfuncs by an extern function declaration, never by a kernel's BTF id"},
      {"LegacyPacketLoad", prog({MOV64_REG(6, 1), LD_ABS(BPF_B, 0), EXIT()}), {}, 1,
       P + "insn 1: legacy packet access (BPF_LD | BPF_ABS) is not allowed in XDP programs"},
      {"EmptyProgram", {}, {}, 0, P + "program has no instructions", true, Flavor::Chain, false},
  };
}

class Rejection : public ::testing::TestWithParam<Case> {};

TEST_P(Rejection, MessageNamesProgramInsnAndReason) {
  const Case& c = GetParam();
  const Submission sub = make_sub(c.insns, c.maps);
  auto r = preverify_default(sub, c.flavor);
  ASSERT_FALSE(r.ok()) << "preverify accepted " << c.name;
  EXPECT_EQ(r.error().message, c.message);
  if (c.has_pc)
    EXPECT_EQ(r.error().pc, std::optional<std::size_t>(c.pc));
  else
    EXPECT_FALSE(r.error().pc.has_value());
}

class KernelAgrees : public ::testing::TestWithParam<Case> {};

TEST_P(KernelAgrees, KernelRejectsItToo) {
  const Case& c = GetParam();
  const auto v = kernel_load_xdp(make_sub(c.insns, c.maps));
  EXPECT_FALSE(v.accepted) << "the kernel accepts what preverify rejects:\n" << v.log;
}

std::vector<Case> kernel_semantic_cases() {
  std::vector<Case> out;
  for (auto& c : cases())
    if (c.kernel_rejects) out.push_back(c);
  return out;
}

INSTANTIATE_TEST_SUITE_P(Classes, Rejection, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });
// Host-policy classes (e.g. a helper the kernel has but the host denies) are
// left out: there the kernel would accept, by design.
INSTANTIATE_TEST_SUITE_P(Classes, KernelAgrees, ::testing::ValuesIn(kernel_semantic_cases()),
                         [](const auto& info) { return info.param.name; });

TEST(RejectionPolicy, FlavorNotOfferedByHost) {
  const Submission sub = make_sub(prog({MOV64_IMM(0, 0), EXIT()}));
  DefaultPolicy policy({}, flavor_bit(Flavor::Tc));
  SubmissionMaps maps(sub);
  auto r = preverify(sub, policy, maps, Flavor::Chain);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "prog 't_prog': flavor chain is not offered by this host (offered: tc)");
}

TEST(RejectionPolicy, HostileProgramNameIsSanitised) {
  const Submission sub = make_sub(prog({MOV64_REG(0, 2), EXIT()}), {}, "a'b\nc");
  auto r = preverify_default(sub);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message.rfind("prog 'a?b?c': insn 0: ", 0), 0u) << r.error().message;
}

}  // namespace
}  // namespace xo::test
