#include "host/core/verifier_log.hpp"

#include <algorithm>
#include <charconv>
#include <vector>

#include "host/core/kernel_log.hpp"

namespace xo::host {

std::optional<std::size_t> GuestLocator::guest_slot(std::size_t host_slot) const {
  if (!map_) return host_slot;  // untranslated program: numbers are the guest's own
  if (host_slot >= map_->new_to_old.size()) return std::nullopt;
  return map_->new_to_old[host_slot];
}

std::optional<std::string> GuestLocator::source_of(std::size_t guest_slot) const {
  auto line = source_line(guest_, strings_, guest_slot);
  if (!line || line->file.empty()) return std::nullopt;
  return format_location(*line);
}

std::string GuestLocator::describe(std::size_t host_slot) const {
  auto g = guest_slot(host_slot);
  if (!g) return std::string(kHostInsertedNote) + " at host insn " + std::to_string(host_slot) + " (no guest insn)";
  std::string out = "guest insn " + std::to_string(*g);
  if (auto src = source_of(*g)) out += " (" + *src + ")";
  return out;
}

namespace {

// "17: (71) r3 = ..." -> 17. Only instruction dumps have "(xx)" after "N: ".
std::optional<std::size_t> insn_number(std::string_view line) {
  std::size_t n = 0;
  auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), n);
  if (ec != std::errc{} || p == line.data()) return std::nullopt;
  std::string_view rest(p, line.data() + line.size() - p);
  if (rest.size() < 4 || rest.substr(0, 3) != ": (") return std::nullopt;
  return n;
}

// Lines the verifier prints after the verdict; the reason is above them.
bool is_trailer(std::string_view line) {
  for (std::string_view t : {"processed ", "verification time", "stack depth", "Func#"})
    if (line.substr(0, t.size()) == t) return true;
  return false;
}

}  // namespace

MappedLog map_verifier_log(std::string_view kernel_log, const GuestLocator& where) {
  MappedLog out;
  std::vector<std::string_view> lines;
  for (std::size_t pos = 0; pos < kernel_log.size();) {
    auto nl = kernel_log.find('\n', pos);
    if (nl == std::string_view::npos) nl = kernel_log.size();
    lines.push_back(kernel_log.substr(pos, nl - pos));
    pos = nl + 1;
  }

  std::optional<std::size_t> last_insn;
  for (auto line : lines) {
    out.log += line;
    if (auto n = insn_number(line)) {
      last_insn = n;
      out.log += "\t// " + where.describe(*n);
    }
    out.log += '\n';
  }

  std::string reason;
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    std::string_view l = *it;
    while (!l.empty() && (l.back() == ' ' || l.back() == '\r')) l.remove_suffix(1);
    if (l.empty() || is_trailer(l)) continue;
    reason = std::string(l);
    break;
  }
  if (reason.empty()) reason = "(no verifier log)";
  if (last_insn) {
    out.guest_pc = where.guest_slot(*last_insn);
    out.summary = where.describe(*last_insn) + ": " + reason;
  } else {
    out.summary = reason;
  }
  return out;
}

}  // namespace xo::host
