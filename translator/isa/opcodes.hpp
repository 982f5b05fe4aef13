// Opcode bit fields of RFC 9669 (internal to translator/isa and its tests).
//
//   opcode byte, arithmetic and jump classes:     load and store classes:
//   +--------+-----+-------+                      +------+------+-------+
//   | op (4) | src | class |                      | mode | size | class |
//   +--------+-----+-------+                      +------+------+-------+
//    7      4   3   2     0                        7    5 4    3 2     0
#pragma once

#include <cstdint>

namespace xo::isa::bits {

// classes
inline constexpr std::uint8_t kLd = 0x00, kLdx = 0x01, kSt = 0x02, kStx = 0x03, kAlu = 0x04,
                              kJmp = 0x05, kJmp32 = 0x06, kAlu64 = 0x07;
// source (arithmetic/jump); for END the same bit selects to_le (0) / to_be (1)
inline constexpr std::uint8_t kK = 0x00, kX = 0x08;
// sizes
inline constexpr std::uint8_t kSizeW = 0x00, kSizeH = 0x08, kSizeB = 0x10, kSizeDW = 0x18;
// modes
inline constexpr std::uint8_t kImm = 0x00, kAbs = 0x20, kInd = 0x40, kMem = 0x60, kMemSx = 0x80,
                              kAtomic = 0xc0;
// ALU operations (op nibble, already shifted)
inline constexpr std::uint8_t kAdd = 0x00, kSub = 0x10, kMul = 0x20, kDiv = 0x30, kOr = 0x40,
                              kAnd = 0x50, kLsh = 0x60, kRsh = 0x70, kNeg = 0x80, kMod = 0x90,
                              kXor = 0xa0, kMov = 0xb0, kArsh = 0xc0, kEnd = 0xd0;
// JMP operations
inline constexpr std::uint8_t kJa = 0x00, kJeq = 0x10, kJgt = 0x20, kJge = 0x30, kJset = 0x40,
                              kJne = 0x50, kJsgt = 0x60, kJsge = 0x70, kCall = 0x80,
                              kExit = 0x90, kJlt = 0xa0, kJle = 0xb0, kJslt = 0xc0,
                              kJsle = 0xd0;
// STX ATOMIC imm values
inline constexpr std::int32_t kFetch = 0x01, kXchg = 0xe0 | kFetch, kCmpXchg = 0xf0 | kFetch;
// call src_reg values and ld_imm64 pseudo sources
inline constexpr std::uint8_t kPseudoCall = 1, kPseudoKfuncCall = 2;
inline constexpr std::uint8_t kPseudoMapFd = 1, kPseudoMapValue = 2, kPseudoBtfId = 3,
                              kPseudoFunc = 4, kPseudoMapIdx = 5, kPseudoMapIdxValue = 6;
inline constexpr std::uint8_t kLdImm64 = kLd | kImm | kSizeDW;  // 0x18

inline constexpr std::uint8_t kMaxReg = 10;

inline constexpr std::uint8_t class_of(std::uint8_t code) { return code & 0x07; }
inline constexpr std::uint8_t op_of(std::uint8_t code) { return code & 0xf0; }
inline constexpr std::uint8_t src_of(std::uint8_t code) { return code & 0x08; }
inline constexpr std::uint8_t size_of(std::uint8_t code) { return code & 0x18; }
inline constexpr std::uint8_t mode_of(std::uint8_t code) { return code & 0xe0; }

}  // namespace xo::isa::bits
