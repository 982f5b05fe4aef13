// Helper calls against the injected policy: deny by default, then per flavor.
// Applies to every call instruction, reachable by the kernel's reckoning or
// not: the host never loads a program that names a denied helper.
//
//   call bpf_fib_lookup
//   -> prog 'xdp_prog1': insn 17 (xdp1_kern.c:42): helper bpf_fib_lookup (69) is not allowed for offloaded programs
//
// Whether r1..r(nargs) are initialised is a dataflow question (dataflow.cpp).
#include <variant>

#include "verifier-front/checks.hpp"

namespace xo::verifier {
namespace {

std::string flavor_list(FlavorSet set) {
  std::string out;
  for (Flavor f : {Flavor::Tc, Flavor::Chain, Flavor::Devmap, Flavor::Tun}) {
    if (!(set & flavor_bit(f))) continue;
    if (!out.empty()) out += ", ";
    out += flavor_name(f);
  }
  return out.empty() ? "none" : out;
}

}  // namespace

Status check_helpers(Context& cx) {
  if (!(cx.policy.flavors() & flavor_bit(cx.flavor)))
    return reject_program(cx, "flavor " + std::string(flavor_name(cx.flavor)) +
                                  " is not offered by this host (offered: " +
                                  flavor_list(cx.policy.flavors()) + ")",
                          EPERM);
  for (std::size_t i = 0; i < cx.size(); ++i) {
    const auto* call = std::get_if<isa::Call>(&cx.insns[i]);
    if (!call) continue;
    const HelperProto* proto = cx.policy.helper(call->helper);
    const std::string id = " (" + std::to_string(call->helper) + ")";
    if (!proto) {
      const std::string name = kernel_helper_name(call->helper);
      return reject_insn(cx, i, "helper " + (name.empty() ? std::to_string(call->helper)
                                                          : name + id) +
                                    " is not allowed for offloaded programs",
                         EPERM);
    }
    if (!(proto->flavors & flavor_bit(cx.flavor)))
      return reject_insn(cx, i, "helper " + proto->name + id + " is not available in the " +
                                    std::string(flavor_name(cx.flavor)) +
                                    " flavor (available in: " + flavor_list(proto->flavors) +
                                    ")",
                         EPERM);
  }
  return Ok{};
}

}  // namespace xo::verifier
