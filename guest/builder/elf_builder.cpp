// The builder's pipeline, in order:
//   1. ElfImage::parse      bound-check the ELF by hand (sections, symbols, relocations)
//   2. parse_legacy_maps    pre-libbpf-1.0 `maps` records (legacy_object.hpp)
//   3. open_with_libbpf     BTF map definitions, global data, entry programs, finalized BTF
//                           (+ code sections without function symbols, one program each)
//   4. select_program       by function or section name
//   5. collect_maps         MapDefs + how relocations name them (handles 1..N), sizes set
//   6. link_program         append subprograms, patch map refs and calls
//   7. collect_debug_info   .BTF.ext func/line info -> slots of the linked program
//   8. keep_used_maps       the maps the linked code names (and the inner map templates of
//                           the map-in-maps among them); the others left out, with a note
#include "guest/builder/elf_builder.hpp"

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <elf.h>
#include <linux/bpf.h>
#include <linux/btf.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <memory>
#include <set>

#include "core/diagnostics.hpp"
#include "guest/builder/btf_check.hpp"
#include "guest/builder/btf_ext.hpp"
#include "guest/builder/code_linker.hpp"
#include "guest/builder/elf_image.hpp"
#include "guest/builder/legacy_object.hpp"
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

// What xoffload can say about a map type: "devmap (14)".
std::string map_type_label(std::uint32_t t) {
  const char* name = libbpf_bpf_map_type_str(static_cast<bpf_map_type>(t));
  return (name ? std::string(name) + " " : std::string("type ")) + "(" + std::to_string(t) + ")";
}

struct CollectedMaps {
  std::vector<MapDef> defs;  // every map of the object, handles 1..N
  std::set<std::uint32_t> global_data;  // handles of .data/.rodata/.bss maps
  MapSymbols symbols;
};

// MapDef.type holds the object's number as is; only maps a program uses are
// checked against what offload supports (keep_used_maps).
MapDef map_def(std::uint32_t handle, std::uint32_t type, std::uint32_t key_size, std::uint32_t value_size,
               std::uint32_t max_entries, std::uint32_t flags, const std::string& name) {
  return MapDef{handle, static_cast<MapType>(type), key_size, value_size, max_entries, flags, name, 0, 0, {}, false};
}

Result<CollectedMaps> collect_maps(const ElfImage& image, const LegacyMaps& legacy, const LibbpfView& view) {
  CollectedMaps out;
  out.symbols.legacy_section = legacy.section;
  for (const LegacyMap& m : legacy.maps) {
    const auto handle = static_cast<std::uint32_t>(out.defs.size() + 1);
    out.symbols.by_legacy_offset.emplace(m.offset, handle);  // aliases: the first symbol wins
    out.defs.push_back(map_def(handle, m.type, m.key_size, m.value_size, m.max_entries, m.flags, m.name));
  }
  if (const ElfSection* s = image.section_named(".maps")) out.symbols.maps_section = s->index;
  for (const LibbpfMap& m : view.maps) {
    const auto handle = static_cast<std::uint32_t>(out.defs.size() + 1);
    MapDef def = map_def(handle, m.type, m.key_size, m.value_size, m.max_entries, m.flags, m.name);
    def.btf_key_type_id = m.btf_key_type_id;
    def.btf_value_type_id = m.btf_value_type_id;
    def.map_extra = m.map_extra;
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
    out.global_data.insert(handle);
    out.defs.push_back(std::move(def));
  }
  // Inner map templates of map-in-maps get the handles after every map of
  // the object, so those keep libbpf 0.x's numbering.
  const std::size_t object_maps = out.defs.size();
  for (std::size_t i = 0, v = 0; i < object_maps; ++i) {
    if (out.defs[i].handle <= legacy.maps.size()) continue;  // legacy maps have no inner template
    const LibbpfMap& m = view.maps[v++];
    if (m.inner.empty()) continue;
    const LibbpfMap& in = m.inner.front();
    const auto handle = static_cast<std::uint32_t>(out.defs.size() + 1);
    MapDef t = map_def(handle, in.type, in.key_size, in.value_size, in.max_entries, in.flags, in.name);
    t.btf_key_type_id = in.btf_key_type_id;
    t.btf_value_type_id = in.btf_value_type_id;
    t.map_extra = in.map_extra;
    out.defs[i].inner_map = handle;
    out.defs.push_back(std::move(t));
  }
  return out;
}

