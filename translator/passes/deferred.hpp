// Deferred helpers (protocol version 2, transport/PROTOCOL.md 8): calls the
// host cannot make because they name guest objects, recorded at the call
// and handed to the guest's trampoline in a descriptor frame at the exit.
//
//   bpf_redirect_map(guest-side map, key, flags)   its result must flow unchanged to the exit
//   bpf_redirect(ifindex, flags)                   exact: XDP_REDIRECT, or XDP_ABORTED when flags != 0
//   bpf_perf_event_output(ctx, guest-side perf array, flags, data, const size)
//
// plan_deferred() is the check half (classify every call, prove the tail
// position, lay out the stack record); lower_deferred() rewrites the call
// sites, the guest-side map loads and the entry; deferred_exit() is the
// epilogue piece the tc and chain lowerings put before their own.
//
// The record lives in the main program's stack, below the deepest byte the
// guest uses (stack_depth.hpp): the deferred call must be in the main
// program, and neither a map lookup (a key slot) nor a per-CPU map (the CPU
// id call clobbers the arguments) is needed at a call site.
//
//   fp-d-8   ctx                          fp-d-24  le32 map (the handle r1 holds), le32 key
//   fp-d-16  u8 kind, u8 sample mask      fp-d-32  le64 flags
//   fp-d-32-...  one sample record per perf call site, in its wire layout
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "translator/isa/program.hpp"
#include "translator/passes/epilogue.hpp"
#include "translator/passes/passes.hpp"

namespace xo::translator {

// The descriptor frame (PROTOCOL.md 8.2).
namespace descriptor {
inline constexpr std::uint16_t kEthertype = 0x88B5;  // IEEE 802 Local Experimental Ethertype 1
inline constexpr std::int32_t kOuterBytes = 14;
inline constexpr std::int32_t kHeaderBytes = 32;
inline constexpr std::int32_t kFixedBytes = kOuterBytes + kHeaderBytes;  // 46
inline constexpr std::int32_t kMaxBytes = 192;  // outer + header + sample records
inline constexpr std::int32_t kRecordHeader = 16;
inline constexpr std::uint32_t kMaxSampleData = 128;
inline constexpr unsigned kMaxSamples = 2;
inline constexpr std::uint8_t kVersion = 1;
enum Verdict : std::uint8_t { kAction = 0, kRedirectMap = 1, kRedirect = 2 };
// Field offsets from the frame's start.
inline constexpr std::int16_t kCookieAt = 14, kWordAt = 22, kMapAt = 26, kPadAt = 34, kFlagsAt = 38;
}  // namespace descriptor

struct DeferredSite {
  std::size_t index = 0;       // insn index of the call
  std::int32_t helper = 0;     // BPF_FUNC_redirect, _redirect_map, _perf_event_output
  std::uint32_t map = 0;       // guest-side map handle when one map reaches it (0: several, known at run time)
  std::uint32_t size = 0;      // perf_event_output: data bytes (a constant)
  std::int16_t record = 0;     // perf_event_output: fp offset of its record
  unsigned bit = 0;            // perf_event_output: its bit in the sample mask
  std::int32_t record_bytes() const { return std::int32_t(16 + (size + 7) / 8 * 8); }
};

struct DeferPlan {
  std::vector<DeferredSite> sites;
  std::vector<std::size_t> map_loads;  // LoadMapFd of guest-side maps: become `rX = <handle>`
  std::int16_t ctx_slot = 0, state_slot = 0, target_slot = 0, flags_slot = 0;
  std::int32_t reserved = 0;           // stack bytes below the guest's
  bool defers() const { return !sites.empty(); }
  std::vector<const DeferredSite*> samples() const;
};

// Check: every call of a deferred helper and every guest-side map reference.
// Refusals are EPERM naming the instruction (EINVAL: a deferring program
// without a cookie).
Result<DeferPlan> plan_deferred(const std::vector<isa::Insn>& insns, const isa::Structure& structure,
                                PassContext& ctx);

// Rewrite: call sites record, guest-side map loads vanish, the main entry
// keeps ctx, clears the record and drops forged descriptor frames (counted
// as policy drops through the epilogue at `anchor`, the main program's last
// exit). Nothing when the plan defers nothing.
void lower_deferred(isa::Rewriter& rw, const isa::Structure& structure, const DeferPlan& plan,
                    const TranslateOptions& options, std::size_t anchor);

// The main program's last exit, which route_main_exits() turns into the epilogue.
std::size_t main_exit_anchor(const std::vector<isa::Insn>& insns, const isa::Structure& structure);

// The epilogue piece, r0 = the XDP action: a frame that needs the guest
// (a recorded redirect, a sample) gets its descriptor and is delivered
// (chain: into the tap; tc: TC_ACT_OK); everything else falls through to
// label `plain` (the flavor's own count-and-dispatch), with w0 the action
// (5 = policy drop: XDP_REDIRECT without a record, no headroom).
Snippet deferred_exit(const DeferPlan& plan, const TranslateOptions& options);

}  // namespace xo::translator
