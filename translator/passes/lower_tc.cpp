// lower_tc: an XDP program becomes a BPF_PROG_TYPE_SCHED_CLS program for the
// tap's clsact egress hook.
//
//   before (XDP)                          after (tc)
//   r2 = *(u32 *)(r1 + 0)   ; data        r2 = *(u32 *)(r1 + 76)   ; skb->data
//   r3 = *(u32 *)(r1 + 4)   ; data_end    r3 = *(u32 *)(r1 + 80)   ; skb->data_end
//   r4 = *(u32 *)(r1 + 12)  ; ifindex     w4 = <guest ifindex>
//   call 65 ; xdp_adjust_tail(ctx, r2)    r3 = *(u32 *)(r1 + 0) ; w2 += w3 ; r3 = 0
//                                         call 38 ; skb_change_tail(skb, len + delta, 0)
//   r0 = 1                                r0 = 1
//   exit                                  goto epilogue
//   ...                                   epilogue: [count action]
//   r0 = 2                                  if w0 == 2 goto pass ; if w0 == 3 goto tx
//   exit                                    r0 = TC_ACT_SHOT ; exit
//                                         pass: r0 = TC_ACT_OK ; exit
//                                         tx:   r1 = tap ; r2 = BPF_F_INGRESS ; call 23 ; exit
//
// Whatever has no exact tc equivalent (adjust_meta, head pops, egress_ifindex)
// is refused with a message that names the flavor that can run it.
// Shared with lower_chain: ctx loads are found through spills too
// (ctx_access.cpp), bpf_check_mtu asks about the tap (guest_mtu.cpp), kfuncs
// become the host's (kfuncs.cpp; bpf_dynptr_from_xdp -> bpf_dynptr_from_skb).
#include <string>

#include "translator/passes/ctx_access.hpp"
#include "core/diagnostics.hpp"
#include "translator/passes/epilogue.hpp"
#include "translator/passes/guest_mtu.hpp"

