// lift(): the direct tier's bytecode -> LLVM IR, one function per
// subprogram.
//
//   before (direct tier, xdp1):          after (IR, before -O2):
//     r2 = *(u32 *)(r1 + 4)                %a = load i64, ptr %r1
//                                          %p = getelementptr i8, ptr (inttoptr %a), i64 4
//                                          %v = load volatile i32, ptr %p      ; ctx: exact size
//                                          store (zext %v), ptr %r2            ; !dbg line = slot + 1
//     r1 = map[handle 1]                   %m = call i64 @llvm.bpf.pseudo(i64 1, i64 1)
//     call 1                               %r0 = call i64 inttoptr (i64 1 to ptr)(i64 %m, i64 %k)
//     *(u64 *)(r10 - 8) = r6               store i64 %r6, ptr %slot.-8          ; promoted slot
//
// Every register is an i64 alloca and SROA/mem2reg make them SSA. BPF's
// defined cases that IR leaves undefined are spelled out: division by zero
// (0, or the dividend for modulo), INT_MIN / -1, shift counts (masked).
#include <map>
#include <string>
#include <variant>

#include "llvm/BinaryFormat/Dwarf.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/DIBuilder.h"
#include "llvm/IR/DebugInfoMetadata.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Intrinsics.h"
#include "llvm/IR/IntrinsicsBPF.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Support/raw_ostream.h"
#include "translator/ir/tier_internal.hpp"
#include "translator/passes/tier.hpp"

namespace xo::ir {
namespace {

using llvm::Value;

constexpr int kPseudoMapFd = 1;
constexpr int kPseudoMapValue = 2;

struct Unsupported {
  std::size_t index;
  std::string what;
};

class FunctionLifter {
 public:
  FunctionLifter(const DirectProgram& d, const Policy& policy, llvm::Module& m,
                 std::vector<llvm::Function*>& fn_of_sub, std::size_t sub)
      : d_(d), policy_(policy), m_(m), ctx_(m.getContext()), b_(ctx_), fn_of_sub_(fn_of_sub), sub_(sub),
        sp_(d.structure.subprograms[sub]), frame_(d.frames.frames[sub]) {}

  std::optional<Unsupported> run() {
    fn_ = fn_of_sub_[sub_];
    i64_ = b_.getInt64Ty();
    auto* entry = llvm::BasicBlock::Create(ctx_, "entry", fn_);
    b_.SetInsertPoint(entry);
    set_line(sp_.first);
    for (int r = 0; r < 10; ++r) {
      regs_[r] = b_.CreateAlloca(i64_, nullptr, "r" + std::to_string(r));
      regs_[r]->setAlignment(llvm::Align(8));
    }
    frame_alloca_ = b_.CreateAlloca(llvm::ArrayType::get(b_.getInt8Ty(), frame_.size), nullptr, "frame");
    frame_alloca_->setAlignment(llvm::Align(8));
    for (const auto& [off, size] : frame_.promoted) {
      auto* a = b_.CreateAlloca(b_.getIntNTy(8 * size), nullptr, "slot" + std::to_string(off));
      a->setAlignment(llvm::Align(size));
      slots_[off] = a;
    }
    // Arguments: main's ctx in r1; a subprogram's r1..r5. The rest start
    // at 0 (see clobber_args()).
    for (int r = 0; r < 10; ++r) b_.CreateStore(b_.getInt64(0), regs_[r]);
    for (unsigned a = 0; a < fn_->arg_size(); ++a) b_.CreateStore(fn_->getArg(a), regs_[a + 1]);

    // One block per basic block of the subprogram.
    const isa::Structure& st = d_.structure;
    for (std::size_t bb = 0; bb < st.blocks.size(); ++bb) {
      const auto& blk = st.blocks[bb];
      if (blk.first < sp_.first || blk.first >= sp_.end) continue;
      blocks_[bb] = llvm::BasicBlock::Create(ctx_, "b" + std::to_string(slot(blk.first)), fn_);
    }
    b_.CreateBr(block_at(sp_.first));
    for (std::size_t bb = 0; bb < st.blocks.size(); ++bb) {
      const auto& blk = st.blocks[bb];
      if (blk.first < sp_.first || blk.first >= sp_.end) continue;
      b_.SetInsertPoint(blocks_[bb]);
      if (!d_.frames.reached[blk.first]) {
        b_.CreateUnreachable();
        continue;
      }
      bool terminated = false;
      for (std::size_t i = blk.first; i <= blk.last; ++i) {
        set_line(i);
        auto t = lift_one(i);
        if (!t) return Unsupported{i, t.error().message};
        terminated = *t;
      }
      if (!terminated) {
        const std::size_t next = blk.last + 1;
        if (next < sp_.end)
          b_.CreateBr(block_at(next));
        else
          b_.CreateUnreachable();  // falls off the end: never reached in a verified program
      }
    }
    return std::nullopt;
  }

