// Unmarshal (raw slots -> Insn) and marshal (Insn -> raw slots).
// decode() never throws or aborts: structural errors come back as values
// carrying the slot pc (truncated ld_imm64, reserved fields set, unknown
// opcode, bad register).
#pragma once

#include <span>
#include <vector>

#include "translator/isa/insn.hpp"
#include "translator/isa/raw.hpp"
#include "core/result.hpp"

namespace xo::isa {

Result<Insn> decode_one(std::span<const RawInsn> slots, std::size_t pc);
Result<std::vector<Insn>> decode(std::span<const RawInsn> slots);

// Appends slot_width(insn) slots.
void encode_one(const Insn& insn, std::vector<RawInsn>& out);
std::vector<RawInsn> encode(std::span<const Insn> insns);

}  // namespace xo::isa
