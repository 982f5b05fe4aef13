// SPDX-License-Identifier: GPL-2.0
// What the examples share, written as in the Linux samples
// samples/bpf/xdp1_kern.c and xdp2_kern.c (direct packet access version):
// the rxcnt map, the Ethernet / up to two VLAN tags / IPv4 / IPv6 parsing
// that finds a frame's IP protocol, and xdp2's MAC swap. XDP programs
// (struct xdp_md) and their hand-written tc twins (struct __sk_buff, in
// examples/native) pass their own data/data_end pointers.
#pragma once
#include <linux/bpf.h>
#include <linux/in.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

// struct vlan_hdr is kernel-internal (linux/if_vlan.h), not UAPI.
struct vlan_hdr {
	__be16 h_vlan_TCI;
	__be16 h_vlan_encapsulated_proto;
};

// Packets seen per IP protocol (summed over CPUs by the loaders).
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, long);
	__uint(max_entries, 256);
} rxcnt SEC(".maps");

static __always_inline int parse_ipv4(void *data, __u64 nh_off, void *data_end)
{
	struct iphdr *iph = data + nh_off;

	if ((void *)(iph + 1) > data_end)
		return 0;
	return iph->protocol;
}

static __always_inline int parse_ipv6(void *data, __u64 nh_off, void *data_end)
{
	struct ipv6hdr *ip6h = data + nh_off;

	if ((void *)(ip6h + 1) > data_end)
		return 0;
	return ip6h->nexthdr;
}

// rxcnt[IP protocol of the frame] += 1, protocol 0 for neither IPv4 nor
// IPv6 (or a cut IP header). Returns -1, counting nothing, when the
// Ethernet or a VLAN header is cut short: the samples drop such frames.
static __always_inline int count_ipproto(void *data, void *data_end)
{
	struct ethhdr *eth = data;
	long *value;
	__u16 h_proto;
	__u64 nh_off;
	__u32 ipproto;

	nh_off = sizeof(*eth);
	if (data + nh_off > data_end)
		return -1;

	h_proto = eth->h_proto;

	/* Up to two VLAN tags (802.1Q / 802.1AD). */
#pragma unroll
	for (int i = 0; i < 2; i++) {
		if (h_proto == bpf_htons(ETH_P_8021Q) || h_proto == bpf_htons(ETH_P_8021AD)) {
			struct vlan_hdr *vhdr = data + nh_off;

			nh_off += sizeof(struct vlan_hdr);
			if (data + nh_off > data_end)
				return -1;
			h_proto = vhdr->h_vlan_encapsulated_proto;
		}
	}

	if (h_proto == bpf_htons(ETH_P_IP))
		ipproto = parse_ipv4(data, nh_off, data_end);
	else if (h_proto == bpf_htons(ETH_P_IPV6))
		ipproto = parse_ipv6(data, nh_off, data_end);
	else
		ipproto = 0;

	value = bpf_map_lookup_elem(&rxcnt, &ipproto);
	if (value)
		*value += 1;

	return 0;
}

// xdp2: swap the source and destination MAC addresses in place.
static __always_inline void swap_src_dst_mac(void *data)
{
	unsigned short *p = data;
	unsigned short dst[3];

	dst[0] = p[0];
	dst[1] = p[1];
	dst[2] = p[2];
	p[0] = p[3];
	p[1] = p[4];
	p[2] = p[5];
	p[3] = dst[0];
	p[4] = dst[1];
	p[5] = dst[2];
}