 private:
  std::size_t slot(std::size_t i) const { return d_.structure.layout[i]; }
  llvm::BasicBlock* block_at(std::size_t i) { return blocks_.at(d_.structure.block_of[i]); }
  void set_line(std::size_t i) {
    b_.SetCurrentDebugLocation(llvm::DILocation::get(ctx_, unsigned(slot(i) + 1), 0, fn_->getSubprogram()));
  }
  Kind kind(std::size_t i, isa::Reg r) const { return d_.frames.before[i][r]; }

  Value* fp_value(Kind c) {
    auto* p = b_.CreateConstGEP1_64(b_.getInt8Ty(), frame_alloca_, std::int64_t(frame_.size) + c);
    return b_.CreatePtrToInt(p, i64_);
  }
  Value* get(std::size_t i, isa::Reg r) {
    const Kind k = r == isa::kFramePointer ? 0 : kind(i, r);
    if (is_fp(k)) return fp_value(k);
    return b_.CreateLoad(i64_, regs_[r]);
  }
  Value* operand(std::size_t i, const isa::Value& v, bool is64) {
    if (auto* r = std::get_if<isa::Reg>(&v)) {
      Value* x = get(i, *r);
      return is64 ? x : b_.CreateTrunc(x, b_.getInt32Ty());
    }
    const std::int32_t imm = std::get<isa::Imm>(v).v;
    return is64 ? llvm::ConstantInt::get(i64_, std::int64_t(imm), true)
                : llvm::ConstantInt::get(b_.getInt32Ty(), std::uint32_t(imm));
  }
  Result<bool> set(isa::Reg r, Value* v) {
    if (r >= isa::kFramePointer) return err(EINVAL, "writes r10");
    if (v->getType() != i64_) v = b_.CreateZExt(v, i64_);
    b_.CreateStore(v, regs_[r]);
    return false;
  }
  // After a call r1..r5 hold nothing a verified program reads. They become
  // 0, not undef: an undef LLVM carries through a phi leaves a register
  // unwritten on some path, and the kernel refuses to read one.
  void clobber_args() {
    for (int r = 1; r <= 5; ++r) b_.CreateStore(b_.getInt64(0), regs_[r]);
  }

  // The memory an access names: a promoted slot, the frame, or an address.
  llvm::Value* address(std::size_t i, isa::Reg base, std::int16_t off, bool* is_ctx) {
    const Kind k = base == isa::kFramePointer ? 0 : kind(i, base);
    *is_ctx = k == kCtx;
    if (is_fp(k)) {
      const std::int64_t a = k + off;
      if (auto s = slots_.find(std::int32_t(a)); s != slots_.end()) return s->second;
      return b_.CreateConstInBoundsGEP1_64(b_.getInt8Ty(), frame_alloca_, std::int64_t(frame_.size) + a);
    }
    Value* p = b_.CreateIntToPtr(get(i, base), b_.getPtrTy());
    return off ? b_.CreateConstGEP1_64(b_.getInt8Ty(), p, off) : p;
  }

