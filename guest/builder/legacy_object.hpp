// Objects from before libbpf 1.0, which libbpf 1.1 refuses or misreads:
//
//  - legacy map definitions: a `maps` ELF section of fixed-size records, one
//    per symbol, each starting with struct bpf_map_def
//      { u32 type, key_size, value_size, max_entries, map_flags; }
//    and possibly loader-specific fields after it (iproute2's bpf_elf_map:
//    id, pinning, inner_id, inner_idx). The record size is the section size
//    divided by the number of map symbols, as libbpf 0.x computed it;
//  - code without function symbols (old samples: SEC("xdp") or SEC("prog")
//    with no STT_FUNC): the whole section is one program named after it.
//
// libbpf 1.1 still does the rest of the work (global data, BTF maps,
// finalized BTF): it opens a copy of the object in which the `maps` section
// is renamed so that it is skipped, the code relocations are hidden (ours
// come from ElfImage, libbpf's would fail against a section it skipped) and
// the BTF DATASEC "maps", if any, gets the size and offsets libbpf would
// otherwise look up in the section it no longer finds.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "guest/builder/elf_image.hpp"

namespace xo::guest {

// The ELF section libbpf 0.x read legacy map definitions from.
inline constexpr const char* kLegacyMapsSection = "maps";

struct LegacyMap {
  std::string name;         // its symbol
  std::uint64_t offset = 0; // of its record in the `maps` section
  std::uint32_t type = 0, key_size = 0, value_size = 0, max_entries = 0, flags = 0;
};

struct LegacyMaps {
  std::size_t section = 0;  // index of `maps`, 0 when the object has none
  std::vector<LegacyMap> maps;  // symbol table order (libbpf 0.x's)
  std::vector<std::string> notes;  // loader-specific fields that were ignored
};

// The legacy maps of `image` (empty when it has no `maps` section).
Result<LegacyMaps> parse_legacy_maps(const ElfImage& image);

// The bytes libbpf 1.1 should open: `elf` itself when there are no legacy
// maps, else the patched copy described above.
Result<std::vector<std::uint8_t>> libbpf_compatible_copy(std::span<const std::uint8_t> elf, const ElfImage& image,
                                                         const LegacyMaps& legacy);

// Code sections (other than .text) without any function symbol.
std::vector<const ElfSection*> sections_without_functions(const ElfImage& image);

}  // namespace xo::guest
