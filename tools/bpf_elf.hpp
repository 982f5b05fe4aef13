// Reads the BPF code out of a clang-built ELF object (libelf): every
// non-empty executable PROGBITS section, with its function symbols.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "translator/isa/raw.hpp"
#include "core/result.hpp"

namespace xo::cli {

struct FuncSymbol {
  std::string name;
  std::size_t slot;  // where the function starts in its section
};

struct CodeSection {
  std::string name;
  std::vector<isa::RawInsn> insns;
  std::vector<FuncSymbol> funcs;  // sorted by slot
};

// `what` names the input in errors (usually the path).
Result<std::vector<CodeSection>> read_code_sections(std::span<const std::uint8_t> image,
                                                    const std::string& what);

}  // namespace xo::cli
