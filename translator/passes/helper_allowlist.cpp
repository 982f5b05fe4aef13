// helper_allowlist: every helper call is checked again, here, against the
// policy for the flavor being produced (verifier-front checked the guest's
// request; the translator must not trust that it ran, nor with which policy).
//
//   call 1   ; bpf_map_lookup_elem     -> allowed, unchanged
//   call 69  ; bpf_fib_lookup          -> refused: not on the allowlist
//   call kfunc bpf_dynptr_slice     -> allowed by name (the submission's BTF)
//   call kfunc <other>, r1 = btf_id ll -> refused: guests cannot reach other kernel symbols
//
// Nothing is rewritten: check only.
#include <cerrno>
#include <string>

#include "core/btf_func.hpp"
#include "core/diagnostics.hpp"
#include "translator/passes/passes.hpp"

namespace xo::translator {

Status check_helper_allowlist(const std::vector<isa::Insn>& insns,
                              const isa::Structure& structure, PassContext& ctx) {
  const std::string flavor(flavor_name(ctx.options.flavor));
  for (std::size_t i = 0; i < insns.size(); ++i) {
    const std::size_t pc = structure.layout[i];
    if (auto* k = std::get_if<isa::CallKfunc>(&insns[i])) {
      auto name = k->btf_fd_idx == 0 ? btf_func_name(ctx.submission.btf, std::uint32_t(k->btf_id)) : std::nullopt;
      const KfuncProto* proto = name ? ctx.policy.kfunc(*name) : nullptr;
      if (!proto)
        return ctx.diag.at(pc, "kfunc call (BTF id " + std::to_string(k->btf_id) +
                                   ") is not allowed for offloaded programs", EPERM);
      if (!(proto->flavors & flavor_bit(ctx.options.flavor)))
        return ctx.diag.at(pc, "kfunc " + proto->name + " is not allowed in the " + flavor + " flavor", EPERM);
      continue;
    }
    if (auto* b = std::get_if<isa::LoadBtfId>(&insns[i]))
      return ctx.diag.at(pc, "ld_imm64 BTF_ID (BTF id " + std::to_string(b->btf_id) +
                                 ") is not allowed for offloaded programs", EPERM);
    auto* call = std::get_if<isa::Call>(&insns[i]);
    if (!call) continue;
    const HelperProto* proto = ctx.policy.helper(call->helper);
    if (!proto)
      return ctx.diag.at(pc, "helper " + std::to_string(call->helper) +
                                 " is not allowed for offloaded programs", EPERM);
    if (!(proto->flavors & flavor_bit(ctx.options.flavor)))
      return ctx.diag.at(pc, "helper " + proto->name + " (" + std::to_string(call->helper) +
                                 ") is not allowed in the " + flavor + " flavor", EPERM);
  }
  return Ok{};
}

}  // namespace xo::translator
