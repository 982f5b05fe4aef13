// Internal to xo_llvm: the BPF target's immutable MC objects, created once.
// Includes LLVM headers, so it must never be included from mc.hpp.
#pragma once

#include <memory>
#include <string>

#include "llvm/MC/MCAsmInfo.h"
#include "llvm/MC/MCInstrInfo.h"
#include "llvm/MC/MCRegisterInfo.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/MCTargetOptions.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/TargetParser/Triple.h"

namespace xo::mc::detail {

inline constexpr const char* kTriple = "bpfel";
inline constexpr const char* kCpu = "v4";

// Read-only after construction, so one instance is shared by all threads;
// subtargets, MCContext, streamers, parsers and disassemblers are created per
// use (per call for the assembler, per thread and CPU for the disassembler).
struct BpfTarget {
  const llvm::Target* target = nullptr;
  llvm::Triple triple;
  llvm::MCTargetOptions options;
  std::unique_ptr<llvm::MCRegisterInfo> reg_info;
  std::unique_ptr<llvm::MCAsmInfo> asm_info;
  std::unique_ptr<llvm::MCInstrInfo> instr_info;
};

// Initialises only the BPF target (once) and returns the shared objects.
// Throws nothing; returns nullptr with *error set if LLVM lacks BPF.
const BpfTarget* bpf_target(std::string* error);

}  // namespace xo::mc::detail
