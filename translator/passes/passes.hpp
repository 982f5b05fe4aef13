// The translator pipeline, table of contents.
//
// A guest Submission (XDP bytecode, map references by guest handle) becomes a
// host program for one flavor. translate() runs, in this order:
//
//   decode            isa::decode + isa::analyze (structure, subprograms)
//   1. map_refs         guest handle -> host map fd in LoadMapFd/LoadMapValue
//   2. helper_allowlist every helper call re-checked against the Policy for
//                       this flavor; kfunc calls and ld_imm64 BTF_ID refused
//   3. lower_tc |       XDP -> SCHED_CLS: ctx offsets, ifindex constant, helper
//      lower_chain      lowering, one shared return epilogue (tc); or XDP ->
//                       XDP with PASS redirected to the tap (chain)
//   4. remap_debug_info func_info / line_info through the old->new IndexMap
//   encode            isa::encode (host fds are written into the wire form here)
//
// Every pass checks first, then rewrites; a refusal is an xo::Error whose pc is
// the guest slot and whose message is one line with all the context:
//   prog 'xdp_prog1': insn 17 (xdp1_kern.c:42): helper bpf_fib_lookup (69) ...
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "translator/isa/insn.hpp"
#include "translator/isa/program.hpp"
#include "translator/isa/raw.hpp"
#include "translator/isa/result.hpp"
#include "translator/isa/submission.hpp"
#include "verifier-front/policy.hpp"

namespace xo::translator {

// Host fd for a guest map handle; nullopt when the session has no such map.
using HostFdOfHandle = std::function<std::optional<int>(std::uint32_t handle)>;

struct TranslateOptions {
  Flavor flavor = Flavor::Tc;
  std::uint32_t tap_ifindex = 0;    // redirect target (TX in tc, PASS in chain)
  int stats_map_fd = -1;            // PERCPU_ARRAY, key u32 action slot, value u64; -1 = off
  std::uint32_t guest_ifindex = 0;  // what ctx->ingress_ifindex reads as
};

// Per-action counter slots in the stats map.
inline constexpr std::uint32_t kStatsSlotUnknown = 5;  // 0..4 = XDP_ABORTED..XDP_REDIRECT
inline constexpr std::uint32_t kStatsSlots = 6;

struct Translated {
  std::vector<isa::RawInsn> insns;
  std::uint32_t prog_type = 0;             // enum bpf_prog_type
  std::uint32_t expected_attach_type = 0;  // enum bpf_attach_type: BPF_XDP for chain
                                           // (must match the tail-calling ingress program)
  std::vector<FuncInfo> func_info;
  std::vector<LineInfo> line_info;
  isa::IndexMap index_map;  // guest slot <-> host slot
  std::vector<std::string> notes;
};

// The public entry point. `host_fd_of_handle` is only asked about handles the
// submission declares.
Result<Translated> translate(const Submission& submission, const HostFdOfHandle& host_fd_of_handle,
                             const Policy& policy, const TranslateOptions& options);

// The same, on the program preverify() already decoded and analyzed
// (Report::decoded for this very submission), skipping the "decode" step:
//   auto pre = preverify(sub, policy, maps, flavor);
//   auto tr = translate(sub, std::move(pre->decoded), fd_of, policy, options);
// `decoded` must describe submission.insns; one whose slot count differs is
// refused (a cheap guard against passing another program's Report).
Result<Translated> translate(const Submission& submission, isa::Decoded decoded,
                             const HostFdOfHandle& host_fd_of_handle, const Policy& policy,
                             const TranslateOptions& options);

// ---------------------------------------------------------------------------
// The passes, one file each. They share this context.

class Diagnoser;  // diagnostics.hpp: "prog 'x': insn N (file:line): ..."

struct PassContext {
  const Submission& submission;
  const Policy& policy;
  const TranslateOptions& options;
  const Diagnoser& diag;
  std::vector<std::string>& notes;
};

// map_refs.cpp: LoadMapFd/LoadMapValue carry guest handles; afterwards they
// carry host fds. Refuses unknown handles, fd_array indexes, value offsets
// outside the value.
Status resolve_map_refs(std::vector<isa::Insn>& insns, const isa::Structure& structure,
                        const HostFdOfHandle& host_fd_of_handle, PassContext& ctx);

// helper_allowlist.cpp: no change to the program, only a verdict.
Status check_helper_allowlist(const std::vector<isa::Insn>& insns,
                              const isa::Structure& structure, PassContext& ctx);

// lower_tc.cpp: XDP -> BPF_PROG_TYPE_SCHED_CLS.
Result<isa::Rewritten> lower_tc(const std::vector<isa::Insn>& insns,
                                const isa::Structure& structure, PassContext& ctx);

// lower_chain.cpp: XDP -> XDP tail-called from the host's ingress program.
Result<isa::Rewritten> lower_chain(const std::vector<isa::Insn>& insns,
                                   const isa::Structure& structure, PassContext& ctx);

// remap_debug_info.cpp: func_info/line_info from guest slots to host slots.
struct DebugInfo {
  std::vector<FuncInfo> func_info;
  std::vector<LineInfo> line_info;
};
Result<DebugInfo> remap_debug_info(std::span<const FuncInfo> func_info,
                                   std::span<const LineInfo> line_info,
                                   std::span<const std::size_t> guest_layout,
                                   const isa::IndexMap& map, PassContext& ctx);

}  // namespace xo::translator
