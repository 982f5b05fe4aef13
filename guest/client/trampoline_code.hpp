// The trampoline (transport/PROTOCOL.md 8.2) as instructions: the small XDP
// program the guest installs natively on its NIC while the host runs a
// program that defers redirects or perf samples to the guest.
//
// It is generated, not compiled: the cookie is an immediate and every guest
// map is a map-fd reference of its own call site (the kernel wants the map
// argument of bpf_redirect_map and bpf_perf_event_output to be a constant per
// call), so one offload's handle -> fd binding is baked into its own program.
// No LLVM and no BPF object file in the guest tools (docs/DECISIONS.md).
//
//   r6 = ctx ; data, data_end
//   if data + 14 > data_end  || eth.type != 0x88B5       -> XDP_PASS (untouched)
//   if data + 46 > data_end  || cookie != K || version != 1 || pad != 0
//      || verdict/fields out of range                     -> XDP_DROP
//   per sample record (nsamples <= 2): xdp_load_bytes its header and data
//      to the stack, map must be a bound PERF_EVENT_ARRAY, size <= 128  (else DROP)
//   if descriptor length > 192 || xdp_adjust_head(+len) != 0  -> XDP_DROP
//   per record: perf_event_output(ctx, map_fd(handle), flags, stack data, size)
//   ACTION       -> return action (XDP_DROP / XDP_PASS)
//   REDIRECT_MAP -> return bpf_redirect_map(map_fd(handle), key, flags)
//   REDIRECT     -> return bpf_redirect(key, flags)
//
// Samples are emitted after the pop, so that the packet bytes the flags ask
// for (BPF_F_CTXLEN_MASK) are the inner frame's; their data was copied to
// the stack before, since the pop moves it out of the packet.
#pragma once

#include <cstdint>
#include <vector>

#include "core/result.hpp"
#include "translator/isa/insn.hpp"

namespace xo::guest {

// One guest-side map of the offloaded program: its protocol handle (what
// the host puts in descriptors) and this kernel's fd for it.
struct BoundMap {
  std::uint32_t handle = 0;
  int fd = -1;
};

struct TrampolineBinding {
  std::uint64_t cookie = 0;               // the PROG_LOAD cookie, never 0
  std::vector<BoundMap> redirect_maps;    // DEVMAP, DEVMAP_HASH, CPUMAP, XSKMAP
  std::vector<BoundMap> perf_maps;        // PERF_EVENT_ARRAY
};

// The program for `binding`. EINVAL for a zero cookie, a zero or repeated
// handle, or a negative fd.
Result<std::vector<isa::Insn>> trampoline_insns(const TrampolineBinding& binding);

// XDP_PASS and nothing else: what a devmap redirect target needs so that
// virtio_net (and veth) accept frames redirected to it (their ndo_xdp_xmit
// answers ENXIO while no XDP program is attached).
std::vector<isa::Insn> pass_insns();

}  // namespace xo::guest
