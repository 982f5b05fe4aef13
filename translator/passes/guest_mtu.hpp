// Shared by the flavor lowerings: bpf_check_mtu answers for the guest's NIC.
#pragma once

#include <vector>

#include "translator/isa/program.hpp"
#include "translator/passes/passes.hpp"

namespace xo::translator {

// Rewrites every bpf_check_mtu call so that the device it asks about is the
// tap (whose MTU is the guest NIC's), whatever ifindex the guest passes: 0
// (the ctx device) and the guest's own ifindex become the tap's, any other
// becomes one no device has (-ENODEV, as for an unknown ifindex). No host
// device is ever looked up by a guest's number. In tc, flags the XDP variant
// refuses (any) give -EINVAL without the call, as XDP does, where the skb
// variant would accept BPF_MTU_CHK_SEGS.
void lower_check_mtu(isa::Rewriter& rw, const std::vector<isa::Insn>& insns, PassContext& ctx);

}  // namespace xo::translator
