// SPDX-License-Identifier: GPL-2.0
// One guest program per map type issue 11 adds (LPM_TRIE, QUEUE/STACK,
// BLOOM_FILTER, ARRAY_OF_MAPS, PROG_ARRAY): each decides a frame's fate from
// what the guest put into its map through the protocol, so a test can tell
// from the frames whether the host map behaves as the guest wrote it.
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <bpf/bpf_helpers.h>

struct lpm_v4 {
	__u32 prefixlen;
	__u32 addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_v4);
	__type(value, __u32);
	__uint(max_entries, 64);
} blocked SEC(".maps");

static __always_inline struct iphdr *ipv4(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);

	if ((void *)(ip + 1) > end || eth->h_proto != __constant_htons(ETH_P_IP))
		return 0;
	return ip;
}

// Drops frames whose destination lies in a blocked prefix.
SEC("xdp")
int lpm_filter(struct xdp_md *ctx)
{
	struct iphdr *ip = ipv4(ctx);
	struct lpm_v4 key = {32, 0};

	if (!ip)
		return XDP_PASS;
	key.addr = ip->daddr;
	return bpf_map_lookup_elem(&blocked, &key) ? XDP_DROP : XDP_PASS;
}

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__type(value, __u32);
	__uint(max_entries, 8);
} verdicts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK);
	__type(value, __u32);
	__uint(max_entries, 8);
} seen SEC(".maps");

// Each frame takes the next verdict the guest queued (PASS when none) and
// pushes it on a stack the guest reads back.
SEC("xdp")
int queue_verdicts(struct xdp_md *ctx)
{
	__u32 v = XDP_PASS;

	bpf_map_pop_elem(&verdicts, &v);
	if (v != XDP_DROP)
		v = XDP_PASS;
	bpf_map_push_elem(&seen, &v, 0);
	return v;
}

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__type(value, __u32);
	__uint(max_entries, 64);
	__uint(map_extra, 3);
} bad_dst SEC(".maps");

// Drops frames whose destination the guest added to the bloom filter.
SEC("xdp")
int bloom_filter(struct xdp_md *ctx)
{
	struct iphdr *ip = ipv4(ctx);
	__u32 dst;

	if (!ip)
		return XDP_PASS;
	dst = ip->daddr;
	return bpf_map_peek_elem(&bad_dst, &dst) == 0 ? XDP_DROP : XDP_PASS;
}

struct inner_verdict {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 1);
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__type(key, __u32);
	__uint(max_entries, 2);
	__array(values, struct inner_verdict);
} policies SEC(".maps");

// The verdict is in slot 0 of the inner map the guest put at outer slot 0.
SEC("xdp")
int map_in_map(struct xdp_md *ctx)
{
	__u32 zero = 0, *v;
	void *inner = bpf_map_lookup_elem(&policies, &zero);

	if (!inner)
		return XDP_PASS;
	v = bpf_map_lookup_elem(inner, &zero);
	return v && *v == XDP_DROP ? XDP_DROP : XDP_PASS;
}

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 4);
} jump SEC(".maps");

// Tail-calls whatever program the guest put at slot 0; PASS without one.
SEC("xdp")
int tail_caller(struct xdp_md *ctx)
{
	bpf_tail_call(ctx, &jump, 0);
	return XDP_PASS;
}

SEC("xdp")
int tail_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
