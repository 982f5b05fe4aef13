// Small constructors for isa::Insn, in the spirit of the kernel's
// BPF_ALU64_IMM / BPF_JMP_IMM / BPF_LD_MAP_FD macros (tools/include/linux/filter.h),
// so test programs read like bytecode listings.
#pragma once

#include <cstdint>
#include <vector>

#include "translator/isa/codec.hpp"
#include "translator/isa/insn.hpp"

namespace xo::test {

using isa::AluOp;
using isa::AtomicOp;
using isa::Cond;
using isa::Insn;
using isa::Reg;
using isa::Size;

inline Insn mov64(Reg d, std::int32_t imm) { return isa::Bin{AluOp::Mov, true, d, isa::Imm{imm}}; }
inline Insn mov64r(Reg d, Reg s) { return isa::Bin{AluOp::Mov, true, d, s}; }
inline Insn mov32(Reg d, std::int32_t imm) { return isa::Bin{AluOp::Mov, false, d, isa::Imm{imm}}; }
inline Insn mov32r(Reg d, Reg s) { return isa::Bin{AluOp::Mov, false, d, s}; }
inline Insn alu64(AluOp op, Reg d, std::int32_t imm) { return isa::Bin{op, true, d, isa::Imm{imm}}; }
inline Insn alu64r(AluOp op, Reg d, Reg s) { return isa::Bin{op, true, d, s}; }
inline Insn alu32(AluOp op, Reg d, std::int32_t imm) { return isa::Bin{op, false, d, isa::Imm{imm}}; }
inline Insn alu32r(AluOp op, Reg d, Reg s) { return isa::Bin{op, false, d, s}; }
inline Insn un(isa::UnOp op, Reg d, bool is64 = true) { return isa::Un{op, is64, d}; }

inline Insn ldx(Size sz, Reg d, Reg base, std::int16_t off) { return isa::Load{sz, false, d, base, off}; }
inline Insn stx(Size sz, Reg base, std::int16_t off, Reg s) { return isa::Store{sz, base, off, s}; }
inline Insn st(Size sz, Reg base, std::int16_t off, std::int32_t imm) {
  return isa::Store{sz, base, off, isa::Imm{imm}};
}
inline Insn atomic(AtomicOp op, bool fetch, Size sz, Reg base, std::int16_t off, Reg s) {
  return isa::Atomic{op, fetch, sz, base, off, s};
}

inline Insn jmp(Cond c, Reg d, std::int32_t imm, std::int16_t off) {
  return isa::Jmp{c, false, d, isa::Imm{imm}, off};
}
inline Insn jmpr(Cond c, Reg d, Reg s, std::int16_t off) { return isa::Jmp{c, false, d, s, off}; }
inline Insn jmp32(Cond c, Reg d, std::int32_t imm, std::int16_t off) {
  return isa::Jmp{c, true, d, isa::Imm{imm}, off};
}
inline Insn ja(std::int32_t off) { return isa::Ja{off, false}; }
inline Insn may_goto(std::int16_t off) { return isa::MayGoto{off}; }
inline Insn call(std::int32_t helper) { return isa::Call{helper}; }
inline Insn call_local(std::int32_t off) { return isa::CallLocal{off}; }
inline Insn exit_() { return isa::Exit{}; }

inline Insn ld_imm64(Reg d, std::uint64_t v) { return isa::LoadImm64{d, v}; }
inline Insn ld_map(Reg d, std::int32_t handle) { return isa::LoadMapFd{d, handle}; }
inline Insn ld_map_value(Reg d, std::int32_t handle, std::uint32_t off) {
  return isa::LoadMapValue{d, handle, off};
}

inline std::vector<isa::RawInsn> raw(const std::vector<Insn>& p) { return isa::encode(p); }

}  // namespace xo::test
