// libelf walk over section headers and .symtab. The image is copied because
// elf_memory() wants a mutable buffer; it is never written.
#include "tools/bpf_elf.hpp"

#include <gelf.h>
#include <libelf.h>

#include <algorithm>
#include <memory>

#ifndef EM_BPF
#define EM_BPF 247
#endif

namespace xo::cli {

namespace {

struct ElfCloser {
  void operator()(Elf* e) const { elf_end(e); }
};
using ElfPtr = std::unique_ptr<Elf, ElfCloser>;

std::string elf_error() { return elf_errmsg(-1) ? elf_errmsg(-1) : "unknown libelf error"; }

}  // namespace

Result<std::vector<CodeSection>> read_code_sections(std::span<const std::uint8_t> image,
                                                    const std::string& what) {
  if (elf_version(EV_CURRENT) == EV_NONE) return err(what + ": libelf init: " + elf_error());
  std::vector<char> buffer(image.begin(), image.end());
  ElfPtr elf(elf_memory(buffer.data(), buffer.size()));
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF) return err(what + ": not an ELF file");
  GElf_Ehdr ehdr;
  if (!gelf_getehdr(elf.get(), &ehdr)) return err(what + ": " + elf_error());
  if (ehdr.e_machine != EM_BPF)
    return err(what + ": ELF machine is " + std::to_string(ehdr.e_machine) + ", not BPF (247)");
  if (ehdr.e_ident[EI_DATA] != ELFDATA2LSB)
    return err(what + ": big-endian BPF objects are not supported");
  std::size_t shstrndx = 0;
  if (elf_getshdrstrndx(elf.get(), &shstrndx) != 0) return err(what + ": " + elf_error());

  std::vector<CodeSection> sections;
  std::vector<std::size_t> section_index;  // ELF index of sections[i]
  Elf_Scn* symtab = nullptr;
  for (Elf_Scn* scn = elf_nextscn(elf.get(), nullptr); scn; scn = elf_nextscn(elf.get(), scn)) {
    GElf_Shdr shdr;
    if (!gelf_getshdr(scn, &shdr)) return err(what + ": " + elf_error());
    if (shdr.sh_type == SHT_SYMTAB) symtab = scn;
    if (shdr.sh_type != SHT_PROGBITS || !(shdr.sh_flags & SHF_EXECINSTR) || shdr.sh_size == 0)
      continue;
    const char* name = elf_strptr(elf.get(), shstrndx, shdr.sh_name);
    std::string sname = name ? name : "<unnamed>";
    Elf_Data* data = elf_getdata(scn, nullptr);
    if (!data || data->d_size != shdr.sh_size)
      return err(what + ": section '" + sname + "': cannot read contents");
    if (data->d_size % sizeof(isa::RawInsn) != 0)
      return err(what + ": section '" + sname + "': size " + std::to_string(data->d_size) +
                 " is not a multiple of 8");
    sections.push_back(CodeSection{
        sname,
        isa::raw_from_bytes(
            std::span(static_cast<const std::uint8_t*>(data->d_buf), data->d_size)),
        {}});
    section_index.push_back(elf_ndxscn(scn));
  }

  if (symtab) {
    GElf_Shdr shdr;
    Elf_Data* data = elf_getdata(symtab, nullptr);
    if (gelf_getshdr(symtab, &shdr) && data && shdr.sh_entsize) {
      std::size_t count = data->d_size / shdr.sh_entsize;
      for (std::size_t i = 0; i < count; ++i) {
        GElf_Sym sym;
        if (!gelf_getsym(data, static_cast<int>(i), &sym)) continue;
        if (GELF_ST_TYPE(sym.st_info) != STT_FUNC) continue;
        auto it = std::find(section_index.begin(), section_index.end(), sym.st_shndx);
        if (it == section_index.end()) continue;
        CodeSection& cs = sections[it - section_index.begin()];
        const char* name = elf_strptr(elf.get(), shdr.sh_link, sym.st_name);
        if (!name || sym.st_value % sizeof(isa::RawInsn) != 0 ||
            sym.st_value / sizeof(isa::RawInsn) >= cs.insns.size())
          continue;
        cs.funcs.push_back(FuncSymbol{name, sym.st_value / sizeof(isa::RawInsn)});
      }
    }
  }
  for (CodeSection& cs : sections)
    std::sort(cs.funcs.begin(), cs.funcs.end(),
              [](const FuncSymbol& a, const FuncSymbol& b) { return a.slot < b.slot; });
  return sections;
}

}  // namespace xo::cli
