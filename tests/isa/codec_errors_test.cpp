// Structural errors: one case per error class, each with the exact one-line
// message and the slot pc it must carry. The bad instruction sits after a
// valid prefix (including an ld_imm64) so the pc is a real slot number.
#include <gtest/gtest.h>

#include <string>

#include "translator/isa/codec.hpp"

namespace xo::isa {
namespace {

RawInsn S(std::uint8_t code, std::uint8_t dst, std::uint8_t src, std::int16_t off, std::int32_t imm) {
  return RawInsn::make(code, dst, src, off, imm);
}

struct ErrorCase {
  const char* name;
  std::vector<RawInsn> bad;  // placed at slot 3, after `r0 = 0; r1 = 1 ll`
  const char* message;
};

std::vector<RawInsn> program_with(const std::vector<RawInsn>& bad) {
  std::vector<RawInsn> p{S(0xb7, 0, 0, 0, 0), S(0x18, 1, 0, 0, 1), S(0, 0, 0, 0, 0)};
  p.insert(p.end(), bad.begin(), bad.end());
  return p;
}

class DecodeError : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(DecodeError, CarriesMessageAndPc) {
  const ErrorCase& c = GetParam();
  auto decoded = decode(program_with(c.bad));
  ASSERT_FALSE(decoded.ok()) << c.name;
  EXPECT_EQ(decoded.error().message, c.message) << c.name;
  EXPECT_EQ(decoded.error().pc, std::optional<std::size_t>{3}) << c.name;
  // decode_one reports the same error for the same slot.
  auto one = decode_one(program_with(c.bad), 3);
  ASSERT_FALSE(one.ok());
  EXPECT_EQ(one.error(), decoded.error());
}

const ErrorCase kCases[] = {
    // unknown opcodes
    {"unknown_ff", {S(0xff, 0, 0, 0, 0)}, "unknown opcode 0xff"},
    {"alu_op_e", {S(0xe7, 1, 0, 0, 0)}, "unknown opcode 0xe7"},
    {"ldx_memsx_dw", {S(0x99, 1, 2, 0, 0)}, "unknown opcode 0x99"},
    {"ld_abs_dw", {S(0x38, 0, 0, 0, 0)}, "unknown opcode 0x38"},
    {"ld_imm_w", {S(0x00, 0, 0, 0, 0)}, "unknown opcode 0x00"},
    {"atomic_b", {S(0xd3, 1, 2, 0, 0)}, "unknown opcode 0xd3"},
    {"ldx_abs", {S(0x21, 1, 2, 0, 0)}, "unknown opcode 0x21"},
    {"jmp_op_f", {S(0xf5, 0, 0, 0, 0)}, "unknown opcode 0xf5"},
    // whole opcode reserved
    {"neg_x", {S(0x8c, 1, 0, 0, 0)}, "alu neg x (0x8c): neg has no register source (BPF_X bit set)"},
    {"alu64_end_to_be", {S(0xdf, 1, 0, 0, 16)},
     "alu64 end x (0xdf): alu64 end is only defined with to_le (bswap)"},
    {"call_jmp32", {S(0x86, 0, 0, 0, 1)}, "jmp32 call k (0x86): call is not defined in the jmp32 class"},
    {"exit_jmp32", {S(0x96, 0, 0, 0, 0)}, "jmp32 exit k (0x96): exit is not defined in the jmp32 class"},
    {"ja_x", {S(0x0d, 0, 0, 1, 0)}, "jmp ja x (0x0d): ja has no register source (BPF_X bit set)"},
    {"may_goto_x", {S(0xed, 0, 0, 1, 0)},
     "jmp jcond x (0xed): may_goto has no register source (BPF_X bit set)"},
    {"may_goto_jmp32", {S(0xe6, 0, 0, 1, 0)},
     "jmp32 jcond k (0xe6): may_goto is not defined in the jmp32 class"},
    // reserved fields
    {"src_on_alu_k", {S(0x07, 1, 2, 0, 5)}, "alu64 add k (0x07): reserved field src_reg is 2, must be 0"},
    {"imm_on_alu_x", {S(0x0f, 1, 2, 0, 5)}, "alu64 add x (0x0f): reserved field imm is 5, must be 0"},
    {"off_on_add", {S(0x07, 1, 0, 1, 5)},
     "alu64 add k (0x07): reserved field off is 1, must be 0 (or 1 for sdiv/smod)"},
    {"off_2_on_div", {S(0x3f, 1, 2, 2, 0)},
     "alu64 div x (0x3f): reserved field off is 2, must be 0 (or 1 for sdiv/smod)"},
    {"off_on_mov_k", {S(0xb7, 1, 0, 8, 5)}, "alu64 mov k (0xb7): reserved field off is 8, must be 0"},
    {"movsx32_alu32", {S(0xbc, 1, 2, 32, 0)},
     "alu mov x (0xbc): reserved field off is 32, must be 0, 8 or 16 (movsx)"},
    {"movsx_bad_off", {S(0xbf, 1, 2, 7, 0)},
     "alu64 mov x (0xbf): reserved field off is 7, must be 0, 8, 16 or 32 (movsx)"},
    {"addr_space_cast", {S(0xbf, 1, 2, 1, 0)},
     "alu64 mov x (0xbf): addr_space_cast (off 1) is not supported"},
    {"neg_imm", {S(0x87, 1, 0, 0, 1)}, "alu64 neg k (0x87): reserved field imm is 1, must be 0"},
    {"end_width", {S(0xd4, 1, 0, 0, 8)},
     "alu end k (0xd4): reserved field imm is 8, must be 16, 32 or 64"},
    {"end_src", {S(0xdc, 1, 3, 0, 16)}, "alu end x (0xdc): reserved field src_reg is 3, must be 0"},
    {"exit_off", {S(0x95, 0, 0, 1, 0)}, "jmp exit k (0x95): reserved field off is 1, must be 0"},
    {"exit_dst", {S(0x95, 1, 0, 0, 0)}, "jmp exit k (0x95): reserved field dst_reg is 1, must be 0"},
    {"exit_imm", {S(0x95, 0, 0, 0, 9)}, "jmp exit k (0x95): reserved field imm is 9, must be 0"},
    {"ja_imm", {S(0x05, 0, 0, 1, 1)}, "jmp ja k (0x05): reserved field imm is 1, must be 0"},
    {"gotol_off", {S(0x06, 0, 0, 1, 1)}, "jmp32 ja k (0x06): reserved field off is 1, must be 0"},
    {"may_goto_src", {S(0xe5, 0, 1, 1, 0)},
     "jmp jcond k (0xe5): reserved field src_reg is 1, must be 0"},
    {"may_goto_dst", {S(0xe5, 1, 0, 1, 0)},
     "jmp jcond k (0xe5): reserved field dst_reg is 1, must be 0"},
    {"may_goto_imm", {S(0xe5, 0, 0, 1, 5)}, "jmp jcond k (0xe5): reserved field imm is 5, must be 0"},
    {"call_src", {S(0x85, 0, 3, 0, 1)},
     "jmp call k (0x85): reserved field src_reg is 3, must be 0 (helper), 1 (local) or 2 (kfunc)"},
    {"call_helper_off", {S(0x85, 0, 0, 1, 1)}, "jmp call k (0x85): reserved field off is 1, must be 0"},
    {"call_local_off", {S(0x85, 0, 1, 1, 1)}, "jmp call k (0x85): reserved field off is 1, must be 0"},
    {"call_dst", {S(0x85, 1, 0, 0, 1)}, "jmp call k (0x85): reserved field dst_reg is 1, must be 0"},
    {"jeq_k_src", {S(0x15, 1, 1, 0, 0)}, "jmp jeq k (0x15): reserved field src_reg is 1, must be 0"},
    {"jeq_x_imm", {S(0x1e, 1, 2, 0, 4)}, "jmp32 jeq x (0x1e): reserved field imm is 4, must be 0"},
    {"ldx_imm", {S(0x61, 1, 2, 0, 1)}, "ldx mem w (0x61): reserved field imm is 1, must be 0"},
    {"st_src", {S(0x62, 1, 1, 0, 1)}, "st mem w (0x62): reserved field src_reg is 1, must be 0"},
    {"stx_imm", {S(0x7b, 1, 2, 0, 1)}, "stx mem dw (0x7b): reserved field imm is 1, must be 0"},
    {"ld_abs_dst", {S(0x20, 1, 0, 0, 1)}, "ld abs w (0x20): reserved field dst_reg is 1, must be 0"},
    {"ld_abs_src", {S(0x20, 0, 1, 0, 1)}, "ld abs w (0x20): reserved field src_reg is 1, must be 0"},
    {"ld_ind_off", {S(0x40, 0, 1, 4, 1)}, "ld ind w (0x40): reserved field off is 4, must be 0"},
    {"atomic_unknown", {S(0xc3, 1, 2, 0, 0x10)}, "stx atomic w (0xc3): unknown atomic operation imm 0x10"},
    {"xchg_no_fetch", {S(0xdb, 1, 2, 0, 0xe0)},
     "stx atomic dw (0xdb): unknown atomic operation imm 0xe0 (xchg/cmpxchg need BPF_FETCH)"},
    {"atomic_load_acquire", {S(0xdb, 1, 2, 0, 0x100)},
     "stx atomic dw (0xdb): unknown atomic operation imm 0x100"},
    // ld_imm64
    {"ld_imm64_truncated", {S(0x18, 1, 0, 0, 1)}, "ld_imm64 at insn 3 is truncated (second slot missing)"},
    {"ld_imm64_second_code", {S(0x18, 1, 0, 0, 1), S(0x07, 0, 0, 0, 0)},
     "ld_imm64 at insn 3: second slot must have code, regs and off 0 (has code 0x07, regs 0x00, off 0)"},
    {"ld_imm64_second_regs", {S(0x18, 1, 0, 0, 1), S(0, 2, 1, 0, 0)},
     "ld_imm64 at insn 3: second slot must have code, regs and off 0 (has code 0x00, regs 0x12, off 0)"},
    {"ld_imm64_second_off", {S(0x18, 1, 0, 0, 1), S(0, 0, 0, -1, 0)},
     "ld_imm64 at insn 3: second slot must have code, regs and off 0 (has code 0x00, regs 0x00, off -1)"},
    {"ld_imm64_off", {S(0x18, 1, 0, 1, 1), S(0, 0, 0, 0, 0)},
     "ld imm dw (0x18): reserved field off is 1, must be 0"},
    {"ld_imm64_pseudo_7", {S(0x18, 1, 7, 0, 1), S(0, 0, 0, 0, 0)},
     "ld_imm64: unknown pseudo source src_reg 7 (must be 0..6)"},
    {"ld_imm64_map_fd_hi", {S(0x18, 1, 1, 0, 1), S(0, 0, 0, 0, 3)},
     "ld_imm64 map_fd: second slot imm is 3, must be 0"},
    {"ld_imm64_map_idx_hi", {S(0x18, 1, 5, 0, 1), S(0, 0, 0, 0, 3)},
     "ld_imm64 map_idx: second slot imm is 3, must be 0"},
    {"ld_imm64_func_hi", {S(0x18, 1, 4, 0, 1), S(0, 0, 0, 0, 3)},
     "ld_imm64 func: second slot imm is 3, must be 0"},
    // bad registers
    {"bad_dst", {S(0x07, 11, 0, 0, 1)}, "alu64 add k (0x07): invalid register r11 in dst_reg (max r10)"},
    {"bad_src", {S(0x0f, 1, 12, 0, 0)}, "alu64 add x (0x0f): invalid register r12 in src_reg (max r10)"},
    {"bad_ldx_base", {S(0x79, 1, 15, 0, 0)}, "ldx mem dw (0x79): invalid register r15 in src_reg (max r10)"},
    {"bad_jmp_dst", {S(0x1d, 13, 1, 0, 0)}, "jmp jeq x (0x1d): invalid register r13 in dst_reg (max r10)"},
    {"bad_ld_ind_src", {S(0x40, 0, 11, 0, 0)}, "ld ind w (0x40): invalid register r11 in src_reg (max r10)"},
    {"bad_ld_imm64_dst", {S(0x18, 11, 0, 0, 1), S(0, 0, 0, 0, 0)},
     "ld imm dw (0x18): invalid register r11 in dst_reg (max r10)"},
};

INSTANTIATE_TEST_SUITE_P(Structural, DecodeError, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(DecodeOne, PastTheEndIsAnErrorNotACrash) {
  const std::vector<RawInsn> p{S(0x95, 0, 0, 0, 0)};
  auto one = decode_one(p, 1);
  ASSERT_FALSE(one.ok());
  EXPECT_EQ(one.error().pc, std::optional<std::size_t>{1});
  EXPECT_EQ(one.error().describe(), "insn 1: insn 1 is past the end of the program (1 slots)");
}

TEST(DecodeError, DescribeIsOneLineWithThePc) {
  auto decoded = decode(program_with({S(0xff, 0, 0, 0, 0)}));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.error().describe(), "insn 3: unknown opcode 0xff");
}

// The register bound is r10 inclusive: r10 is a valid (frame pointer) source.
TEST(DecodeError, R10IsAValidRegister) {
  auto decoded = decode(std::vector<RawInsn>{S(0xbf, 1, 10, 0, 0), S(0x79, 10, 10, -8, 0)});
  ASSERT_TRUE(decoded.ok()) << decoded.error().describe();
}

}  // namespace
}  // namespace xo::isa
