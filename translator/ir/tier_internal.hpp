// Internal to xo_ir: the steps ir.hpp lists, with LLVM types. Never included
// outside translator/ir.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/policy.hpp"
#include "core/result.hpp"
#include "core/submission.hpp"
#include "translator/ir/frame.hpp"
#include "translator/isa/program.hpp"
#include "translator/passes/passes.hpp"

namespace llvm {
class LLVMContext;
class Module;
class TargetMachine;
}  // namespace llvm

namespace xo::ir {

// What the direct program may do, and so all the IR tier's program may do.
struct Capabilities {
  std::set<std::int32_t> helpers;                      // helper ids it calls
  std::set<std::pair<int, std::int32_t>> map_refs;     // (BPF_PSEUDO_MAP_FD/VALUE, guest handle)
};
Capabilities capabilities_of(const std::vector<isa::Insn>& insns);

// The direct program decoded, with its CFG and frames.
struct DirectProgram {
  const translator::Translated& tr;
  const isa::Structure& structure;
  const FrameAnalysis& frames;
};

// lift.cpp
Result<std::unique_ptr<llvm::Module>> lift(llvm::LLVMContext& ctx, const DirectProgram& direct,
                                           const Policy& policy, const std::string& name);
// check_calls.cpp
Status check_calls(const llvm::Module& module, const Capabilities& allowed);
// target.cpp
Result<std::unique_ptr<llvm::TargetMachine>> bpf_target_machine(const std::string& cpu);
// optimize.cpp
Status optimize(llvm::Module& module, llvm::TargetMachine& tm);

// emit.cpp: the object's code, and per emitted insn the DILocation line
// (direct slot + 1) that covers it (0: none).
struct Emitted {
  std::vector<isa::RawInsn> text;
  struct Line {
    std::size_t slot;   // emitted slot
    std::uint32_t line;  // DILocation line
  };
  std::vector<Line> lines;  // .BTF.ext line_info, in slot order
};
Result<Emitted> emit_object(llvm::Module& module, llvm::TargetMachine& tm);

// guard.cpp: the emitted program decodes, has one valid CFG and needs no
// capability beyond `allowed`.
Result<std::vector<isa::Insn>> guard(const std::vector<isa::RawInsn>& text, const Capabilities& allowed);

}  // namespace xo::ir
