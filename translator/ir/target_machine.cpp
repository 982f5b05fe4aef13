// The BPF TargetMachine for one CPU version. The BPF target registers once
// per process (xo_llvm's MC oracle registers the same four pieces and the
// registry ignores a second registration).
#include <mutex>

#include "llvm/MC/TargetRegistry.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Target/TargetOptions.h"
#include "translator/ir/tier_internal.hpp"

extern "C" {
void LLVMInitializeBPFTargetInfo();
void LLVMInitializeBPFTarget();
void LLVMInitializeBPFTargetMC();
void LLVMInitializeBPFAsmPrinter();
}

namespace xo::ir {

Result<std::unique_ptr<llvm::TargetMachine>> bpf_target_machine(const std::string& cpu) {
  static std::once_flag once;
  std::call_once(once, [] {
    LLVMInitializeBPFTargetInfo();
    LLVMInitializeBPFTarget();
    LLVMInitializeBPFTargetMC();
    LLVMInitializeBPFAsmPrinter();
  });
  if (cpu != "v1" && cpu != "v2" && cpu != "v3" && cpu != "v4")
    return err(EINVAL, "unknown BPF CPU '" + cpu + "' (v1..v4)");
  std::string error;
  const llvm::Target* target = llvm::TargetRegistry::lookupTarget("bpfel", error);
  if (!target) return err(EOPNOTSUPP, "LLVM has no BPF target: " + error);
  llvm::TargetOptions options;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      "bpfel", cpu, "", options, llvm::Reloc::Static, std::nullopt, llvm::CodeGenOptLevel::Default));
  if (!tm) return err(EOPNOTSUPP, "LLVM could not create a BPF target machine for " + cpu);
  return tm;
}

}  // namespace xo::ir
