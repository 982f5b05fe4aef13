// SPDX-License-Identifier: GPL-2.0
// xdp2 written for tc by hand: count per IP protocol, swap the MACs and
// bounce the frame back into the host's Rx path of the tap
// (bpf_redirect(tap, BPF_F_INGRESS)), as xoffload's tc flavor does for XDP_TX.
#include "xo_parse.h"
#include <linux/pkt_cls.h>

// Set by the loader before load: the tap the program sits on.
const volatile __u32 tap_ifindex = 0;

SEC("tc")
int xdp2_tc(struct __sk_buff *skb)
{
	void *data_end = (void *)(long)skb->data_end;
	void *data = (void *)(long)skb->data;

	if (count_ipproto(data, data_end) < 0)
		return TC_ACT_SHOT; /* malformed, as xdp2's XDP_DROP */
	swap_src_dst_mac(data);
	return bpf_redirect(tap_ifindex, BPF_F_INGRESS);
}

char _license[] SEC("license") = "GPL";
