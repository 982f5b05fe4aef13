// What libbpf's bpf_object__open_mem tells us about an object, copied out
// into plain values so that no libbpf pointer outlives the open object:
// BTF-defined map definitions, internal (global data) maps, entry programs
// and the BTF blob as libbpf finalizes it at open.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "translator/isa/raw.hpp"
#include "core/result.hpp"

namespace xo::guest {

struct LibbpfMap {
  std::string name;  // libbpf's name: the symbol for `.maps`, "<obj>.data"-style for internal maps
  bool internal = false;
  std::uint32_t type = 0, key_size = 0, value_size = 0, max_entries = 0, flags = 0;
  std::uint32_t btf_key_type_id = 0, btf_value_type_id = 0;
  std::uint64_t map_extra = 0;  // BLOOM_FILTER: hash count
  // ARRAY_OF_MAPS / HASH_OF_MAPS: the inner map template libbpf derives
  // from `__array(values, struct {...})` ("<outer>.inner"); no inner of its own.
  std::vector<LibbpfMap> inner;
};

struct LibbpfProgram {
  std::string name;
  std::string section;
  std::vector<isa::RawInsn> insns;  // the entry function alone, unrelocated
  // Not libbpf's: a code section without function symbols, taken whole as
  // one program named after the section (legacy_object.hpp).
  bool whole_section = false;
};

struct LibbpfView {
  std::vector<LibbpfMap> maps;  // libbpf's order: these become handles 1..N
  std::vector<LibbpfProgram> programs;
  std::vector<std::uint8_t> btf;  // empty when the object has no .BTF
  std::map<std::string, std::uint32_t> datasec_ids;  // DATASEC type id by section name
};

// The object name libbpf prefixes internal map names with ("xo.data").
inline constexpr const char* kLibbpfObjectName = "xo";

// Opens `elf` with libbpf (quietly; libbpf's warnings become part of the
// error on failure). `elf` must already have passed ElfImage::parse.
Result<LibbpfView> open_with_libbpf(std::span<const std::uint8_t> elf);

}  // namespace xo::guest
