// Unmarshal and marshal the eBPF ISA (RFC 9669, v1..v4).
//
// Decoding is driven by one 256-entry table of opcode forms (kForms), built at
// compile time from the per-class operation lists below. A form says which
// meaning-level type an opcode byte decodes to and which slot fields must be
// zero or hold a register; the few fields with richer rules (sdiv/smod off=1,
// movsx off=8/16/32, END widths, call kinds, atomic ops, ld_imm64 pseudo
// sources) are checked in the shape's decoder. The rules follow the kernel's
// structural checks (kernel/bpf/verifier.c: check_alu_fields, check_jmp_fields,
// check_ld_abs, check_ld_imm, check_atomic, resolve_pseudo_ldimm64) so that
// everything clang -mcpu=v4 emits and the kernel accepts decodes, and nothing
// the kernel would reject as malformed does. Two deliberate narrowings, both
// of fields the model has no room for and no compiler emits: EXIT with a
// non-zero off, and BPF_PSEUDO_FUNC with a non-zero second-slot imm.
//
// Encoding is the exact inverse for every Insn decode() can produce.
#include "translator/isa/codec.hpp"

#include <algorithm>
#include <array>
#include <optional>
#include <string>
#include <type_traits>

#include "translator/isa/opcodes.hpp"

namespace xo::isa {
namespace {

using namespace bits;

enum class Shape : std::uint8_t {
  Invalid,
  AluK,
  AluX,
  MovK,
  MovX,
  Neg,
  End,
  JmpK,
  JmpX,
  Ja,
  MayGoto,
  Call,
  Exit,
  LdAbs,
  LdInd,
  LdImm64,
  Ldx,
  St,
  Stx,
  Atomic,
};

// Slot fields, as a bit mask.
constexpr std::uint8_t kFSrc = 1, kFDst = 2, kFOff = 4, kFImm = 8;

struct Form {
  Shape shape = Shape::Invalid;
  std::uint8_t op = 0;             // AluOp, Cond or UnOp (first of its group), by shape
  bool wide = false;               // ALU64 / JMP (as opposed to ALU / JMP32)
  Size size = Size::W;             // loads and stores
  bool sign_extend = false;        // LDX MEMSX
  std::uint8_t zero = 0;           // fields that must be zero
  std::uint8_t regs = 0;           // fields (kFSrc/kFDst) that name registers
  const char* reserved = nullptr;  // whole opcode is reserved: why
};

// --- the declarative part -------------------------------------------------

struct AluRow {
  std::uint8_t bits;
  AluOp op;
};
constexpr AluRow kAluRows[] = {
    {kAdd, AluOp::Add}, {kSub, AluOp::Sub}, {kMul, AluOp::Mul},   {kDiv, AluOp::Div},
    {kOr, AluOp::Or},   {kAnd, AluOp::And}, {kLsh, AluOp::Lsh},   {kRsh, AluOp::Rsh},
    {kMod, AluOp::Mod}, {kXor, AluOp::Xor}, {kArsh, AluOp::Arsh},
};
struct CondRow {
  std::uint8_t bits;
  Cond cond;
};
constexpr CondRow kCondRows[] = {
    {kJeq, Cond::Eq}, {kJgt, Cond::Gt},   {kJge, Cond::Ge},   {kJset, Cond::Set},
    {kJne, Cond::Ne}, {kJsgt, Cond::SGt}, {kJsge, Cond::SGe}, {kJlt, Cond::Lt},
    {kJle, Cond::Le}, {kJslt, Cond::SLt}, {kJsle, Cond::SLe},
};
struct SizeRow {
  std::uint8_t bits;
  Size size;
};
constexpr SizeRow kSizeRows[] = {
    {kSizeW, Size::W}, {kSizeH, Size::H}, {kSizeB, Size::B}, {kSizeDW, Size::DW}};

constexpr std::uint8_t u8(AluOp op) { return static_cast<std::uint8_t>(op); }
constexpr std::uint8_t u8(Cond c) { return static_cast<std::uint8_t>(c); }
constexpr std::uint8_t u8(UnOp op) { return static_cast<std::uint8_t>(op); }

// clang-format off
constexpr std::array<Form, 256> build_forms() {
  std::array<Form, 256> f{};
  for (std::uint8_t cls : {kAlu, kAlu64}) {
    const bool wide = cls == kAlu64;
    for (const AluRow& r : kAluRows) {
      f[cls | r.bits | kK] = {Shape::AluK, u8(r.op), wide, Size::W, false, kFSrc, kFDst};
      f[cls | r.bits | kX] = {Shape::AluX, u8(r.op), wide, Size::W, false, kFImm, kFSrc | kFDst};
    }
    f[cls | kMov | kK] = {Shape::MovK, u8(AluOp::Mov), wide, Size::W, false, kFSrc | kFOff, kFDst};
    f[cls | kMov | kX] = {Shape::MovX, u8(AluOp::Mov), wide, Size::W, false, kFImm, kFSrc | kFDst};
    f[cls | kNeg | kK] = {Shape::Neg, u8(UnOp::Neg), wide, Size::W, false, kFSrc | kFOff | kFImm,
                          kFDst};
    f[cls | kNeg | kX] = {.reserved = "neg has no register source (BPF_X bit set)"};
  }
  f[kAlu | kEnd | kK] = {Shape::End, u8(UnOp::Le16), false, Size::W, false, kFSrc | kFOff, kFDst};
  f[kAlu | kEnd | kX] = {Shape::End, u8(UnOp::Be16), false, Size::W, false, kFSrc | kFOff, kFDst};
  f[kAlu64 | kEnd | kK] = {Shape::End, u8(UnOp::Swap16), true, Size::W, false, kFSrc | kFOff,
                           kFDst};
  f[kAlu64 | kEnd | kX] = {.reserved = "alu64 end is only defined with to_le (bswap)"};

  for (std::uint8_t cls : {kJmp, kJmp32}) {
    const bool wide = cls == kJmp;
    for (const CondRow& r : kCondRows) {
      f[cls | r.bits | kK] = {Shape::JmpK, u8(r.cond), wide, Size::W, false, kFSrc, kFDst};
      f[cls | r.bits | kX] = {Shape::JmpX, u8(r.cond), wide, Size::W, false, kFImm, kFSrc | kFDst};
    }
    f[cls | kJa | kX] = {.reserved = "ja has no register source (BPF_X bit set)"};
    f[cls | kCall | kX] = {.reserved = "call has no register source (BPF_X bit set)"};
    f[cls | kExit | kX] = {.reserved = "exit has no register source (BPF_X bit set)"};
  }
  f[kJmp | kJa] = {Shape::Ja, 0, true, Size::W, false, kFSrc | kFDst | kFImm, 0};
  f[kJmp32 | kJa] = {Shape::Ja, 0, false, Size::W, false, kFSrc | kFDst | kFOff, 0};  // gotol
  f[kJmp | kCall] = {Shape::Call, 0, true, Size::W, false, kFDst, 0};
  f[kJmp32 | kCall] = {.reserved = "call is not defined in the jmp32 class"};
  f[kJmp | kExit] = {Shape::Exit, 0, true, Size::W, false, kFSrc | kFDst | kFOff | kFImm, 0};
  // src_reg selects the pseudo condition; BPF_MAY_GOTO (0) is the only one.
  f[kJmp | kJcond] = {Shape::MayGoto, 0, true, Size::W, false, kFSrc | kFDst | kFImm, 0};
  f[kJmp | kJcond | kX] = {.reserved = "may_goto has no register source (BPF_X bit set)"};
  f[kJmp32 | kJcond] = {.reserved = "may_goto is not defined in the jmp32 class"};
  f[kJmp32 | kExit] = {.reserved = "exit is not defined in the jmp32 class"};

  for (const SizeRow& s : kSizeRows) {
    if (s.size != Size::DW) {
      f[kLd | kAbs | s.bits] = {Shape::LdAbs, 0, false, s.size, false, kFSrc | kFDst | kFOff, 0};
      f[kLd | kInd | s.bits] = {Shape::LdInd, 0, false, s.size, false, kFDst | kFOff, kFSrc};
      f[kLdx | kMemSx | s.bits] = {Shape::Ldx, 0, false, s.size, true, kFImm, kFSrc | kFDst};
    }
    f[kLdx | kMem | s.bits] = {Shape::Ldx, 0, false, s.size, false, kFImm, kFSrc | kFDst};
    f[kSt | kMem | s.bits] = {Shape::St, 0, false, s.size, false, kFSrc, kFDst};
    f[kStx | kMem | s.bits] = {Shape::Stx, 0, false, s.size, false, kFImm, kFSrc | kFDst};
  }
  f[kLdImm64] = {Shape::LdImm64, 0, true, Size::DW, false, kFOff, kFDst};
  f[kStx | kAtomic | kSizeW] = {Shape::Atomic, 0, false, Size::W, false, 0, kFSrc | kFDst};
  f[kStx | kAtomic | kSizeDW] = {Shape::Atomic, 0, false, Size::DW, false, 0, kFSrc | kFDst};
  return f;
}
// clang-format on
constexpr std::array<Form, 256> kForms = build_forms();

// Encoding side: meaning -> bits.
constexpr std::uint8_t kAluOpBits[] = {
    kAdd,
    kSub,
    kMul,
    kDiv,
    kDiv /*SDiv*/,
    kOr,
    kAnd,
    kLsh,
    kRsh,
    kMod,
    kMod /*SMod*/,
    kXor,
    kMov,
    kArsh,
    kMov /*MovSx8*/,
    kMov /*MovSx16*/,
    kMov /*MovSx32*/,
};
constexpr std::int16_t kAluOpOff[] = {0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 8, 16, 32};
constexpr std::uint8_t kCondBits[] = {kJeq,  kJgt, kJge, kJset, kJne, kJsgt,
                                      kJsge, kJlt, kJle, kJslt, kJsle};
constexpr std::uint8_t size_bits(Size s) {
  switch (s) {
    case Size::B: return kSizeB;
    case Size::H: return kSizeH;
    case Size::W: return kSizeW;
    case Size::DW: return kSizeDW;
  }
  return kSizeW;
}
constexpr std::int32_t kAtomicImm[] = {kAdd, kOr, kAnd, kXor, kXchg, kCmpXchg};

// --- diagnostics (cold path) ----------------------------------------------

[[gnu::cold]] std::string hex(std::uint64_t v) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  do {
    s.insert(s.begin(), kDigits[v & 0xf]);
    v >>= 4;
  } while (v);
  if (s.size() < 2) s.insert(s.begin(), '0');
  return "0x" + s;
}

[[gnu::cold]] std::string opcode_name(std::uint8_t code) {
  static constexpr const char* kClass[] = {"ld",  "ldx", "st",    "stx",
                                           "alu", "jmp", "jmp32", "alu64"};
  static constexpr const char* kAluOps[] = {"add",  "sub", "mul",    "div",   "or",  "and",
                                            "lsh",  "rsh", "neg",    "mod",   "xor", "mov",
                                            "arsh", "end", "op 0xe", "op 0xf"};
  static constexpr const char* kJmpOps[] = {"ja",   "jeq",  "jgt",    "jge",   "jset", "jne",
                                            "jsgt", "jsge", "call",   "exit",  "jlt",  "jle",
                                            "jslt", "jsle", "jcond",  "op 0xf"};
  static constexpr const char* kModes[] = {"imm",   "abs",    "ind",    "mem",
                                           "memsx", "mode 5", "atomic", "mode 7"};
  static constexpr const char* kSizes[] = {"w", "h", "b", "dw"};
  const std::uint8_t cls = class_of(code);
  std::string name = kClass[cls];
  if (cls == kAlu || cls == kAlu64) {
    name += std::string(" ") + kAluOps[code >> 4] + (src_of(code) ? " x" : " k");
  } else if (cls == kJmp || cls == kJmp32) {
    name += std::string(" ") + kJmpOps[code >> 4] + (src_of(code) ? " x" : " k");
  } else {
    name += std::string(" ") + kModes[code >> 5] + " " + kSizes[size_of(code) >> 3];
  }
  return name + " (" + hex(code) + ")";
}

const char* field_name(std::uint8_t field) {
  switch (field) {
    case kFSrc: return "src_reg";
    case kFDst: return "dst_reg";
    case kFOff: return "off";
    default: return "imm";
  }
}

[[gnu::cold]] Error reserved(std::size_t pc, std::uint8_t code, const char* field,
                             std::int64_t value, const char* must) {
  return err_at(pc, opcode_name(code) + ": reserved field " + field + " is " +
                        std::to_string(value) + ", must be " + must);
}

// --- decoding ---------------------------------------------------------------

// Where a decoder puts its outcome: the instruction, or (cold path) the error.
struct Sink {
  Insn& out;
  Error& error;
  template <typename T>
  bool ok(const T& value) {
    out.emplace<T>(value);
    return true;
  }
  // Errors are built out of line, so the hot decoders stay small.
  template <typename MakeError>
  [[gnu::noinline, gnu::cold]] bool fail(MakeError&& make) {
    error = make();
    return false;
  }
};

std::int64_t field_value(const RawInsn& r, std::uint8_t field) {
  switch (field) {
    case kFSrc: return r.src();
    case kFDst: return r.dst();
    case kFOff: return r.off;
    default: return r.imm;
  }
}

// The generic, table-driven checks shared by every form, cold half: which
// field is wrong, in words.
[[gnu::noinline, gnu::cold]] Error field_error(const Form& f, const RawInsn& r, std::size_t pc) {
  for (std::uint8_t field : {kFSrc, kFDst, kFOff, kFImm}) {
    if ((f.zero & field) && field_value(r, field) != 0) {
      return reserved(pc, r.code, field_name(field), field_value(r, field), "0");
    }
  }
  const bool bad_dst = (f.regs & kFDst) && r.dst() > kMaxReg;
  return err_at(pc, opcode_name(r.code) + ": invalid register r" +
                        std::to_string(bad_dst ? r.dst() : r.src()) + " in " +
                        (bad_dst ? "dst_reg" : "src_reg") + " (max r10)");
}

// Hot half: a few masks, no branches on the good path.
[[gnu::always_inline]] inline bool fields_ok(const Form& f, const RawInsn& r) {
  const unsigned nonzero =
      (r.src() ? kFSrc : 0) | (r.dst() ? kFDst : 0) | (r.off ? kFOff : 0) | (r.imm ? kFImm : 0);
  const unsigned bad_regs =
      ((f.regs & kFSrc) && r.src() > kMaxReg) | ((f.regs & kFDst) && r.dst() > kMaxReg);
  return ((nonzero & f.zero) | bad_regs) == 0;
}

// K and X are separate shapes so that the one dispatch on the shape also
// decides the operand kind (one unpredictable branch per insn, not two).
template <bool kRegSource>
bool decode_alu(const Form& f, const RawInsn& r, std::size_t pc, Sink s) {
  AluOp op = static_cast<AluOp>(f.op);
  if (r.off != 0) {
    if (r.off == 1 && op == AluOp::Div) {
      op = AluOp::SDiv;
    } else if (r.off == 1 && op == AluOp::Mod) {
      op = AluOp::SMod;
    } else {
      return s.fail([&] { return reserved(pc, r.code, "off", r.off, "0 (or 1 for sdiv/smod)"); });
    }
  }
  if constexpr (kRegSource) return s.ok(Bin{op, f.wide, r.dst(), Reg{r.src()}});
  return s.ok(Bin{op, f.wide, r.dst(), Imm{r.imm}});
}

bool decode_movx(const Form& f, const RawInsn& r, std::size_t pc, Sink s) {
  AluOp op;
  switch (r.off) {
    case 0: op = AluOp::Mov; break;
    case 8: op = AluOp::MovSx8; break;
    case 16: op = AluOp::MovSx16; break;
    case 32:
      if (!f.wide)
        return s.fail([&] { return reserved(pc, r.code, "off", r.off, "0, 8 or 16 (movsx)"); });
      op = AluOp::MovSx32;
      break;
    case 1:
      if (f.wide)
        return s.fail([&] {
          return err_at(pc, opcode_name(r.code) + ": addr_space_cast (off 1) is not supported");
        });
      [[fallthrough]];
    default:
      return s.fail([&] {
        return reserved(pc, r.code, "off", r.off,
                        f.wide ? "0, 8, 16 or 32 (movsx)" : "0, 8 or 16 (movsx)");
      });
  }
  return s.ok(Bin{op, f.wide, r.dst(), Reg{r.src()}});
}

bool decode_end(const Form& f, const RawInsn& r, std::size_t pc, Sink s) {
  int width;
  switch (r.imm) {
    case 16: width = 0; break;
    case 32: width = 1; break;
    case 64: width = 2; break;
    default: return s.fail([&] { return reserved(pc, r.code, "imm", r.imm, "16, 32 or 64"); });
  }
  return s.ok(Un{static_cast<UnOp>(f.op + width), f.wide, r.dst()});
}

bool decode_call(const RawInsn& r, std::size_t pc, Sink s) {
  switch (r.src()) {
    case 0:
      if (r.off) return s.fail([&] { return reserved(pc, r.code, "off", r.off, "0"); });
      return s.ok(Call{r.imm});
    case kPseudoCall:
      if (r.off) return s.fail([&] { return reserved(pc, r.code, "off", r.off, "0"); });
      return s.ok(CallLocal{r.imm});
    case kPseudoKfuncCall: return s.ok(CallKfunc{r.imm, r.off});
    default:
      return s.fail([&] {
        return reserved(pc, r.code, "src_reg", r.src(), "0 (helper), 1 (local) or 2 (kfunc)");
      });
  }
}

bool decode_atomic(const Form& f, const RawInsn& r, std::size_t pc, Sink s) {
  AtomicOp op;
  bool fetch = (r.imm & kFetch) != 0;
  switch (r.imm & ~kFetch) {
    case kAdd: op = AtomicOp::Add; break;
    case kOr: op = AtomicOp::Or; break;
    case kAnd: op = AtomicOp::And; break;
    case kXor: op = AtomicOp::Xor; break;
    case kXchg & ~kFetch: op = AtomicOp::Xchg; break;
    case kCmpXchg & ~kFetch: op = AtomicOp::CmpXchg; break;
    default:
      return s.fail([&] {
        return err_at(pc, opcode_name(r.code) + ": unknown atomic operation imm " +
                              hex(static_cast<std::uint32_t>(r.imm)));
      });
  }
  if ((op == AtomicOp::Xchg || op == AtomicOp::CmpXchg) && !fetch) {
    return s.fail([&] {
      return err_at(pc, opcode_name(r.code) + ": unknown atomic operation imm " +
                            hex(static_cast<std::uint32_t>(r.imm)) +
                            " (xchg/cmpxchg need BPF_FETCH)");
    });
  }
  return s.ok(Atomic{op, fetch, f.size, r.dst(), r.off, r.src()});
}

bool decode_ld_imm64(std::span<const RawInsn> slots, std::size_t pc, Sink s) {
  const RawInsn& lo = slots[pc];
  if (pc + 1 >= slots.size()) {
    return s.fail([&] {
      return err_at(
          pc, "ld_imm64 at insn " + std::to_string(pc) + " is truncated (second slot missing)");
    });
  }
  const RawInsn& hi = slots[pc + 1];
  if (hi.code != 0 || hi.regs != 0 || hi.off != 0) {
    return s.fail([&] {
      return err_at(pc, "ld_imm64 at insn " + std::to_string(pc) +
                            ": second slot must have code, regs and off 0 (has code " +
                            hex(hi.code) + ", regs " + hex(hi.regs) + ", off " +
                            std::to_string(hi.off) + ")");
    });
  }
  const Reg dst = lo.dst();
  const auto second_imm_zero = [&](const char* what) -> std::optional<Error> {
    if (hi.imm == 0) return std::nullopt;
    return err_at(pc, std::string("ld_imm64 ") + what + ": second slot imm is " +
                          std::to_string(hi.imm) + ", must be 0");
  };
  switch (lo.src()) {
    case 0:
      return s.ok(LoadImm64{dst, static_cast<std::uint32_t>(lo.imm) |
                                     (std::uint64_t{static_cast<std::uint32_t>(hi.imm)} << 32)});
    case kPseudoMapFd:
      if (hi.imm != 0) return s.fail([&] { return *second_imm_zero("map_fd"); });
      return s.ok(LoadMapFd{dst, lo.imm});
    case kPseudoMapValue:
      return s.ok(LoadMapValue{dst, lo.imm, static_cast<std::uint32_t>(hi.imm)});
    case kPseudoBtfId: return s.ok(LoadBtfId{dst, lo.imm, hi.imm});
    case kPseudoFunc:
      if (hi.imm != 0) return s.fail([&] { return *second_imm_zero("func"); });
      return s.ok(LoadFunc{dst, lo.imm});
    case kPseudoMapIdx:
      if (hi.imm != 0) return s.fail([&] { return *second_imm_zero("map_idx"); });
      return s.ok(LoadMapIdx{dst, static_cast<std::uint32_t>(lo.imm)});
    case kPseudoMapIdxValue:
      return s.ok(LoadMapIdxValue{dst, static_cast<std::uint32_t>(lo.imm),
                                  static_cast<std::uint32_t>(hi.imm)});
    default:
      return s.fail([&] {
        return err_at(pc, "ld_imm64: unknown pseudo source src_reg " + std::to_string(lo.src()) +
                              " (must be 0..6)");
      });
  }
}

}  // namespace

