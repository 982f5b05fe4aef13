// Raw eBPF instructions for tests, named after the kernel's own macros
// (include/linux/filter.h): ALU64_IMM(BPF_ADD, 1, 4), JMP_IMM(BPF_JEQ, 0, 0, 2),
// LD_MAP_FD(1, handle), ... Each returns RawInsn slots, so a program is a
// brace list passed through prog({...}).
#pragma once

#include <linux/bpf.h>

#include <initializer_list>
#include <vector>

#include "translator/isa/opcodes.hpp"
#include "translator/isa/raw.hpp"

namespace xo::test::ins {

using isa::RawInsn;
using Slots = std::vector<RawInsn>;

inline RawInsn raw(int code, int dst, int src, int off, int imm) {
  return RawInsn::make(static_cast<std::uint8_t>(code), static_cast<std::uint8_t>(dst),
                       static_cast<std::uint8_t>(src), static_cast<std::int16_t>(off),
                       static_cast<std::int32_t>(imm));
}

inline Slots ALU64_IMM(int op, int dst, int imm) { return {raw(BPF_ALU64 | op | BPF_K, dst, 0, 0, imm)}; }
inline Slots ALU64_REG(int op, int dst, int src) { return {raw(BPF_ALU64 | op | BPF_X, dst, src, 0, 0)}; }
inline Slots ALU32_IMM(int op, int dst, int imm) { return {raw(BPF_ALU | op | BPF_K, dst, 0, 0, imm)}; }
inline Slots ALU32_REG(int op, int dst, int src) { return {raw(BPF_ALU | op | BPF_X, dst, src, 0, 0)}; }
inline Slots MOV64_IMM(int dst, int imm) { return ALU64_IMM(BPF_MOV, dst, imm); }
inline Slots MOV64_REG(int dst, int src) { return ALU64_REG(BPF_MOV, dst, src); }
inline Slots MOV32_IMM(int dst, int imm) { return ALU32_IMM(BPF_MOV, dst, imm); }
inline Slots NEG64(int dst) { return {raw(BPF_ALU64 | BPF_NEG, dst, 0, 0, 0)}; }

inline Slots LDX_MEM(int size, int dst, int src, int off) { return {raw(BPF_LDX | size | BPF_MEM, dst, src, off, 0)}; }
inline Slots STX_MEM(int size, int dst, int src, int off) { return {raw(BPF_STX | size | BPF_MEM, dst, src, off, 0)}; }
inline Slots ST_MEM(int size, int dst, int off, int imm) { return {raw(BPF_ST | size | BPF_MEM, dst, 0, off, imm)}; }
inline Slots ATOMIC_OP(int size, int op, int dst, int src, int off) { return {raw(BPF_STX | size | BPF_ATOMIC, dst, src, off, op)}; }

inline Slots JMP_IMM(int op, int dst, int imm, int off) { return {raw(BPF_JMP | op | BPF_K, dst, 0, off, imm)}; }
inline Slots JMP_REG(int op, int dst, int src, int off) { return {raw(BPF_JMP | op | BPF_X, dst, src, off, 0)}; }
inline Slots JMP32_IMM(int op, int dst, int imm, int off) { return {raw(BPF_JMP32 | op | BPF_K, dst, 0, off, imm)}; }
inline Slots JA(int off) { return {raw(BPF_JMP | BPF_JA, 0, 0, off, 0)}; }
// BPF_JMP | BPF_JCOND, src_reg BPF_MAY_GOTO (Linux 6.9 uapi, newer than this
// machine's headers: the numbers come from the isa's opcode table).
inline Slots MAY_GOTO(int off) { return {raw(BPF_JMP | isa::bits::kJcond, 0, isa::bits::kMayGoto, off, 0)}; }
inline Slots CALL(int helper) { return {raw(BPF_JMP | BPF_CALL, 0, 0, 0, helper)}; }
inline Slots CALL_LOCAL(int off) { return {raw(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_CALL, 0, off)}; }
inline Slots CALL_KFUNC(int btf_id) { return {raw(BPF_JMP | BPF_CALL, 0, BPF_PSEUDO_KFUNC_CALL, 0, btf_id)}; }
inline Slots EXIT() { return {raw(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)}; }

inline Slots LD_IMM64_RAW(int dst, int src, long long imm, int imm2 = 0) {
  return {raw(BPF_LD | BPF_DW | BPF_IMM, dst, src, 0, static_cast<int>(imm)),
          raw(0, 0, 0, 0, imm2 ? imm2 : static_cast<int>(static_cast<unsigned long long>(imm) >> 32))};
}
inline Slots LD_IMM64(int dst, long long imm) { return LD_IMM64_RAW(dst, 0, imm); }
inline Slots LD_MAP_FD(int dst, int handle) { return LD_IMM64_RAW(dst, BPF_PSEUDO_MAP_FD, handle); }
inline Slots LD_MAP_VALUE(int dst, int handle, int off) {
  return {raw(BPF_LD | BPF_DW | BPF_IMM, dst, BPF_PSEUDO_MAP_VALUE, 0, handle), raw(0, 0, 0, 0, off)};
}
inline Slots LD_MAP_IDX(int dst, int idx) { return LD_IMM64_RAW(dst, BPF_PSEUDO_MAP_IDX, idx); }
inline Slots LD_BTF_ID(int dst, int id) { return LD_IMM64_RAW(dst, BPF_PSEUDO_BTF_ID, id); }
inline Slots LD_FUNC(int dst, int off) { return LD_IMM64_RAW(dst, BPF_PSEUDO_FUNC, off); }
inline Slots LD_ABS(int size, int imm) { return {raw(BPF_LD | size | BPF_ABS, 0, 0, 0, imm)}; }

// Concatenate instruction groups into one program.
inline Slots prog(std::initializer_list<Slots> parts) {
  Slots out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

}  // namespace xo::test::ins
