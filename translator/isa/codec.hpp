// Unmarshal (raw slots -> Insn) and marshal (Insn -> raw slots).
// decode() never throws or aborts: structural errors come back as values
// carrying the slot pc (truncated ld_imm64, reserved fields set, unknown
// opcode, bad register).
#pragma once

#include <functional>
#include <span>
#include <vector>

#include "translator/isa/insn.hpp"
#include "translator/isa/raw.hpp"
#include "core/result.hpp"

namespace xo::isa {

Result<Insn> decode_one(std::span<const RawInsn> slots, std::size_t pc);
Result<std::vector<Insn>> decode(std::span<const RawInsn> slots);

// Raw programs that need not decode as a whole (a guest's before the host
// judges it, a test's, the kernel's translated code): each instruction that
// decodes, with the slot it starts at, in order; a slot that does not decode
// is stepped over alone. For code that finds instructions (map references,
// calls) without judging the program, which is decode()'s job.
void for_each_insn(std::span<const RawInsn> slots,
                   const std::function<void(std::size_t slot, const Insn& insn)>& f);

// The map references (map_of()) that for_each_insn() finds, rebound in place:
// each map becomes rebind(slot, map), e.g. a guest handle becomes a host fd.
// An Error from rebind stops the walk and is returned; slots already rebound
// stay so.
Status rebind_map_refs(std::span<RawInsn> slots,
                       const std::function<Result<std::int32_t>(std::size_t slot, std::int32_t map)>& rebind);

// Appends slot_width(insn) slots.
void encode_one(const Insn& insn, std::vector<RawInsn>& out);
std::vector<RawInsn> encode(std::span<const Insn> insns);

}  // namespace xo::isa
