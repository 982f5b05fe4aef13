// How deep the main program reaches into its stack frame, found the way the
// kernel's verifier finds it (the lowest fp-relative byte any access or
// helper argument starts at), so that a lowering may keep an 8-byte value
// of its own below it without touching the guest's stack.
//
// A forward pass over the main program's CFG tracks, per register, the
// frame-pointer offsets it may hold (r10 itself, copies, +/- constants).
// Where a stack pointer escapes what the pass can follow (spilled to the
// stack, passed to a bpf-to-bpf call, combined with a register, truncated
// to 32 bits), the depth is unknown: nullopt.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "translator/isa/cfg.hpp"
#include "translator/isa/insn.hpp"

namespace xo::translator {

// Bytes below r10 the main program (subprograms[0]) uses: 0..512; nullopt
// when unknown.
std::optional<std::uint32_t> main_stack_depth(const std::vector<isa::Insn>& insns, const isa::Structure& structure);

}  // namespace xo::translator
