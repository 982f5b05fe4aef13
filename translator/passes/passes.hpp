// The translator pipeline, table of contents.
//
// A guest Submission (XDP bytecode, map references by guest handle) becomes a
// host program for one flavor. translate() runs, in this order:
//
//   decode            isa::decode + isa::analyze (the CFG, translator/isa/cfg.hpp),
//                       or both as preverify()'s Report hands them over
//   1. map_refs         every LoadMapFd/LoadMapValue names a map of the
//                       submission (records and checks; refs stay symbolic)
//   2. helper_allowlist every helper and kfunc call re-checked against the
//                       Policy for this flavor; ld_imm64 BTF_ID refused
//   3. lower_tc |       XDP -> SCHED_CLS: ctx offsets, ifindex constant, helper
//      lower_chain |    lowering, one shared return epilogue (tc); or XDP ->
//      lower_tun        XDP with PASS redirected to the tap (chain); or XDP ->
//                       XDP on a patched tun's Tx-path hook, every action
//                       native (tun, kernel-patches/). All use
//                       ctx_access (ctx loads, through spills too), guest_mtu
//                       (bpf_check_mtu answers for the tap) and kfuncs
//                       (kfunc names -> host BTF ids, xdp -> skb in tc)
//   4. remap_debug_info func_info / line_info through the old->new IndexMap
//   encode            Translated::encode(host_fd_of_handle): the one place
//                       where guest handles become host fds (record, resolve
//                       every one, then apply), and the program is encoded
//
// Every pass checks first, then rewrites; a refusal is an xo::Error whose pc is
// the guest slot and whose message is one line with all the context:
//   prog 'xdp_prog1': insn 17 (xdp1_kern.c:42): helper bpf_fib_lookup (69) ...
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "translator/isa/insn.hpp"
#include "translator/isa/program.hpp"
#include "translator/isa/raw.hpp"
#include "core/diagnostics.hpp"
#include "core/policy.hpp"
#include "core/result.hpp"
#include "core/submission.hpp"
#include "core/uapi.hpp"

namespace xo::translator {

// Host fd for a guest map handle; nullopt when the session has no such map.
using HostFdOfHandle = std::function<std::optional<int>(std::uint32_t handle)>;

// The host's per-action stats map, as the translated program names it until
// encoding. Guests' handles start at 1 (0 is never a valid handle in the
// protocol, PROTOCOL.md 4), so 0 cannot collide with a guest map.
inline constexpr std::uint32_t kStatsMapHandle = 0;

// The host kernel's BTF id of a kernel function, by name (vmlinux BTF);
// nullopt when the host kernel has no such function.
using KfuncIdOf = std::function<std::optional<std::int32_t>(const std::string& name)>;

// chain: what XDP_TX may send out of the host's uplink. Those frames are
// the guest's own making and bypass the tap's and the bridge's
// anti-spoofing, so a host may insist on the guest's MAC as their source.
enum class ChainTx : std::uint8_t {
  Any,       // as the program says
  GuestMac,  // source MAC must be guest_mac, else dropped and counted (policy drop)
  Drop,      // every XDP_TX is dropped and counted (policy drop)
};

struct TranslateOptions {
  Flavor flavor = Flavor::Tc;
  std::uint32_t tap_ifindex = 0;    // redirect target (TX in tc, PASS in chain)
  bool stats = false;               // count actions in map kStatsMapHandle (layout below)
  std::uint32_t guest_ifindex = 0;  // what ctx->ingress_ifindex reads as
  KfuncIdOf kfunc_id;               // empty: kfunc calls are refused (no host BTF to resolve them)
  std::uint32_t stats_cpus = 0;     // rows of the stats map: the host's possible CPUs (>= 1 with stats)
  ChainTx chain_tx = ChainTx::Any;
  std::array<std::uint8_t, 6> guest_mac{};  // ChainTx::GuestMac
  // Protocol version 2 (transport/PROTOCOL.md 8): the deferred helpers
  // (redirect, redirect_map, perf_event_output) may be used, and a program
  // that uses them writes descriptors carrying `cookie` (never 0 then).
  bool defer = false;
  std::uint64_t cookie = 0;
};

// The per-action stats map: an ARRAY with one value (key 0) of
// stats_cpus rows of kStatsRowBytes, one row per possible CPU, slot s of
// CPU c a u64 at c * kStatsRowBytes + 8 * s. The program addresses it
// directly (BPF_PSEUDO_MAP_VALUE) from bpf_get_smp_processor_id(): no
// lookup and no key on the stack, so counting gives the main program no
// stack frame (epilogue.cpp). A row is a cache line: CPUs never share one.
inline constexpr std::uint32_t kStatsSlotUnknown = 5;  // 0..4 = XDP_ABORTED..XDP_REDIRECT
// Samples a program deferring to the guest could not deliver (an XDP_TX
// frame's): counted per sample (deferred.hpp).
inline constexpr std::uint32_t kStatsSlotSampleLost = 6;
inline constexpr std::uint32_t kStatsSlots = 7;
inline constexpr std::uint32_t kStatsRowBytes = 64;
static_assert(kStatsSlotUnknown == std::uint32_t(uapi::kRedirectAct) + 1, "one stats slot per XDP action, then unknown");
static_assert(kStatsSlots * 8 <= kStatsRowBytes, "a CPU's slots fit in its row");

struct Translated {
  // Map references by guest handle (the stats map: kStatsMapHandle).
  std::vector<isa::Insn> insns;
  std::uint32_t prog_type = 0;             // enum bpf_prog_type
  std::uint32_t expected_attach_type = 0;  // enum bpf_attach_type: BPF_XDP for chain
                                           // (must match the tail-calling ingress program)
                                           // and tun (TUNSETTXXDP accepts BPF_XDP only)
  std::vector<FuncInfo> func_info;
  std::vector<LineInfo> line_info;
  isa::IndexMap index_map;  // guest slot <-> host slot
  std::vector<std::string> notes;
  // It defers work to the guest's trampoline (deferred.hpp): the guest must
  // have installed one with the same cookie.
  bool defers = false;

