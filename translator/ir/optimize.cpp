// optimize(): LLVM's standard -O2 pipeline, built by a PassBuilder that knows
// the BPF TargetMachine, so the BPF target's own IR passes run in it too
// (BPFIRPeephole, BPFAdjustOpt against verifier-hostile rewrites of range
// checks, BPFPreserveStaticOffset...), for the host's CPU version.
//
//   before: %r2 = load i64, ptr %r2.addr ...   (registers in allocas, as lifted)
//   after:  %x = phi i64 ...; stores of the spill slots gone, checks folded
#include "llvm/Analysis/CGSCCPassManager.h"
#include "llvm/Analysis/LoopAnalysisManager.h"
#include "llvm/IR/Module.h"
#include "llvm/IR/PassManager.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Target/TargetMachine.h"
#include "translator/ir/tier_internal.hpp"

namespace xo::ir {

Status optimize(llvm::Module& module, llvm::TargetMachine& tm) {
  llvm::LoopAnalysisManager lam;
  llvm::FunctionAnalysisManager fam;
  llvm::CGSCCAnalysisManager cgam;
  llvm::ModuleAnalysisManager mam;
  llvm::PassBuilder pb(&tm);  // registers the BPF target's pass callbacks
  pb.registerModuleAnalyses(mam);
  pb.registerCGSCCAnalyses(cgam);
  pb.registerFunctionAnalyses(fam);
  pb.registerLoopAnalyses(lam);
  pb.crossRegisterProxies(lam, fam, cgam, mam);
  llvm::ModulePassManager mpm = pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O2);
  mpm.run(module, mam);
  return Ok{};
}

}  // namespace xo::ir
