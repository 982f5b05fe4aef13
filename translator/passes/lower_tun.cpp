// lower_tun: the program stays XDP and runs where a patched host tun runs it
// (kernel-patches/linux-6.12, TUNSETTXXDP): on the tap's transmit path, on
// every frame on its way to the tap's reader (QEMU), which is exactly the
// frame the guest's NIC would receive. Every action keeps its native
// meaning there, so nothing is lowered but what the host kernel would
// answer about itself:
//
//   before (guest XDP)                    after (host XDP, tun)
//   r4 = *(u32 *)(r1 + 12)  ; ifindex     w4 = <guest ifindex>
//   r5 = *(u32 *)(r1 + 16)  ; rx queue    w5 = 0
//   r0 = 2                                r0 = 2
//   exit                                  goto epilogue
//                                         epilogue: [count action]
//                                           if w0 > 3 goto drop
//                                           exit           ; ABORTED, DROP, PASS (to the guest),
//                                                          ; TX (the hook re-injects it: back out)
//                                         drop: r0 = XDP_DROP ; exit   ; REDIRECT, unknown
//
// The hook itself drops XDP_REDIRECT too; the epilogue makes it a counted,
// translator-side decision like in the other flavors.
#include "core/diagnostics.hpp"
#include "translator/passes/ctx_access.hpp"
#include "translator/passes/epilogue.hpp"
#include "translator/passes/guest_mtu.hpp"

namespace xo::translator {
namespace {

isa::Snippet tun_return_epilogue(const TranslateOptions& o) {
  isa::Snippet s;
  if (o.stats) s.append(count_action(o.stats_cpus));
  s.jump(isa::Jmp{isa::Cond::Gt, true, 0, isa::Imm{uapi::kTx}, 0}, "drop")
      .emit(isa::Exit{})  // ABORTED, DROP, PASS, TX: native on the tun hook
      .label("drop")
      .emit(isa::Bin{isa::AluOp::Mov, true, 0, isa::Imm{uapi::kDrop}})
      .emit(isa::Exit{});
  return s;
}

}  // namespace

Result<isa::Rewritten> lower_tun(const std::vector<isa::Insn>& insns, const isa::Structure& structure,
                                 PassContext& ctx) {
  isa::Rewriter rw(insns);
  if (auto s = lower_xdp_ctx_loads(rw, insns, structure, ctx); !s) return s.error();
  lower_check_mtu(rw, insns, ctx);
  if (auto s = lower_kfunc_calls(rw, insns, structure, ctx); !s) return s.error();
  if (auto s = route_main_exits(rw, insns, structure, tun_return_epilogue(ctx.options), ctx); !s)
    return s.error();
  return finish_lowering(rw, ctx);
}

}  // namespace xo::translator