  Value* div_like(isa::AluOp op, Value* a, Value* s) {
    llvm::Type* t = a->getType();
    auto* zero = llvm::ConstantInt::get(t, 0);
    auto* one = llvm::ConstantInt::get(t, 1);
    auto* c = llvm::dyn_cast<llvm::ConstantInt>(s);
    const bool is_mod = op == isa::AluOp::Mod || op == isa::AluOp::SMod;
    const bool is_signed = op == isa::AluOp::SDiv || op == isa::AluOp::SMod;
    if (c && !c->isZero() && !(is_signed && c->isMinusOne())) {
      switch (op) {
        case isa::AluOp::Div: return b_.CreateUDiv(a, s);
        case isa::AluOp::Mod: return b_.CreateURem(a, s);
        case isa::AluOp::SDiv: return b_.CreateSDiv(a, s);
        default: return b_.CreateSRem(a, s);
      }
    }
    // BPF: x / 0 = 0, x % 0 = x; signed x / -1 = -x, x % -1 = 0.
    Value* is_zero = b_.CreateICmpEQ(s, zero);
    Value* bad = is_zero;
    Value* is_m1 = nullptr;
    if (is_signed) {
      is_m1 = b_.CreateICmpEQ(s, llvm::ConstantInt::getSigned(t, -1));
      bad = b_.CreateOr(is_zero, is_m1);
    }
    Value* safe = b_.CreateSelect(bad, one, s);
    Value* r = nullptr;
    switch (op) {
      case isa::AluOp::Div: r = b_.CreateUDiv(a, safe); break;
      case isa::AluOp::Mod: r = b_.CreateURem(a, safe); break;
      case isa::AluOp::SDiv: r = b_.CreateSDiv(a, safe); break;
      default: r = b_.CreateSRem(a, safe); break;
    }
    if (is_signed) r = b_.CreateSelect(is_m1, is_mod ? static_cast<Value*>(zero) : b_.CreateNeg(a), r);
    return b_.CreateSelect(is_zero, is_mod ? a : static_cast<Value*>(zero), r);
  }

  Result<bool> bin(std::size_t i, const isa::Bin& x) {
    const bool w64 = x.is64;
    llvm::Type* t = w64 ? i64_ : static_cast<llvm::Type*>(b_.getInt32Ty());
    const unsigned bits = w64 ? 64 : 32;
    auto sext_from = [&](unsigned from) {
      Value* s = operand(i, x.src, true);
      Value* n = b_.CreateSExt(b_.CreateTrunc(s, b_.getIntNTy(from)), t);
      return set(x.dst, n);
    };
    switch (x.op) {
      case isa::AluOp::Mov: return set(x.dst, operand(i, x.src, w64));
      case isa::AluOp::MovSx8: return sext_from(8);
      case isa::AluOp::MovSx16: return sext_from(16);
      case isa::AluOp::MovSx32: return sext_from(32);
      default: break;
    }
    Value* a = w64 ? get(i, x.dst) : b_.CreateTrunc(get(i, x.dst), t);
    Value* s = operand(i, x.src, w64);
    auto masked = [&] {
      if (auto* c = llvm::dyn_cast<llvm::ConstantInt>(s))
        return static_cast<Value*>(llvm::ConstantInt::get(t, c->getZExtValue() & (bits - 1)));
      return b_.CreateAnd(s, llvm::ConstantInt::get(t, bits - 1));
    };
    Value* r = nullptr;
    switch (x.op) {
      case isa::AluOp::Add: r = b_.CreateAdd(a, s); break;
      case isa::AluOp::Sub: r = b_.CreateSub(a, s); break;
      case isa::AluOp::Mul: r = b_.CreateMul(a, s); break;
      case isa::AluOp::Or: r = b_.CreateOr(a, s); break;
      case isa::AluOp::And: r = b_.CreateAnd(a, s); break;
      case isa::AluOp::Xor: r = b_.CreateXor(a, s); break;
      case isa::AluOp::Lsh: r = b_.CreateShl(a, masked()); break;
      case isa::AluOp::Rsh: r = b_.CreateLShr(a, masked()); break;
      case isa::AluOp::Arsh: r = b_.CreateAShr(a, masked()); break;
      case isa::AluOp::Div:
      case isa::AluOp::Mod:
      case isa::AluOp::SDiv:
      case isa::AluOp::SMod: r = div_like(x.op, a, s); break;
      default: return err(EOPNOTSUPP, "ALU op not lifted");
    }
    return set(x.dst, r);
  }

