// One-time initialisation of LLVM's BPF target. Only the four BPF pieces are
// registered (not InitializeAllTargets), so the registry holds nothing else.
#include "translator/llvm/target.hpp"

#include <mutex>

extern "C" {
void LLVMInitializeBPFTargetInfo();
void LLVMInitializeBPFTargetMC();
void LLVMInitializeBPFAsmParser();
void LLVMInitializeBPFDisassembler();
}

namespace xo::mc::detail {

namespace {

BpfTarget* create(std::string& error) {
  LLVMInitializeBPFTargetInfo();
  LLVMInitializeBPFTargetMC();
  LLVMInitializeBPFAsmParser();
  LLVMInitializeBPFDisassembler();

  auto t = std::make_unique<BpfTarget>();
  t->triple = llvm::Triple(kTriple);
  t->target = llvm::TargetRegistry::lookupTarget(kTriple, error);
  if (!t->target) return nullptr;
  t->reg_info.reset(t->target->createMCRegInfo(kTriple));
  if (t->reg_info)
    t->asm_info.reset(t->target->createMCAsmInfo(*t->reg_info, kTriple, t->options));
  t->instr_info.reset(t->target->createMCInstrInfo());
  if (!t->reg_info || !t->asm_info || !t->instr_info) {
    error = "LLVM BPF target is incomplete (no MC register/asm/instr info)";
    return nullptr;
  }
  return t.release();  // lives for the process: other threads may hold it
}

}  // namespace

const BpfTarget* bpf_target(std::string* error) {
  static std::once_flag once;
  static BpfTarget* target = nullptr;
  static std::string init_error;
  std::call_once(once, [] { target = create(init_error); });
  if (!target && error) *error = init_error;
  return target;
}

}  // namespace xo::mc::detail
