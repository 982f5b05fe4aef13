// Legacy map records and the copy of the object that libbpf 1.1 accepts.
//
//   before (what libbpf 1.1 sees)             after (the copy it opens)
//     [5] maps      PROGBITS 40 bytes           [5] xo_legacy_maps  (skipped: unknown data)
//     [6] .relxdp   REL -> xdp                  [6] .relxdp  SHT_LLVM_ADDRSIG (ignored)
//     .BTF  DATASEC 'maps' size 0, offsets 0    .BTF  DATASEC 'maps' size 40, offsets 0, 20
//   "legacy map definitions in 'maps' section   opens; the maps come from parse_legacy_maps
//    are not supported by libbpf v1.0+"
//
// The new section name goes into a copy of the section name table appended
// at the end of the file, so no other name that shares its bytes changes.
#include "guest/builder/legacy_object.hpp"

#include <elf.h>
#include <linux/btf.h>

#include <algorithm>
#include <cstring>

#include "guest/builder/btf_check.hpp"

namespace xo::guest {
namespace {

constexpr std::uint32_t kShtLlvmAddrsig = 0x6fff4c03;  // libbpf ignores these sections unread
constexpr const char* kRenamedMaps = "xo_legacy_maps";

// struct bpf_map_def: the fields every legacy loader agrees on.
constexpr std::size_t kMapDefFields = 5;
constexpr std::size_t kMapDefBytes = kMapDefFields * 4;

std::uint32_t u32_at(std::span<const std::uint8_t> b, std::size_t off) {
  std::uint32_t v;
  std::memcpy(&v, b.data() + off, 4);
  return v;
}

void put_u32(std::vector<std::uint8_t>& b, std::size_t off, std::uint32_t v) { std::memcpy(b.data() + off, &v, 4); }

bool is_map_symbol(const ElfSymbol& s, std::size_t section) {
  return s.shndx == section && s.type != STT_SECTION && s.type != STT_FILE;
}

// Offset of `section`'s data inside `elf` (its span points into it).
std::size_t file_offset(std::span<const std::uint8_t> elf, const ElfSection& section) {
  return static_cast<std::size_t>(section.data.data() - elf.data());
}

std::size_t header_offset(const ElfImage& image, std::size_t index) {
  return static_cast<std::size_t>(image.header_table_offset()) + index * sizeof(Elf64_Shdr);
}

// Sets the size of BTF DATASEC "maps" and its variables' offsets, as
// libbpf's btf_fixup_datasec would from the `maps` section it now skips.
Status patch_btf_maps_datasec(std::vector<std::uint8_t>& out, std::size_t btf_at, std::size_t btf_size,
                              const ElfSection& maps, const LegacyMaps& legacy) {
  std::span<const std::uint8_t> btf(out.data() + btf_at, btf_size);
  btf_header h;
  if (btf.size() < sizeof h) return Ok{};
  std::memcpy(&h, btf.data(), sizeof h);
  if (h.hdr_len > btf.size() || h.type_off > btf.size() - h.hdr_len || h.type_len > btf.size() - h.hdr_len - h.type_off ||
      h.str_off > btf.size() - h.hdr_len || h.str_len > btf.size() - h.hdr_len - h.str_off)
    return err("BTF: sections out of bounds");
  const std::size_t types_at = h.hdr_len + h.type_off;
  auto strs = btf.subspan(h.hdr_len + h.str_off, h.str_len);
  auto name = [&](std::uint32_t off) -> std::string {
    if (off >= strs.size()) return {};
    const auto* p = reinterpret_cast<const char*>(strs.data() + off);
    return std::string(p, strnlen(p, strs.size() - off));
  };

  std::vector<std::size_t> at{0};  // record offset (inside btf) by type id; id 0 = void
  for (std::size_t pos = 0; pos + 12 <= h.type_len;) {
    at.push_back(types_at + pos);
    std::uint32_t info = u32_at(btf, types_at + pos + 4);
    auto extra = btf_type_extra_bytes(BTF_INFO_KIND(info), BTF_INFO_VLEN(info));
    if (!extra || h.type_len - pos - 12 < *extra) return err("BTF: type [" + std::to_string(at.size() - 1) + "] is malformed");
    pos += 12 + *extra;
  }
  for (std::size_t id = 1; id < at.size(); ++id) {
    const std::size_t rec = at[id];
    std::uint32_t info = u32_at(btf, rec + 4);
    if (BTF_INFO_KIND(info) != BTF_KIND_DATASEC || name(u32_at(btf, rec)) != kLegacyMapsSection) continue;
    if (u32_at(btf, rec + 8) != 0) continue;  // sized already (linked objects)
    put_u32(out, btf_at + rec + 8, static_cast<std::uint32_t>(maps.size));
    for (std::uint32_t v = 0; v < BTF_INFO_VLEN(info); ++v) {
      const std::size_t secinfo = rec + 12 + v * 12;  // { type, offset, size }
      std::uint32_t var = u32_at(btf, secinfo);
      if (var == 0 || var >= at.size()) continue;
      std::string var_name = name(u32_at(btf, at[var]));
      for (const LegacyMap& m : legacy.maps)
        if (m.name == var_name) put_u32(out, btf_at + secinfo + 4, static_cast<std::uint32_t>(m.offset));
    }
  }
  return Ok{};
}

}  // namespace

Result<LegacyMaps> parse_legacy_maps(const ElfImage& image) {
  LegacyMaps out;
  const ElfSection* sec = image.section_named(kLegacyMapsSection);
  if (!sec) return out;
  const std::string where = "legacy maps section '" + std::string(kLegacyMapsSection) + "': ";
  if (sec->type != SHT_PROGBITS || sec->is_code()) return err(where + "is not a data section");
  out.section = sec->index;
  std::size_t count = 0;
  for (const ElfSymbol& s : image.symbols())
    if (is_map_symbol(s, sec->index)) ++count;
  if (count == 0 || sec->size == 0 || sec->size % count != 0)
    return err(where + std::to_string(sec->size) + " bytes for " + std::to_string(count) +
               " map symbol(s): cannot tell the size of one definition");
  const std::uint64_t record = sec->size / count;
  for (const ElfSymbol& s : image.symbols()) {
    if (!is_map_symbol(s, sec->index)) continue;
    if (s.value > sec->size || record > sec->size - s.value)
      return err(where + "map '" + s.name + "' at offset " + std::to_string(s.value) + " runs past the section (" +
                 std::to_string(record) + "-byte definitions)");
    // Fields the record is too short for read as 0, as libbpf 0.x did.
    std::uint32_t f[kMapDefFields] = {};
    std::memcpy(f, sec->data.data() + s.value, std::min<std::uint64_t>(record, kMapDefBytes));
    out.maps.push_back(LegacyMap{s.name, s.value, f[0], f[1], f[2], f[3], f[4]});
    if (record > kMapDefBytes) {
      auto extra = sec->data.subspan(s.value + kMapDefBytes, record - kMapDefBytes);
      bool set = false;
      for (std::uint8_t b : extra) set |= b != 0;
      if (set)
        out.notes.push_back("legacy map '" + s.name + "': " + std::to_string(extra.size()) +
                            " bytes after struct bpf_map_def (loader fields such as iproute2's id/pinning) are not zero; ignored");
    }
  }
  return out;
}

Result<std::vector<std::uint8_t>> libbpf_compatible_copy(std::span<const std::uint8_t> elf, const ElfImage& image,
                                                         const LegacyMaps& legacy) {
  std::vector<std::uint8_t> out(elf.begin(), elf.end());
  if (!legacy.section) return out;
  const ElfSection* names = image.section(image.names_section());
  const ElfSection* maps = image.section(legacy.section);
  if (!names || !maps) return err("ELF: section name table or legacy maps section missing");

  // 1. A fresh section name table at the end, with the new name appended.
  const std::size_t table_at = out.size();
  const std::size_t name_off = names->data.size();
  out.insert(out.end(), names->data.begin(), names->data.end());
  out.insert(out.end(), kRenamedMaps, kRenamedMaps + std::strlen(kRenamedMaps) + 1);
  auto header = [&](std::size_t index) {
    Elf64_Shdr sh;
    std::memcpy(&sh, out.data() + header_offset(image, index), sizeof sh);
    return sh;
  };
  auto store = [&](std::size_t index, const Elf64_Shdr& sh) {
    std::memcpy(out.data() + header_offset(image, index), &sh, sizeof sh);
  };
  Elf64_Shdr sh = header(names->index);
  sh.sh_offset = table_at;
  sh.sh_size = out.size() - table_at;
  store(names->index, sh);
  sh = header(maps->index);
  sh.sh_name = static_cast<std::uint32_t>(name_off);
  store(maps->index, sh);

  // 2. Code relocations hidden: they name symbols in the skipped section.
  for (const ElfSection& s : image.sections()) {
    if (!s.index || s.type != SHT_REL) continue;
    const ElfSection* target = image.section(s.info);
    if (!target || !target->is_code()) continue;
    sh = header(s.index);
    sh.sh_type = kShtLlvmAddrsig;
    store(s.index, sh);
  }

  // 3. The BTF DATASEC of the skipped section, sized.
  if (const ElfSection* btf = image.section_named(".BTF"); btf && btf->type == SHT_PROGBITS)
    if (Status st = patch_btf_maps_datasec(out, file_offset(elf, *btf), btf->data.size(), *maps, legacy); !st)
      return st.error();
  return out;
}

std::vector<const ElfSection*> sections_without_functions(const ElfImage& image) {
  std::vector<bool> has_function(image.sections().size(), false);
  for (const ElfSymbol& sym : image.symbols())
    if (sym.type == STT_FUNC && sym.shndx < has_function.size()) has_function[sym.shndx] = true;
  std::vector<const ElfSection*> out;
  for (const ElfSection& s : image.sections())
    if (s.index && s.is_code() && s.size != 0 && s.name != ".text" && !has_function[s.index]) out.push_back(&s);
  return out;
}

}  // namespace xo::guest
