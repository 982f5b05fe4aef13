// SPDX-License-Identifier: GPL-2.0
// Guest XDP programs that defer to the guest's trampoline (protocol version
// 2, transport/PROTOCOL.md 8): redirects through guest-side maps, redirects
// by ifindex, perf samples. deferred_test.cpp translates each for tc and
// chain, runs it with BPF_PROG_TEST_RUN and checks the descriptor frame
// byte for byte; the refused ones check the one-line reason.
//
// Byte 14 of the frame (the first byte after the Ethernet header) picks the
// path in the programs that have several.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(max_entries, 8);
} tx_port SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(max_entries, 4);
} xsks SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} seen SEC(".maps");

static __always_inline int selector(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;

	if (p + 16 > end)
		return -1;
	return p[14];
}

// The usual tail call: byte 15 is the key; drops what is not IPv4-ish.
SEC("xdp")
int defer_redirect_map(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;

	if (p + 16 > end)
		return XDP_DROP;
	if (p[14] == 0xdd)
		return XDP_DROP;
	return bpf_redirect_map(&tx_port, p[15], XDP_PASS);
}

// AF_XDP: selector 1 goes to the socket at key 2, the rest is dropped.
SEC("xdp")
int defer_xsk(struct xdp_md *ctx)
{
	if (selector(ctx) != 1)
		return XDP_DROP;
	return bpf_redirect_map(&xsks, 2, 0);
}

// bpf_redirect's result is exact: a program may branch on it.
SEC("xdp")
int defer_redirect_ifindex(struct xdp_md *ctx)
{
	int s = selector(ctx);

	if (s < 0)
		return XDP_DROP;
	if (bpf_redirect(7, s == 9 ? 1 : 0) == XDP_ABORTED)
		return XDP_PASS;
	return XDP_REDIRECT;
}

struct sample {
	__u32 magic;
	__u16 len;
	__u8 sel;
	__u8 pad;
	__u64 stamp;
};

// Samples with 32 packet bytes: selector 1 dropped, 2 passed, 3 sent back
// (XDP_TX: the sample is lost, counted), anything else dropped unsampled.
SEC("xdp")
int defer_sampler(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct sample s = {};

	if (p + 16 > end)
		return XDP_DROP;
	if (p[14] < 1 || p[14] > 3)
		return XDP_DROP;
	s.magic = 0xfeedf00d;
	s.len = (__u16)(end - p);
	s.sel = p[14];
	s.stamp = 0x0102030405060708ull;
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU | (32ull << 32), &s, sizeof(s));
	if (p[14] == 2)
		return XDP_PASS;
	if (p[14] == 3)
		return XDP_TX;
	return XDP_DROP;
}

// XDP_REDIRECT without a redirect call on selector 2's path: a policy drop.
SEC("xdp")
int defer_redirect_without_call(struct xdp_md *ctx)
{
	int s = selector(ctx);

	if (s == 1)
		return bpf_redirect_map(&tx_port, 1, 0);
	if (s == 2)
		return XDP_REDIRECT;
	return XDP_PASS;
}

// Refused: the program branches on bpf_redirect_map's result.
SEC("xdp")
int defer_branch_on_result(struct xdp_md *ctx)
{
	__u32 k = 0;
	__u64 *v;
	long r = bpf_redirect_map(&tx_port, 0, 0);

	if (r == XDP_REDIRECT) {
		v = bpf_map_lookup_elem(&seen, &k);
		if (v)
			*v += 1;
	}
	return r;
}

// Refused: a guest-side map used as something else than a deferred call's map.
SEC("xdp")
int defer_lookup_xsk(struct xdp_md *ctx)
{
	__u32 k = 0;

	if (bpf_map_lookup_elem(&xsks, &k))
		return bpf_redirect_map(&xsks, 0, 0);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
