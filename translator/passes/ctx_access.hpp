// Analysis shared by the flavor lowerings: which loads read the XDP context
// (struct xdp_md). The ctx pointer is r1 at the entry of the main program; it
// travels through 64-bit register moves, stack spills and fills (aligned
// 8-byte slots at constant r10 offsets, as the kernel tracks them) and into
// subprograms as an argument. A ctx pointer that escapes where it cannot be
// followed (stored to other memory, returned from a subprogram, mixed with
// other values at a load) is refused with a message naming the instruction,
// so no ctx load is ever missed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "core/uapi.hpp"
#include "translator/passes/passes.hpp"

namespace xo::translator {

struct CtxLoad {
  std::size_t index;  // a Load whose base register holds the ctx pointer
  std::int16_t field;  // its offset into struct xdp_md, validated: one of uapi::XdpMdField
};

// Checks every ctx access the way the XDP verifier would (u32 loads at field
// offsets only, no writes) and returns the loads in instruction order.
Result<std::vector<CtxLoad>> find_ctx_loads(const std::vector<isa::Insn>& insns,
                                            const isa::Structure& structure, PassContext& ctx);

// XDP -> XDP (chain, tun): ctx->ingress_ifindex reads the guest's ifindex
// (TranslateOptions::guest_ifindex), ctx->rx_queue_index reads 0 (the guest
// queue is not chosen yet), ctx->egress_ifindex is refused (devmap only).
Status lower_xdp_ctx_loads(isa::Rewriter& rw, const std::vector<isa::Insn>& insns,
                           const isa::Structure& structure, PassContext& ctx);

}  // namespace xo::translator
