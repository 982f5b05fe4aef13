#include "guest/builder/code_linker.hpp"

#include <elf.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cstring>

namespace xo::guest {
namespace {

constexpr std::uint8_t kLdImm64 = BPF_LD | BPF_IMM | BPF_DW;
constexpr std::uint8_t kCall = BPF_JMP | BPF_CALL;

class Linker {
 public:
  Linker(const ElfImage& image, const MapSymbols& maps, std::string prog)
      : image_(image), maps_(maps), prog_(std::move(prog)) {}

  Result<LinkedCode> run(const ElfSymbol& entry) {
    auto first = append(entry);
    if (!first) return first.error();
    // Regions grow while we walk them: subprograms reached from appended code
    // are appended in turn (transitive closure, each function once).
    for (std::size_t r = 0; r < out_.regions.size(); ++r) {
      Status st = relocate_region(r);
      if (!st) return st.error();
    }
    return std::move(out_);
  }

 private:
  std::string where(std::size_t out_pc, const CodeRegion& reg) const {
    return "prog '" + prog_ + "': insn " + std::to_string(out_pc) + " (" + reg.function + "+" +
           std::to_string((out_pc - reg.out_slot)) + "): ";
  }

  // Copies function `fn` to the end of the output; returns its region index.
  Result<std::size_t> append(const ElfSymbol& fn) {
    const ElfSection* sec = image_.section(fn.shndx);
    if (!sec || !sec->is_code()) return err("prog '" + prog_ + "': function '" + fn.name + "' is not in a code section");
    if (fn.size == 0 || fn.size % sizeof(isa::RawInsn) || fn.value % sizeof(isa::RawInsn) ||
        fn.value > sec->data.size() || fn.size > sec->data.size() - fn.value)
      return err("prog '" + prog_ + "': function '" + fn.name + "' has a bad extent in '" + sec->name + "' (offset " +
                 std::to_string(fn.value) + ", size " + std::to_string(fn.size) + ")");
    std::size_t slots = fn.size / sizeof(isa::RawInsn);
    if (slots > kMaxProgramSlots - out_.insns.size())
      return err("prog '" + prog_ + "': more than " + std::to_string(kMaxProgramSlots) + " instructions after linking '" + fn.name + "'");
    CodeRegion reg{fn.shndx, fn.value, fn.size, out_.insns.size(), fn.name};
    auto raw = isa::raw_from_bytes(sec->data.subspan(fn.value, fn.size));
    out_.insns.insert(out_.insns.end(), raw.begin(), raw.end());
    out_.regions.push_back(reg);
    return out_.regions.size() - 1;
  }

  // Output slot of byte `off` in code section `shndx`, appending its function if needed.
  Result<std::size_t> slot_of_code(std::size_t shndx, std::int64_t off, const std::string& ctx) {
    const ElfSection* sec = image_.section(shndx);
    if (!sec || !sec->is_code()) return err(ctx + "target is not in a code section");
    if (off < 0 || static_cast<std::uint64_t>(off) >= sec->size || off % 8)
      return err(ctx + "target offset " + std::to_string(off) + " is outside '" + sec->name + "' or misaligned");
    const std::uint64_t at = static_cast<std::uint64_t>(off);
    // A region already copied covers it (also the entry made up for a
    // section without function symbols, which function_at cannot find).
    for (const CodeRegion& r : out_.regions)
      if (r.section == shndx && at >= r.start && at - r.start < r.size) return r.out_slot + (at - r.start) / 8;
    const ElfSymbol* fn = image_.function_at(shndx, at);
    if (!fn) return err(ctx + "target " + sec->name + "+" + std::to_string(off) + " is not inside any function");
    auto added = append(*fn);
    if (!added) return added.error();
    return out_.regions[*added].out_slot + (at - fn->value) / 8;
  }

  static Result<std::int32_t> rel_offset(std::size_t target, std::size_t out_pc, const std::string& ctx) {
    std::int64_t d = static_cast<std::int64_t>(target) - static_cast<std::int64_t>(out_pc) - 1;
    if (d < INT32_MIN || d > INT32_MAX) return err(ctx + "call offset out of range");
    return static_cast<std::int32_t>(d);
  }

