// Flavor names and the default, deny-by-default helper allowlist.
#include "core/policy.hpp"

#include <linux/bpf.h>

#include <algorithm>
#include <utility>

namespace xo {

std::string_view flavor_name(Flavor f) {
  switch (f) {
    case Flavor::Tc: return "tc";
    case Flavor::Chain: return "chain";
    case Flavor::Devmap: return "devmap";
    case Flavor::Tun: return "tun";
  }
  return "unknown";
}

std::optional<Flavor> parse_flavor(std::string_view s) {
  for (Flavor f : {Flavor::Tc, Flavor::Chain, Flavor::Devmap, Flavor::Tun})
    if (flavor_name(f) == s) return f;
  return std::nullopt;
}

namespace {

constexpr FlavorSet kNotTc = kAllFlavors & FlavorSet(~flavor_bit(Flavor::Tc));

// The id and the kernel's name of a helper from one token of enum bpf_func_id,
// so the two cannot disagree.
#define XO_HELPER(fn) BPF_FUNC_##fn, "bpf_" #fn

// The default allowlist. Rules that produced it:
//
//  * Only helpers whose result depends on the packet, the program's own maps,
//    or harmless clocks/randomness. An offloaded program runs in the host's
//    context, so anything that reads host state would leak it to the guest:
//    fib_lookup, get_current_*, get_cgroup_classid, get_route_realm,
//    sk_lookup_*, perf_event_output, trace_printk, probe_read_*, get_stack,
//    jiffies-based and socket helpers, ... are all denied by leaving them out.
//  * Redirects (redirect, redirect_map) and perf_event_output name guest
//    objects (devices, CPUs, AF_XDP sockets, perf rings): they are
//    `deferred`, never called on the host. The translator records the call
//    and the guest's trampoline makes it (PROTOCOL.md 8, version 2 only);
//    redirect_map and perf_event_output only on a guest-side map. Only the
//    tc and chain lowerings can deliver the descriptor frame.
//  * `nargs` is exactly the number of non-DONTCARE arguments of the kernel's
//    prototype (net/core/filter.c, kernel/bpf/helpers.c): the pre-verifier
//    requires r1..r(nargs) initialised, and must never be stricter than the
//    kernel.
//  * Ids and names come from enum bpf_func_id (linux/bpf.h).
//  * `pointers` is the kernel's prototype as far as pointers go (which
//    arguments are pointers, which memory the helper reads, whether r0 is a
//    map value): verifier-front/pointers.cpp proves with it that no kernel
//    address reaches guest-visible state.
//  * Loop helpers carry which argument counts iterations and which names
//    the callback: the pre-verifier bounds them (a constant count, nested
//    counts multiplied, under Policy::max_loop_iterations()).
//  * Flavors: the tc flavor runs as SCHED_CLS, so only helpers that the tc
//    lowering maps exactly are offered there; xdp_adjust_meta has no exact skb
//    equivalent and stays XDP-only (chain, devmap, tun).
//
// Added for real programs (issue 11), each reading no host state:
//  * spin_lock / spin_unlock: a lock inside the guest's own map value (the
//    map carries its value BTF to the host, host/core/host_maps.cpp, so the
//    kernel finds the bpf_spin_lock field).
//  * ktime_get_coarse_ns: a clock, like ktime_get_ns.
//  * for_each_map_elem: walks one of the guest's maps, calling a callback per
//    element; bounded like bpf_loop, its count being the map's max_entries
//    (loop_map_arg; verifier-front/loops.cpp).
//  * map_lookup_percpu_elem: another CPU's slot of a guest per-CPU map. The
//    CPU number is the host's (0..nr_cpu_ids-1), as get_smp_processor_id
//    already tells; the kernel itself returns NULL for an index out of range
//    (docs/DECISIONS.md, "host CPU identity").
//  * check_mtu: the answer is the tap's MTU (the guest NIC's), whichever
//    device the guest names: the flavor lowerings rewrite the ifindex, so no
//    host device is ever looked up by a guest number (docs/DECISIONS.md).
constexpr std::uint8_t r1 = 1, r2 = 2, r3 = 4, r4 = 8;  // HelperPointers masks
constexpr FlavorSet kDeferring = flavor_bit(Flavor::Tc) | flavor_bit(Flavor::Chain);

std::vector<HelperProto> default_helpers() {
  //  id  name                         nargs flavors     loop  pointers {args, reads, key, value, ret ptr}
  return {
      {XO_HELPER(map_lookup_elem), 2, kAllFlavors, 0, 0, {r1 | r2, r2, 2, 0, true}},
      {XO_HELPER(map_update_elem), 4, kAllFlavors, 0, 0, {r1 | r2 | r3, r2 | r3, 2, 3, false}},
      {XO_HELPER(map_delete_elem), 2, kAllFlavors, 0, 0, {r1 | r2, r2, 2, 0, false}},
      {XO_HELPER(ktime_get_ns), 0, kAllFlavors},
      {XO_HELPER(get_prandom_u32), 0, kAllFlavors},
      {XO_HELPER(get_smp_processor_id), 0, kAllFlavors},
      {XO_HELPER(tail_call), 3, kAllFlavors, 0, 0, {r1 | r2, 0, 0, 0, false}},
      {XO_HELPER(csum_diff), 5, kAllFlavors, 0, 0, {r1 | r3, r1 | r3, 0, 0, false}},
      {XO_HELPER(xdp_adjust_head), 2, kAllFlavors, 0, 0, {r1, 0, 0, 0, false}},
      {XO_HELPER(xdp_adjust_meta), 2, kNotTc, 0, 0, {r1, 0, 0, 0, false}},
      {XO_HELPER(xdp_adjust_tail), 2, kAllFlavors, 0, 0, {r1, 0, 0, 0, false}},
      {XO_HELPER(map_push_elem), 3, kAllFlavors, 0, 0, {r1 | r2, r2, 0, 2, false}},
      {XO_HELPER(map_pop_elem), 2, kAllFlavors, 0, 0, {r1 | r2, 0, 0, 0, false}},
      {XO_HELPER(map_peek_elem), 2, kAllFlavors, 0, 0, {r1 | r2, 0, 0, 0, false}},
      {XO_HELPER(ktime_get_boot_ns), 0, kAllFlavors},
      {XO_HELPER(loop), 4, kAllFlavors, /*loop_count_arg=*/1, /*loop_callback_arg=*/2, {r2 | r3, r3, 0, 0, false}},
      {XO_HELPER(xdp_get_buff_len), 1, kAllFlavors, 0, 0, {r1, 0, 0, 0, false}},
      {XO_HELPER(xdp_load_bytes), 4, kAllFlavors, 0, 0, {r1 | r3, 0, 0, 0, false}},
      {XO_HELPER(xdp_store_bytes), 4, kAllFlavors, 0, 0, {r1 | r3, r3, 0, 0, false}},
      {XO_HELPER(spin_lock), 1, kAllFlavors, 0, 0, {r1, 0, 0, 0, false}},
      {XO_HELPER(spin_unlock), 1, kAllFlavors, 0, 0, {r1, 0, 0, 0, false}},
      {XO_HELPER(ktime_get_coarse_ns), 0, kAllFlavors},
      {XO_HELPER(for_each_map_elem), 4, kAllFlavors, 0, /*loop_callback_arg=*/2, {r1 | r2 | r3, r3, 0, 0, false},
       /*loop_map_arg=*/1},
      {XO_HELPER(map_lookup_percpu_elem), 3, kAllFlavors, 0, 0, {r1 | r2, r2, 2, 0, true}},
      {XO_HELPER(check_mtu), 5, kAllFlavors, 0, 0, {r1 | r3, r3, 0, 0, false}},
      // Deferred to the guest (version 2). perf_event_output's data is
      // read and travels to the guest: a sink for the pointer-flow proof.
      {XO_HELPER(redirect), 2, kDeferring, 0, 0, {}, 0, true},
      {XO_HELPER(redirect_map), 3, kDeferring, 0, 0, {r1, 0, 0, 0, false}, 0, true},
      {XO_HELPER(perf_event_output), 5, kDeferring, 0, 0, {r1 | r2 | r4, r4, 0, 0, false, 5}, 0, true},
  };
}
#undef XO_HELPER

// The packet dynptr kfuncs: the packet seen through a dynptr, read and
// written like xdp_load_bytes/xdp_store_bytes; no host state. nargs is the
// kernel's declaration (kernel/bpf/helpers.c, net/core/filter.c). In tc,
// bpf_dynptr_from_xdp is lowered to bpf_dynptr_from_skb (same arguments);
// slices work on either kind of dynptr.
std::vector<KfuncProto> default_kfuncs() {
  return {
      {"bpf_dynptr_from_xdp", 3, kAllFlavors},    // (xdp_md *, u64 flags, bpf_dynptr *uninit)
      {"bpf_dynptr_slice", 4, kAllFlavors},       // (dynptr *, u32 off, void *buffer__opt, u32 buffer__szk)
      {"bpf_dynptr_slice_rdwr", 4, kAllFlavors},  // the same, writable
  };
}

}  // namespace

DefaultPolicy::DefaultPolicy() : DefaultPolicy(default_helpers(), kAllFlavors) {}

const KfuncProto* DefaultPolicy::kfunc(std::string_view name) const {
  for (const auto& k : kfuncs_)
    if (k.name == name) return &k;
  return nullptr;
}

DefaultPolicy::DefaultPolicy(std::vector<HelperProto> helpers, FlavorSet flavors)
    : helpers_(std::move(helpers)), kfuncs_(default_kfuncs()), flavors_(FlavorSet(flavors & kAllFlavors)) {
  std::sort(helpers_.begin(), helpers_.end(),
            [](const HelperProto& a, const HelperProto& b) { return a.id < b.id; });
}

const HelperProto* DefaultPolicy::helper(std::int32_t id) const {
  auto it = std::lower_bound(helpers_.begin(), helpers_.end(), id,
                             [](const HelperProto& h, std::int32_t v) { return h.id < v; });
  return it != helpers_.end() && it->id == id ? &*it : nullptr;
}

}  // namespace xo
