// ELF -> xo::Submission: what a guest sends to the host for one program of a
// clang-built BPF object (clang -target bpf -g -c prog.bpf.c).
//
// The result is self-contained and needs no kernel:
//  - insns: the program with its used subprograms appended (libbpf order),
//    bpf-to-bpf calls fixed, and every map reference an ld_imm64 naming a
//    guest handle: BPF_PSEUDO_MAP_FD (imm = handle) or BPF_PSEUDO_MAP_VALUE
//    (imm = handle, second slot imm = offset into the value);
//  - maps: handles 1..N in libbpf's map order (the `.maps` maps in section
//    order, then global data `.data`, `.rodata*`, `.bss` as 1-entry ARRAY
//    maps named after their ELF section, with initial contents; .rodata is
//    `frozen`). Every map of the object is listed, used or not, so that the
//    handles are the same for every program of one object;
//  - btf: the object's BTF as libbpf finalizes it at open (DATASEC sizes and
//    variable offsets filled in), func_info/line_info in slots for the linked
//    program;
//  - license from the "license" section, name = the program's function name.
// guest_ifindex stays 0: the caller fills it.
//
// The ELF is untrusted: anything malformed or unsupported (CO-RE
// relocations, kfuncs, __ksym/__kconfig externs, unknown relocations or map
// types) is an xo::Error with a one-line message, never an abort.
// Not thread-safe against other libbpf users in the process: libbpf's print
// callback is swapped for the duration of a call.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/submission.hpp"

namespace xo::guest {

// `program` selects by function name (e.g. "xdp_prog1") or section name
// (e.g. "xdp", when exactly one program lives there). nullopt: the object
// must contain exactly one program.
Result<Submission> build_submission(std::span<const std::uint8_t> elf_bytes,
                                    std::optional<std::string> program = std::nullopt);
Result<Submission> build_submission_from_file(const std::string& path,
                                              std::optional<std::string> program = std::nullopt);

struct ProgramInfo {
  std::string name;     // function name
  std::string section;  // ELF section, e.g. "xdp"
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
