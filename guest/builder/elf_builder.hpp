// ELF -> xo::Submission: what a guest sends to the host for one program of a
// clang-built BPF object (clang -target bpf -g -c prog.bpf.c).
//
// The result is self-contained and needs no kernel:
//  - insns: the program with its used subprograms appended (libbpf order),
//    bpf-to-bpf calls fixed, and every map reference an ld_imm64 naming a
//    guest handle: BPF_PSEUDO_MAP_FD (imm = handle) or BPF_PSEUDO_MAP_VALUE
//    (imm = handle, second slot imm = offset into the value);
//  - maps: the maps the program (with its subprograms) uses, each with its
//    handle among all maps of the object, 1..N in libbpf 0.x's map order
//    (legacy `maps` records, then the `.maps` maps in section order, then
//    global data `.data`, `.rodata*`, `.bss` as 1-entry ARRAY maps named
//    after their ELF section, with initial contents; .rodata is `frozen`).
//    So every program of one object agrees on handles; maps a program does
//    not use are left out, with a note (a DEVMAP meant for another program
//    of the object does not refuse this one);
//  - btf: the object's BTF as libbpf finalizes it at open (DATASEC sizes and
//    variable offsets filled in), func_info/line_info in slots for the linked
//    program;
//  - license from the "license" section, name = the program's function name.
// guest_ifindex stays 0: the caller fills it.
//
// Pre-libbpf-1.0 objects (legacy `maps` definitions, code without function
// symbols) are read too: legacy_object.hpp.
//
// The ELF is untrusted: anything malformed or unsupported (CO-RE
// relocations, kfuncs, __ksym/__kconfig externs, unknown relocations, map
// types offload does not run in a map the program uses) is an xo::Error
// with a one-line message, never an abort.
// Not thread-safe against other libbpf users in the process: libbpf's print
// callback is swapped for the duration of a call.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "core/submission.hpp"

namespace xo::guest {

struct BuildOptions {
  // Selects by function name (e.g. "xdp_prog1") or section name (e.g. "xdp",
  // when exactly one program lives there). nullopt: the object must contain
  // exactly one program.
  std::optional<std::string> program;
  // max_entries by map name, set before load as a loader would with
  // bpf_map__set_max_entries(): objects may leave a map at max_entries 0
  // for user space to size. Every name must be a map of the object.
  std::map<std::string, std::uint32_t, std::less<>> map_sizes;
};

struct BuiltProgram {
  Submission submission;
  std::vector<std::string> notes;  // one line each: maps left out, fields ignored, ...
};

Result<BuiltProgram> build_program(std::span<const std::uint8_t> elf_bytes, const BuildOptions& options = {});
Result<BuiltProgram> build_program_from_file(const std::string& path, const BuildOptions& options = {});

// One "--map-size NAME=N" (N decimal or 0x hex, at least 1) added to `sizes`.
Status parse_map_size(std::string_view spec, std::map<std::string, std::uint32_t, std::less<>>& sizes);

// build_program without options other than the program, notes dropped.
Result<Submission> build_submission(std::span<const std::uint8_t> elf_bytes,
                                    std::optional<std::string> program = std::nullopt);
Result<Submission> build_submission_from_file(const std::string& path,
                                              std::optional<std::string> program = std::nullopt);

struct ProgramInfo {
  std::string name;     // function name (the section's name for a section without function symbols)
  std::string section;  // ELF section, e.g. "xdp" (libbpf's spelling: "?xdp" is "xdp")
  std::size_t slots = 0;  // size of the entry function alone, before linking
  bool operator==(const ProgramInfo&) const = default;
};

// Entry programs of the object (not .text subprograms), in ELF order.
Result<std::vector<ProgramInfo>> list_program_infos(std::span<const std::uint8_t> elf_bytes);
Result<std::vector<std::string>> list_programs(std::span<const std::uint8_t> elf_bytes);
Result<std::vector<std::string>> list_programs_in_file(const std::string& path);

// Reads a whole file with a size bound (the builder refuses objects above it).
inline constexpr std::size_t kMaxObjectBytes = 64u << 20;
Result<std::vector<std::uint8_t>> read_object_file(const std::string& path);

}  // namespace xo::guest
