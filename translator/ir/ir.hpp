// The LLVM IR tier, table of contents. Host side only: the core a VMM embeds
// (core, transport, translator/isa, translator/passes, verifier-front,
// host/core, host/session) never links it; doors hand reemitter() to the
// pipeline as a translator::Reemit (translator/passes/tier.hpp).
//
// Input: the direct tier's program (translate(), map refs still guest
// handles, flavor already lowered). reemit() runs, in this order:
//
//   1. frame         per function: which registers hold fp+c or ctx at each
//                    insn, which 8-byte stack slots never escape (promoted
//                    to their own alloca, so spills become SSA values)
//   2. lift          bytecode -> LLVM IR: registers as allocas (mem2reg),
//                    the stack as an alloca, helpers as calls of their id
//                    with their argument count, map refs as
//                    llvm.bpf.pseudo(MAP_FD/MAP_VALUE, guest handle),
//                    bpf-to-bpf calls as internal functions, every insn's
//                    DILocation line = its direct-tier slot + 1
//   3. check_calls   the allowlist over the IR's calls: only helpers and
//                    (kind, handle) map refs the direct program has; run
//                    after lifting and again after optimising
//   4. optimize      LLVM's -O2 pipeline for the BPF target at the host's
//                    CPU version (the BPF backend's own IR passes included)
//   5. emit          the BPF backend -> ELF in memory -> .text and .BTF.ext
//                    line info; line info and the index map go back to the
//                    guest through the direct tier's
//   6. guard         the emitted bytecode, decoded: a valid CFG, and no
//                    helper, map ref or call kind the direct program lacks
//
// The policy's rules are the direct tier's (one implementation of each);
// the IR tier can only drop capabilities, and checks 3 and 6 prove it.
#pragma once

#include <string>

#include "core/policy.hpp"
#include "core/result.hpp"
#include "core/submission.hpp"
#include "translator/passes/passes.hpp"
#include "translator/passes/tier.hpp"

namespace xo::ir {

struct IrOptions {
  // BPF CPU version LLVM emits for: "v2", "v3" or "v4" (host/core/isa_probe.hpp
  // says what the host kernel takes).
  std::string cpu = "v3";
  // Keep the optimised IR's text (IrResult::ir_text), for dump.
  bool keep_ir_text = false;
};

struct IrResult {
  translator::Translated program;
  std::string ir_text;  // with keep_ir_text
};

// The whole tier. Errors (Stage::Translate, EOPNOTSUPP for what it does not
// lift, EINVAL otherwise) are the IR tier's only: the direct program stands.
Result<IrResult> reemit(const Submission& submission, const translator::Translated& direct,
                        const Policy& policy, const IrOptions& options);

// reemit() as the pipeline's injected tier.
translator::Reemit reemitter(IrOptions options);

}  // namespace xo::ir
