// lower_tc: an XDP program becomes a BPF_PROG_TYPE_SCHED_CLS program for the
// tap's clsact egress hook.
//
//   before (XDP)                          after (tc)
//   r2 = *(u32 *)(r1 + 0)   ; data        r2 = *(u32 *)(r1 + 76)   ; skb->data
//   r3 = *(u32 *)(r1 + 4)   ; data_end    r3 = *(u32 *)(r1 + 80)   ; skb->data_end
//   r4 = *(u32 *)(r1 + 12)  ; ifindex     w4 = <guest ifindex>
//   call 65 ; xdp_adjust_tail(ctx, r2)    r2 = (s32)r2 ; r3 = skb->len + r2
//                                         if r3 s< 14 or r3 s> 3520 [+ pushed]: r0 = -EINVAL
//                                         else call 38 ; skb_change_tail(skb, r3, 0)
//   r0 = 1                                r0 = 1
//   exit                                  goto epilogue
//   ...                                   epilogue: [count action]
//   r0 = 2                                  if w0 == 2 goto pass ; if w0 == 3 goto tx
//   exit                                    r0 = TC_ACT_SHOT ; exit
//                                         pass: r0 = TC_ACT_OK ; exit
//                                         tx:   r1 = tap ; r2 = BPF_F_INGRESS ; call 23 ; exit
//
// Helpers whose skb twin differs on some input are wrapped in XDP's own
// argument checks, against the XDP frame xdp_frame.hpp defines, so that tc
// returns what XDP returns and touches nothing when XDP would not; a program
// that pushes its head keeps the bytes pushed so far in skb->cb[0].
// Whatever has no exact tc equivalent (adjust_meta, head pops, a shrink
// after a push, egress_ifindex) is refused with a message that names the
// instruction, the reason and the flavor that can run it.
// A program that defers to the guest (deferred.hpp) gets its descriptor
// with skb_change_head (and skb_pull_data for the inner MACs) and TC_ACT_OK.
// Shared with lower_chain: ctx loads are found through spills too
// (ctx_access.cpp), bpf_check_mtu asks about the tap (guest_mtu.cpp), kfuncs
// become the host's (kfuncs.cpp; bpf_dynptr_from_xdp -> bpf_dynptr_from_skb).
#include <cerrno>
#include <string>

#include "translator/passes/ctx_access.hpp"
#include "translator/passes/xdp_frame.hpp"
#include "core/diagnostics.hpp"
#include "translator/passes/deferred.hpp"
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

// ---------------------------------------------------------------------------
// Helper lowerings that keep XDP's results (xdp_frame.hpp). Each checks the
// arguments the way the XDP helper does, inline, and only calls the skb
// helper when XDP would succeed; on XDP's errors r0 gets XDP's value and the
// packet and the buffer are left alone. r0 and r5 are free at a call site
// of at most four arguments (the call clobbers them), so the checks use them
// and no stack; r1 (the ctx) and the arguments stay as the guest set them.

constexpr std::int32_t kEinval = -EINVAL, kEfault = -EFAULT;

Insn jmp64(Cond c, Reg dst, Value src) { return Jmp{c, false, dst, src, 0}; }
Insn mov64(Reg dst, Value src) { return Bin{AluOp::Mov, true, dst, src}; }

// The shared tail of every checked lowering: the helper's own success path
// ends in `goto done`; the error labels set XDP's return value. (Only used
// labels get code: the kernel refuses unreachable instructions.)
Snippet& finish_checked(Snippet& s, bool efault) {
  s.jump(Ja{0, false}, "done");
  if (efault) s.label("efault").emit(mov64(0, Imm{kEfault})).jump(Ja{0, false}, "done");
  return s.label("einval")
      .emit(mov64(0, Imm{kEinval}))
      .label("done");
}

