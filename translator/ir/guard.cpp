// guard(): the last word before the kernel's. The emitted bytecode is decoded
// with the one decoder, must form one valid CFG, and may use only the
// capabilities of the direct program (check_calls() proved it of the IR;
// this proves it of what the backend actually wrote):
//
//   call 1                 ok when the direct program calls helper 1
//   r1 = map[handle 2]     ok when the direct program loads map handle 2 the same way
//   call pc+5              refused: the tier emits one function
//   r0 = *(u8 *)skb[0]     refused: legacy packet access is never emitted
#include <string>
#include <variant>

#include "translator/isa/cfg.hpp"
#include "translator/isa/codec.hpp"
#include "translator/ir/tier_internal.hpp"

namespace xo::ir {

Capabilities capabilities_of(const std::vector<isa::Insn>& insns) {
  Capabilities c;
  for (const isa::Insn& insn : insns) {
    if (auto* call = std::get_if<isa::Call>(&insn)) c.helpers.insert(call->helper);
    if (auto* m = std::get_if<isa::LoadMapFd>(&insn)) c.map_refs.insert({1, m->fd});
    if (auto* v = std::get_if<isa::LoadMapValue>(&insn)) c.map_refs.insert({2, v->fd});
  }
  return c;
}

Result<std::vector<isa::Insn>> guard(const std::vector<isa::RawInsn>& text, const Capabilities& allowed) {
  auto insns = isa::decode(text);
  if (!insns) return err(EINVAL, "emitted code does not decode: " + insns.error().describe());
  auto structure = isa::analyze(*insns);
  if (!structure) return err(EINVAL, "emitted code has no valid CFG: " + structure.error().describe());
  const auto& layout = structure->layout;
  for (std::size_t i = 0; i < insns->size(); ++i) {
    const isa::Insn& insn = (*insns)[i];
    const std::string at = "emitted insn " + std::to_string(layout[i]) + ": ";
    if (auto* call = std::get_if<isa::Call>(&insn)) {
      if (!allowed.helpers.count(call->helper))
        return err(EPERM, at + "helper " + std::to_string(call->helper) + " the direct program does not call");
    } else if (auto* m = std::get_if<isa::LoadMapFd>(&insn)) {
      if (!allowed.map_refs.count({1, m->fd}))
        return err(EPERM, at + "map handle " + std::to_string(m->fd) + " the direct program does not load");
    } else if (auto* v = std::get_if<isa::LoadMapValue>(&insn)) {
      if (!allowed.map_refs.count({2, v->fd}))
        return err(EPERM, at + "map value of handle " + std::to_string(v->fd) + " the direct program does not load");
    } else if (std::holds_alternative<isa::CallLocal>(insn) || std::holds_alternative<isa::CallKfunc>(insn) ||
               std::holds_alternative<isa::LoadFunc>(insn) || std::holds_alternative<isa::LoadBtfId>(insn) ||
               std::holds_alternative<isa::LoadMapIdx>(insn) || std::holds_alternative<isa::LoadMapIdxValue>(insn) ||
               std::holds_alternative<isa::LegacyLoad>(insn) || std::holds_alternative<isa::MayGoto>(insn)) {
      return err(EPERM, at + "an instruction kind the IR tier never emits");
    }
  }
  return std::move(insns).value();
}

}  // namespace xo::ir
