#include "host/core/names.hpp"

#include <algorithm>

namespace xo::host {

namespace {

// bpffs: no '.' in any name.
bool safe_path_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

Status validate_component(std::string_view what, std::string_view s) {
  if (s.empty() || s.size() > kPinNameMax)
    return err(std::string(what) + " '" + std::string(s.substr(0, 64)) + "' must be 1.." +
               std::to_string(kPinNameMax) + " characters");
  if (s.front() == '-') return err(std::string(what) + " '" + std::string(s) + "' must not start with '-'");
  for (char c : s)
    if (!safe_path_char(c))
      return err(std::string(what) + " '" + std::string(s) +
                 "' may contain only letters, digits, '_' and '-' (bpffs refuses '.')");
  return Ok{};
}

std::string kernel_chars(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '.'))
      c = '_';
  return out;
}

}  // namespace

Status validate_session_name(std::string_view session) {
  return validate_component("session name", session);
}

Status validate_pin_leaf(std::string_view leaf) { return validate_component("pin name", leaf); }

std::string pin_leaf(std::string_view prefix, std::string_view name) {
  std::string out(prefix.substr(0, kPinNameMax));
  for (char c : name.substr(0, kPinNameMax - out.size())) out += safe_path_char(c) ? c : '_';
  return out;
}

std::string kernel_object_name(std::string_view session, std::string_view name) {
  std::string s = kernel_chars(session);
  std::string n = kernel_chars(name);
  constexpr std::size_t kFixed = 3;  // "xo" + "_"
  constexpr std::size_t kMinSession = 3;
  std::size_t budget = kKernelNameMax - kFixed;
  if (s.size() + n.size() > budget) {
    std::size_t keep_session = std::max(kMinSession, budget > n.size() ? budget - n.size() : 0);
    s.resize(std::min(s.size(), keep_session));
    n.resize(std::min(n.size(), budget - s.size()));
  }
  return "xo" + s + "_" + n;
}

}  // namespace xo::host
