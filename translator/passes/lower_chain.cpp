// lower_chain: the program stays XDP; the host's ingress XDP program
// tail-calls it (through a per-tap prog array) instead of redirecting the
// frame into the tap itself. Being a tail-call target, it is loaded with
// the caller's expected_attach_type, BPF_XDP (pipeline.cpp sets it).
//
//   before (guest XDP)                    after (host XDP, chain)
//   r4 = *(u32 *)(r1 + 12)  ; ifindex     w4 = <guest ifindex>
//   r5 = *(u32 *)(r1 + 16)  ; rx queue    w5 = 0    ; the guest queue is not chosen yet
//   r0 = 2                                r0 = 2
//   exit                                  goto epilogue
//   ...                                   epilogue: [count action]
//   r0 = 1                                  if w0 == 2 goto pass
//   exit                                    if w0 > 3 goto drop
//                                           exit              ; ABORTED, DROP, TX: native
//                                         drop: r0 = XDP_DROP ; exit   ; REDIRECT, unknown
//                                         pass: r1 = tap ; r2 = 0 ; call 23 ; exit  ; XDP_REDIRECT
//
// XDP_TX under a source policy (TranslateOptions::chain_tx, GuestMac): the
// main program's entry keeps ctx 8 bytes below the deepest stack byte the
// program uses (stack_depth.hpp), and the epilogue checks the frame's source
// MAC before counting:
//   entry:  *(u64 *)(r10 - d) = r1
//   epilogue: if w0 != 3 goto count
//             r1 = *(u64 *)(r10 - d) ; r2 = data ; r3 = data_end
//             if r2 + 12 > r3 goto refuse
//             if *(u32 *)(r2 + 6) != mac[0..3] goto refuse
//             if *(u16 *)(r2 + 10) != mac[4..5] goto refuse
//             goto count
//   refuse:   w0 = 5    ; counted as a policy drop, then dropped
//   count:    ...
//
// A program that defers to the guest (deferred.hpp) records at its calls;
// the epilogue first turns a recorded redirect or a sample into a
// descriptor frame (bpf_xdp_adjust_head, then the writes) redirected into
// the tap, and otherwise continues as above.
#include <string>

#include "translator/passes/ctx_access.hpp"
#include "core/diagnostics.hpp"
#include "translator/passes/deferred.hpp"
#include "translator/passes/epilogue.hpp"
#include "translator/passes/guest_mtu.hpp"
#include "translator/passes/stack_depth.hpp"

namespace xo::translator {
namespace {

using namespace isa;

// XDP_TX -> the policy-drop pseudo action (kStatsSlotUnknown): counted there,
// then dropped by the dispatch below (> XDP_TX).
constexpr std::int32_t kRefusedTx = std::int32_t(kStatsSlotUnknown);

// The TX source check; `ctx_slot` < 0: where the entry kept ctx, else no check
// is possible and every XDP_TX is refused.
Snippet tx_guard(const TranslateOptions& o, std::optional<std::int16_t> ctx_slot) {
  Snippet s;
  if (o.chain_tx == ChainTx::Any) return s;
  s.jump(Jmp{Cond::Ne, true, 0, Imm{uapi::kTx}, 0}, "count");
  if (ctx_slot) {
    const auto& m = o.guest_mac;
    const std::uint32_t lo = std::uint32_t(m[0]) | std::uint32_t(m[1]) << 8 | std::uint32_t(m[2]) << 16 |
                             std::uint32_t(m[3]) << 24;
    const std::uint32_t hi = std::uint32_t(m[4]) | std::uint32_t(m[5]) << 8;
    s.emit(Load{Size::DW, false, 1, kFramePointer, *ctx_slot})
        .emit(Load{Size::W, false, 2, 1, std::int16_t(uapi::kXdpData)})
        .emit(Load{Size::W, false, 3, 1, std::int16_t(uapi::kXdpDataEnd)})
        .emit(Bin{AluOp::Mov, true, 4, Reg{2}})
        .emit(Bin{AluOp::Add, true, 4, Imm{12}})
        .jump(Jmp{Cond::Gt, false, 4, Reg{3}, 0}, "refuse")
        .emit(Load{Size::W, false, 4, 2, 6})
        .jump(Jmp{Cond::Ne, true, 4, Imm{std::int32_t(lo)}, 0}, "refuse")
        .emit(Load{Size::H, false, 4, 2, 10})
        .jump(Jmp{Cond::Ne, true, 4, Imm{std::int32_t(hi)}, 0}, "refuse")
        .jump(Ja{0, false}, "count");
  }
  s.label("refuse").emit(Bin{AluOp::Mov, false, 0, Imm{kRefusedTx}}).label("count");
  return s;
}

Snippet chain_return_epilogue(const TranslateOptions& o, std::optional<std::int16_t> ctx_slot) {
  Snippet s;
  s.append(tx_guard(o, ctx_slot));
  if (o.stats) s.append(count_action(o.stats_cpus));
  s.jump(Jmp{Cond::Eq, true, 0, Imm{uapi::kPass}, 0}, "pass")
      .jump(Jmp{Cond::Gt, true, 0, Imm{uapi::kTx}, 0}, "drop")
      .emit(Exit{})  // ABORTED, DROP, TX
      .label("drop")
      .emit(Bin{AluOp::Mov, true, 0, Imm{uapi::kDrop}})
      .emit(Exit{})
      .label("pass")  // what the host program would have done: into the tap
      .append(redirect_and_exit(o.tap_ifindex, 0));
  return s;
}

}  // namespace

Result<Rewritten> lower_chain(const std::vector<Insn>& insns, const Structure& structure,
                              PassContext& ctx) {
  Rewriter rw(insns);
  if (auto s = lower_xdp_ctx_loads(rw, insns, structure, ctx); !s) return s.error();
  lower_check_mtu(rw, insns, ctx);
  if (auto s = lower_kfunc_calls(rw, insns, structure, ctx); !s) return s.error();
  auto plan = plan_deferred(insns, structure, ctx);
  if (!plan) return plan.error();
  ctx.defers = plan->defers();
  lower_deferred(rw, structure, *plan, ctx.options, main_exit_anchor(insns, structure));
  // The TX source check needs ctx at the exit: the entry keeps it on the
  // stack, below what the program uses (a program that defers to the guest
  // keeps it there already). Without 8 free bytes (or when the depth cannot
  // be followed) every XDP_TX is refused instead, and a note says so.
  std::optional<std::int16_t> ctx_slot;
  if (plan->defers()) {
    ctx_slot = plan->ctx_slot;
  } else if (ctx.options.chain_tx == ChainTx::GuestMac) {
    const auto depth = main_stack_depth(insns, structure);
    if (depth && *depth <= 504) {
      ctx_slot = std::int16_t(-std::int32_t((*depth + 7) / 8 * 8 + 8));
      rw.insert_before(structure.subprograms.front().first,
                       {Emit{Store{Size::DW, kFramePointer, *ctx_slot, Reg{1}}}});
    } else {
      ctx.notes.push_back(std::string("XDP_TX frames will be dropped (policy drop): checking their source MAC needs "
                                      "8 bytes of stack below the main program's, and ") +
                          (depth ? "it uses " + std::to_string(*depth) + " of 512" : "its stack use could not be followed"));
    }
  }
  Snippet epilogue = deferred_exit(*plan, ctx.options);
  epilogue.append(chain_return_epilogue(ctx.options, ctx_slot));
  if (auto s = route_main_exits(rw, insns, structure, epilogue, ctx); !s) return s.error();
  return finish_lowering(rw, ctx);
}

}  // namespace xo::translator