// --map-size: what a loader's bpf_map__set_max_entries() would do before load.
Status apply_map_sizes(CollectedMaps& maps, const std::map<std::string, std::uint32_t, std::less<>>& sizes) {
  for (const auto& [name, entries] : sizes) {
    auto it = std::find_if(maps.defs.begin(), maps.defs.end(), [&](const MapDef& d) { return d.name == name; });
    if (it == maps.defs.end()) {
      std::string names;
      for (const auto& d : maps.defs) names += (names.empty() ? "" : ", ") + d.name;
      return err("map size for '" + name + "': the object has no such map (maps: " + (names.empty() ? "none" : names) + ")");
    }
    if (maps.global_data.count(it->handle))
      return err("map size for '" + name + "': global data is one array entry; its size is not settable");
    if (entries == 0) return err("map size for '" + name + "': max_entries must be at least 1");
    it->max_entries = entries;
  }
  return Ok{};
}

// Maps whose entries name objects only the guest has: redirect targets,
// AF_XDP sockets, perf event rings. The host cannot fill them; the guest
// finishes such programs (ARCHITECTURE.md, "What the guest finishes").
const char* guest_side_objects(std::uint32_t t) {
  switch (t) {
    case BPF_MAP_TYPE_DEVMAP:
    case BPF_MAP_TYPE_DEVMAP_HASH: return "the guest's network devices (redirect targets)";
    case BPF_MAP_TYPE_CPUMAP: return "the guest's CPUs (redirect targets)";
    case BPF_MAP_TYPE_XSKMAP: return "the guest's AF_XDP sockets";
    case BPF_MAP_TYPE_PERF_EVENT_ARRAY: return "the guest's perf event buffers";
    default: return nullptr;
  }
}

std::string unsupported_map(const MapDef& d, const char* role) {
  const auto type = static_cast<std::uint32_t>(d.type);
  if (const char* objects = guest_side_objects(type))
    return std::string(role) + "map '" + d.name + "' has type " + map_type_label(type) + ": its entries name " +
           objects + ", which the host cannot reach; offload does not run it";
  return std::string(role) + "map '" + d.name + "' has type " + map_type_label(type) +
         ", which offload does not support";
}

// Only the maps the linked code names go to the host: an unused map of a
// type offload does not run (a DEVMAP of another program in the object) or
// that no one sized must not refuse this program. A used one is refused at
// its first use, with the instruction and source line. A used map-in-map
// brings its inner map template along (the host creates the outer map
// from it), ordered before it.
Status keep_used_maps(Submission& sub, const std::vector<MapUse>& uses, std::vector<std::string>& notes) {
  std::map<std::uint32_t, std::size_t> first_use;  // handle -> pc
  for (const MapUse& u : uses) first_use.emplace(u.handle, u.pc);
  std::map<std::uint32_t, std::size_t> templates;  // inner template handle -> pc of its outer's first use
  for (const MapDef& d : sub.maps)
    if (auto use = first_use.find(d.handle); use != first_use.end() && d.inner_map) templates.emplace(d.inner_map, use->second);
  const Diagnoser diag(sub);
  for (const MapDef& d : sub.maps) {
    auto use = first_use.find(d.handle);
    auto tmpl = templates.find(d.handle);
    if (use == first_use.end() && tmpl == templates.end()) continue;
    const std::size_t pc = use != first_use.end() ? use->second : tmpl->second;
    const auto type = static_cast<std::uint32_t>(d.type);
    // A guest-side map (a redirect target, AF_XDP sockets, perf rings) stays
    // in the guest; the host defers the helpers that name it (protocol
    // version 2, PROTOCOL.md 8) and refuses any other use, with the insn.
    const bool guest_side = guest_side_map_type(type) && use != first_use.end();
    if (!offload_map_type(type) && !guest_side)
      return diag.at(pc, unsupported_map(d, use != first_use.end() ? "" : "inner "), EOPNOTSUPP);
    if (guest_side) continue;  // its loader sizes it in the guest (perf arrays: one slot per CPU)
    if (map_type_holds_maps(d.type) && !d.inner_map)
      return diag.at(pc, "map '" + d.name + "' holds maps but declares no inner map (__array(values, ...))");
    if (d.max_entries == 0)
      return diag.at(pc, "map '" + d.name + "' has max_entries 0: the object leaves it to user space to size "
                                  "it before load; set a size with --map-size " + d.name + "=N");
  }
  std::set<std::uint32_t> any_template;  // an unused outer's template goes silently with it
  for (const MapDef& d : sub.maps)
    if (d.inner_map) any_template.insert(d.inner_map);
  std::string unused;
  std::vector<MapDef> kept;
  for (MapDef& d : sub.maps)
    if (templates.count(d.handle)) kept.push_back(d);
  for (MapDef& d : sub.maps) {
    if (templates.count(d.handle)) continue;
    if (first_use.count(d.handle)) {
      kept.push_back(std::move(d));
    } else if (!any_template.count(d.handle)) {
      unused += (unused.empty() ? "'" : ", '") + d.name + "' (" + map_type_label(static_cast<std::uint32_t>(d.type)) + ")";
    }
  }
  if (!unused.empty()) notes.push_back(diag.label() + " does not use map(s) " + unused + ": not offloaded");
  sub.maps = std::move(kept);
  return Ok{};
}

