// Native loads of objects with a legacy `maps` section (struct bpf_map_def
// entries, libbpf < 1.0's format): libbpf 1.x refuses to open them, but the
// kernel loads them, so the corpus needs their native verdict some other
// way. A minimal loader, only as far as such objects need:
//
//   maps:  each symbol in `maps` -> { type, key_size, value_size,
//          max_entries, map_flags } -> bpf_map_create
//   code:  the program's function bytes, then all of .text when it calls
//          into it; a relocation must name a `maps` symbol (ld_imm64 ->
//          BPF_PSEUDO_MAP_FD) or a .text function (call -> pc-relative);
//          anything else (global data) is "not determined", not a fail
//   load:  bpf_prog_load(XDP, license from the `license` section), no BTF
//
// The kernel verifier has the last word, exactly as for libbpf's loads.
#include <bpf/bpf.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <memory>

#include "core/unique_fd.hpp"
#include "tests/corpus/classify.hpp"
#include "tests/corpus/native.hpp"

namespace xo::corpus {

namespace {

struct ElfCloser {
  void operator()(Elf* e) const { elf_end(e); }
};

struct Symbol {
  std::string name;
  std::size_t section = 0;
  std::uint64_t value = 0, size = 0;
  int type = 0, bind = 0;
};

// The parts of a legacy object the loader reads, bounds-checked.
struct LegacyObject {
  UniqueFd fd;
  std::unique_ptr<Elf, ElfCloser> elf;
  std::size_t maps_section = 0;
  std::vector<std::string> section_names;  // by index
  std::vector<Symbol> symbols;
  std::string license;

  Elf_Data* data(std::size_t index) const {
    Elf_Scn* scn = elf_getscn(elf.get(), index);
    return scn ? elf_getdata(scn, nullptr) : nullptr;
  }
};

Result<LegacyObject> open_legacy(const std::string& path) {
  elf_version(EV_CURRENT);
  LegacyObject o;
  o.fd.reset(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!o.fd) return err(errno, "cannot open " + path);
  o.elf.reset(elf_begin(o.fd.get(), ELF_C_READ, nullptr));
  std::size_t shstrndx = 0, nsec = 0;
  if (!o.elf || elf_getshdrstrndx(o.elf.get(), &shstrndx) != 0 || elf_getshdrnum(o.elf.get(), &nsec) != 0)
    return err("not an ELF object: " + path);
  o.section_names.resize(nsec);
  Elf_Scn* symtab = nullptr;
  GElf_Shdr symtab_hdr{};
  for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(o.elf.get(), scn)) != nullptr;) {
    GElf_Shdr sh;
    if (!gelf_getshdr(scn, &sh)) continue;
    const char* name = elf_strptr(o.elf.get(), shstrndx, sh.sh_name);
    std::size_t idx = elf_ndxscn(scn);
    if (idx < nsec && name) o.section_names[idx] = name;
    if (name && std::strcmp(name, "maps") == 0) o.maps_section = idx;
    if (sh.sh_type == SHT_SYMTAB) {
      symtab = scn;
      symtab_hdr = sh;
    }
    if (name && std::strcmp(name, "license") == 0) {
      Elf_Data* d = elf_getdata(scn, nullptr);
      if (d && d->d_buf) o.license.assign(static_cast<const char*>(d->d_buf), strnlen(static_cast<const char*>(d->d_buf), d->d_size));
    }
  }
  if (!symtab) return err("object has no symbol table");
  Elf_Data* sd = elf_getdata(symtab, nullptr);
  std::size_t n = symtab_hdr.sh_entsize ? symtab_hdr.sh_size / symtab_hdr.sh_entsize : 0;
  for (std::size_t i = 0; sd && i < n; ++i) {
    GElf_Sym s;
    if (!gelf_getsym(sd, static_cast<int>(i), &s)) continue;
    const char* name = elf_strptr(o.elf.get(), symtab_hdr.sh_link, s.st_name);
    o.symbols.push_back({name ? name : "", s.st_shndx, s.st_value, s.st_size, GELF_ST_TYPE(s.st_info),
                         GELF_ST_BIND(s.st_info)});
  }
  return o;
}

