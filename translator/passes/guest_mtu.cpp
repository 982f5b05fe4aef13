// bpf_check_mtu for an offloaded program (guest_mtu.hpp):
//
//   before (guest XDP)                    after (tap 7, guest ifindex 3)
//   r2 = 0                                r2 = 0
//   call bpf_check_mtu                    [tc] if r5 != 0 goto einval
//                                         if w2 == 0 goto tap
//                                         if w2 == 3 goto tap
//                                         w2 = -1           ; no such device: -ENODEV
//                                         goto call
//                                         tap: w2 = 7
//                                         call: call bpf_check_mtu
//                                         [tc] goto done ; einval: r0 = -EINVAL ; done:
#include "translator/passes/guest_mtu.hpp"

#include <cerrno>

#include "core/uapi.hpp"
#include "translator/passes/epilogue.hpp"

namespace xo::translator {

using namespace isa;

void lower_check_mtu(Rewriter& rw, const std::vector<Insn>& insns, PassContext& ctx) {
  const bool tc = ctx.options.flavor == Flavor::Tc;
  for (std::size_t i = 0; i < insns.size(); ++i) {
    const auto* call = std::get_if<Call>(&insns[i]);
    if (!call || call->helper != uapi::kCheckMtu) continue;
    Snippet s;
    if (tc) s.jump(Jmp{Cond::Ne, false, 5, Imm{0}, 0}, "einval");
    s.jump(Jmp{Cond::Eq, true, 2, Imm{0}, 0}, "tap");
    if (ctx.options.guest_ifindex != 0)
      s.jump(Jmp{Cond::Eq, true, 2, Imm{static_cast<std::int32_t>(ctx.options.guest_ifindex)}, 0}, "tap");
    s.emit(Bin{AluOp::Mov, false, 2, Imm{-1}})
        .jump(Ja{0, false}, "call")
        .label("tap")
        .emit(Bin{AluOp::Mov, false, 2, Imm{static_cast<std::int32_t>(ctx.options.tap_ifindex)}})
        .label("call")
        .emit(Call{uapi::kCheckMtu});
    if (tc)
      s.jump(Ja{0, false}, "done")
          .label("einval")
          .emit(Bin{AluOp::Mov, true, 0, Imm{-EINVAL}})
          .label("done");
    rw.replace(i, s.build());
  }
}

}  // namespace xo::translator
