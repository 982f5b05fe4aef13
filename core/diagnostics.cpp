#include "core/diagnostics.hpp"

#include <linux/bpf.h>

#include <string_view>

namespace xo {
namespace {

constexpr std::size_t kMaxNameInMessage = 64;

std::string program_label(const Submission& sub) {
  std::string name;
  for (char c : std::string_view(sub.name).substr(0, kMaxNameInMessage))
    name += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f || c == '\'') ? '?' : c;
  if (name.empty()) name = "<unnamed>";
  return "prog '" + name + "'";
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

Diagnoser::Diagnoser(const Submission& submission)
    : sub_(submission), strings_(submission.btf), label_(program_label(submission)) {}

std::string Diagnoser::where(std::size_t pc) const {
  std::string w = label_ + ": insn " + std::to_string(pc);
  if (auto line = source_line(sub_, strings_, pc)) w += " (" + format_location(*line) + ")";
  return w;
}

Error Diagnoser::at(std::size_t pc, const std::string& reason, int code) const {
  return err_at(pc, code, where(pc) + ": " + reason);
}

Error Diagnoser::whole(const std::string& reason, int code) const {
  return err(code, label_ + ": " + reason);
}

std::string kernel_helper_name(std::int32_t id) {
  constexpr auto count = sizeof(kHelperNames) / sizeof(kHelperNames[0]) - 1;
  if (id > 0 && static_cast<std::size_t>(id) < count) return kHelperNames[id];
  return {};
}

}  // namespace xo
