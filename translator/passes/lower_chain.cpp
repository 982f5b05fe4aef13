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
#include <string>

#include "translator/passes/ctx_access.hpp"
#include "core/diagnostics.hpp"
#include "translator/passes/epilogue.hpp"
#include "translator/passes/guest_mtu.hpp"

namespace xo::translator {
namespace {

using namespace isa;

Snippet chain_return_epilogue(const TranslateOptions& o) {
  Snippet s;
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
  if (auto s = route_main_exits(rw, insns, structure, chain_return_epilogue(ctx.options), ctx); !s)
    return s.error();
  return finish_lowering(rw, ctx);
}

}  // namespace xo::translator
