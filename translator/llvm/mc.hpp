// LLVM 19's BPF MC layer as the ISA oracle: text <-> bytecode in the syntax
// `llvm-objdump -d` prints (triple bpfel, CPU v4, so every v4 form parses).
//
// No LLVM header appears here on purpose: only tools and tests link xo_llvm,
// and nothing that includes this header inherits LLVM's flags or headers.
// Every function is safe to call from several threads at once.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "translator/isa/raw.hpp"
#include "core/result.hpp"

namespace xo::mc {

// The CPU the disassembler decodes for. "v4" (the default) prints sub-word
// loads/stores/atomics with w registers and knows 32-bit fetch atomics, so
// its text always re-assembles to the same bytes. "generic" is what plain
// `llvm-objdump -d` uses: r registers, and 32-bit fetch atomics print
// without their fetch (lossy). Accepted: generic, v1, v2, v3, v4.
inline constexpr std::string_view kDefaultCpu = "v4";
bool is_known_cpu(std::string_view cpu);

// Assembles LLVM BPF assembly into raw slots. The program goes into .text
// (the default section); branches to labels are resolved, references to
// undefined symbols (maps, external calls) are left as the encoded zeros a
// relocation would patch. Errors carry "line N: <LLVM's message>".
Result<std::vector<isa::RawInsn>> assemble(std::string_view text);

// Disassembles the instruction starting at slot `pc`. On success *width (if
// given) is the number of slots consumed: 2 for ld_imm64, else 1.
// Text is LLVM's, one line, without leading/trailing whitespace, immediates
// in hex as llvm-objdump prints them (e.g. "r1 = *(u32 *)(r1 + 0x4)").
// Errors carry the pc.
Result<std::string> disassemble_one(std::span<const isa::RawInsn> slots, std::size_t pc,
                                    unsigned* width = nullptr,
                                    std::string_view cpu = kDefaultCpu);

struct Line {
  std::size_t slot;   // slot index (kernel numbering: ld_imm64 counts twice)
  unsigned width;     // slots consumed
  std::string text;
  bool operator==(const Line&) const = default;
};

// Disassembles a whole program; the first undecodable slot is an error.
Result<std::vector<Line>> disassemble(std::span<const isa::RawInsn> slots,
                                      std::string_view cpu = kDefaultCpu);

// Like disassemble(), but never fails: an undecodable slot becomes a line
// with valid=false, text "<invalid: ...>", width 1, and decoding resumes at
// the next slot. For listings of untrusted bytes.
struct ListingLine {
  Line line;
  bool valid;
};
std::vector<ListingLine> disassemble_listing(std::span<const isa::RawInsn> slots,
                                             std::string_view cpu = kDefaultCpu);

}  // namespace xo::mc
