// One-line diagnostics: "prog 'NAME': insn PC (FILE:LINE): REASON".
// Guest-supplied names are made printable and bounded before they are quoted.
#include <linux/bpf.h>

#include <string_view>

#include "verifier-front/checks.hpp"
#include "verifier-front/source_map.hpp"

namespace xo::verifier {
namespace {

constexpr std::size_t kMaxNameInMessage = 64;

std::string program_label(const Submission& sub) {
  std::string name;
  for (char c : std::string_view(sub.name).substr(0, kMaxNameInMessage))
    name += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '\'') ? '?' : c;
  if (name.empty()) name = "<unnamed>";
  return "prog '" + name + "'";
}

std::string at_slot(const Context& cx, std::size_t slot) {
  std::string where = program_label(cx.sub) + ": insn " + std::to_string(slot);
  if (auto line = source_line(cx.sub, slot)) where += " (" + format_location(*line) + ")";
  return where;
}

std::size_t slot_of_index(const Context& cx, std::size_t index) {
  return index < cx.slot_of.size() ? cx.slot_of[index] : index;
}

// enum bpf_func_id names, generated from the uapi header's own mapper so that
// diagnostics name denied helpers too ("bpf_fib_lookup (69)"). Old and new
// headers both expand __BPF_FUNC_MAPPER(FN) to "FN(name)," in id order.
#define XO_HELPER_NAME(name) "bpf_" #name
constexpr const char* kHelperNames[] = {
#if defined(__BPF_FUNC_MAPPER)
    __BPF_FUNC_MAPPER(XO_HELPER_NAME)
#endif
    nullptr};
#undef XO_HELPER_NAME

}  // namespace

std::string kernel_helper_name(std::int32_t id) {
  constexpr auto count = sizeof(kHelperNames) / sizeof(kHelperNames[0]) - 1;
  if (id > 0 && static_cast<std::size_t>(id) < count) return kHelperNames[id];
  return {};
}

Error reject_at_slot(const Context& cx, std::size_t slot, const std::string& reason) {
  return err_at(slot, at_slot(cx, slot) + ": " + reason);
}

Error reject_insn(const Context& cx, std::size_t index, const std::string& reason) {
  return reject_at_slot(cx, slot_of_index(cx, index), reason);
}

Error reject_program(const Context& cx, const std::string& reason) {
  return err(program_label(cx.sub) + ": " + reason);
}

Finding note_insn(const Context& cx, std::size_t index, const std::string& message) {
  const std::size_t slot = slot_of_index(cx, index);
  return Finding{slot, at_slot(cx, slot) + ": " + message};
}

}  // namespace xo::verifier
