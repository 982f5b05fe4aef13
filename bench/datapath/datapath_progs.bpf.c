// SPDX-License-Identifier: GPL-2.0
// Helper XDP programs of the data path benchmark (bench/datapath):
//   gen_drop  live-frame program of the ceiling run: the host ingress
//             program drops every frame itself (generator_mpps)
//   gen_tx    live-frame program of case 2 (--case2-gen veth-tx): XDP_TX
//             out of the veth in the other netns, so each frame enters the
//             bridge as an skb from its peer
//   gen_pass  live-frame program of case 2 (--case2-gen port-pass, default):
//             XDP_PASS on the bridge's veth port itself
//   napi_pass on a veth whose peer XDP_TXes: an attached XDP program is what
//             makes a veth accept XDP frames (it enables the veth's NAPI)
//   sink      "the wire": counts the frames a device receives back (xdp2's
//             bounced frames) and drops them
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} sink_count SEC(".maps");

SEC("xdp")
int gen_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

// Live frames recycle their pages: a frame that xdp2 swapped (MACs D -> S)
// can come back as the next frame, and a bridge that saw it would learn D
// on the generator's port and stop forwarding to the tap. So gen_tx writes
// the addresses of every frame it sends (S -> D, as bench/datapath/frames.hpp).
static __always_inline int set_macs(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u16 *mac = data;

	if (data + 12 > data_end)
		return 0;
	mac[0] = __builtin_bswap16(0x0258); /* D = 02:58:4f:00:00:02 */
	mac[1] = __builtin_bswap16(0x4f00);
	mac[2] = __builtin_bswap16(0x0002);
	mac[3] = __builtin_bswap16(0x0258); /* S = 02:58:4f:00:00:01 */
	mac[4] = __builtin_bswap16(0x4f00);
	mac[5] = __builtin_bswap16(0x0001);
	return 1;
}

SEC("xdp")
int gen_tx(struct xdp_md *ctx)
{
	return set_macs(ctx) ? XDP_TX : XDP_DROP;
}

// Case 2, bridge-port variant: live frames "arrive" on the bridge's veth
// port and XDP_PASS hands them to the stack there, i.e. to the bridge, as
// skbs received from the veth (test_run builds them like a driver would).
SEC("xdp")
int gen_pass(struct xdp_md *ctx)
{
	return set_macs(ctx) ? XDP_PASS : XDP_DROP;
}

SEC("xdp")
int napi_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int sink(struct xdp_md *ctx)
{
	__u32 key = 0;
	__u64 *n = bpf_map_lookup_elem(&sink_count, &key);

	if (n)
		*n += 1;
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