  Status relocate_region(std::size_t r) {
    const CodeRegion reg = out_.regions[r];  // copy: appending may reallocate
    const auto& relocs = image_.relocs_for(reg.section);
    std::size_t slots = reg.size / 8;
    // Every relocation inside this function must be consumed by an instruction.
    std::size_t used = 0, expected = 0;
    for (const auto& rel : relocs)
      if (rel.offset >= reg.start && rel.offset - reg.start < reg.size) ++expected;

    for (std::size_t i = 0; i < slots;) {
      std::size_t out_pc = reg.out_slot + i;
      std::uint64_t byte = reg.start + i * 8;
      const ElfReloc* rel = find_reloc(relocs, byte);
      if (rel) ++used;
      auto& insn = out_.insns[out_pc];
      std::string ctx = where(out_pc, reg);
      if (insn.code == kLdImm64) {
        if (i + 1 >= slots) return err(ctx + "ld_imm64 truncated at the end of the function");
        if (find_reloc(relocs, byte + 8)) return err(ctx + "relocation on the second half of ld_imm64");
        Status st = rel ? relocate_ld_imm64(out_pc, *rel, ctx) : check_plain_ld_imm64(insn, ctx);
        if (!st) return st;
        i += 2;
        continue;
      }
      if (insn.code == kCall && insn.src() == BPF_PSEUDO_KFUNC_CALL && !rel)
        return err(ctx + "kfunc call without a relocation naming its function");
      if (insn.code == kCall && (insn.src() == BPF_PSEUDO_CALL || insn.src() == BPF_PSEUDO_KFUNC_CALL)) {
        Status st = rel ? relocate_call(out_pc, *rel, ctx)
                        : local_call(out_pc, reg.section, static_cast<std::int64_t>(byte), ctx);
        if (!st) return st;
      } else if (rel) {
        return err(ctx + "relocation type " + std::to_string(rel->type) + " against '" +
                   image_.symbols()[rel->symbol].name + "' on an instruction that takes none (opcode 0x" + hex(insn.code) + ")");
      }
      ++i;
    }
    if (used != expected) return err("prog '" + prog_ + "': function '" + reg.function + "' has relocations that point inside an ld_imm64");
    return Ok{};
  }

  static std::string hex(unsigned v) {
    static const char* d = "0123456789abcdef";
    return std::string{d[(v >> 4) & 15], d[v & 15]};
  }

  static const ElfReloc* find_reloc(const std::vector<ElfReloc>& relocs, std::uint64_t off) {
    auto it = std::lower_bound(relocs.begin(), relocs.end(), off,
                               [](const ElfReloc& r, std::uint64_t o) { return r.offset < o; });
    return it != relocs.end() && it->offset == off ? &*it : nullptr;
  }

  static Status check_plain_ld_imm64(const isa::RawInsn& insn, const std::string& ctx) {
    if (insn.src() == 0) return Ok{};
    return err(ctx + "ld_imm64 with pseudo source " + std::to_string(insn.src()) + " but no relocation");
  }

  Status relocate_ld_imm64(std::size_t out_pc, const ElfReloc& rel, const std::string& ctx) {
    auto& lo = out_.insns[out_pc];
    auto& hi = out_.insns[out_pc + 1];
    const ElfSymbol& sym = image_.symbols()[rel.symbol];
    if (rel.type != kRelBpf64_64)
      return err(ctx + "unsupported relocation type " + std::to_string(rel.type) + " on ld_imm64 against '" + sym.name + "'");
    if (lo.src() != 0) return err(ctx + "relocated ld_imm64 already has pseudo source " + std::to_string(lo.src()));
    if (sym.shndx == SHN_UNDEF)
      return err(ctx + "reference to extern '" + sym.name + "' (__ksym/__kconfig) is not supported for offloaded programs");
    if (sym.shndx >= SHN_LORESERVE) return err(ctx + "reference to special symbol '" + sym.name + "'");
    const ElfSection* sec = image_.section(sym.shndx);
    if (!sec) return err(ctx + "reference to symbol '" + sym.name + "' in a missing section");
    if (sym.value > sec->size) return err(ctx + "symbol '" + sym.name + "' lies outside its section '" + sec->name + "'");

    if (maps_.maps_section && sym.shndx == maps_.maps_section) {
      auto it = maps_.by_map_name.find(sym.name);
      if (it == maps_.by_map_name.end()) return err(ctx + "reference to unknown map '" + sym.name + "'");
      lo = isa::RawInsn::make(lo.code, lo.dst(), BPF_PSEUDO_MAP_FD, lo.off, static_cast<std::int32_t>(it->second));
      hi.imm = 0;
      out_.map_uses.push_back({it->second, out_pc});
      return Ok{};
    }
    if (maps_.legacy_section && sym.shndx == maps_.legacy_section) {
      // libbpf 0.x: the map whose record starts at the symbol (+ addend).
      std::int64_t off = static_cast<std::int64_t>(sym.type == STT_SECTION ? 0 : sym.value) + lo.imm;
      auto it = off < 0 ? maps_.by_legacy_offset.end() : maps_.by_legacy_offset.find(static_cast<std::uint64_t>(off));
      if (it == maps_.by_legacy_offset.end())
        return err(ctx + "reference to '" + sym.name + "'+" + std::to_string(lo.imm) + " in section '" + sec->name +
                   "' is not the start of a legacy map definition");
      lo = isa::RawInsn::make(lo.code, lo.dst(), BPF_PSEUDO_MAP_FD, lo.off, static_cast<std::int32_t>(it->second));
      hi.imm = 0;
      out_.map_uses.push_back({it->second, out_pc});
      return Ok{};
    }
    if (auto it = maps_.by_data_section.find(sym.shndx); it != maps_.by_data_section.end()) {
      // libbpf: value offset = symbol value + addend kept in insn[0].imm.
      std::int64_t off = static_cast<std::int64_t>(sym.type == STT_SECTION ? 0 : sym.value) + lo.imm;
      if (off < 0 || static_cast<std::uint64_t>(off) >= sec->size)
        return err(ctx + "global data reference '" + sym.name + "'+" + std::to_string(lo.imm) + " is outside '" + sec->name + "' (" + std::to_string(sec->size) + " bytes)");
      lo = isa::RawInsn::make(lo.code, lo.dst(), BPF_PSEUDO_MAP_VALUE, lo.off, static_cast<std::int32_t>(it->second));
      hi.imm = static_cast<std::int32_t>(off);
      out_.map_uses.push_back({it->second, out_pc});
      return Ok{};
    }
    if (sec->is_code()) {  // address of a subprogram (callbacks, bpf_loop)
      const isa::RawInsn first = lo;  // appending below may move the output
      std::int64_t off = static_cast<std::int64_t>(sym.type == STT_SECTION ? 0 : sym.value) + first.imm;
      auto target = slot_of_code(sym.shndx, off, ctx);
      if (!target) return target.error();
      auto d = rel_offset(*target, out_pc, ctx);
      if (!d) return d.error();
      out_.insns[out_pc] = isa::RawInsn::make(first.code, first.dst(), BPF_PSEUDO_FUNC, first.off, *d);
      out_.insns[out_pc + 1].imm = 0;
      return Ok{};
    }
    return err(ctx + "reference to '" + sym.name + "' in section '" + sec->name + "', which is neither a map, global data nor code");
  }