namespace xo::translator {
namespace {

using namespace isa;

bool writes_reg(const Insn& insn, Reg r) {
  return std::visit(
      [&](const auto& x) -> bool {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Bin> || std::is_same_v<T, Un> || std::is_same_v<T, Load> ||
                      std::is_same_v<T, LoadImm64> || std::is_same_v<T, LoadMapFd> ||
                      std::is_same_v<T, LoadMapValue> || std::is_same_v<T, LoadBtfId> ||
                      std::is_same_v<T, LoadFunc> || std::is_same_v<T, LoadMapIdx> ||
                      std::is_same_v<T, LoadMapIdxValue>)
          return x.dst == r;
        else if constexpr (std::is_same_v<T, Atomic>)
          return (x.op == AtomicOp::CmpXchg && r == 0) || (x.fetch && x.src == r);
        else if constexpr (std::is_same_v<T, Call> || std::is_same_v<T, CallLocal> ||
                           std::is_same_v<T, CallKfunc> || std::is_same_v<T, LegacyLoad>)
          return r <= 5;
        else
          return false;
      },
      insn);
}

// The value of r2 at call `i` when a `mov r2, imm` (or ld_imm64) in the same
// basic block sets it; nullopt otherwise.
std::optional<std::int32_t> constant_r2_at(const std::vector<Insn>& insns, const Structure& st,
                                           std::size_t i) {
  const std::size_t first = st.blocks[st.block_of[i]].first;
  for (std::size_t j = i; j-- > first;) {
    if (!writes_reg(insns[j], 2)) continue;
    if (auto* b = std::get_if<Bin>(&insns[j]); b && b->op == AluOp::Mov)
      if (auto* imm = std::get_if<Imm>(&b->src)) return imm->v;
    if (auto* l = std::get_if<LoadImm64>(&insns[j])) return static_cast<std::int32_t>(l->imm);
    return std::nullopt;
  }
  return std::nullopt;
}

Status lower_ctx_loads(Rewriter& rw, const std::vector<Insn>& insns, const Structure& st,
                       PassContext& ctx) {
  auto loads = find_ctx_loads(insns, st, ctx);
  if (!loads) return loads.error();
  for (const CtxLoad& c : *loads) {
    const auto& l = std::get<Load>(insns[c.index]);
    auto load_skb = [&](std::int16_t off) {
      rw.replace(c.index, {Emit{Load{Size::W, false, l.dst, l.base, off}}});
    };
    switch (c.field) {
      case uapi::kXdpData: load_skb(uapi::kSkbData); break;
      case uapi::kXdpDataEnd: load_skb(uapi::kSkbDataEnd); break;
      case uapi::kXdpDataMeta: load_skb(uapi::kSkbDataMeta); break;
      case uapi::kXdpRxQueueIndex: load_skb(uapi::kSkbQueueMapping); break;
      case uapi::kXdpIngressIfindex:
        // A host ifindex means nothing to the guest: it reads its own.
        rw.replace(c.index, {Emit{Bin{AluOp::Mov, false, l.dst,
                                      Imm{static_cast<std::int32_t>(ctx.options.guest_ifindex)}}}});
        break;
      default:
        return ctx.diag.at(st.layout[c.index],
                           "ctx->egress_ifindex is readable only by devmap programs; it cannot "
                           "be lowered to tc");
    }
  }
  return Ok{};
}

Status lower_helper_calls(Rewriter& rw, const std::vector<Insn>& insns, const Structure& st,
                          PassContext& ctx) {
  for (std::size_t i = 0; i < insns.size(); ++i) {
    const auto* call = std::get_if<Call>(&insns[i]);
    if (!call) continue;
    const std::size_t pc = st.layout[i];
    switch (call->helper) {
      case uapi::kXdpLoadBytes:  // same arguments: (ctx, offset, buf, len)
        rw.replace(i, {Emit{Call{uapi::kSkbLoadBytes}}});
        break;
      case uapi::kXdpStoreBytes:  // skb_store_bytes takes a 5th argument, flags
        rw.replace(i, {Emit{Bin{AluOp::Mov, true, 5, Imm{0}}}, Emit{Call{uapi::kSkbStoreBytes}}});
        ctx.notes.push_back(ctx.diag.at(pc, "bpf_xdp_store_bytes lowered to bpf_skb_store_bytes, "
                                            "which invalidates packet pointers in tc")
                                .message);
        break;
      case uapi::kXdpGetBuffLen:  // r0 = skb->len (linear + paged, like the XDP helper)
        rw.replace(i, {Emit{Load{Size::W, false, 0, 1, uapi::kSkbLen}}});
        break;
      case uapi::kXdpAdjustTail:  // skb_change_tail(skb, skb->len + delta, 0); r2, r3 die in the call
        rw.replace(i, {Emit{Load{Size::W, false, 3, 1, uapi::kSkbLen}},
                       Emit{Bin{AluOp::Add, false, 2, Reg{3}}},
                       Emit{Bin{AluOp::Mov, true, 3, Imm{0}}},
                       Emit{Call{uapi::kSkbChangeTail}}});
        break;
      case uapi::kXdpAdjustHead: {
        auto delta = constant_r2_at(insns, st, i);
        if (!delta || *delta > 0)
          return ctx.diag.at(pc, std::string("bpf_xdp_adjust_head with a ") +
                                     (delta ? "positive" : "non-constant") +
                                     " delta (a head pop) cannot be lowered to tc; load with "
                                     "--flavor chain");
        // A push of -delta bytes: skb_change_head(skb, -delta, 0). -INT32_MIN
        // wraps to itself, which is the same 2^31 for the helper's u32 head_room.
        const auto push = static_cast<std::int32_t>(-static_cast<std::int64_t>(*delta));
        rw.replace(i, {Emit{Bin{AluOp::Mov, true, 2, Imm{push}}},
                       Emit{Bin{AluOp::Mov, true, 3, Imm{0}}},
                       Emit{Call{uapi::kSkbChangeHead}}});
        break;
      }
      case uapi::kXdpAdjustMeta:
        return ctx.diag.at(pc, "bpf_xdp_adjust_meta (54) cannot be lowered to tc; load with "
                               "--flavor chain",
                           EPERM);
      default:
        break;  // same helper, same id in both program types
    }
  }
  return Ok{};
}

Snippet tc_return_epilogue(const TranslateOptions& o) {
  Snippet s;
  if (o.stats) s.append(count_action());
  s.jump(Jmp{Cond::Eq, true, 0, Imm{uapi::kPass}, 0}, "pass")
      .jump(Jmp{Cond::Eq, true, 0, Imm{uapi::kTx}, 0}, "tx")
      .emit(Bin{AluOp::Mov, true, 0, Imm{uapi::kTcActShot}})  // ABORTED, DROP, REDIRECT, unknown
      .emit(Exit{})
      .label("pass")
      .emit(Bin{AluOp::Mov, true, 0, Imm{uapi::kTcActOk}})
      .emit(Exit{})
      .label("tx")  // back into the host Rx path, as the 2019 RFC did
      .append(redirect_and_exit(o.tap_ifindex, uapi::kFIngress));
  return s;
}

}  // namespace

Result<Rewritten> lower_tc(const std::vector<Insn>& insns, const Structure& structure,
                           PassContext& ctx) {
  Rewriter rw(insns);
  if (auto s = lower_ctx_loads(rw, insns, structure, ctx); !s) return s.error();
  if (auto s = lower_helper_calls(rw, insns, structure, ctx); !s) return s.error();
  lower_check_mtu(rw, insns, ctx);
  if (auto s = lower_kfunc_calls(rw, insns, structure, ctx); !s) return s.error();
  if (auto s = route_main_exits(rw, insns, structure, tc_return_epilogue(ctx.options), ctx); !s)
    return s.error();
  return finish_lowering(rw, ctx);
}

}  // namespace xo::translator
