// Bounded BTF string-section reader and line_info lookup.
//
//   struct btf_header { u16 magic (0xeB9F); u8 version; u8 flags; u32 hdr_len;
//                       u32 type_off, type_len, str_off, str_len; }
//   strings: [hdr_len + str_off, hdr_len + str_off + str_len) of the blob
//   bpf_line_info.line_col = line << 10 | column
#include "core/source_map.hpp"

#include <cstring>

namespace xo {
namespace {

constexpr std::size_t kBtfHeaderMin = 24;
constexpr std::uint16_t kBtfMagic = 0xeB9F;

std::uint32_t read_u32(std::span<const std::uint8_t> b, std::size_t at) {
  std::uint32_t v = 0;
  std::memcpy(&v, b.data() + at, sizeof v);  // little-endian hosts only
  return v;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n'))
    s.remove_suffix(1);
  return std::string(s);
}

// Guest-supplied text goes into one-line diagnostics: drop control bytes.
std::string printable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  return out;
}

}  // namespace

BtfStrings::BtfStrings(std::span<const std::uint8_t> btf) {
  if (btf.size() < kBtfHeaderMin) return;
  std::uint16_t magic = 0;
  std::memcpy(&magic, btf.data(), sizeof magic);
  if (magic != kBtfMagic) return;
  const std::uint64_t hdr_len = read_u32(btf, 4);
  const std::uint64_t str_off = read_u32(btf, 16);
  const std::uint64_t str_len = read_u32(btf, 20);
  if (hdr_len < kBtfHeaderMin || hdr_len > btf.size()) return;
  const std::uint64_t begin = hdr_len + str_off;  // 64-bit: cannot overflow
  if (begin > btf.size() || str_len > btf.size() - begin) return;
  section_ = std::string_view(reinterpret_cast<const char*>(btf.data()) + begin, str_len);
}

std::optional<std::string_view> BtfStrings::at(std::uint32_t off) const {
  if (off >= section_.size()) return std::nullopt;
  std::string_view rest = section_.substr(off, kMaxString + 1);
  const auto nul = rest.find('\0');
  if (nul == std::string_view::npos) return std::nullopt;
  return rest.substr(0, nul);
}

std::optional<SourceLine> source_line(const Submission& sub, const BtfStrings& strings,
                                      std::size_t pc) {
  // Last entry at or before pc; a linear scan tolerates unsorted guest data.
  const LineInfo* best = nullptr;
  for (const auto& li : sub.line_info)
    if (li.insn_off <= pc && (!best || li.insn_off >= best->insn_off)) best = &li;
  if (!best || !strings.valid()) return std::nullopt;

  SourceLine out;
  out.line = best->line_col >> 10;
  out.column = best->line_col & 0x3ff;
  if (auto file = strings.at(best->file_name_off)) {
    auto slash = file->rfind('/');
    out.file = printable(slash == std::string_view::npos ? *file : file->substr(slash + 1));
  }
  if (auto text = strings.at(best->line_off)) out.text = printable(trim(*text));
  if (out.file.empty() && out.line == 0) return std::nullopt;
  return out;
}

std::optional<SourceLine> source_line(const Submission& sub, std::size_t pc) {
  return source_line(sub, BtfStrings(sub.btf), pc);
}

std::string format_location(const SourceLine& line) {
  if (line.file.empty()) return "line " + std::to_string(line.line);
  return line.file + ":" + std::to_string(line.line);
}

}  // namespace xo
