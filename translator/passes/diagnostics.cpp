#include "translator/passes/diagnostics.hpp"

#include <cstring>

namespace xo::translator {
namespace {

// struct btf_header (uapi/linux/btf.h), little-endian.
struct BtfHeader {
  std::uint16_t magic;
  std::uint8_t version;
  std::uint8_t flags;
  std::uint32_t hdr_len;
  std::uint32_t type_off;
  std::uint32_t type_len;
  std::uint32_t str_off;
  std::uint32_t str_len;
};
constexpr std::uint16_t kBtfMagic = 0xeB9F;

std::string basename_of(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::optional<std::string> Diagnoser::btf_string(std::uint32_t off) const {
  const auto& btf = sub_.btf;
  BtfHeader h{};
  if (btf.size() < sizeof h) return std::nullopt;
  std::memcpy(&h, btf.data(), sizeof h);
  if (h.magic != kBtfMagic || h.hdr_len < sizeof h) return std::nullopt;
  // All arithmetic in 64 bits: the fields are guest-controlled.
  std::uint64_t start = std::uint64_t(h.hdr_len) + h.str_off;
  std::uint64_t end = start + h.str_len;
  if (end > btf.size() || off >= h.str_len) return std::nullopt;
  const char* s = reinterpret_cast<const char*>(btf.data() + start + off);
  std::size_t max = static_cast<std::size_t>(end - (start + off));
  std::size_t n = strnlen(s, max);
  if (n == max) return std::nullopt;  // unterminated
  return std::string(s, n);
}

std::optional<std::string> Diagnoser::source_of(std::size_t pc) const {
  const LineInfo* best = nullptr;
  for (const auto& li : sub_.line_info)
    if (li.insn_off <= pc && (!best || li.insn_off >= best->insn_off)) best = &li;
  if (!best) return std::nullopt;
  auto file = btf_string(best->file_name_off);
  if (!file) return std::nullopt;
  return basename_of(*file) + ":" + std::to_string(best->line_col >> 10);
}

Error Diagnoser::at(std::size_t pc, const std::string& reason) const {
  std::string msg = "prog '" + sub_.name + "': insn " + std::to_string(pc);
  if (auto src = source_of(pc)) msg += " (" + *src + ")";
  return err_at(pc, msg + ": " + reason);
}

Error Diagnoser::whole(const std::string& reason) const {
  return err("prog '" + sub_.name + "': " + reason);
}

}  // namespace xo::translator
