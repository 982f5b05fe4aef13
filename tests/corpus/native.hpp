// The kernel's own verdict on a corpus program, the way its user space
// would load it: libbpf opens the object, loads only that program (with
// every map of the object, as libbpf does), and the host kernel verifies it
// with root's rights. Nothing of xoffload runs here.
//
// Two departures, each reported as a note:
//  - maps with max_entries 0 are sized to kDefaultMapEntries first, as the
//    programs' tools size them before loading;
//  - objects with legacy `maps` sections (struct bpf_map_def), which libbpf
//    1.x refuses to open, go through legacy_native.cpp, a minimal loader of
//    our own (no BTF, no global data), still verified by the kernel.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "tests/corpus/record.hpp"

namespace xo::corpus {

inline constexpr std::uint32_t kDefaultMapEntries = 64;

struct ObjectProgram {
  std::string name;     // function name
  std::string section;  // ELF section
};

// The XDP programs of an object (libbpf's BPF_PROG_TYPE_XDP, and programs
// libbpf leaves untyped in sections named xdp*, which iproute2 loads as XDP;
// legacy objects: sections named xdp*), in ELF order.
Result<std::vector<ObjectProgram>> xdp_programs(const std::string& path);

struct NativeResult {
  Outcome outcome;
  std::vector<std::string> guest_side;  // classify.hpp, on the loaded code
  std::vector<std::string> used_maps;   // names of the maps the loaded code references
  std::vector<std::string> notes;
  // Maps sized to kDefaultMapEntries before load: xoffload gets the same
  // sizes (--map-size NAME=64), as the tool would give them.
  std::vector<std::string> sized_maps;
};

NativeResult load_native(const std::string& path, const std::string& program);

// True when the object declares maps in a legacy `maps` section.
bool has_legacy_maps(const std::string& path);

// legacy_native.cpp
Result<std::vector<ObjectProgram>> legacy_xdp_programs(const std::string& path);
NativeResult legacy_load_native(const std::string& path, const std::string& program);

// The one line of a kernel verifier log (or a libbpf log) that says why:
// its last line that is neither empty nor a statistics line.
std::string reason_line(const std::string& log);

}  // namespace xo::corpus
