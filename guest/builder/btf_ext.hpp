// .BTF.ext parser: func_info, line_info and CO-RE relocation records, grouped
// by the ELF section they describe. Offsets stay as the object stores them:
// byte offsets from the start of that section (the kernel wants slots; the
// linker converts once it knows where each function lands).
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/submission.hpp"

namespace xo::guest {

struct BtfExtSection {
  std::vector<FuncInfo> func_info;  // insn_off in bytes
  std::vector<LineInfo> line_info;  // insn_off in bytes
  std::vector<std::uint32_t> core_relo_offs;  // insn byte offsets of CO-RE relocations
};

// Section name -> records. `section_name(off)` resolves a BTF string offset
// (the records name their section through the BTF string table).
template <typename F>
Result<std::map<std::string, BtfExtSection>> parse_btf_ext(std::span<const std::uint8_t> bytes,
                                                           F&& section_name);

// Non-template core: `resolve` returns nullptr for an invalid offset.
using NameResolver = const char* (*)(const void* ctx, std::uint32_t off);
Result<std::map<std::string, BtfExtSection>> parse_btf_ext_raw(std::span<const std::uint8_t> bytes,
                                                               NameResolver resolve, const void* ctx);

template <typename F>
Result<std::map<std::string, BtfExtSection>> parse_btf_ext(std::span<const std::uint8_t> bytes,
                                                           F&& section_name) {
  using Fn = std::remove_reference_t<F>;
  return parse_btf_ext_raw(
      bytes, [](const void* ctx, std::uint32_t off) { return (*static_cast<const Fn*>(ctx))(off); },
      &section_name);
}

}  // namespace xo::guest
