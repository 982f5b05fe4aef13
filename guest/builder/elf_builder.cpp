// The builder's pipeline, in order:
//   1. ElfImage::parse      bound-check the ELF by hand (sections, symbols, relocations)
//   2. open_with_libbpf     map definitions, entry programs, finalized BTF
//   3. select_program       by function or section name
//   4. collect_maps         MapDefs + how relocations name them (handles 1..N)
//   5. link_program         append subprograms, patch map refs and calls
//   6. collect_debug_info   .BTF.ext func/line info -> slots of the linked program
#include "guest/builder/elf_builder.hpp"

#include <elf.h>
#include <linux/bpf.h>
#include <linux/btf.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>

#include "guest/builder/btf_check.hpp"
#include "guest/builder/btf_ext.hpp"
#include "guest/builder/code_linker.hpp"
#include "guest/builder/elf_image.hpp"
#include "guest/builder/libbpf_object.hpp"

namespace xo::guest {
namespace {

bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }
bool ends_with(const std::string& s, const std::string& p) {
  return s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
}

bool is_data_section(const ElfSection& s) {
  if (s.is_code() || (s.type != SHT_PROGBITS && s.type != SHT_NOBITS)) return false;
  return s.name == ".data" || s.name == ".rodata" || s.name == ".bss" || starts_with(s.name, ".data.") ||
         starts_with(s.name, ".rodata.");
}

// libbpf names internal maps "<obj prefix><section>" for plain .data/.rodata/
// .bss and "<section>" (cut to 15 chars) for .data.foo-style sections.
bool internal_map_matches(const std::string& map_name, const std::string& section) {
  if (map_name == section) return true;
  if (section.find('.', 1) == std::string::npos) return ends_with(map_name, section);
  return map_name == section.substr(0, BPF_OBJ_NAME_LEN - 1);
}

bool supported_map_type(std::uint32_t t) {
  switch (static_cast<MapType>(t)) {
    case MapType::Hash: case MapType::Array: case MapType::ProgArray: case MapType::PercpuHash:
    case MapType::PercpuArray: case MapType::LruHash: case MapType::LruPercpuHash:
      return true;
  }
  return false;
}

Result<const LibbpfProgram*> select_program(const LibbpfView& view, const std::optional<std::string>& want) {
  std::string names;
  for (const auto& p : view.programs) names += (names.empty() ? "" : ", ") + p.name + " (" + p.section + ")";
  if (view.programs.empty()) return err("object has no BPF programs");
  if (!want) {
    if (view.programs.size() == 1) return &view.programs[0];
    return err("object has " + std::to_string(view.programs.size()) + " programs, choose one: " + names);
  }
  for (const auto& p : view.programs)
    if (p.name == *want) return &p;
  const LibbpfProgram* found = nullptr;
  for (const auto& p : view.programs) {
    if (p.section != *want) continue;
    if (found) return err("section '" + *want + "' holds several programs, choose by function name: " + names);
    found = &p;
  }
  if (!found) return err("no program named '" + *want + "'; the object has: " + names);
  return found;
}

struct CollectedMaps {
  std::vector<MapDef> defs;
  MapSymbols symbols;
};

Result<CollectedMaps> collect_maps(const ElfImage& image, const LibbpfView& view) {
  CollectedMaps out;
  if (const ElfSection* s = image.section_named(".maps")) out.symbols.maps_section = s->index;
  for (std::size_t i = 0; i < view.maps.size(); ++i) {
    const LibbpfMap& m = view.maps[i];
    const std::uint32_t handle = static_cast<std::uint32_t>(i + 1);
    if (!supported_map_type(m.type))
      return err("map '" + m.name + "': map type " + std::to_string(m.type) + " is not supported for offload");
    MapDef def{handle, static_cast<MapType>(m.type), m.key_size, m.value_size, m.max_entries, m.flags,
               m.name, m.btf_key_type_id, m.btf_value_type_id, {}, false};
    if (!m.internal) {
      out.symbols.by_map_name[m.name] = handle;
      out.defs.push_back(std::move(def));
      continue;
    }
    const ElfSection* sec = nullptr;
    for (const auto& s : image.sections()) {
      if (!s.index || !is_data_section(s) || !internal_map_matches(m.name, s.name)) continue;
      if (sec) return err("internal map '" + m.name + "' matches both '" + sec->name + "' and '" + s.name + "'");
      sec = &s;
    }
    if (!sec)
      return err("internal map '" + m.name + "' is not global data (.kconfig/.ksyms externs and struct_ops are not supported)");
    if (sec->size != m.value_size || sec->size > UINT32_MAX)
      return err("global data '" + sec->name + "': libbpf sizes it " + std::to_string(m.value_size) + " bytes, the ELF " + std::to_string(sec->size));
    if (!image.relocs_for(sec->index).empty())
      return err("global data '" + sec->name + "' holds " + std::to_string(image.relocs_for(sec->index).size()) +
                 " pointer(s) needing relocation (a pointer initialized to a string or variable); not supported");
    def.name = sec->name;
    def.btf_key_type_id = 0;  // global data maps are keyless in BTF (DATASEC value)
    if (!def.btf_value_type_id)
      if (auto it = view.datasec_ids.find(sec->name); it != view.datasec_ids.end()) def.btf_value_type_id = it->second;
    if (sec->type == SHT_PROGBITS) def.initial_value.assign(sec->data.begin(), sec->data.end());
    def.frozen = starts_with(sec->name, ".rodata");
    out.symbols.by_data_section[sec->index] = handle;
    out.defs.push_back(std::move(def));
  }
  return out;
}

// NUL-terminated string in the BTF string section of a raw BTF blob.
const char* btf_string(std::span<const std::uint8_t> btf, std::uint32_t off) {
  btf_header h;
  if (btf.size() < sizeof h) return nullptr;
  std::memcpy(&h, btf.data(), sizeof h);
  if (h.hdr_len > btf.size() || h.str_off > btf.size() - h.hdr_len ||
      h.str_len > btf.size() - h.hdr_len - h.str_off || off >= h.str_len)
    return nullptr;
  const auto* strs = reinterpret_cast<const char*>(btf.data() + h.hdr_len + h.str_off);
  if (!std::memchr(strs + off, 0, h.str_len - off)) return nullptr;
  return strs + off;
}

Status collect_debug_info(const ElfImage& image, const LinkedCode& code, const std::string& prog,
                          std::span<const std::uint8_t> btf, Submission& sub) {
  const ElfSection* ext_sec = image.section_named(".BTF.ext");
  if (btf.empty() || !ext_sec) return Ok{};  // no BTF: no debug info, like libbpf
  auto ext = parse_btf_ext(ext_sec->data, [&](std::uint32_t off) { return btf_string(btf, off); });
  if (!ext) return err("prog '" + prog + "': " + ext.error().message);
  for (const CodeRegion& r : code.regions) {
    auto it = ext->find(image.section(r.section)->name);
    if (it == ext->end()) continue;
    const BtfExtSection& recs = it->second;
    auto inside = [&](std::uint32_t off) { return off >= r.start && off - r.start < r.size; };
    auto slot = [&](std::uint32_t off) { return static_cast<std::uint32_t>(r.out_slot + (off - r.start) / 8); };
    std::size_t core = std::count_if(recs.core_relo_offs.begin(), recs.core_relo_offs.end(), inside);
    if (core)
      return err("prog '" + prog + "': function '" + r.function + "' has " + std::to_string(core) +
                 " CO-RE relocation(s) (BPF_CORE_READ / preserve_access_index); CO-RE is not supported for offload");
    for (FuncInfo f : recs.func_info) {
      if (!inside(f.insn_off)) continue;
      if (f.insn_off % 8) return err("prog '" + prog + "': func_info offset " + std::to_string(f.insn_off) + " is not instruction aligned");
      f.insn_off = slot(f.insn_off);
      sub.func_info.push_back(f);
    }
    for (LineInfo l : recs.line_info) {
      if (!inside(l.insn_off)) continue;
      if (l.insn_off % 8) return err("prog '" + prog + "': line_info offset " + std::to_string(l.insn_off) + " is not instruction aligned");
      l.insn_off = slot(l.insn_off);
      sub.line_info.push_back(l);
    }
  }
  // Regions are appended in output order, records within a section are
  // sorted by LLVM; keep the kernel's ordering requirement explicit anyway.
  std::stable_sort(sub.func_info.begin(), sub.func_info.end(), [](auto& a, auto& b) { return a.insn_off < b.insn_off; });
  std::stable_sort(sub.line_info.begin(), sub.line_info.end(), [](auto& a, auto& b) { return a.insn_off < b.insn_off; });
  return Ok{};
}

std::string read_license(const ElfImage& image) {
  const ElfSection* s = image.section_named("license");
  if (!s || s->data.empty()) return {};
  const auto* p = reinterpret_cast<const char*>(s->data.data());
  return std::string(p, strnlen(p, s->data.size()));
}

// The ELF and its BTF are checked by us before libbpf sees either.
Result<ElfImage> checked_image(std::span<const std::uint8_t> elf_bytes) {
  auto image = ElfImage::parse(elf_bytes);
  if (!image) return image.error();
  if (const ElfSection* btf = image->section_named(".BTF")) {
    Status st = check_btf(btf->data);
    if (!st) return st.error();
  }
  return image;
}

}  // namespace

