// SPDX-License-Identifier: GPL-2.0
// xdp2 written for tc by hand: count per IP protocol, swap the MACs and
// bounce the frame back into the host's Rx path of the tap
// (bpf_redirect(tap, BPF_F_INGRESS)), as xoffload's tc flavor does for XDP_TX.
#include "parse.h"
#include <linux/pkt_cls.h>

// Set by the loader before load: the tap the program sits on.
const volatile __u32 tap_ifindex = 0;

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

SEC("tc")
int xdp2_tc(struct __sk_buff *skb)
{
	void *data_end = (void *)(long)skb->data_end;
	void *data = (void *)(long)skb->data;

	if (!count_protocol(data, data_end))
		return TC_ACT_SHOT; /* malformed, as xdp2's XDP_DROP */
	swap_src_dst_mac(data);
	return bpf_redirect(tap_ifindex, BPF_F_INGRESS);
}

char _license[] SEC("license") = "GPL";
