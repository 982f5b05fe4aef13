// The program test (b) runs on the patched host tun's Tx-path hook, through
// the translator's tun flavor. Frames of ethertype 0x88b5 (IEEE local
// experimental) carry a kind byte first:
//   'D' -> XDP_DROP
//   'T' -> swap the MAC addresses, XDP_TX (the hook re-injects it)
//   'I' -> XDP_PASS if ctx->ingress_ifindex reads the guest's ifindex (7:
//          the tun lowering turns the load into that constant), else DROP
//   anything else, and every other frame -> XDP_PASS
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <bpf/bpf_helpers.h>

#define ETH_P_XO_TEST 0x88b5
#define GUEST_IFINDEX 7

SEC("xdp")
int tun_probe(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	unsigned char *kind = (unsigned char *)(eth + 1);
	unsigned char tmp[ETH_ALEN];

	if ((void *)(kind + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto != __builtin_bswap16(ETH_P_XO_TEST))
		return XDP_PASS;
	switch (*kind) {
	case 'D':
		return XDP_DROP;
	case 'T':
		__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
		__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
		__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
		return XDP_TX;
	case 'I':
		return ctx->ingress_ifindex == GUEST_IFINDEX ? XDP_PASS : XDP_DROP;
	default:
		return XDP_PASS;
	}
}

char _license[] SEC("license") = "GPL";
