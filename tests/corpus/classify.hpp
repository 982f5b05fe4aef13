// Which objects a program uses that only the guest can finish (issue 11's
// "guest-side objects"): a redirect's target (bpf_redirect 23,
// bpf_redirect_map 51; DEVMAP, DEVMAP_HASH, CPUMAP, XSKMAP maps), a perf
// event sample (bpf_perf_event_output 25, PERF_EVENT_ARRAY maps), and
// programs that run inside a devmap or cpumap entry (expected attach type
// BPF_XDP_DEVMAP / BPF_XDP_CPUMAP). Computed on the code the kernel loaded:
// the program with its subprograms, map references as fds.
#pragma once

#include <linux/bpf.h>

#include <cstddef>
#include <string>
#include <vector>

namespace xo::corpus {

// One line per distinct use, e.g. "helper bpf_redirect_map (51)",
// "map tx_port (devmap)". Map references are resolved through the fds in
// the ld_imm64 instructions (BPF_PSEUDO_MAP_FD / BPF_PSEUDO_MAP_VALUE).
std::vector<std::string> guest_side_uses(const bpf_insn* insns, std::size_t count,
                                         bpf_attach_type expected_attach_type);

// The map fds the code references (ld_imm64 BPF_PSEUDO_MAP_FD/_VALUE), each once.
std::vector<int> referenced_map_fds(const bpf_insn* insns, std::size_t count);

}  // namespace xo::corpus
