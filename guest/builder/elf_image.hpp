// A validated, read-only view of a BPF relocatable ELF object (clang -target
// bpf -c). Everything libbpf would otherwise trust blindly is bounded here
// first: section extents, the symbol table, relocation entries. Nothing
// downstream indexes ELF data without going through these checked records.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace xo::guest {

struct ElfSection {
  std::size_t index = 0;  // ELF section header index
  std::string name;
  std::uint32_t type = 0;  // SHT_*
  std::uint64_t flags = 0;  // SHF_*
  std::uint32_t link = 0;
  std::uint32_t info = 0;
  std::span<const std::uint8_t> data;  // empty for SHT_NOBITS
  std::uint64_t size = 0;              // sh_size (also for NOBITS, e.g. .bss)

  bool is_code() const;  // SHT_PROGBITS with SHF_EXECINSTR
};

struct ElfSymbol {
  std::string name;
  std::uint8_t type = 0;  // STT_*
  std::uint8_t bind = 0;  // STB_*
  std::uint16_t shndx = 0;
  std::uint64_t value = 0;
  std::uint64_t size = 0;
};

struct ElfReloc {
  std::uint64_t offset = 0;  // byte offset inside the target section
  std::uint32_t type = 0;    // R_BPF_*
  std::uint32_t symbol = 0;  // index into symbols()
};

// BPF relocation types (llvm/BinaryFormat/ELFRelocs/BPF.def).
inline constexpr std::uint32_t kRelBpf64_64 = 1;        // ld_imm64
inline constexpr std::uint32_t kRelBpf64Abs64 = 2;      // data
inline constexpr std::uint32_t kRelBpf64Abs32 = 3;      // data
inline constexpr std::uint32_t kRelBpf64NoDyld32 = 4;   // .BTF / .BTF.ext
inline constexpr std::uint32_t kRelBpf64_32 = 10;       // call imm

class ElfImage {
 public:
  // Copies nothing: `bytes` must outlive the image.
  static Result<ElfImage> parse(std::span<const std::uint8_t> bytes);

  const std::vector<ElfSection>& sections() const { return sections_; }
  const std::vector<ElfSymbol>& symbols() const { return symbols_; }
  const ElfSection* section(std::size_t index) const;
  const ElfSection* section_named(const std::string& name) const;
  // Relocations that apply to section `target` (from its SHT_REL section), sorted by offset.
  const std::vector<ElfReloc>& relocs_for(std::size_t target) const;
  // The STT_FUNC symbol of section `shndx` that covers byte offset `off`.
  const ElfSymbol* function_at(std::size_t shndx, std::uint64_t off) const;
  const ElfSymbol* function_named(const std::string& name) const;
  // Where the section header table starts, and the section naming sections.
  std::uint64_t header_table_offset() const { return shoff_; }
  std::size_t names_section() const { return shstrndx_; }

 private:
  std::vector<ElfSection> sections_;
  std::vector<ElfSymbol> symbols_;
  std::vector<std::vector<ElfReloc>> relocs_;  // indexed by target section
  std::uint64_t shoff_ = 0;
  std::size_t shstrndx_ = 0;
};

}  // namespace xo::guest
