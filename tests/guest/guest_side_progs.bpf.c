// SPDX-License-Identifier: GPL-2.0
// Guest programs that defer to the guest (issue 13), for guest_side_test and
// e2e_offload_deferred: each keeps the UDP
// frames to port KEEP_PORT for the guest and drops everything else on the
// host. What the guest does with the kept ones is what the host cannot do:
//   e2e_devmap   redirect to eth1 through a DEVMAP (guest user space sets key 0)
//   e2e_ifindex  bpf_redirect to eth1 by ifindex
//   e2e_xsk      redirect into the AF_XDP socket of the frame's rx queue
//   e2e_sampler  a perf sample (a header + the frame's first 42 bytes), and drop
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define KEEP_PORT 7001
#define ETH1_IFINDEX 3  /* lo 1, eth0 2, eth1 3: the test checks it */
#define SAMPLE_CTX_BYTES 42  /* Ethernet + IPv4 + UDP headers */

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(max_entries, 4);
} tx_port SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
	__uint(max_entries, 4);
} xsks_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} events SEC(".maps");

struct sample {
	__u32 magic;
	__u32 len;
};

static __always_inline int kept(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct udphdr *udp = (void *)(ip + 1);

	if ((void *)(udp + 1) > end)
		return 0;
	if (eth->h_proto != bpf_htons(ETH_P_IP) || ip->ihl != 5 || ip->protocol != IPPROTO_UDP)
		return 0;
	return udp->dest == bpf_htons(KEEP_PORT);
}

SEC("xdp")
int e2e_devmap(struct xdp_md *ctx)
{
	if (!kept(ctx))
		return XDP_DROP;
	return bpf_redirect_map(&tx_port, 0, 0);
}

SEC("xdp")
int e2e_ifindex(struct xdp_md *ctx)
{
	if (!kept(ctx))
		return XDP_DROP;
	return bpf_redirect(ETH1_IFINDEX, 0);
}

SEC("xdp")
int e2e_xsk(struct xdp_md *ctx)
{
	if (!kept(ctx))
		return XDP_DROP;
	return bpf_redirect_map(&xsks_map, ctx->rx_queue_index, 0);
}

SEC("xdp")
int e2e_sampler(struct xdp_md *ctx)
{
	struct sample s = {.magic = 0x5a4d504c};

	if (!kept(ctx))
		return XDP_DROP;
	s.len = (__u32)(ctx->data_end - ctx->data);
	bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU | ((__u64)SAMPLE_CTX_BYTES << 32), &s, sizeof(s));
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
