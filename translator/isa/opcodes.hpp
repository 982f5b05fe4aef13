// Opcode bit fields of RFC 9669 (internal to translator/isa and its tests),
// taken from the kernel's UAPI headers so that no number is typed twice.
//
//   opcode byte, arithmetic and jump classes:     load and store classes:
//   +--------+-----+-------+                      +------+------+-------+
//   | op (4) | src | class |                      | mode | size | class |
//   +--------+-----+-------+                      +------+------+-------+
//    7      4   3   2     0                        7    5 4    3 2     0
//
// The build machine's headers (Debian 12: Linux 6.1) predate two encodings
// the model knows: BPF_MEMSX (6.6) and BPF_JCOND / BPF_MAY_GOTO (6.9). Those
// two are spelled out here and checked against the header wherever it has them.
#pragma once

#include <linux/bpf.h>

#include <cstdint>

namespace xo::isa::bits {

// classes
inline constexpr std::uint8_t kLd = BPF_LD, kLdx = BPF_LDX, kSt = BPF_ST, kStx = BPF_STX,
                              kAlu = BPF_ALU, kJmp = BPF_JMP, kJmp32 = BPF_JMP32,
                              kAlu64 = BPF_ALU64;
// source (arithmetic/jump); for END the same bit selects to_le (0) / to_be (1)
inline constexpr std::uint8_t kK = BPF_K, kX = BPF_X;
static_assert(BPF_TO_LE == BPF_K && BPF_TO_BE == BPF_X);
// sizes
inline constexpr std::uint8_t kSizeW = BPF_W, kSizeH = BPF_H, kSizeB = BPF_B, kSizeDW = BPF_DW;
// modes
inline constexpr std::uint8_t kImm = BPF_IMM, kAbs = BPF_ABS, kInd = BPF_IND, kMem = BPF_MEM,
                              kMemSx = 0x80, kAtomic = BPF_ATOMIC;
#ifdef BPF_MEMSX
static_assert(kMemSx == BPF_MEMSX);
#endif
// ALU operations (op nibble, already shifted)
inline constexpr std::uint8_t kAdd = BPF_ADD, kSub = BPF_SUB, kMul = BPF_MUL, kDiv = BPF_DIV,
                              kOr = BPF_OR, kAnd = BPF_AND, kLsh = BPF_LSH, kRsh = BPF_RSH,
                              kNeg = BPF_NEG, kMod = BPF_MOD, kXor = BPF_XOR, kMov = BPF_MOV,
                              kArsh = BPF_ARSH, kEnd = BPF_END;
// JMP operations
inline constexpr std::uint8_t kJa = BPF_JA, kJeq = BPF_JEQ, kJgt = BPF_JGT, kJge = BPF_JGE,
                              kJset = BPF_JSET, kJne = BPF_JNE, kJsgt = BPF_JSGT,
                              kJsge = BPF_JSGE, kCall = BPF_CALL, kExit = BPF_EXIT,
                              kJlt = BPF_JLT, kJle = BPF_JLE, kJslt = BPF_JSLT, kJsle = BPF_JSLE,
                              kJcond = 0xe0;
#ifdef BPF_JCOND
static_assert(kJcond == BPF_JCOND);
#endif
// JMP | JCOND src_reg values (enum bpf_cond_pseudo_jmp, Linux 6.9+)
inline constexpr std::uint8_t kMayGoto = 0;
// STX ATOMIC imm values
inline constexpr std::int32_t kFetch = BPF_FETCH, kXchg = BPF_XCHG, kCmpXchg = BPF_CMPXCHG;
// call src_reg values and ld_imm64 pseudo sources
inline constexpr std::uint8_t kPseudoCall = BPF_PSEUDO_CALL,
                              kPseudoKfuncCall = BPF_PSEUDO_KFUNC_CALL;
inline constexpr std::uint8_t kPseudoMapFd = BPF_PSEUDO_MAP_FD,
                              kPseudoMapValue = BPF_PSEUDO_MAP_VALUE,
                              kPseudoBtfId = BPF_PSEUDO_BTF_ID, kPseudoFunc = BPF_PSEUDO_FUNC,
                              kPseudoMapIdx = BPF_PSEUDO_MAP_IDX,
                              kPseudoMapIdxValue = BPF_PSEUDO_MAP_IDX_VALUE;
inline constexpr std::uint8_t kLdImm64 = kLd | kImm | kSizeDW;  // 0x18

inline constexpr std::uint8_t kMaxReg = 10;

inline constexpr std::uint8_t class_of(std::uint8_t code) { return BPF_CLASS(code); }
inline constexpr std::uint8_t op_of(std::uint8_t code) { return BPF_OP(code); }
inline constexpr std::uint8_t src_of(std::uint8_t code) { return BPF_SRC(code); }
inline constexpr std::uint8_t size_of(std::uint8_t code) { return BPF_SIZE(code); }
inline constexpr std::uint8_t mode_of(std::uint8_t code) { return BPF_MODE(code); }

}  // namespace xo::isa::bits