  Status relocate_call(std::size_t out_pc, const ElfReloc& rel, const std::string& ctx) {
    const ElfSymbol& sym = image_.symbols()[rel.symbol];
    if (rel.type != kRelBpf64_32)
      return err(ctx + "unsupported relocation type " + std::to_string(rel.type) + " on call to '" + sym.name + "'");
    if (sym.shndx == SHN_UNDEF) {
      // A kfunc: named here, its BTF id set once the object's BTF is at hand
      // (elf_builder.cpp), as libbpf's RELO_EXTERN_CALL does with the kernel's.
      out_.insns[out_pc] = isa::RawInsn::make(kCall, 0, BPF_PSEUDO_KFUNC_CALL, 0, 0);
      out_.kfunc_uses.push_back({sym.name, out_pc});
      return Ok{};
    }
    if (out_.insns[out_pc].src() == BPF_PSEUDO_KFUNC_CALL)
      return err(ctx + "kfunc call against '" + sym.name + "', which is defined in this object");
    const ElfSection* sec = image_.section(sym.shndx);
    if (!sec || sym.value > sec->size) return err(ctx + "call target symbol '" + sym.name + "' lies outside its section");
    // libbpf: global functions are called with imm -1 against their symbol;
    // static ones against the section symbol with imm = offset in slots - 1.
    std::int64_t off = static_cast<std::int64_t>(sym.type == STT_SECTION ? 0 : sym.value) +
                       (static_cast<std::int64_t>(out_.insns[out_pc].imm) + 1) * 8;
    auto target = slot_of_code(sym.shndx, off, ctx);
    if (!target) return target.error();
    auto d = rel_offset(*target, out_pc, ctx);
    if (!d) return d.error();
    out_.insns[out_pc].imm = *d;
    return Ok{};
  }

  // A call without relocation targets the same section, relative to itself.
  Status local_call(std::size_t out_pc, std::size_t shndx, std::int64_t byte, const std::string& ctx) {
    std::int64_t off = byte + (static_cast<std::int64_t>(out_.insns[out_pc].imm) + 1) * 8;
    auto target = slot_of_code(shndx, off, ctx);
    if (!target) return target.error();
    auto d = rel_offset(*target, out_pc, ctx);
    if (!d) return d.error();
    out_.insns[out_pc].imm = *d;
    return Ok{};
  }

  const ElfImage& image_;
  const MapSymbols& maps_;
  std::string prog_;
  LinkedCode out_;
};

}  // namespace

Result<LinkedCode> link_program(const ElfImage& image, const ElfSymbol& entry, const MapSymbols& maps) {
  return Linker(image, maps, entry.name).run(entry);
}

}  // namespace xo::guest