// bpf_xdp_load_bytes / bpf_xdp_store_bytes(ctx, off, buf, len):
//   w0 = w2 ; if r0 > 0xffff goto efault      ; offset, as the u32 the helper takes
//   w5 = w4 ; if r5 > 0xffff goto efault      ; len
//   r0 += r5 ; w5 = skb->len ; if r0 > r5 goto einval
//   [r5 = 0] ; call skb_load_bytes | skb_store_bytes ; goto done
//   efault: r0 = -EFAULT ; goto done
//   einval: r0 = -EINVAL
//   done:
// skb_load_bytes would zero the buffer and return -EFAULT past the end, and
// skb_store_bytes return -EFAULT: neither is reached on XDP's errors.
std::vector<Emit> checked_bytes(std::int32_t skb_helper) {
  Snippet s;
  s.emit(Bin{AluOp::Mov, false, 0, Reg{2}})
      .jump(jmp64(Cond::Gt, 0, Imm{xdp_frame::kMaxBytesArg}), "efault")
      .emit(Bin{AluOp::Mov, false, 5, Reg{4}})
      .jump(jmp64(Cond::Gt, 5, Imm{xdp_frame::kMaxBytesArg}), "efault")
      .emit(Bin{AluOp::Add, true, 0, Reg{5}})
      .emit(Load{Size::W, false, 5, 1, uapi::kSkbLen})
      .jump(jmp64(Cond::Gt, 0, Reg{5}), "einval");
  if (skb_helper == uapi::kSkbStoreBytes) s.emit(mov64(5, Imm{0}));  // flags
  s.emit(Call{skb_helper});
  return finish_checked(s, true).build();
}

// bpf_xdp_adjust_tail(ctx, delta) -> skb_change_tail(skb, len + delta, 0):
//   r2 <<= 32 ; r2 s>>= 32                    ; delta is an int
//   w3 = skb->len ; r3 += r2                  ; the new length, signed 64-bit
//   if r3 s< 14 goto einval                   ; XDP's floor: an Ethernet header
//   [w0 = cb[0] (bytes pushed)] ; r0 += 3520 ; if r3 s> r0 goto einval   ; the frame's end
//   r2 = r3 ; r3 = 0 ; call skb_change_tail ; goto done
//   einval: r0 = -EINVAL
std::vector<Emit> checked_tail(bool tracks_head) {
  Snippet s;
  s.emit(Bin{AluOp::Lsh, true, 2, Imm{32}})
      .emit(Bin{AluOp::Arsh, true, 2, Imm{32}})
      .emit(Load{Size::W, false, 3, 1, uapi::kSkbLen})
      .emit(Bin{AluOp::Add, true, 3, Reg{2}})
      .jump(jmp64(Cond::SLt, 3, Imm{xdp_frame::kEthHeader}), "einval");
  if (tracks_head) {  // every byte pushed moved data away from the frame's end
    s.emit(Load{Size::W, false, 0, 1, uapi::kSkbCb0})
        .emit(Bin{AluOp::Add, true, 0, Imm{xdp_frame::kMaxLen}})
        .jump(jmp64(Cond::SGt, 3, Reg{0}), "einval");
  } else {
    s.jump(jmp64(Cond::SGt, 3, Imm{xdp_frame::kMaxLen}), "einval");
  }
  s.emit(mov64(2, Reg{3})).emit(mov64(3, Imm{0})).emit(Call{uapi::kSkbChangeTail});
  return finish_checked(s, false).build();
}

