// The eBPF instruction model (RFC 9669, ISA v1..v4) as meanings, not bit fields.
//
// One 64-bit slot on the wire (little-endian):
//
//   msb                                                        lsb
//   +------------------------+----------------+----+----+--------+
//   |immediate (32)          |offset (16)     |src |dst |opcode  |
//   +------------------------+----------------+----+----+--------+
//   opcode = class(3 lsb) | source/size/mode ... ; see codec.cpp.
//
// ld_imm64 is the only instruction that spans two slots; slot_width() is the
// one function that knows it. Jump, call and func offsets are kept exactly
// as encoded: relative, in slots. program.hpp turns them into targets.
#pragma once

#include <cstdint>
#include <variant>

namespace xo::isa {

using Reg = std::uint8_t;  // r0..r10; r10 is the read-only frame pointer
inline constexpr Reg kFramePointer = 10;

// A BPF_K operand. On the wire every ALU, JMP and ST immediate is a signed
// 32-bit field (64-bit ALU and JMP sign-extend it; ld_imm64 keeps its own
// uint64 in LoadImm64), so the model holds exactly that and nothing wider can
// be built: Imm{int64_variable} is a narrowing error at compile time.
struct Imm {
  std::int32_t v;
  bool operator==(const Imm&) const = default;
};
using Value = std::variant<Reg, Imm>;  // BPF_X (register) or BPF_K (immediate)

enum class AluOp : std::uint8_t {
  Add, Sub, Mul, Div, SDiv, Or, And, Lsh, Rsh, Mod, SMod, Xor, Mov, Arsh,
  MovSx8, MovSx16, MovSx32,  // v4 movsx (MOV with offset 8/16/32)
};

// dst = dst op src (32-bit ops zero-extend into the upper half).
struct Bin {
  AluOp op;
  bool is64;
  Reg dst;
  Value src;
  bool operator==(const Bin&) const = default;
};

enum class UnOp : std::uint8_t {
  Neg,
  Le16, Le32, Le64,            // ALU | END | TO_LE
  Be16, Be32, Be64,            // ALU | END | TO_BE
  Swap16, Swap32, Swap64,      // ALU64 | END: v4 unconditional bswap
};
struct Un {
  UnOp op;
  bool is64;  // meaningful for Neg only; END forms fix their own class
  Reg dst;
  bool operator==(const Un&) const = default;
};

enum class Cond : std::uint8_t { Eq, Gt, Ge, Set, Ne, SGt, SGe, Lt, Le, SLt, SLe };

// if (dst cond src) pc += 1 + off
struct Jmp {
  Cond cond;
  bool is32;  // JMP32 class
  Reg dst;
  Value src;
  std::int16_t off;
  bool operator==(const Jmp&) const = default;
};

// Unconditional jump: JMP|JA uses `off` (16 bit); JMP32|JA (gotol, v4) uses imm.
struct Ja {
  std::int32_t off;
  bool wide;
  bool operator==(const Ja&) const = default;
};

// may_goto (JMP | JCOND, src_reg BPF_MAY_GOTO = 0; kernel 6.9+, not in RFC
// 9669): a conditional jump on a loop budget the kernel keeps on the stack.
// While the budget lasts control falls through; once it is spent,
// pc += 1 + off. Bounded loops written with can_loop compile to it.
struct MayGoto {
  std::int16_t off;
  bool operator==(const MayGoto&) const = default;
};

struct Call {  // helper call, src_reg 0
  std::int32_t helper;
  bool operator==(const Call&) const = default;
};
struct CallLocal {  // bpf-to-bpf call, src_reg 1: target = pc + 1 + off
  std::int32_t off;
  bool operator==(const CallLocal&) const = default;
};
struct CallKfunc {  // src_reg 2: imm = BTF id, off = BTF fd index
  std::int32_t btf_id;
  std::int16_t btf_fd_idx;
  bool operator==(const CallKfunc&) const = default;
};
struct Exit {
  bool operator==(const Exit&) const = default;
};

enum class Size : std::uint8_t { B = 1, H = 2, W = 4, DW = 8 };

// LDX MEM / MEMSX: dst = *(size *)(base + off)
struct Load {
  Size size;
  bool sign_extend;  // v4 MEMSX
  Reg dst;
  Reg base;
  std::int16_t off;
  bool operator==(const Load&) const = default;
};
// ST (Imm) / STX (Reg) MEM: *(size *)(base + off) = src
struct Store {
  Size size;
  Reg base;
  std::int16_t off;
  Value src;
  bool operator==(const Store&) const = default;
};

enum class AtomicOp : std::uint8_t { Add, Or, And, Xor, Xchg, CmpXchg };
// STX ATOMIC, size W or DW. Xchg and CmpXchg always fetch.
struct Atomic {
  AtomicOp op;
  bool fetch;
  Size size;
  Reg base;
  std::int16_t off;
  Reg src;
  bool operator==(const Atomic&) const = default;
};

// Legacy packet access: LD ABS (indirect=false) / LD IND (indirect=true).
struct LegacyLoad {
  Size size;
  bool indirect;
  Reg src;  // only for IND
  std::int32_t imm;
  bool operator==(const LegacyLoad&) const = default;
};

// ld_imm64 and its pseudo sources (src_reg of the first slot).
struct LoadImm64 {  // 0: plain 64-bit constant
  Reg dst;
  std::uint64_t imm;
  bool operator==(const LoadImm64&) const = default;
};
struct LoadMapFd {  // 1: BPF_PSEUDO_MAP_FD (in a Submission: the guest handle)
  Reg dst;
  std::int32_t fd;
  bool operator==(const LoadMapFd&) const = default;
};
struct LoadMapValue {  // 2: BPF_PSEUDO_MAP_VALUE, address of value + off
  Reg dst;
  std::int32_t fd;
  std::uint32_t off;
  bool operator==(const LoadMapValue&) const = default;
};
struct LoadBtfId {  // 3: BPF_PSEUDO_BTF_ID (kernel variable); never allowed from guests
  Reg dst;
  std::int32_t btf_id;
  std::int32_t btf_fd;
  bool operator==(const LoadBtfId&) const = default;
};
struct LoadFunc {  // 4: BPF_PSEUDO_FUNC: address of subprog at pc + 1 + off
  Reg dst;
  std::int32_t off;
  bool operator==(const LoadFunc&) const = default;
};
struct LoadMapIdx {  // 5: BPF_PSEUDO_MAP_IDX
  Reg dst;
  std::uint32_t idx;
  bool operator==(const LoadMapIdx&) const = default;
};
struct LoadMapIdxValue {  // 6: BPF_PSEUDO_MAP_IDX_VALUE
  Reg dst;
  std::uint32_t idx;
  std::uint32_t off;
  bool operator==(const LoadMapIdxValue&) const = default;
};

using Insn = std::variant<Bin, Un, Jmp, Ja, MayGoto, Call, CallLocal, CallKfunc, Exit, Load, Store,
                          Atomic, LegacyLoad, LoadImm64, LoadMapFd, LoadMapValue, LoadBtfId,
                          LoadFunc, LoadMapIdx, LoadMapIdxValue>;

// Decode and encode stream vectors of Insn, so its size is their memory
// bandwidth: with a 16-byte Value (int64 Imm) Jmp was 32 bytes and Insn 40,
// and a 4096-insn program fell from 76M to 45M decode+encode insns/s
// (docs/PERFORMANCE.md). The largest alternatives are now 16 bytes
// (LoadImm64, Jmp) plus the index. Keep it at 24.
static_assert(sizeof(Value) == 8, "Value: a 4-byte Imm or a Reg, plus the index");
static_assert(sizeof(Insn) == 24, "Insn grew: see the comment above");

// Slots an instruction occupies on the wire: 2 for every ld_imm64 form, else 1.
// This is the only place that knows slot widths.
unsigned slot_width(const Insn& insn);

// The map a LoadMapFd or LoadMapValue names (a kernel fd; in a Submission, a
// guest handle); nullptr for every other instruction.
inline std::int32_t* map_of(Insn& insn) {
  if (auto* m = std::get_if<LoadMapFd>(&insn)) return &m->fd;
  if (auto* v = std::get_if<LoadMapValue>(&insn)) return &v->fd;
  return nullptr;
}
inline const std::int32_t* map_of(const Insn& insn) { return map_of(const_cast<Insn&>(insn)); }

}  // namespace xo::isa
