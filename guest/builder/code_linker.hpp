// Static linking of one BPF program out of a relocatable object, the way
// libbpf's bpf_object__reloc_code + bpf_object__relocate_data do it, but with
// guest map handles instead of host fds:
//
//   before (xdp section + .text, relocations beside them)
//     xdp:   0: r1 = 0 ll          ; R_BPF_64_64 rxcnt
//            2: call -1            ; R_BPF_64_32 parse  (.text)
//     .text: parse: ...
//   after (one flat program)
//     0: r1 = map_fd[handle 1] ll  ; src_reg BPF_PSEUDO_MAP_FD, imm 1
//     2: call pc+N                 ; src_reg BPF_PSEUDO_CALL, lands on the appended copy
//     ...  <xdp_prog1 body>  ...   parse: ... (appended after the main program)
//
// Used subprograms are appended once each, in order of first reference; the
// regions tell the caller where every function landed (for func/line info).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "guest/builder/elf_image.hpp"
#include "translator/isa/raw.hpp"
#include "core/result.hpp"

namespace xo::guest {

// How ld_imm64 relocations name maps.
struct MapSymbols {
  std::size_t maps_section = 0;                        // index of `.maps`, 0 if none
  std::map<std::string, std::uint32_t> by_map_name;    // `.maps` symbol -> handle
  std::map<std::size_t, std::uint32_t> by_data_section;  // .data/.rodata/.bss index -> handle
  std::size_t legacy_section = 0;                       // index of legacy `maps`, 0 if none
  std::map<std::uint64_t, std::uint32_t> by_legacy_offset;  // record offset in `maps` -> handle
};

// One instruction that names a map (ld_imm64, BPF_PSEUDO_MAP_FD or _VALUE).
struct MapUse {
  std::uint32_t handle = 0;
  std::size_t pc = 0;  // slot in the linked program
};

// One function copied into the output.
struct CodeRegion {
  std::size_t section = 0;   // ELF section index it came from
  std::uint64_t start = 0;   // byte offset of the function in that section
  std::uint64_t size = 0;    // bytes
  std::size_t out_slot = 0;  // where its first slot landed in the output
  std::string function;
};

// One call of an extern function (a kfunc), by name: its insn is a kfunc
// call (src_reg BPF_PSEUDO_KFUNC_CALL) whose imm the builder sets to the id of
// the function's declaration in the object's BTF.
struct KfuncUse {
  std::string name;
  std::size_t pc = 0;  // slot in the linked program
};

struct LinkedCode {
  std::vector<isa::RawInsn> insns;
  std::vector<CodeRegion> regions;  // regions[0] is the main program
  std::vector<MapUse> map_uses;     // in program order: the maps this program needs
  std::vector<KfuncUse> kfunc_uses;
};

// Most slots a linked program may have (the kernel's BPF_COMPLEXITY_LIMIT_INSNS).
inline constexpr std::size_t kMaxProgramSlots = 1'000'000;

// `entry` is normally a function symbol of the image; for a code section
// without function symbols, a made-up one spanning the whole section.
Result<LinkedCode> link_program(const ElfImage& image, const ElfSymbol& entry, const MapSymbols& maps);

}  // namespace xo::guest