// bpf_xdp_adjust_head(ctx, -d), d >= 0 a constant -> skb_change_head(skb, d, 0):
//   w0 = cb[0] ; w0 += d ; if w0 > 216 goto einval   ; XDP's headroom
//   cb[0] = w0                                       ; committed first: the ctx is gone after the call
//   r2 = d ; r3 = 0 ; call skb_change_head ; goto done
//   einval: r0 = -EINVAL
// (XDP's other test, data - d > data_end - 14, cannot hold for a push: no
// frame is shorter than 14 bytes.) skb_change_head zeroes the new bytes; an
// XDP push that reaches only headroom no earlier call wrote shows zeroes too
// (the pops that would expose old bytes are refused in tc).
std::vector<Emit> checked_push(std::int32_t d) {
  Snippet s;
  s.emit(Load{Size::W, false, 0, 1, uapi::kSkbCb0})
      .emit(Bin{AluOp::Add, false, 0, Imm{d}})
      .jump(Jmp{Cond::Gt, true, 0, Imm{xdp_frame::kMaxPush}, 0}, "einval")
      .emit(Store{Size::W, 1, uapi::kSkbCb0, Reg{0}})
      .emit(mov64(2, Imm{d}))
      .emit(mov64(3, Imm{0}))
      .emit(Call{uapi::kSkbChangeHead});
  return finish_checked(s, false).build();
}

// cb[0] = 0 at the entry of the main program, where r1 is the ctx: no bytes
// pushed yet. (BPF_ST into the ctx is refused by the verifier, hence r0.)
std::vector<Emit> head_tracking_prologue() {
  return {Emit{mov64(0, Imm{0})}, Emit{Store{Size::W, 1, uapi::kSkbCb0, Reg{0}}}};
}

// The constant delta of an adjust_head call, checked: a push (<= 0).
Result<std::int32_t> push_delta(const std::vector<Insn>& insns, const Structure& st, std::size_t i,
                                PassContext& ctx) {
  auto delta = constant_r2_at(insns, st, i);
  if (!delta)
    return ctx.diag.at(st.layout[i],
                       "bpf_xdp_adjust_head with a delta that is not a constant in its basic block "
                       "cannot be lowered to tc (only constant pushes are); load with --flavor chain",
                       EPERM);
  if (*delta > 0)
    return ctx.diag.at(st.layout[i],
                       "bpf_xdp_adjust_head(" + std::to_string(*delta) +
                           ") pops the head: no tc helper removes bytes from the front of every "
                           "skb (bpf_skb_adjust_room only moves IPv4/IPv6 headers); load with "
                           "--flavor chain",
                       EPERM);
  return *delta;
}

// After a push, skb_change_head leaves the network header where it was and
// skb_change_tail refuses to shrink below it, where XDP's only floor is 14
// bytes: a shrink that can follow a push has no exact tc lowering. Sites in
// different functions count as "can follow" (no interprocedural paths here).
Status check_push_then_shrink(const std::vector<Insn>& insns, const Structure& st,
                              const std::vector<std::size_t>& pushes, PassContext& ctx) {
  for (std::size_t t = 0; t < insns.size(); ++t) {
    const auto* call = std::get_if<Call>(&insns[t]);
    if (!call || call->helper != uapi::kXdpAdjustTail) continue;
    if (auto d = constant_r2_at(insns, st, t); d && *d >= 0) continue;  // never shrinks
    for (std::size_t p : pushes) {
      bool follows = st.subprogram_of[p] != st.subprogram_of[t];
      std::vector<bool> seen(insns.size(), false);
      std::vector<std::size_t> work{p};
      while (!follows && !work.empty()) {
        const std::size_t i = work.back();
        work.pop_back();
        for (std::size_t n : st.succ[i]) {
          if (n == kNoInsn || seen[n]) continue;
          if (n == t) follows = true;
          seen[n] = true;
          work.push_back(n);
        }
      }
      if (follows)
        return ctx.diag.at(st.layout[t],
                           "bpf_xdp_adjust_tail may shrink the frame after the head push at insn " +
                               std::to_string(st.layout[p]) +
                               ": in tc, skb_change_head leaves the network header in place and "
                               "skb_change_tail cannot shrink below it (XDP's floor is 14 bytes); "
                               "load with --flavor chain",
                           EPERM);
    }
  }
  return Ok{};
}

