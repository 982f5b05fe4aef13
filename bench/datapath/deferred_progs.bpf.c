// SPDX-License-Identifier: GPL-2.0
// Guest programs of the data path benchmark's deferred-actions rows (issue
// 13; bench/datapath/rate_cases.cpp), offloaded in the chain flavor:
//   xdp_half          drops every other frame and redirects the rest through
//                     a guest-side DEVMAP (a descriptor frame each); its own
//                     per-CPU counter counts every frame it runs on
//   xdp_redirect_all  redirects every frame (a descriptor each)
//   xdp_pass_all      passes every frame (no descriptor): the reference for
//                     the descriptor's cost per frame
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(max_entries, 4);
} tx_port SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 256);  /* read like xdp1's rxcnt: keys 0..255, key 0 used */
} rxcnt SEC(".maps");

SEC("xdp")
int xdp_half(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u64 *n = bpf_map_lookup_elem(&rxcnt, &k);

	if (!n)
		return XDP_ABORTED;
	if ((*n)++ & 1)
		return XDP_DROP;
	return bpf_redirect_map(&tx_port, 0, 0);
}

SEC("xdp")
int xdp_redirect_all(struct xdp_md *ctx)
{
	return bpf_redirect_map(&tx_port, 0, 0);
}

SEC("xdp")
int xdp_pass_all(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