bool is_program(const LegacyObject& o, const Symbol& s) {
  return s.type == STT_FUNC && s.bind == STB_GLOBAL && s.section < o.section_names.size() &&
         o.section_names[s.section].rfind("xdp", 0) == 0;
}

NativeResult undetermined(std::string why) {
  NativeResult r;
  r.outcome.ran = false;
  r.outcome.stage = "corpus-loader";
  r.outcome.reason = "legacy loader: " + std::move(why);
  return r;
}

}  // namespace

Result<std::vector<ObjectProgram>> legacy_xdp_programs(const std::string& path) {
  auto o = open_legacy(path);
  if (!o) return o.error();
  std::vector<ObjectProgram> out;
  for (const auto& s : o->symbols)
    if (is_program(*o, s)) out.push_back({s.name, o->section_names[s.section]});
  return out;
}

NativeResult legacy_load_native(const std::string& path, const std::string& program) {
  auto o = open_legacy(path);
  if (!o) return undetermined(o.error().message);
  const Symbol* fn = nullptr;
  for (const auto& s : o->symbols)
    if (s.name == program && is_program(*o, s)) fn = &s;
  if (!fn) return undetermined("no program '" + program + "'");
  Elf_Data* code = o->data(fn->section);
  if (!code || !code->d_buf || fn->value + fn->size > code->d_size || fn->size % sizeof(bpf_insn) != 0)
    return undetermined("function '" + program + "' is outside its section");
  std::vector<bpf_insn> insns(fn->size / sizeof(bpf_insn));
  std::memcpy(insns.data(), static_cast<const char*>(code->d_buf) + fn->value, fn->size);

  NativeResult r;
  r.notes.push_back("native: legacy `maps` section (libbpf 1.x refuses it); loaded by the corpus's legacy loader");
  // Maps, by their offset in `maps`.
  std::map<std::uint64_t, UniqueFd> maps;
  Elf_Data* md = o->maps_section ? o->data(o->maps_section) : nullptr;
  for (const auto& s : o->symbols) {
    if (s.section != o->maps_section || !md || s.type == STT_SECTION) continue;
    if (s.value + 5 * sizeof(std::uint32_t) > md->d_size) return undetermined("map '" + s.name + "' is truncated");
    std::uint32_t def[5];
    std::memcpy(def, static_cast<const char*>(md->d_buf) + s.value, sizeof def);
    std::uint32_t entries = def[3];
    if (entries == 0) {
      entries = kDefaultMapEntries;
      r.sized_maps.push_back(s.name);
      r.notes.push_back("native: map " + s.name + " has max_entries 0; sized " + std::to_string(entries) +
                        " before load, as its tool would");
    }
    LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = def[4]);
    int fd = bpf_map_create(static_cast<bpf_map_type>(def[0]), s.name.substr(0, 15).c_str(), def[1], def[2], entries, &mo);
    if (fd < 0) {
      r.outcome = Outcome{true, false, "map '" + s.name + "': the kernel refused to create it (" + std::strerror(errno) + ")",
                          "kernel", errno};
      return r;
    }
    maps[s.value] = UniqueFd(fd);
  }
  // Subprograms: the whole .text goes after the function when the function
  // calls into it (libbpf appends only the called ones; the kernel verifies
  // the same calls either way, and never-called code is only dead code).
  std::size_t text = 0;
  for (std::size_t i = 0; i < o->section_names.size(); ++i)
    if (o->section_names[i] == ".text") text = i;
  const std::size_t text_base = insns.size();
  bool text_appended = false;

  // Relocations of `section` for the code that starts at slot `base`;
  // `lo`/`hi` bound the bytes of the section that were copied.
  auto relocate = [&](std::size_t section, std::size_t base, std::uint64_t lo, std::uint64_t hi) -> std::string {
    for (Elf_Scn* scn = nullptr; (scn = elf_nextscn(o->elf.get(), scn)) != nullptr;) {
      GElf_Shdr sh;
      if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_REL || sh.sh_info != section) continue;
      Elf_Data* rd = elf_getdata(scn, nullptr);
      std::size_t n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
      for (std::size_t i = 0; rd && i < n; ++i) {
        GElf_Rel rel;
        if (!gelf_getrel(rd, static_cast<int>(i), &rel)) continue;
        if (rel.r_offset < lo || rel.r_offset >= hi) continue;
        std::size_t sym = GELF_R_SYM(rel.r_info);
        if (sym >= o->symbols.size()) return "relocation names symbol " + std::to_string(sym);
        const Symbol& target = o->symbols[sym];
        std::size_t at = base + (rel.r_offset - lo) / sizeof(bpf_insn);
        if (at >= insns.size()) return "relocation outside the code";
        const bpf_insn in = insns[at];  // a copy: appending .text reallocates
        if (in.code == (BPF_JMP | BPF_CALL) && in.src_reg == BPF_PSEUDO_CALL && text && target.section == text) {
          if (!text_appended) {
            Elf_Data* td = o->data(text);
            if (!td || !td->d_buf || td->d_size % sizeof(bpf_insn)) return ".text is malformed";
            insns.resize(text_base + td->d_size / sizeof(bpf_insn));
            std::memcpy(insns.data() + text_base, td->d_buf, td->d_size);
            text_appended = true;
          }
          // libbpf's rule: the callee is sym_off / 8 + imm + 1 within .text.
          long callee = long(text_base) + long(target.value / sizeof(bpf_insn)) + in.imm + 1;
          insns[at].imm = static_cast<std::int32_t>(callee - long(at) - 1);
          continue;
        }
        auto m = maps.find(target.value);
        if (target.section != o->maps_section || m == maps.end() || in.code != (BPF_LD | BPF_IMM | BPF_DW))
          return "relocation against '" + target.name + "' (section " +
                 (target.section < o->section_names.size() ? o->section_names[target.section] : "?") +
                 ") is neither a legacy map reference nor a call into .text";
        insns[at].src_reg = BPF_PSEUDO_MAP_FD;
        insns[at].imm = m->second.get();
      }
    }
    return "";
  };
  if (auto why = relocate(fn->section, 0, fn->value, fn->value + fn->size); !why.empty()) return undetermined(why);
  if (text_appended) {
    Elf_Data* td = o->data(text);
    if (auto why = relocate(text, text_base, 0, td->d_size); !why.empty()) return undetermined(why);
  }

  r.outcome.ran = true;
  int fd = bpf_prog_load(BPF_PROG_TYPE_XDP, program.substr(0, 15).c_str(), o->license.c_str(), insns.data(),
                         insns.size(), nullptr);
  if (fd < 0) {
    int e = errno;
    std::string log(16u << 20, '\0');
    LIBBPF_OPTS(bpf_prog_load_opts, po, .log_level = 1, .log_size = static_cast<std::uint32_t>(log.size()),
                .log_buf = log.data());
    UniqueFd again(bpf_prog_load(BPF_PROG_TYPE_XDP, program.substr(0, 15).c_str(), o->license.c_str(),
                                 insns.data(), insns.size(), &po));
    log.resize(strnlen(log.data(), log.size()));
    r.outcome = Outcome{true, false, reason_line(log), "kernel", e};
    if (r.outcome.reason.empty()) r.outcome.reason = std::string("kernel refused the program (") + std::strerror(e) + ")";
    return r;
  }
  UniqueFd prog(fd);
  r.outcome.ok = true;
  r.guest_side = guest_side_uses(insns.data(), insns.size(), static_cast<bpf_attach_type>(0));
  for (int used : referenced_map_fds(insns.data(), insns.size()))
    for (const auto& [off, mfd] : maps)
      if (mfd.get() == used)
        for (const auto& s : o->symbols)
          if (s.section == o->maps_section && s.value == off && s.type != STT_SECTION) r.used_maps.push_back(s.name);
  return r;
}

}  // namespace xo::corpus
