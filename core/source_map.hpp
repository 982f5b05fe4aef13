// Guest instruction -> source line, from Submission::line_info and the BTF
// string section. Everything here reads guest bytes, so every offset and
// length is checked and nothing is trusted: a malformed BTF blob or line_info
// simply yields no source line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "core/submission.hpp"

namespace xo {

// The string section of a raw BTF blob (struct btf_header, little-endian).
class BtfStrings {
 public:
  // Empty (every lookup fails) when the header is malformed or out of bounds.
  explicit BtfStrings(std::span<const std::uint8_t> btf);
  bool valid() const { return !section_.empty(); }
  // The NUL-terminated string at `off`, at most kMaxString bytes; nullopt when
  // `off` is outside the section or the string is unterminated.
  std::optional<std::string_view> at(std::uint32_t off) const;

  static constexpr std::size_t kMaxString = 4096;

 private:
  std::string_view section_;
};

struct SourceLine {
  std::string file;      // basename of the file name, e.g. "xdp1_kern.c"
  std::uint32_t line = 0;
  std::uint32_t column = 0;
  std::string text;      // the source text line_info carries, trimmed; may be empty
};

// The line_info entry covering slot `pc` (the last one whose insn_off <= pc,
// like the kernel's find_linfo), resolved against the BTF strings.
std::optional<SourceLine> source_line(const Submission& sub, const BtfStrings& strings,
                                      std::size_t pc);
std::optional<SourceLine> source_line(const Submission& sub, std::size_t pc);

// "xdp1_kern.c:42", or "line 42" without a file name.
std::string format_location(const SourceLine& line);

}  // namespace xo
