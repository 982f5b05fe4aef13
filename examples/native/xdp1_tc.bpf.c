// SPDX-License-Identifier: GPL-2.0
// xdp1 written for tc by hand: count per IP protocol, drop (TC_ACT_SHOT).
// What xoffload's tc flavor of examples/xdp1 should cost at most.
#include "xo_parse.h"
#include <linux/pkt_cls.h>

SEC("tc")
int xdp1_tc(struct __sk_buff *skb)
{
	void *data_end = (void *)(long)skb->data_end;
	void *data = (void *)(long)skb->data;

	count_ipproto(data, data_end);
	return TC_ACT_SHOT;
}

char _license[] SEC("license") = "GPL";