Result<Submission> build_submission(std::span<const std::uint8_t> elf_bytes, std::optional<std::string> program) {
  if (elf_bytes.size() > kMaxObjectBytes) return err("object is larger than " + std::to_string(kMaxObjectBytes) + " bytes");
  auto image = checked_image(elf_bytes);
  if (!image) return image.error();
  auto view = open_with_libbpf(elf_bytes);
  if (!view) return view.error();
  auto chosen = select_program(*view, program);
  if (!chosen) return chosen.error();
  const LibbpfProgram& prog = **chosen;

  const ElfSymbol* entry = image->function_named(prog.name);
  const ElfSection* sec = entry ? image->section(entry->shndx) : nullptr;
  // libbpf reports SEC("?xdp") (not autoloaded) as section "xdp".
  if (!sec || (sec->name != prog.section && sec->name != "?" + prog.section))
    return err("prog '" + prog.name + "': no function symbol in section '" + prog.section + "'");
  if (entry->size != prog.insns.size() * sizeof(isa::RawInsn) || entry->value > sec->data.size() ||
      entry->size > sec->data.size() - entry->value ||
      std::memcmp(sec->data.data() + entry->value, prog.insns.data(), entry->size) != 0)
    return err("prog '" + prog.name + "': libbpf and the ELF symbol table disagree about its code");

  auto maps = collect_maps(*image, *view);
  if (!maps) return maps.error();
  auto code = link_program(*image, *entry, maps->symbols);
  if (!code) return code.error();

  Submission sub;
  sub.name = prog.name;
  sub.license = read_license(*image);
  sub.insns = std::move(code->insns);
  sub.maps = std::move(maps->defs);
  sub.btf = view->btf;
  Status st = collect_debug_info(*image, *code, prog.name, sub.btf, sub);
  if (!st) return st.error();
  return sub;
}

