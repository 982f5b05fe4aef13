// SPDX-License-Identifier: GPL-2.0
// Sample host ingress XDP program for the xoffload "chain" flavor.
//
// Without xoffload, a host that forwards frames to a VM in XDP ends with
//     return bpf_redirect(tap_ifindex, 0);
// With xoffload, it first tail-calls the VM's offloaded program:
//     bpf_tail_call(ctx, &xo_chain, 0);      // runs the guest's XDP program
//     return bpf_redirect(tap_ifindex, 0);   // slot empty: no offload
// The guest program then decides: XDP_DROP/XDP_ABORTED drop right here,
// XDP_TX bounces out of this ingress device, and XDP_PASS becomes the same
// redirect into the tap (xoffload's chain epilogue). A tail call that does
// not happen (empty slot: no offload, or the offload was unloaded) simply
// falls through to the redirect, so behaviour without offload is unchanged.
//
// Integrating into your own ingress program:
//   1. Declare a PROG_ARRAY with one u32->u32 slot, like xo_chain below, per
//      tap you redirect to (or an array of them indexed by your own logic).
//   2. Before loading, point it at the session's pinned array with libbpf:
//        int fd = bpf_obj_get("/sys/fs/bpf/xoffload/<session>/chain_<tap>");
//        bpf_map__reuse_fd(bpf_object__find_map_by_name(obj, "xo_chain"), fd);
//      (or, with iproute2/bpftool, use the pinned path as the map's pin).
//   3. Put `bpf_tail_call(ctx, &xo_chain, 0);` right before your
//      `bpf_redirect(tap_ifindex, 0)`. Nothing else changes: the tail call
//      does not return when it succeeds.
//   A session's array is created when xoffload loads a chain-flavor program
//   for that tap and removed when it unloads; keep your reference (your
//   program holds the map) and loads/reloads/unloads just work.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} xo_chain SEC(".maps");

// Set by the loader before load (skeleton-style rodata): the tap to
// redirect into when no offloaded program takes the frame.
const volatile __u32 tap_ifindex = 0;

SEC("xdp")
int xo_chain_ingress(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &xo_chain, 0);
	return bpf_redirect(tap_ifindex, 0);
}

char _license[] SEC("license") = "GPL";
