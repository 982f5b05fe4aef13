// The wire form of one instruction slot, layout-compatible with struct bpf_insn.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

namespace xo::isa {

struct RawInsn {
  std::uint8_t code;
  std::uint8_t regs;  // dst_reg in the low nibble, src_reg in the high nibble
  std::int16_t off;
  std::int32_t imm;

  std::uint8_t dst() const { return regs & 0x0f; }
  std::uint8_t src() const { return regs >> 4; }
  static RawInsn make(std::uint8_t code, std::uint8_t dst, std::uint8_t src, std::int16_t off,
                      std::int32_t imm) {
    return RawInsn{code, static_cast<std::uint8_t>((src << 4) | (dst & 0x0f)), off, imm};
  }
  bool operator==(const RawInsn&) const = default;
};
static_assert(sizeof(RawInsn) == 8);

// Bytes <-> slots. Bytes are little-endian, as on every host we target.
inline std::vector<RawInsn> raw_from_bytes(std::span<const std::uint8_t> bytes) {
  std::vector<RawInsn> out(bytes.size() / sizeof(RawInsn));
  if (!out.empty()) std::memcpy(out.data(), bytes.data(), out.size() * sizeof(RawInsn));
  return out;
}
inline std::vector<std::uint8_t> bytes_from_raw(std::span<const RawInsn> insns) {
  std::vector<std::uint8_t> out(insns.size() * sizeof(RawInsn));
  if (!out.empty()) std::memcpy(out.data(), insns.data(), out.size());
  return out;
}

}  // namespace xo::isa