Result<std::vector<std::uint8_t>> read_object_file(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) return err(path + ": " + std::strerror(errno));
  std::vector<std::uint8_t> bytes;
  std::uint8_t buf[65536];
  for (;;) {
    std::size_t n = std::fread(buf, 1, sizeof buf, f.get());
    if (n == 0) break;
    if (bytes.size() + n > kMaxObjectBytes) return err(path + ": larger than " + std::to_string(kMaxObjectBytes) + " bytes");
    bytes.insert(bytes.end(), buf, buf + n);
  }
  if (std::ferror(f.get())) return err(path + ": read error");
  return bytes;
}

Result<Submission> build_submission_from_file(const std::string& path, std::optional<std::string> program) {
  auto bytes = read_object_file(path);
  if (!bytes) return bytes.error();
  auto sub = build_submission(*bytes, std::move(program));
  if (!sub) return err(path + ": " + sub.error().message);
  return sub;
}

Result<std::vector<ProgramInfo>> list_program_infos(std::span<const std::uint8_t> elf_bytes) {
  if (elf_bytes.size() > kMaxObjectBytes) return err("object is larger than " + std::to_string(kMaxObjectBytes) + " bytes");
  auto image = checked_image(elf_bytes);
  if (!image) return image.error();
  auto view = open_with_libbpf(elf_bytes);
  if (!view) return view.error();
  std::vector<ProgramInfo> out;
  for (const auto& p : view->programs) out.push_back(ProgramInfo{p.name, p.section, p.insns.size()});
  return out;
}

Result<std::vector<std::string>> list_programs(std::span<const std::uint8_t> elf_bytes) {
  auto infos = list_program_infos(elf_bytes);
  if (!infos) return infos.error();
  std::vector<std::string> names;
  for (const auto& i : *infos) names.push_back(i.name);
  return names;
}

Result<std::vector<std::string>> list_programs_in_file(const std::string& path) {
  auto bytes = read_object_file(path);
  if (!bytes) return bytes.error();
  auto names = list_programs(*bytes);
  if (!names) return err(path + ": " + names.error().message);
  return names;
}

}  // namespace xo::guest