  Result<bool> un(std::size_t i, const isa::Un& x) {
    Value* v = get(i, x.dst);
    auto swap = [&](unsigned bits) {
      Value* n = b_.CreateTrunc(v, b_.getIntNTy(bits));
      return set(x.dst, b_.CreateUnaryIntrinsic(llvm::Intrinsic::bswap, n));
    };
    switch (x.op) {
      case isa::UnOp::Neg:
        return x.is64 ? set(x.dst, b_.CreateNeg(v)) : set(x.dst, b_.CreateNeg(b_.CreateTrunc(v, b_.getInt32Ty())));
      case isa::UnOp::Le16: return set(x.dst, b_.CreateTrunc(v, b_.getInt16Ty()));
      case isa::UnOp::Le32: return set(x.dst, b_.CreateTrunc(v, b_.getInt32Ty()));
      case isa::UnOp::Le64: return false;
      case isa::UnOp::Be16:
      case isa::UnOp::Swap16: return swap(16);
      case isa::UnOp::Be32:
      case isa::UnOp::Swap32: return swap(32);
      case isa::UnOp::Be64:
      case isa::UnOp::Swap64: return swap(64);
    }
    return err(EOPNOTSUPP, "unary op not lifted");
  }

  Result<bool> jmp(std::size_t i, const isa::Jmp& x) {
    Value* a = get(i, x.dst);
    if (x.is32) a = b_.CreateTrunc(a, b_.getInt32Ty());
    Value* s = operand(i, x.src, !x.is32);
    Value* c = nullptr;
    using P = llvm::CmpInst::Predicate;
    switch (x.cond) {
      case isa::Cond::Eq: c = b_.CreateICmp(P::ICMP_EQ, a, s); break;
      case isa::Cond::Ne: c = b_.CreateICmp(P::ICMP_NE, a, s); break;
      case isa::Cond::Gt: c = b_.CreateICmp(P::ICMP_UGT, a, s); break;
      case isa::Cond::Ge: c = b_.CreateICmp(P::ICMP_UGE, a, s); break;
      case isa::Cond::Lt: c = b_.CreateICmp(P::ICMP_ULT, a, s); break;
      case isa::Cond::Le: c = b_.CreateICmp(P::ICMP_ULE, a, s); break;
      case isa::Cond::SGt: c = b_.CreateICmp(P::ICMP_SGT, a, s); break;
      case isa::Cond::SGe: c = b_.CreateICmp(P::ICMP_SGE, a, s); break;
      case isa::Cond::SLt: c = b_.CreateICmp(P::ICMP_SLT, a, s); break;
      case isa::Cond::SLe: c = b_.CreateICmp(P::ICMP_SLE, a, s); break;
      case isa::Cond::Set: c = b_.CreateICmpNE(b_.CreateAnd(a, s), llvm::ConstantInt::get(a->getType(), 0)); break;
    }
    const auto& succ = d_.structure.succ[i];
    // succ: fall-through first, then the target unless it is the fall-through.
    const std::size_t fall = succ[0];
    const std::size_t target = succ[1] == isa::kNoInsn ? succ[0] : succ[1];
    if (fall == isa::kNoInsn) return err(EINVAL, "conditional jump at the end of its function");
    b_.CreateCondBr(c, block_at(target), block_at(fall));
    return true;
  }