// `.values = { [i] = &map_or_prog }` in a prog array or map of maps is a
// relocation into `.maps`, which libbpf applies after load. The builder
// has no handle to write there (a program slot names another program the
// guest loads separately), so the slots stay empty: say so for the maps
// this program uses.
void note_initial_slots(const ElfImage& image, const Submission& sub, std::vector<std::string>& notes) {
  const ElfSection* maps = image.section_named(".maps");
  if (!maps) return;
  std::map<std::string, int> slots;
  for (const ElfReloc& rel : image.relocs_for(maps->index))
    for (const ElfSymbol& s : image.symbols())
      if (s.shndx == maps->index && s.type == STT_OBJECT && rel.offset >= s.value && rel.offset - s.value < s.size)
        ++slots[s.name];
  for (const MapDef& d : sub.maps)
    if (auto it = slots.find(d.name); it != slots.end())
      notes.push_back("map '" + d.name + "': " + std::to_string(it->second) +
                      " slot(s) initialized in the object (.values = {...}) are left empty on the host; "
                      "fill them with MAP_UPDATE (map or program handles)");
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

// A kfunc call names its function by the id of the function's extern
// declaration in the submission's BTF (core/policy.hpp, KfuncProto): the
// host resolves the name in its own kernel's BTF.
Status resolve_kfuncs(Submission& sub, const std::vector<KfuncUse>& uses) {
  if (uses.empty()) return Ok{};
  const std::string where = "prog '" + sub.name + "': ";
  std::unique_ptr<btf, void (*)(btf*)> types(sub.btf.empty() ? nullptr : btf__new(sub.btf.data(), sub.btf.size()),
                                             &btf__free);
  if (!types) return err(where + "calls kfunc '" + uses.front().name + "' but the object has no usable BTF to name it");
  for (const KfuncUse& u : uses) {
    const int id = btf__find_by_name_kind(types.get(), u.name.c_str(), BTF_KIND_FUNC);
    if (id <= 0) return err(where + "insn " + std::to_string(u.pc) + ": kfunc '" + u.name + "' has no declaration in the object's BTF");
    sub.insns[u.pc].imm = id;
  }
  return Ok{};
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

// Everything steps 1-3 learn about an object.
struct OpenedObject {
  ElfImage image;  // spans into the caller's bytes
  LegacyMaps legacy;
  LibbpfView view;  // programs: libbpf's, then one per code section without function symbols
};

Result<OpenedObject> open_object(std::span<const std::uint8_t> elf_bytes) {
  if (elf_bytes.size() > kMaxObjectBytes) return err("object is larger than " + std::to_string(kMaxObjectBytes) + " bytes");
  auto image = checked_image(elf_bytes);
  if (!image) return image.error();
  auto legacy = parse_legacy_maps(*image);
  if (!legacy) return legacy.error();
  auto for_libbpf = libbpf_compatible_copy(elf_bytes, *image, *legacy);
  if (!for_libbpf) return for_libbpf.error();
  auto view = open_with_libbpf(*for_libbpf);
  if (!view) return view.error();
  for (const ElfSection* s : sections_without_functions(*image)) {
    if (s->size % sizeof(isa::RawInsn)) return err("section '" + s->name + "': code size " + std::to_string(s->size) + " is not a multiple of 8");
    view->programs.push_back(LibbpfProgram{s->name, s->name, isa::raw_from_bytes(s->data), true});
  }
  return OpenedObject{std::move(*image), std::move(*legacy), std::move(*view)};
}

// The symbol linking starts from. libbpf drops a leading '?' (SEC("?xdp"):
// not auto-loaded) from the section name it reports; the ELF keeps it.
Result<ElfSymbol> entry_symbol(const ElfImage& image, const LibbpfProgram& prog) {
  if (prog.whole_section) {
    const ElfSection* sec = image.section_named(prog.section);
    if (!sec) return err("prog '" + prog.name + "': section '" + prog.section + "' disappeared");
    return ElfSymbol{prog.name, STT_FUNC, STB_GLOBAL, static_cast<std::uint16_t>(sec->index), 0, sec->size};
  }
  const ElfSymbol* entry = nullptr;
  for (const ElfSymbol& s : image.symbols()) {
    if (s.type != STT_FUNC || s.name != prog.name) continue;
    const ElfSection* in = image.section(s.shndx);
    if (in && (in->name == prog.section || in->name == "?" + prog.section)) entry = &s;
  }
  if (!entry) return err("prog '" + prog.name + "': no function symbol in section '" + prog.section + "'");
  const ElfSection* sec = image.section(entry->shndx);
  if (entry->size != prog.insns.size() * sizeof(isa::RawInsn) || entry->value > sec->data.size() ||
      entry->size > sec->data.size() - entry->value ||
      std::memcmp(sec->data.data() + entry->value, prog.insns.data(), entry->size) != 0)
    return err("prog '" + prog.name + "': libbpf and the ELF symbol table disagree about its code");
  return *entry;
}

}  // namespace

Status parse_map_size(std::string_view spec, std::map<std::string, std::uint32_t, std::less<>>& sizes) {
  const auto eq = spec.rfind('=');
  if (eq == std::string_view::npos || eq == 0)
    return err("map size '" + std::string(spec) + "': expected NAME=N");
  std::string name(spec.substr(0, eq));
  std::string_view n = spec.substr(eq + 1);
  int base = 10;
  if (n.size() > 2 && n[0] == '0' && (n[1] == 'x' || n[1] == 'X')) {
    n.remove_prefix(2);
    base = 16;
  }
  std::uint32_t value = 0;
  auto [end, ec] = std::from_chars(n.data(), n.data() + n.size(), value, base);
  if (n.empty() || ec != std::errc() || end != n.data() + n.size() || value == 0)
    return err("map size '" + std::string(spec) + "': N must be a number in 1..4294967295");
  if (sizes.count(name)) return err("map size for '" + name + "' given twice");
  sizes.emplace(std::move(name), value);
  return Ok{};
}

Result<BuiltProgram> build_program(std::span<const std::uint8_t> elf_bytes, const BuildOptions& options) {
  auto object = open_object(elf_bytes);
  if (!object) return object.error();
  const ElfImage& image = object->image;
  auto chosen = select_program(object->view, options.program);
  if (!chosen) return chosen.error();
  const LibbpfProgram& prog = **chosen;
  auto entry = entry_symbol(image, prog);
  if (!entry) return entry.error();

  BuiltProgram out;
  out.notes = object->legacy.notes;
  if (prog.whole_section)
    out.notes.push_back("prog '" + prog.name + "': section '" + prog.section +
                        "' has no function symbol; the whole section is the program");
  auto maps = collect_maps(image, object->legacy, object->view);
  if (!maps) return maps.error();
  if (Status st = apply_map_sizes(*maps, options.map_sizes); !st) return st.error();
  auto code = link_program(image, *entry, maps->symbols);
  if (!code) return code.error();

  Submission& sub = out.submission;
  sub.name = prog.name;
  sub.license = read_license(image);
  sub.insns = std::move(code->insns);
  sub.maps = std::move(maps->defs);
  sub.btf = object->view.btf;
  if (Status st = collect_debug_info(image, *code, prog.name, sub.btf, sub); !st) return st.error();
  if (Status st = resolve_kfuncs(sub, code->kfunc_uses); !st) return st.error();
  if (Status st = keep_used_maps(sub, code->map_uses, out.notes); !st) return st.error();
  note_initial_slots(image, sub, out.notes);
  return out;
}

Result<Submission> build_submission(std::span<const std::uint8_t> elf_bytes, std::optional<std::string> program) {
  auto built = build_program(elf_bytes, BuildOptions{std::move(program), {}});
  if (!built) return built.error();
  return std::move(built->submission);
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

Result<BuiltProgram> build_program_from_file(const std::string& path, const BuildOptions& options) {
  auto bytes = read_object_file(path);
  if (!bytes) return bytes.error();
  auto built = build_program(*bytes, options);
  if (!built) return built.error().prefixed(path + ": ");
  return built;
}

Result<Submission> build_submission_from_file(const std::string& path, std::optional<std::string> program) {
  auto built = build_program_from_file(path, BuildOptions{std::move(program), {}});
  if (!built) return built.error();
  return std::move(built->submission);
}

Result<std::vector<ProgramInfo>> list_program_infos(std::span<const std::uint8_t> elf_bytes) {
  auto object = open_object(elf_bytes);
  if (!object) return object.error();
  std::vector<ProgramInfo> out;
  for (const auto& p : object->view.programs) out.push_back(ProgramInfo{p.name, p.section, p.insns.size()});
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