namespace {
template <typename T, typename... Ts>
constexpr std::size_t index_in(const std::variant<Ts...>*) {
  std::size_t i = 0;
  bool found = false;
  ((found = found || std::is_same_v<T, Ts>, i += found ? 0 : 1), ...);
  return i;
}
// Variant order in insn.hpp: every alternative from LoadImm64 on is ld_imm64.
constexpr std::size_t kFirstLdImm64 = index_in<LoadImm64>(static_cast<const Insn*>(nullptr));
static_assert(std::variant_size_v<Insn> - kFirstLdImm64 == 7, "the 7 ld_imm64 forms come last");
}  // namespace

unsigned slot_width(const Insn& insn) { return insn.index() >= kFirstLdImm64 ? 2u : 1u; }

namespace {

// The hot path: decodes the instruction at slots[pc] into s.out, or returns
// false with s.error set. The caller guarantees pc < slots.size().
[[gnu::always_inline]] inline bool decode_at(std::span<const RawInsn> slots, std::size_t pc,
                                             Sink s) {
  const RawInsn& r = slots[pc];
  const Form& f = kForms[r.code];
  if (f.shape == Shape::Invalid) [[unlikely]] {
    if (f.reserved)
      return s.fail([&] { return err_at(pc, opcode_name(r.code) + ": " + f.reserved); });
    return s.fail([&] { return err_at(pc, "unknown opcode " + hex(r.code)); });
  }
  if (!fields_ok(f, r)) [[unlikely]]
    return s.fail([&] { return field_error(f, r, pc); });

  switch (f.shape) {
    case Shape::AluK: return decode_alu<false>(f, r, pc, s);
    case Shape::AluX: return decode_alu<true>(f, r, pc, s);
    case Shape::MovK: return s.ok(Bin{AluOp::Mov, f.wide, r.dst(), Imm{r.imm}});
    case Shape::MovX: return decode_movx(f, r, pc, s);
    case Shape::Neg: return s.ok(Un{UnOp::Neg, f.wide, r.dst()});
    case Shape::End: return decode_end(f, r, pc, s);
    case Shape::JmpK:
      return s.ok(Jmp{static_cast<Cond>(f.op), !f.wide, r.dst(), Imm{r.imm}, r.off});
    case Shape::JmpX:
      return s.ok(Jmp{static_cast<Cond>(f.op), !f.wide, r.dst(), Reg{r.src()}, r.off});
    case Shape::Ja: return s.ok(f.wide ? Ja{r.off, false} : Ja{r.imm, true});
    case Shape::MayGoto: return s.ok(MayGoto{r.off});
    case Shape::Call: return decode_call(r, pc, s);
    case Shape::Exit: return s.ok(Exit{});
    case Shape::LdAbs: return s.ok(LegacyLoad{f.size, false, 0, r.imm});
    case Shape::LdInd: return s.ok(LegacyLoad{f.size, true, r.src(), r.imm});
    case Shape::LdImm64: return decode_ld_imm64(slots, pc, s);
    case Shape::Ldx: return s.ok(Load{f.size, f.sign_extend, r.dst(), r.src(), r.off});
    case Shape::St: return s.ok(Store{f.size, r.dst(), r.off, Imm{r.imm}});
    case Shape::Stx: return s.ok(Store{f.size, r.dst(), r.off, Reg{r.src()}});
    case Shape::Atomic: return decode_atomic(f, r, pc, s);
    case Shape::Invalid: break;
  }
  return s.fail([&] { return err_at(pc, "unknown opcode " + hex(r.code)); });
}

}  // namespace