Status lower_helper_calls(Rewriter& rw, const std::vector<Insn>& insns, const Structure& st,
                          PassContext& ctx) {
  // Check: every head adjustment is a constant push, and no shrink follows one.
  std::vector<std::size_t> pushes;
  for (std::size_t i = 0; i < insns.size(); ++i) {
    const auto* call = std::get_if<Call>(&insns[i]);
    if (!call) continue;
    if (call->helper == uapi::kXdpAdjustMeta)
      return ctx.diag.at(st.layout[i],
                         "bpf_xdp_adjust_meta (54) cannot be lowered to tc (an skb at tc egress "
                         "has no metadata area); load with --flavor chain",
                         EPERM);
    if (call->helper != uapi::kXdpAdjustHead) continue;
    if (auto d = push_delta(insns, st, i, ctx); !d) return d.error();
    pushes.push_back(i);
  }
  if (auto s = check_push_then_shrink(insns, st, pushes, ctx); !s) return s.error();
  const bool tracks_head = !pushes.empty();
  if (tracks_head) {
    // The prologue runs once: a jump back to the first instruction would run it again.
    for (std::size_t i = 0; i < insns.size(); ++i)
      for (std::size_t n : st.succ[i])
        if (n == 0)
          return ctx.diag.at(st.layout[i],
                             "a jump back to the program's first instruction in a program that "
                             "calls bpf_xdp_adjust_head cannot be lowered to tc (the head "
                             "position is set up there); load with --flavor chain",
                             EPERM);
    rw.insert_before(0, head_tracking_prologue());
  }

  // Rewrite.
  for (std::size_t i = 0; i < insns.size(); ++i) {
    const auto* call = std::get_if<Call>(&insns[i]);
    if (!call) continue;
    const std::size_t pc = st.layout[i];
    switch (call->helper) {
      case uapi::kXdpLoadBytes:
        rw.replace(i, checked_bytes(uapi::kSkbLoadBytes));
        break;
      case uapi::kXdpStoreBytes:
        rw.replace(i, checked_bytes(uapi::kSkbStoreBytes));
        ctx.notes.push_back(ctx.diag.at(pc, "bpf_xdp_store_bytes lowered to bpf_skb_store_bytes, "
                                            "which invalidates packet pointers in tc")
                                .message);
        break;
      case uapi::kXdpGetBuffLen:  // r0 = skb->len (linear + paged, like the XDP helper)
        rw.replace(i, {Emit{Load{Size::W, false, 0, 1, uapi::kSkbLen}}});
        break;
      case uapi::kXdpAdjustTail:
        rw.replace(i, checked_tail(tracks_head));
        break;
      case uapi::kXdpAdjustHead: {
        // A push of -delta bytes. -INT32_MIN wraps to itself, which is the
        // same 2^31 for the helper's u32 head_room (and fails the headroom test).
        const auto delta = *constant_r2_at(insns, st, i);
        rw.replace(i, checked_push(static_cast<std::int32_t>(
                          static_cast<std::uint32_t>(0) - static_cast<std::uint32_t>(delta))));
        break;
      }
      default:
        break;  // same helper, same id in both program types
    }
  }
  return Ok{};
}

Snippet tc_return_epilogue(const TranslateOptions& o) {
  Snippet s;
  if (o.stats) s.append(count_action(o.stats_cpus));
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
  auto plan = plan_deferred(insns, structure, ctx);
  if (!plan) return plan.error();
  ctx.defers = plan->defers();
  lower_deferred(rw, structure, *plan, ctx.options, main_exit_anchor(insns, structure));
  Snippet epilogue = deferred_exit(*plan, ctx.options);
  epilogue.append(tc_return_epilogue(ctx.options));
  if (auto s = route_main_exits(rw, insns, structure, epilogue, ctx); !s) return s.error();
  return finish_lowering(rw, ctx);
}

}  // namespace xo::translator
