// The pointer-flow verdict (verifier-front/pointers.cpp), one case per rule,
// as data: the programs it proves leak-free (the host may verify them with
// pointer-leak rights) and, for each way an address could escape, the
// instruction and reason it names. Every case is a program the privileged
// kernel accepts, so each "not proven" would be a real leak on a host that
// granted the rights blindly.
#include <gtest/gtest.h>

#include "tests/verifier/harness.hpp"
#include "tests/verifier/kernel_oracle.hpp"

namespace xo::test {
namespace {

using namespace ins;

Slots cat(std::initializer_list<Slots> parts) {
  Slots out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

const Slots kRet2 = cat({MOV64_IMM(0, 2), EXIT()});
// r0 = &value of map 1 at key 0 (key at fp-4), or exit: r6 keeps the ctx.
const Slots kLookup = cat({MOV64_REG(6, 1), ST_MEM(BPF_W, 10, -4, 0), MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -4),
                           LD_MAP_FD(1, 1), CALL(BPF_FUNC_map_lookup_elem), JMP_IMM(BPF_JNE, 0, 0, 2), MOV64_IMM(0, 2),
                           EXIT()});  // slots 0..9; r0 non-NULL from slot 10 on
// r6 = ctx; calls the subprogram after these 15 slots with r1 = fp-8 and
// r2 = ctx; then map_update(map 1, key fp-8, value fp-8) and returns 2.
const Slots kCallWithFp8 = cat({MOV64_REG(6, 1), MOV64_REG(1, 10), ALU64_IMM(BPF_ADD, 1, -8), MOV64_REG(2, 6),
                                CALL_LOCAL(10), LD_MAP_FD(1, 1), MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -8),
                                MOV64_REG(3, 10), ALU64_IMM(BPF_ADD, 3, -8), MOV64_IMM(4, 0),
                                CALL(BPF_FUNC_map_update_elem), kRet2});  // slots 0..14
// Calls the subprogram after these 5 slots with r1 = fp-8, returns its r0 & 3.
const Slots kCallWithFp8Only = cat({MOV64_REG(1, 10), ALU64_IMM(BPF_ADD, 1, -8), CALL_LOCAL(2),
                                    ALU64_IMM(BPF_AND, 0, 3), EXIT()});  // slots 0..4
// r2 = data, r3 = data_end (from the ctx in r6)
const Slots kPacket = cat({LDX_MEM(BPF_W, 2, 6, 0), LDX_MEM(BPF_W, 3, 6, 4)});

struct Case {
  std::string name;
  Slots insns;
  std::string why;  // empty: proven
};
std::ostream& operator<<(std::ostream& os, const Case& c) { return os << c.name; }

std::vector<Case> cases() {
  return {
      // data + (prandom & 15): the variable offset the unprivileged kernel refuses.
      {"VariablePacketOffset",
       cat({MOV64_REG(6, 1), CALL(BPF_FUNC_get_prandom_u32), ALU64_IMM(BPF_AND, 0, 15), kPacket,
            ALU64_REG(BPF_ADD, 2, 0), MOV64_REG(4, 2), ALU64_IMM(BPF_ADD, 4, 1), JMP_REG(BPF_JGT, 4, 3, 1),
            LDX_MEM(BPF_B, 0, 2, 0), kRet2}),
       ""},
      // data_end - data stored in a map: a length, not an address.
      {"PacketLengthIntoAMap",
       cat({kLookup, kPacket, ALU64_REG(BPF_SUB, 3, 2), STX_MEM(BPF_DW, 0, 3, 0), kRet2}), ""},
      // ... in 32 bits, as clang emits `__u32 len = data_end - data`.
      {"ThirtyTwoBitPacketLengthIntoAMap",
       cat({kLookup, kPacket, ALU32_REG(BPF_SUB, 3, 2), STX_MEM(BPF_DW, 0, 3, 0), kRet2}), ""},
      // Spill and fill of the ctx around a lookup whose key is elsewhere.
      {"PointerSpillAndFill",
       cat({STX_MEM(BPF_DW, 10, 1, -16), kLookup, LDX_MEM(BPF_DW, 1, 10, -16), LDX_MEM(BPF_W, 2, 1, 0), kRet2}), ""},
      {"StoresTheMapValuePointer", cat({kLookup, STX_MEM(BPF_DW, 0, 0, 0), kRet2}),
       "insn 10: stores a pointer where it is not an aligned 8-byte stack spill"},
      {"StoresAStackPointer", cat({kLookup, MOV64_REG(2, 10), STX_MEM(BPF_DW, 0, 2, 0), kRet2}),
       "insn 11: stores a pointer where it is not an aligned 8-byte stack spill"},
      {"StoresAPacketPointer", cat({kLookup, kPacket, STX_MEM(BPF_DW, 0, 2, 0), kRet2}),
       "insn 12: stores a pointer where it is not an aligned 8-byte stack spill"},
      {"NegatesAPointer", cat({kLookup, MOV64_REG(2, 10), NEG64(2), STX_MEM(BPF_DW, 0, 2, 0), kRet2}),
       "insn 11: arithmetic on a pointer turns an address into a number"},
      {"ThirtyTwoBitSubtractionOnAPointer",
       cat({kLookup, MOV64_REG(2, 10), ALU32_IMM(BPF_SUB, 2, 1), STX_MEM(BPF_DW, 0, 2, 0), kRet2}),
       "insn 11: arithmetic on a pointer turns an address into a number"},
      {"PartialCopyOfAPointer", cat({kLookup, ALU32_REG(BPF_MOV, 2, 10), STX_MEM(BPF_DW, 0, 2, 0), kRet2}),
       "insn 10: copies part of a pointer"},
      {"ComparesAPointerWithANumber", cat({kLookup, JMP_IMM(BPF_JGT, 0, 4096, 0), kRet2}),
       "insn 10: compares a pointer with a number"},
      // xdpwall's `if w6 == 0` on ctx->data: one address bit.
      {"ThirtyTwoBitNullCheckOfAPointer", cat({kLookup, kPacket, JMP32_IMM(BPF_JEQ, 2, 0, 0), kRet2}),
       "insn 12: compares the low 32 bits of a pointer with 0 (whether it is 4 GiB-aligned)"},
      {"ComparesTwoKindsOfPointer", cat({kLookup, MOV64_REG(2, 10), JMP_REG(BPF_JGT, 0, 2, 0), kRet2}),
       "insn 11: compares a pointer with something other than a packet pointer"},
      {"ReturnsAPointer", cat({kLookup, EXIT()}), "insn 10: may return a pointer"},
      {"PacketMinusMapValue", cat({kLookup, kPacket, ALU64_REG(BPF_SUB, 2, 0), kRet2}),
       "insn 12: combines two pointers into a number"},
      // map_update(map, key, value = fp-16 holding the spilled ctx)
      {"HelperCopiesASpilledPointer",
       cat({STX_MEM(BPF_DW, 10, 1, -16), kLookup, LD_MAP_FD(1, 1), MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -4),
            MOV64_REG(3, 10), ALU64_IMM(BPF_ADD, 3, -16), MOV64_IMM(4, 0), CALL(BPF_FUNC_map_update_elem), kRet2}),
       "insn 18: bpf_map_update_elem reads stack (r3) that may hold a spilled pointer or unwritten bytes"},
      // ... and a value never written: old kernel stack contents.
      {"HelperCopiesUnwrittenStack",
       cat({kLookup, LD_MAP_FD(1, 1), MOV64_REG(2, 10), ALU64_IMM(BPF_ADD, 2, -4), MOV64_REG(3, 10),
            ALU64_IMM(BPF_ADD, 3, -16), MOV64_IMM(4, 0), CALL(BPF_FUNC_map_update_elem), kRet2}),
       "insn 17: bpf_map_update_elem reads stack (r3) that may hold a spilled pointer or unwritten bytes"},
      {"ReadsUnwrittenStack", cat({kLookup, LDX_MEM(BPF_DW, 2, 10, -16), STX_MEM(BPF_DW, 0, 2, 0), kRet2}),
       "insn 10: reads part of a spilled pointer or stack never written"},
      // Half a spill overwritten: the other half still holds address bits.
      {"OverwritesHalfASpill",
       cat({STX_MEM(BPF_DW, 10, 1, -16), kLookup, ST_MEM(BPF_W, 10, -16, 0), LDX_MEM(BPF_DW, 2, 10, -16),
            STX_MEM(BPF_DW, 0, 2, 0), kRet2}),
       "insn 13: stores a pointer where it is not an aligned 8-byte stack spill"},
      // bpf_csum_diff's seed (r5, any value) given a pointer.
      {"PointerAsAHelpersNumber",
       cat({kLookup, MOV64_REG(1, 0), MOV64_IMM(2, 8), MOV64_IMM(3, 0), MOV64_IMM(4, 0), MOV64_REG(5, 10),
            CALL(BPF_FUNC_csum_diff), kRet2}),
       "insn 15: passes a pointer to bpf_csum_diff as a number (r5)"},
      // Calls are followed, each in its caller's context.
      {"Subprograms", cat({CALL_LOCAL(2), kRet2, MOV64_IMM(0, 1), EXIT()}), ""},
      // The callee fills the caller's fp-8, which the caller then gives to a
      // helper: proven only if the callee's writes reach the caller's frame.
      {"CalleeWritesTheCallersKey", cat({kCallWithFp8, ST_MEM(BPF_DW, 1, 0, 0), MOV64_IMM(0, 0), EXIT()}), ""},
      // ... and a ctx the callee spills there is a spilled pointer to the helper.
      {"CalleeSpillsACtxIntoTheCallersFrame",
       cat({kCallWithFp8, STX_MEM(BPF_DW, 1, 2, 0), MOV64_IMM(0, 0), EXIT()}),
       "insn 12: bpf_map_update_elem reads stack (r2) that may hold a spilled pointer or unwritten bytes"},
      // A callee reads fp-8 of its caller, never written: old kernel stack.
      {"CalleeReadsTheCallersUnwrittenStack",
       cat({kCallWithFp8Only, LDX_MEM(BPF_DW, 0, 1, 0), EXIT()}),
       "insn 5: reads part of a spilled pointer or stack never written"},
      // The caller's kinds reach the callee's arguments: map value in r1, ctx in r2.
      {"CalleeStoresTheCallersCtxInAMap",
       cat({kLookup, MOV64_REG(1, 0), MOV64_REG(2, 6), CALL_LOCAL(2), kRet2, STX_MEM(BPF_DW, 1, 2, 0),
            MOV64_IMM(0, 0), EXIT()}),
       "insn 15: stores a pointer where it is not an aligned 8-byte stack spill"},
      // A callee's r0 is its caller's: a pointer returned is a pointer in hand.
      {"CalleeReturnsAPointer", cat({CALL_LOCAL(2), kRet2, MOV64_REG(0, 1), EXIT()}), "insn 4: may return a pointer"},
      // r6-r9 survive a call: the caller's ctx in r6 is still a pointer after it.
      {"CallerKeepsItsPointerAcrossACall",
       cat({kLookup, MOV64_REG(7, 0), CALL_LOCAL(3), STX_MEM(BPF_DW, 7, 6, 0), kRet2, MOV64_IMM(0, 0), EXIT()}),
       "insn 12: stores a pointer where it is not an aligned 8-byte stack spill"},
  };
}

class PointerFlow : public ::testing::TestWithParam<Case> {};

TEST_P(PointerFlow, Verdict) {
  const Case& c = GetParam();
  const Submission sub = make_sub(c.insns, {array_map(1, 8, 4)});
  auto r = preverify_default(sub);
  ASSERT_TRUE(r.ok()) << "the verdict never rejects: " << r.error().message;
  EXPECT_EQ(r->pointer_safe, c.why.empty()) << r->pointer_note;
  EXPECT_EQ(r->pointer_note, c.why);
}

TEST_P(PointerFlow, ThePrivilegedKernelAcceptsIt) {
  const auto v = kernel_load_xdp(make_sub(GetParam().insns, {array_map(1, 8, 4)}), /*with_func_info=*/true);
  EXPECT_TRUE(v.accepted) << "errno " << v.error << "\n" << v.log;
}

INSTANTIATE_TEST_SUITE_P(Cases, PointerFlow, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace xo::test