  Result<bool> load(std::size_t i, const isa::Load& x) {
    bool is_ctx = false;
    Value* p = address(i, x.base, x.off, &is_ctx);
    const unsigned n = unsigned(x.size);
    auto* li = b_.CreateAlignedLoad(b_.getIntNTy(8 * n), p, llvm::Align(n));
    // ctx fields: exact offset and size, never merged, narrowed or repeated away.
    li->setVolatile(is_ctx);
    if (x.size == isa::Size::DW) return set(x.dst, li);
    if (is_ctx && !x.sign_extend) {
      // The kernel turns ctx fields like data and data_end into 64-bit
      // pointers: LLVM must not know their upper half is zero, or it
      // narrows pointer comparisons to 32 bits (which the verifier refuses).
      // llvm.bpf.passthrough is opaque to the optimiser and removed before
      // instruction selection (BPFCheckAndAdjustIR).
      llvm::Function* pass = llvm::Intrinsic::getDeclaration(&m_, llvm::Intrinsic::bpf_passthrough, {i64_, i64_});
      return set(x.dst, b_.CreateCall(pass, {b_.getInt32(passthrough_seq_++), b_.CreateZExt(li, i64_)}));
    }
    return set(x.dst, x.sign_extend ? b_.CreateSExt(li, i64_) : b_.CreateZExt(li, i64_));
  }

  Result<bool> store(std::size_t i, const isa::Store& x) {
    bool is_ctx = false;
    Value* p = address(i, x.base, x.off, &is_ctx);
    const unsigned n = unsigned(x.size);
    Value* v = operand(i, x.src, true);
    if (n < 8) v = b_.CreateTrunc(v, b_.getIntNTy(8 * n));
    auto* si = b_.CreateAlignedStore(v, p, llvm::Align(n));
    si->setVolatile(is_ctx);
    return false;
  }

  Result<bool> atomic(std::size_t i, const isa::Atomic& x) {
    bool is_ctx = false;
    Value* p = address(i, x.base, x.off, &is_ctx);
    const unsigned n = unsigned(x.size);
    llvm::Type* t = b_.getIntNTy(8 * n);
    Value* v = b_.CreateTrunc(get(i, x.src), t);
    const auto order = llvm::AtomicOrdering::SequentiallyConsistent;
    if (x.op == isa::AtomicOp::CmpXchg) {
      Value* cmp = b_.CreateTrunc(get(i, 0), t);
      auto* cx = b_.CreateAtomicCmpXchg(p, cmp, v, llvm::MaybeAlign(n), order, order);
      return set(0, b_.CreateExtractValue(cx, 0));
    }
    llvm::AtomicRMWInst::BinOp op = llvm::AtomicRMWInst::Add;
    switch (x.op) {
      case isa::AtomicOp::Add: op = llvm::AtomicRMWInst::Add; break;
      case isa::AtomicOp::Or: op = llvm::AtomicRMWInst::Or; break;
      case isa::AtomicOp::And: op = llvm::AtomicRMWInst::And; break;
      case isa::AtomicOp::Xor: op = llvm::AtomicRMWInst::Xor; break;
      case isa::AtomicOp::Xchg: op = llvm::AtomicRMWInst::Xchg; break;
      default: break;
    }
    Value* old = b_.CreateAtomicRMW(op, p, v, llvm::MaybeAlign(n), order);
    if (x.fetch || x.op == isa::AtomicOp::Xchg) return set(x.src, old);
    return false;
  }

  Result<bool> call_helper(std::size_t i, const isa::Call& x) {
    const unsigned nargs = translator::helper_nargs(policy_, x.helper);
    std::vector<llvm::Type*> types(nargs, i64_);
    auto* fty = llvm::FunctionType::get(i64_, types, false);
    std::vector<Value*> args;
    for (unsigned a = 1; a <= nargs; ++a) args.push_back(get(i, isa::Reg(a)));
    auto* callee = llvm::ConstantExpr::getIntToPtr(llvm::ConstantInt::get(i64_, x.helper), b_.getPtrTy());
    auto* call = b_.CreateCall(fty, callee, args);
    call->setDoesNotThrow();
    clobber_args();
    return set(0, call);
  }