Result<Insn> decode_one(std::span<const RawInsn> slots, std::size_t pc) {
  if (pc >= slots.size()) {
    return err_at(pc, "insn " + std::to_string(pc) + " is past the end of the program (" +
                          std::to_string(slots.size()) + " slots)");
  }
  Insn insn;
  Error error;
  if (!decode_at(slots, pc, Sink{insn, error})) return error;
  return insn;
}

Result<std::vector<Insn>> decode(std::span<const RawInsn> slots) {
  std::vector<Insn> out;
  out.reserve(slots.size());
  Insn insn;
  Error error;
  for (std::size_t pc = 0; pc < slots.size();) {
    if (!decode_at(slots, pc, Sink{insn, error})) [[unlikely]]
      return error;
    pc += insn.index() >= kFirstLdImm64 ? 2 : 1;
    out.push_back(insn);
  }
  return out;
}

void for_each_insn(std::span<const RawInsn> slots,
                   const std::function<void(std::size_t slot, const Insn& insn)>& f) {
  Insn insn;
  Error error;
  for (std::size_t pc = 0; pc < slots.size();) {
    if (!decode_at(slots, pc, Sink{insn, error})) {
      ++pc;
      continue;
    }
    f(pc, insn);
    pc += slot_width(insn);
  }
}

