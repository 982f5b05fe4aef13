// Shared by the flavor lowerings: the one return epilogue of the main program.
//
// Every `exit` of the main program (subprogram exits are returns and stay)
// becomes `goto epilogue`. The epilogue takes the place of the last exit of
// the main program, so it lies inside the main function for the kernel's
// subprogram bounds and for func_info, and jumps never leave their function.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/uapi.hpp"
#include "translator/isa/program.hpp"
#include "translator/isa/snippet.hpp"
#include "translator/passes/passes.hpp"

namespace xo::translator {

// r0 holds the XDP action. Counts it in this CPU's row of the stats map
// (passes.hpp): row[min(action, 5)] += 1, a plain (non-atomic) add
// (epilogue.cpp says why that is exact). Uses r0-r6 (all dead at
// the main program's exit) and no stack; leaves the action in w0.
isa::Snippet count_action(std::uint32_t cpus);  // map kStatsMapHandle, bound at encoding

// return bpf_redirect(ifindex, flags): the one way both flavors hand a frame
// to the tap (tc TX with BPF_F_INGRESS, chain PASS with 0). Uses r1-r2.
isa::Snippet redirect_and_exit(std::uint32_t ifindex, std::int32_t flags);

// Replaces every exit of the main program by a jump to `epilogue`, which
// replaces the last exit of the main program. Call once per Rewriter.
Status route_main_exits(isa::Rewriter& rw, const std::vector<isa::Insn>& insns,
                        const isa::Structure& structure, const isa::Snippet& epilogue,
                        PassContext& ctx);

}  // namespace xo::translator
