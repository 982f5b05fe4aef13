// ELF parsing by hand over the byte span (no libelf state to leak, no
// in-place conversions): the object is little-endian ELF64 for EM_BPF, and
// every header, table and string is bounds-checked before use.
#include "guest/builder/elf_image.hpp"
#include "guest/builder/printable.hpp"

#include <elf.h>

#include <algorithm>
#include <cstring>

namespace xo::guest {
namespace {

constexpr std::uint16_t kEmBpf = 247;
constexpr std::size_t kMaxSections = 1 << 16;
constexpr std::size_t kMaxSymbols = 1 << 20;

template <typename T>
bool read_at(std::span<const std::uint8_t> bytes, std::uint64_t off, T& out) {
  if (off > bytes.size() || bytes.size() - off < sizeof(T)) return false;
  std::memcpy(&out, bytes.data() + off, sizeof(T));
  return true;
}

// NUL-terminated string at `off` inside a string table, or nullopt.
std::optional<std::string> string_at(std::span<const std::uint8_t> strtab, std::uint64_t off) {
  if (off >= strtab.size()) return std::nullopt;
  const auto* begin = strtab.data() + off;
  const auto* end = static_cast<const std::uint8_t*>(std::memchr(begin, 0, strtab.size() - off));
  if (!end) return std::nullopt;
  // Escaped once here, so every message that quotes an ELF name stays one line.
  return printable({reinterpret_cast<const char*>(begin), static_cast<std::size_t>(end - begin)});
}

}  // namespace

bool ElfSection::is_code() const { return type == SHT_PROGBITS && (flags & SHF_EXECINSTR); }

Result<ElfImage> ElfImage::parse(std::span<const std::uint8_t> bytes) {
  Elf64_Ehdr eh;
  if (!read_at(bytes, 0, eh)) return err("ELF: file too short for an ELF header (" + std::to_string(bytes.size()) + " bytes)");
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) return err("ELF: bad magic, not an ELF file");
  if (eh.e_ident[EI_CLASS] != ELFCLASS64) return err("ELF: not a 64-bit ELF object");
  if (eh.e_ident[EI_DATA] != ELFDATA2LSB) return err("ELF: not little-endian (only bpfel objects are supported)");
  if (eh.e_machine != kEmBpf) return err("ELF: e_machine " + std::to_string(eh.e_machine) + " is not EM_BPF (247)");
  if (eh.e_type != ET_REL) return err("ELF: not a relocatable object (clang -c output expected)");
  if (eh.e_shentsize != sizeof(Elf64_Shdr)) return err("ELF: bad section header size " + std::to_string(eh.e_shentsize));
  std::uint64_t shnum = eh.e_shnum;
  std::uint64_t shstrndx = eh.e_shstrndx;
  Elf64_Shdr first{};
  if (eh.e_shoff == 0) return err("ELF: no section headers");
  if (!read_at(bytes, eh.e_shoff, first)) return err("ELF: section header table out of file bounds");
  if (shnum == 0) shnum = first.sh_size;            // extended numbering
  if (shstrndx == SHN_XINDEX) shstrndx = first.sh_link;
  if (shnum == 0 || shnum > kMaxSections) return err("ELF: bad section count " + std::to_string(shnum));
  if (eh.e_shoff > bytes.size() || (bytes.size() - eh.e_shoff) / sizeof(Elf64_Shdr) < shnum)
    return err("ELF: section header table (" + std::to_string(shnum) + " entries) exceeds the file");
  if (shstrndx >= shnum) return err("ELF: section name table index out of range");

  std::vector<Elf64_Shdr> shdrs(shnum);
  std::memcpy(shdrs.data(), bytes.data() + eh.e_shoff, shnum * sizeof(Elf64_Shdr));
  auto extent = [&](const Elf64_Shdr& sh) -> std::optional<std::span<const std::uint8_t>> {
    if (sh.sh_type == SHT_NOBITS) return std::span<const std::uint8_t>{};
    if (sh.sh_offset > bytes.size() || sh.sh_size > bytes.size() - sh.sh_offset) return std::nullopt;
    return bytes.subspan(sh.sh_offset, sh.sh_size);
  };
  auto shstr = extent(shdrs[shstrndx]);
  if (!shstr || shdrs[shstrndx].sh_type != SHT_STRTAB) return err("ELF: section name table is invalid");

  ElfImage img;
  img.shoff_ = eh.e_shoff;
  img.shstrndx_ = shstrndx;
  img.sections_.resize(shnum);
  img.relocs_.resize(shnum);
  std::size_t symtab_index = 0;
  for (std::size_t i = 1; i < shnum; ++i) {
    const auto& sh = shdrs[i];
    auto name = string_at(*shstr, sh.sh_name);
    if (!name) return err("ELF: section " + std::to_string(i) + " has an invalid name offset");
    auto data = extent(sh);
    if (!data) return err("ELF: section '" + *name + "' lies outside the file");
    auto& s = img.sections_[i];
    s.index = i;
    s.name = *name;
    s.type = sh.sh_type;
    s.flags = sh.sh_flags;
    s.link = sh.sh_link;
    s.info = sh.sh_info;
    s.data = *data;
    s.size = sh.sh_size;
    if (sh.sh_type == SHT_SYMTAB) {
      if (symtab_index) return err("ELF: more than one symbol table");
      symtab_index = i;
    }
  }
  if (!symtab_index) return err("ELF: no symbol table (.symtab)");

