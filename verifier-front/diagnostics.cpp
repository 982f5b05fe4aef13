// One-line diagnostics: "prog 'NAME': insn PC (FILE:LINE): REASON", through
// core's Diagnoser (the same formatter the translator and host use).
#include "core/diagnostics.hpp"
#include "verifier-front/checks.hpp"

namespace xo::verifier {
namespace {

// Before check_cfg has laid the program out, there is nothing to name by index.
std::size_t slot_of_index(const Context& cx, std::size_t index) {
  return index < cx.cfg.layout.size() ? cx.cfg.layout[index] : index;
}

}  // namespace

Error reject_at_slot(const Context& cx, std::size_t slot, const std::string& reason, int code) {
  return cx.diag.at(slot, reason, code);
}

Error reject_insn(const Context& cx, std::size_t index, const std::string& reason, int code) {
  return reject_at_slot(cx, slot_of_index(cx, index), reason, code);
}

Error reject_program(const Context& cx, const std::string& reason, int code) {
  return cx.diag.whole(reason, code);
}

Finding note_insn(const Context& cx, std::size_t index, const std::string& message) {
  const std::size_t slot = slot_of_index(cx, index);
  return Finding{slot, cx.diag.where(slot) + ": " + message};
}

}  // namespace xo::verifier
