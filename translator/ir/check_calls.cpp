// check_calls(): the helper allowlist over the IR's calls. The policy's rules
// are applied once, by the direct tier (translator/passes/helper_allowlist.cpp,
// map_refs.cpp); the IR tier may only use what that program uses. This pass
// proves it of the IR, after lifting and again after -O2, so neither a
// lifter bug nor an optimisation can add a call or a map the policy did not
// see:
//
//   %r = call i64 inttoptr (i64 1 to ptr)(...)     ok: the direct program calls 1
//   %r = call i64 inttoptr (i64 6 to ptr)(...)     refused: helper 6 (trace_printk) was never approved
//   %m = call i64 @llvm.bpf.pseudo(i64 1, i64 3)    refused unless the direct program names map handle 3
//   call void asm "call 6", ""()                   refused: inline asm
#include <string>

#include "llvm/IR/Constants.h"
#include "llvm/IR/Function.h"
#include "llvm/IR/InstIterator.h"
#include "llvm/IR/Instructions.h"
#include "llvm/IR/IntrinsicInst.h"
#include "llvm/IR/IntrinsicsBPF.h"
#include "llvm/IR/Module.h"
#include "translator/ir/tier_internal.hpp"

namespace xo::ir {
namespace {

Status check_call(const llvm::CallBase& call, const Capabilities& allowed) {
  if (call.isInlineAsm()) return err(EPERM, "inline assembly in the IR");
  const llvm::Value* callee = call.getCalledOperand()->stripPointerCasts();
  if (const auto* f = llvm::dyn_cast<llvm::Function>(callee)) {
    if (f->isIntrinsic()) {
      switch (f->getIntrinsicID()) {
        case llvm::Intrinsic::bpf_pseudo: {
          const auto* kind = llvm::dyn_cast<llvm::ConstantInt>(call.getArgOperand(0));
          const auto* handle = llvm::dyn_cast<llvm::ConstantInt>(call.getArgOperand(1));
          if (!kind || !handle) return err(EPERM, "llvm.bpf.pseudo with a non-constant operand");
          const auto ref = std::make_pair(int(kind->getZExtValue()), std::int32_t(handle->getZExtValue()));
          if (!allowed.map_refs.count(ref))
            return err(EPERM, "map reference (kind " + std::to_string(ref.first) + ", handle " +
                                  std::to_string(ref.second) + ") the direct program does not make");
          return Ok{};
        }
        // The BPF backend's own markers (BPFAdjustOpt, preserve_static_offset).
        case llvm::Intrinsic::bpf_passthrough:
        case llvm::Intrinsic::bpf_compare:
        case llvm::Intrinsic::bpf_getelementptr_and_load:
        case llvm::Intrinsic::bpf_getelementptr_and_store:
          return Ok{};
        default:
          break;
      }
      // Target-independent intrinsics (bswap, lifetime, memcpy, ...) lower
      // to instructions or to a call the emitted-code guard refuses; the
      // other BPF intrinsics (ld_abs, btf ids, CO-RE) name things no guest
      // was approved for.
      if (f->getName().starts_with("llvm.bpf."))
        return err(EPERM, "intrinsic " + f->getName().str() + " in the IR");
      return Ok{};
    }
    if (f->isDeclaration()) return err(EPERM, "call of external function " + f->getName().str());
    return Ok{};  // a subprogram of this module
  }
  if (const auto* ce = llvm::dyn_cast<llvm::ConstantExpr>(call.getCalledOperand()))
    if (ce->getOpcode() == llvm::Instruction::IntToPtr)
      if (const auto* id = llvm::dyn_cast<llvm::ConstantInt>(ce->getOperand(0))) {
        const std::int64_t h = id->getSExtValue();
        if (h > 0 && h < INT32_MAX && allowed.helpers.count(std::int32_t(h))) return Ok{};
        return err(EPERM, "helper " + std::to_string(h) + " the direct program does not call");
      }
  return err(EPERM, "indirect call in the IR");
}

}  // namespace

Status check_calls(const llvm::Module& module, const Capabilities& allowed) {
  for (const llvm::Function& f : module)
    for (const llvm::Instruction& inst : llvm::instructions(f))
      if (const auto* call = llvm::dyn_cast<llvm::CallBase>(&inst))
        if (auto s = check_call(*call, allowed); !s) return s;
  return Ok{};
}

}  // namespace xo::ir