  // Symbols.
  const auto& symsec = img.sections_[symtab_index];
  if (shdrs[symtab_index].sh_entsize != sizeof(Elf64_Sym) || symsec.size % sizeof(Elf64_Sym))
    return err("ELF: .symtab has a bad entry size");
  if (symsec.link == 0 || symsec.link >= shnum || img.sections_[symsec.link].type != SHT_STRTAB)
    return err("ELF: .symtab has no valid string table");
  auto strtab = img.sections_[symsec.link].data;
  std::size_t nsyms = symsec.size / sizeof(Elf64_Sym);
  if (nsyms > kMaxSymbols) return err("ELF: too many symbols (" + std::to_string(nsyms) + ")");
  img.symbols_.reserve(nsyms);
  for (std::size_t i = 0; i < nsyms; ++i) {
    Elf64_Sym sym;
    std::memcpy(&sym, symsec.data.data() + i * sizeof(Elf64_Sym), sizeof sym);
    auto name = string_at(strtab, sym.st_name);
    if (!name) return err("ELF: symbol " + std::to_string(i) + " has an invalid name offset");
    if (sym.st_shndx != SHN_UNDEF && sym.st_shndx < SHN_LORESERVE && sym.st_shndx >= shnum)
      return err("ELF: symbol '" + *name + "' names section " + std::to_string(sym.st_shndx) + " which does not exist");
    ElfSymbol out{*name, static_cast<std::uint8_t>(ELF64_ST_TYPE(sym.st_info)),
                  static_cast<std::uint8_t>(ELF64_ST_BIND(sym.st_info)), sym.st_shndx, sym.st_value,
                  sym.st_size};
    if (out.type == STT_SECTION && out.name.empty() && out.shndx < shnum) out.name = img.sections_[out.shndx].name;
    img.symbols_.push_back(std::move(out));
  }

  // Relocations (BPF objects use SHT_REL only).
  for (std::size_t i = 1; i < shnum; ++i) {
    const auto& s = img.sections_[i];
    if (s.type == SHT_RELA) return err("ELF: section '" + s.name + "': RELA relocations are not used by BPF objects");
    if (s.type != SHT_REL) continue;
    if (s.info == 0 || s.info >= shnum) return err("ELF: relocation section '" + s.name + "' targets no valid section");
    if (s.link != symtab_index) return err("ELF: relocation section '" + s.name + "' does not use .symtab");
    if (shdrs[i].sh_entsize != sizeof(Elf64_Rel) || s.size % sizeof(Elf64_Rel))
      return err("ELF: relocation section '" + s.name + "' has a bad entry size");
    const auto& target = img.sections_[s.info];
    auto& out = img.relocs_[s.info];
    std::size_t n = s.size / sizeof(Elf64_Rel);
    out.reserve(n);
    for (std::size_t k = 0; k < n; ++k) {
      Elf64_Rel rel;
      std::memcpy(&rel, s.data.data() + k * sizeof(Elf64_Rel), sizeof rel);
      ElfReloc r{rel.r_offset, static_cast<std::uint32_t>(ELF64_R_TYPE(rel.r_info)),
                 static_cast<std::uint32_t>(ELF64_R_SYM(rel.r_info))};
      if (r.symbol >= nsyms)
        return err("ELF: relocation " + std::to_string(k) + " in '" + s.name + "' names symbol " + std::to_string(r.symbol) + " which does not exist");
      if (r.offset >= target.size)
        return err("ELF: relocation " + std::to_string(k) + " in '" + s.name + "' points past the end of '" + target.name + "'");
      out.push_back(r);
    }
    std::sort(out.begin(), out.end(), [](const ElfReloc& a, const ElfReloc& b) { return a.offset < b.offset; });
  }
  return img;
}

const ElfSection* ElfImage::section(std::size_t index) const {
  if (index == 0 || index >= sections_.size()) return nullptr;
  return &sections_[index];
}

const ElfSection* ElfImage::section_named(const std::string& name) const {
  for (const auto& s : sections_)
    if (s.index && s.name == name) return &s;
  return nullptr;
}

const std::vector<ElfReloc>& ElfImage::relocs_for(std::size_t target) const {
  static const std::vector<ElfReloc> kNone;
  return target < relocs_.size() ? relocs_[target] : kNone;
}

const ElfSymbol* ElfImage::function_at(std::size_t shndx, std::uint64_t off) const {
  for (const auto& s : symbols_)
    if (s.type == STT_FUNC && s.shndx == shndx && off >= s.value && off - s.value < s.size) return &s;
  return nullptr;
}

const ElfSymbol* ElfImage::function_named(const std::string& name) const {
  for (const auto& s : symbols_)
    if (s.type == STT_FUNC && s.name == name) return &s;
  return nullptr;
}

}  // namespace xo::guest
