// kfuncs: a guest's kfunc call names its function by the id of an extern
// BTF_KIND_FUNC in the submission's own BTF; a guest kernel's BTF ids mean
// nothing on the host. Each call becomes a call of the host kernel's
// function of that name, resolved in the host's vmlinux BTF
// (TranslateOptions::kfunc_id). In tc the XDP-only constructor is lowered to
// its skb twin, which takes the same arguments.
//
//   before (guest XDP, its BTF: [7] FUNC 'bpf_dynptr_from_xdp' extern)
//   call kfunc 7                      ; src_reg 2, imm 7, off 0
//   after (tc; host vmlinux: [61234] FUNC 'bpf_dynptr_from_skb')
//   call kfunc 61234                  ; off 0: vmlinux
//
// helper_allowlist.cpp checked every kfunc against the policy already.
#include <cerrno>
#include <string>

#include "core/btf_func.hpp"
#include "core/diagnostics.hpp"
#include "translator/passes/passes.hpp"

namespace xo::translator {
namespace {

// The host function a guest kfunc becomes in `flavor`.
std::string host_kfunc_name(const std::string& guest, Flavor flavor) {
  if (flavor == Flavor::Tc && guest == "bpf_dynptr_from_xdp") return "bpf_dynptr_from_skb";
  return guest;
}

}  // namespace

Status lower_kfunc_calls(isa::Rewriter& rw, const std::vector<isa::Insn>& insns, const isa::Structure& st,
                         PassContext& ctx) {
  for (std::size_t i = 0; i < insns.size(); ++i) {
    const auto* k = std::get_if<isa::CallKfunc>(&insns[i]);
    if (!k) continue;
    const std::size_t pc = st.layout[i];
    auto guest = btf_func_name(ctx.submission.btf, std::uint32_t(k->btf_id));
    if (!guest) return ctx.diag.at(pc, "kfunc call (BTF id " + std::to_string(k->btf_id) + ") names no function", EPERM);
    const std::string name = host_kfunc_name(*guest, ctx.options.flavor);
    std::optional<std::int32_t> id = ctx.options.kfunc_id ? ctx.options.kfunc_id(name) : std::nullopt;
    if (!id || *id <= 0)
      return ctx.diag.at(pc, "kfunc " + name + " is not in this host kernel's BTF" +
                                 (ctx.options.kfunc_id ? "" : " (no host BTF to resolve kfuncs)"),
                         ENOENT);
    rw.replace(i, {isa::Emit{isa::CallKfunc{*id, 0}}});
  }
  return Ok{};
}

}  // namespace xo::translator