  Result<bool> call_local(std::size_t i) {
    const std::size_t target = d_.structure.callee[i];
    std::size_t sub = 0;
    while (sub < d_.structure.subprograms.size() && d_.structure.subprograms[sub].first != target) ++sub;
    if (sub == d_.structure.subprograms.size()) return err(EINVAL, "call to no subprogram");
    llvm::Function* f = fn_of_sub_[sub];
    std::vector<Value*> args;
    for (unsigned a = 1; a <= 5; ++a) args.push_back(b_.CreateLoad(i64_, regs_[a]));
    // fp-based arguments: their value, materialised (the frame escaped).
    for (unsigned a = 1; a <= 5; ++a)
      if (is_fp(kind(i, isa::Reg(a)))) args[a - 1] = fp_value(kind(i, isa::Reg(a)));
    auto* call = b_.CreateCall(f, args);
    call->setDoesNotThrow();
    clobber_args();
    return set(0, call);
  }

  Value* pseudo(int kind, std::int32_t handle) {
    llvm::Function* f = llvm::Intrinsic::getDeclaration(&m_, llvm::Intrinsic::bpf_pseudo);
    return b_.CreateCall(f, {llvm::ConstantInt::get(i64_, kind), llvm::ConstantInt::get(i64_, std::uint32_t(handle))});
  }

  // true when the insn ended its block (a branch or return was emitted).
  Result<bool> lift_one(std::size_t i) {
    const isa::Insn& insn = d_.tr.insns[i];
    if (auto* x = std::get_if<isa::Bin>(&insn)) return bin(i, *x);
    if (auto* x = std::get_if<isa::Un>(&insn)) return un(i, *x);
    if (auto* x = std::get_if<isa::Jmp>(&insn)) return jmp(i, *x);
    if (std::holds_alternative<isa::Ja>(insn)) {
      const auto& succ = d_.structure.succ[i];
      b_.CreateBr(block_at(succ[0] != isa::kNoInsn ? succ[0] : succ[1]));
      return true;
    }
    if (auto* x = std::get_if<isa::Load>(&insn)) return load(i, *x);
    if (auto* x = std::get_if<isa::Store>(&insn)) return store(i, *x);
    if (auto* x = std::get_if<isa::Atomic>(&insn)) return atomic(i, *x);
    if (auto* x = std::get_if<isa::Call>(&insn)) return call_helper(i, *x);
    if (std::holds_alternative<isa::CallLocal>(insn)) return call_local(i);
    if (std::holds_alternative<isa::Exit>(insn)) {
      b_.CreateRet(b_.CreateLoad(i64_, regs_[0]));
      return true;
    }
    if (auto* x = std::get_if<isa::LoadImm64>(&insn)) return set(x->dst, llvm::ConstantInt::get(i64_, x->imm));
    if (auto* x = std::get_if<isa::LoadMapFd>(&insn)) return set(x->dst, pseudo(kPseudoMapFd, x->fd));
    if (auto* x = std::get_if<isa::LoadMapValue>(&insn)) {
      Value* v = pseudo(kPseudoMapValue, x->fd);
      if (x->off) v = b_.CreateAdd(v, llvm::ConstantInt::get(i64_, x->off));
      return set(x->dst, v);
    }
    if (std::holds_alternative<isa::MayGoto>(insn)) return err(EOPNOTSUPP, "may_goto is not lifted");
    if (std::holds_alternative<isa::CallKfunc>(insn)) return err(EOPNOTSUPP, "kfunc calls are not lifted");
    if (std::holds_alternative<isa::LoadFunc>(insn))
      return err(EOPNOTSUPP, "callbacks (ld_imm64 func) are not lifted");
    if (std::holds_alternative<isa::LegacyLoad>(insn)) return err(EOPNOTSUPP, "legacy packet loads are not lifted");
    return err(EOPNOTSUPP, "this ld_imm64 form is not lifted");
  }

