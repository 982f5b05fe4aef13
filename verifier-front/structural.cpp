// Structural pass: size limits, then decode every slot exactly once.
//
// The decoder (translator/isa/codec.cpp) already rejects what the kernel
// rejects as malformed: unknown opcodes, reserved fields, registers above r10,
// ld_imm64 without a valid second slot or with an unknown pseudo source.
//
//   before: 18 00 00 00 2a 00 00 00   (ld_imm64 with no second slot)
//   after:  prog 'p': insn 0: ld_imm64 at insn 0 is truncated (second slot missing)
#include "translator/isa/codec.hpp"
#include "verifier-front/checks.hpp"

namespace xo::verifier {

Status check_structure(Context& cx) {
  const auto& raw = cx.sub.insns;
  if (raw.empty()) return reject_program(cx, "program has no instructions");
  if (raw.size() > kMaxSlots)
    return reject_program(cx, "program has " + std::to_string(raw.size()) +
                                  " instructions; the kernel limit is " +
                                  std::to_string(kMaxSlots));

  auto decoded = isa::decode(raw);
  if (!decoded) {
    const Error& e = decoded.error();
    return e.pc ? reject_at_slot(cx, *e.pc, e.message) : reject_program(cx, e.message);
  }
  cx.insns = std::move(decoded).value();
  return Ok{};
}

}  // namespace xo::verifier
