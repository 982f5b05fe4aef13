#include "host/core/names.hpp"

#include <algorithm>
#include <cstdint>

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

bool kernel_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.';
}

std::string kernel_chars(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (!kernel_name_char(c)) c = '_';
  return out;
}

bool kernel_name_tagged(std::string_view session, std::size_t name_length) {
  return name_length == kKernelNameMax || kernel_chars(session) != session;
}

std::string kernel_object_name(std::string_view session, std::string_view name) {
  std::string s = kernel_chars(session);
  std::string n = kernel_chars(name);
  constexpr std::size_t kFixed = 3;  // "xo" + "_"
  if (s.size() + n.size() <= kKernelNameMax - kFixed && s == session) return "xo" + s + "_" + n;
  // Shortened, or the session rewritten ("vm-1" and "vm_1" are both valid
  // session names): two different (session, name) pairs could now read the
  // same, so 4 hex digits of a hash of the original pair end the name
  // (FNV-1a: stable across runs and hosts, for the admin's eyes; the pins
  // stay the objects' identifiers). A shortened name is then exactly 15
  // characters, which is how the guest-text scrubber recognises the tag.
  // Guest names are C identifiers in practice; two that differ only in
  // characters the kernel refuses may still read alike.
  std::uint32_t h = 2166136261u;
  auto mix = [&](std::string_view part) {
    for (unsigned char c : part) h = (h ^ c) * 16777619u;
    h = (h ^ 0xffu) * 16777619u;  // separator: ("ab","c") != ("a","bc")
  };
  mix(session);
  mix(name);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string tag;
  for (std::size_t i = 0; i < kKernelNameTagLen; ++i)
    tag += kHex[((h ^ (h >> 16)) >> (4 * (kKernelNameTagLen - 1 - i))) & 0xf];
  constexpr std::size_t kMinSession = 3;
  const std::size_t budget = kKernelNameMax - kFixed - tag.size();
  if (s.size() + n.size() > budget) {
    const std::size_t keep_session = std::max(kMinSession, budget > n.size() ? budget - n.size() : 0);
    s.resize(std::min(s.size(), keep_session));
    n.resize(std::min(n.size(), budget - s.size()));
  }
  return "xo" + s + "_" + n + tag;
}

}  // namespace xo::host