  const DirectProgram& d_;
  const Policy& policy_;
  llvm::Module& m_;
  llvm::LLVMContext& ctx_;
  llvm::IRBuilder<> b_;
  std::vector<llvm::Function*>& fn_of_sub_;
  std::size_t sub_;
  const isa::Subprogram& sp_;
  const Frame& frame_;
  llvm::Function* fn_ = nullptr;
  llvm::Type* i64_ = nullptr;
  std::array<llvm::AllocaInst*, 10> regs_{};
  llvm::AllocaInst* frame_alloca_ = nullptr;
  std::map<std::int32_t, llvm::AllocaInst*> slots_;
  std::map<std::size_t, llvm::BasicBlock*> blocks_;
  unsigned passthrough_seq_ = 0;
};

}  // namespace

Result<std::unique_ptr<llvm::Module>> lift(llvm::LLVMContext& ctx, const DirectProgram& d, const Policy& policy,
                                           const std::string& name) {
  auto m = std::make_unique<llvm::Module>(name, ctx);
  m->addModuleFlag(llvm::Module::Warning, "Debug Info Version", llvm::DEBUG_METADATA_VERSION);
  m->addModuleFlag(llvm::Module::Warning, "Dwarf Version", 4);
  llvm::DIBuilder dib(*m);
  // The file is a name only: line numbers are direct-tier slots + 1, mapped
  // back to the guest's own line_info after emission (emit.cpp, reemit.cpp).
  llvm::DIFile* file = dib.createFile("xoffload-ir", "/nonexistent");
  dib.createCompileUnit(llvm::dwarf::DW_LANG_C11, file, "xoffload IR tier", true, "", 0);
  auto* sty = dib.createSubroutineType(dib.getOrCreateTypeArray({nullptr}));

  auto* i64 = llvm::Type::getInt64Ty(ctx);
  std::vector<llvm::Function*> fns;
  for (std::size_t s = 0; s < d.structure.subprograms.size(); ++s) {
    const bool main = s == 0;
    auto* fty = llvm::FunctionType::get(i64, std::vector<llvm::Type*>(main ? 1 : 5, i64), false);
    const std::string fname = main ? "xo_main" : "xo_sub_" + std::to_string(d.structure.layout[d.structure.subprograms[s].first]);
    auto* f = llvm::Function::Create(fty, main ? llvm::GlobalValue::ExternalLinkage : llvm::GlobalValue::InternalLinkage,
                                     fname, *m);
    f->addFnAttr(llvm::Attribute::NoUnwind);
    f->addFnAttr("no-jump-tables", "true");
    // One program out: every subprogram is inlined (the kernel would
    // otherwise need func_info per emitted function; see DECISIONS.md).
    if (!main) f->addFnAttr(llvm::Attribute::AlwaysInline);
    auto* sp = dib.createFunction(file, fname, fname, file, 1, sty, 1, llvm::DINode::FlagPrototyped,
                                  llvm::DISubprogram::SPFlagDefinition | llvm::DISubprogram::SPFlagOptimized |
                                      (main ? llvm::DISubprogram::SPFlagZero : llvm::DISubprogram::SPFlagLocalToUnit));
    f->setSubprogram(sp);
    fns.push_back(f);
  }
  for (std::size_t s = 0; s < fns.size(); ++s) {
    FunctionLifter fl(d, policy, *m, fns, s);
    if (auto u = fl.run())
      return Error{"insn " + std::to_string(d.structure.layout[u->index]) + " of the direct program: " + u->what,
                   std::nullopt, EOPNOTSUPP};
    dib.finalizeSubprogram(fns[s]->getSubprogram());
  }
  dib.finalize();
  std::string msg;
  llvm::raw_string_ostream os(msg);
  if (llvm::verifyModule(*m, &os)) return Error{"lifted IR does not verify: " + os.str(), std::nullopt, EINVAL};
  return m;
}

}  // namespace xo::ir