  // The host program: every map handle resolved through `host_fd_of_handle`
  // first (EBADF naming, in `submission`'s terms, the first one without a
  // host map), then written.
  Result<std::vector<isa::RawInsn>> encode(const Submission& submission,
                                           const HostFdOfHandle& host_fd_of_handle) const;
  // The same bytes with handles left in place of fds, for listings and
  // offline tools: `r1 = map[handle 3]`, the stats map as handle 0.
  std::vector<isa::RawInsn> encode_symbolic() const;
  // The guest map handles the program references (not kStatsMapHandle).
  std::set<std::uint32_t> map_handles() const;
};

// The public entry point.
Result<Translated> translate(const Submission& submission, const Policy& policy,
                             const TranslateOptions& options);

// The same, on the program preverify() already decoded and analyzed
// (Report::decoded for this very submission), skipping the "decode" step:
//   auto pre = preverify(sub, policy, maps, flavor);
//   auto tr = translate(sub, std::move(pre->decoded), policy, options);
// `decoded` must describe submission.insns; one whose slot count differs is
// refused (a cheap guard against passing another program's Report).
Result<Translated> translate(const Submission& submission, isa::Decoded decoded,
                             const Policy& policy, const TranslateOptions& options);

// ---------------------------------------------------------------------------
// The passes, one file each. They share this context.


struct PassContext {
  const Submission& submission;
  const Policy& policy;
  const TranslateOptions& options;
  const Diagnoser& diag;
  std::vector<std::string>& notes;
  bool defers = false;  // set by the lowering: the program defers to the guest (deferred.hpp)
};

// map_refs.cpp: LoadMapFd/LoadMapValue carry guest handles, and keep them
// until Translated::encode. Refuses unknown and reserved handles, fd_array
// indexes, value offsets outside the value.
Status check_map_refs(const std::vector<isa::Insn>& insns, const isa::Structure& structure,
                      PassContext& ctx);

// helper_allowlist.cpp: no change to the program, only a verdict.
Status check_helper_allowlist(const std::vector<isa::Insn>& insns,
                              const isa::Structure& structure, PassContext& ctx);

// lower_tc.cpp: XDP -> BPF_PROG_TYPE_SCHED_CLS.
Result<isa::Rewritten> lower_tc(const std::vector<isa::Insn>& insns,
                                const isa::Structure& structure, PassContext& ctx);

// kfuncs.cpp: every kfunc call, named in the submission's BTF, becomes a
// call of the host kernel's function of that name (tc: its skb variant).
Status lower_kfunc_calls(isa::Rewriter& rw, const std::vector<isa::Insn>& insns,
                         const isa::Structure& structure, PassContext& ctx);

// lower_chain.cpp: XDP -> XDP tail-called from the host's ingress program.
Result<isa::Rewritten> lower_chain(const std::vector<isa::Insn>& insns,
                                   const isa::Structure& structure, PassContext& ctx);

// lower_tun.cpp: XDP -> XDP on the tap's Tx path (patched host tun).
Result<isa::Rewritten> lower_tun(const std::vector<isa::Insn>& insns,
                                 const isa::Structure& structure, PassContext& ctx);

// The last step of every lowering. The rewriter (translator/isa) sits below
// the Diagnoser and names no program; its errors (an offset that no longer
// fits in 16 bits) get the program's label here, like every other pass error.
inline Result<isa::Rewritten> finish_lowering(const isa::Rewriter& rw, PassContext& ctx) {
  auto out = rw.finish();
  if (!out) return ctx.diag.whole(out.error().message, out.error().code);
  return out;
}

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