Status rebind_map_refs(std::span<RawInsn> slots,
                       const std::function<Result<std::int32_t>(std::size_t slot, std::int32_t map)>& rebind) {
  std::optional<Error> failed;
  std::vector<RawInsn> encoded;
  for_each_insn(slots, [&](std::size_t pc, const Insn& insn) {
    const std::int32_t* map = map_of(insn);
    if (!map || failed) return;
    auto to = rebind(pc, *map);
    if (!to) {
      failed = to.error();
      return;
    }
    Insn bound = insn;
    *map_of(bound) = *to;
    encoded.clear();
    encode_one(bound, encoded);
    std::copy(encoded.begin(), encoded.end(), slots.begin() + static_cast<std::ptrdiff_t>(pc));
  });
  if (failed) return *failed;
  return Ok{};
}

// --- encoding -----------------------------------------------------------------

namespace {

RawInsn slot(std::uint8_t code, Reg dst, Reg src, std::int16_t off, std::int32_t imm) {
  return RawInsn::make(code, dst, src, off, imm);
}

// A Value as slot fields, without a branch on its kind (the kind of operand
// is as unpredictable as the instruction mix): pointers are selected, then
// loaded unconditionally.
struct Operand {
  std::uint8_t source;  // kX or kK
  Reg reg;
  std::int32_t imm;
};
inline Operand operand(const Value& v) {
  static constexpr Reg kNoReg = 0;
  static constexpr Imm kNoImm{0};
  const Reg* reg = std::get_if<Reg>(&v);
  const Imm* imm = std::get_if<Imm>(&v);
  return {reg ? kX : kK, *(reg ? reg : &kNoReg), (imm ? imm : &kNoImm)->v};
}

// Writes through a cursor into storage the caller sized for two slots per
// instruction, so the hot loop has no capacity checks.
struct Encoder {
  RawInsn* out;

  void operator()(const Bin& b) {
    const auto op = static_cast<std::size_t>(b.op);
    const std::uint8_t cls = b.is64 ? kAlu64 : kAlu;
    const Operand src = operand(b.src);
    *out++ = slot(cls | kAluOpBits[op] | src.source, b.dst, src.reg, kAluOpOff[op], src.imm);
  }
  void operator()(const Un& u) {
    switch (u.op) {
      case UnOp::Neg: *out++ = slot((u.is64 ? kAlu64 : kAlu) | kNeg, u.dst, 0, 0, 0); return;
      case UnOp::Le16:
      case UnOp::Le32:
      case UnOp::Le64:
        *out++ = slot(kAlu | kEnd | kK, u.dst, 0, 0, 16 << (u8(u.op) - u8(UnOp::Le16)));
        return;
      case UnOp::Be16:
      case UnOp::Be32:
      case UnOp::Be64:
        *out++ = slot(kAlu | kEnd | kX, u.dst, 0, 0, 16 << (u8(u.op) - u8(UnOp::Be16)));
        return;
      case UnOp::Swap16:
      case UnOp::Swap32:
      case UnOp::Swap64:
        *out++ = slot(kAlu64 | kEnd | kK, u.dst, 0, 0, 16 << (u8(u.op) - u8(UnOp::Swap16)));
        return;
    }
  }
  void operator()(const Jmp& j) {
    const std::uint8_t code =
        (j.is32 ? kJmp32 : kJmp) | kCondBits[static_cast<std::size_t>(j.cond)];
    const Operand src = operand(j.src);
    *out++ = slot(code | src.source, j.dst, src.reg, j.off, src.imm);
  }
  void operator()(const Ja& j) {
    if (j.wide) {
      *out++ = slot(kJmp32 | kJa, 0, 0, 0, j.off);
    } else {
      *out++ = slot(kJmp | kJa, 0, 0, static_cast<std::int16_t>(j.off), 0);
    }
  }
  void operator()(const MayGoto& m) { *out++ = slot(kJmp | kJcond, 0, kMayGoto, m.off, 0); }
  void operator()(const Call& c) { *out++ = slot(kJmp | kCall, 0, 0, 0, c.helper); }
  void operator()(const CallLocal& c) { *out++ = slot(kJmp | kCall, 0, kPseudoCall, 0, c.off); }
  void operator()(const CallKfunc& c) {
    *out++ = slot(kJmp | kCall, 0, kPseudoKfuncCall, c.btf_fd_idx, c.btf_id);
  }
  void operator()(const Exit&) { *out++ = slot(kJmp | kExit, 0, 0, 0, 0); }
  void operator()(const Load& l) {
    *out++ =
        slot(kLdx | (l.sign_extend ? kMemSx : kMem) | size_bits(l.size), l.dst, l.base, l.off, 0);
  }
  void operator()(const Store& s) {
    const Operand src = operand(s.src);
    const std::uint8_t cls = src.source == kX ? kStx : kSt;
    *out++ = slot(cls | kMem | size_bits(s.size), s.base, src.reg, s.off, src.imm);
  }
  void operator()(const Atomic& a) {
    const std::int32_t imm = kAtomicImm[static_cast<std::size_t>(a.op)] | (a.fetch ? kFetch : 0);
    *out++ = slot(kStx | kAtomic | size_bits(a.size), a.base, a.src, a.off, imm);
  }
  void operator()(const LegacyLoad& l) {
    *out++ = slot(kLd | (l.indirect ? kInd : kAbs) | size_bits(l.size), 0, l.indirect ? l.src : 0,
                  0, l.imm);
  }
  void wide(Reg dst, std::uint8_t pseudo, std::int32_t lo, std::int32_t hi) {
    *out++ = slot(kLdImm64, dst, pseudo, 0, lo);
    *out++ = slot(0, 0, 0, 0, hi);
  }
  void operator()(const LoadImm64& l) {
    wide(l.dst, 0, static_cast<std::int32_t>(l.imm & 0xffffffffu),
         static_cast<std::int32_t>(l.imm >> 32));
  }
  void operator()(const LoadMapFd& l) { wide(l.dst, kPseudoMapFd, l.fd, 0); }
  void operator()(const LoadMapValue& l) {
    wide(l.dst, kPseudoMapValue, l.fd, static_cast<std::int32_t>(l.off));
  }
  void operator()(const LoadBtfId& l) { wide(l.dst, kPseudoBtfId, l.btf_id, l.btf_fd); }
  void operator()(const LoadFunc& l) { wide(l.dst, kPseudoFunc, l.off, 0); }
  void operator()(const LoadMapIdx& l) {
    wide(l.dst, kPseudoMapIdx, static_cast<std::int32_t>(l.idx), 0);
  }
  void operator()(const LoadMapIdxValue& l) {
    wide(l.dst, kPseudoMapIdxValue, static_cast<std::int32_t>(l.idx),
         static_cast<std::int32_t>(l.off));
  }
};

}  // namespace

void encode_one(const Insn& insn, std::vector<RawInsn>& out) {
  RawInsn slots[2];
  Encoder e{slots};
  std::visit(e, insn);
  out.insert(out.end(), slots, e.out);
}

std::vector<RawInsn> encode(std::span<const Insn> insns) {
  std::size_t total = 0;
  for (const Insn& insn : insns) total += slot_width(insn);
  std::vector<RawInsn> out(total);
  Encoder e{out.data()};
  for (const Insn& insn : insns) std::visit(e, insn);
  return out;
}

}  // namespace xo::isa
