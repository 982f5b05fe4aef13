// SPDX-License-Identifier: GPL-2.0
// xdp2: count packets per IP protocol, swap the MAC addresses, bounce them.
// Behaves like the Linux sample samples/bpf/xdp2_kern.c (direct packet
// access version): Ethernet, up to two VLAN tags, IPv4/IPv6 -> protocol;
// rxcnt[protocol] += 1; swap src/dst MAC; XDP_TX. The parsing, the rxcnt
// map and the MAC swap are the examples' shared examples/include/xo_parse.h.
#include "xo_parse.h"

SEC("xdp")
int xdp_prog1(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	int rc = XDP_DROP; /* for malformed frames, as in the sample */

	/* rxcnt[IP protocol] += 1 */
	if (count_ipproto(data, data_end) < 0)
		return rc;

	swap_src_dst_mac(data);
	rc = XDP_TX;

	return rc;
}

char _license[] SEC("license") = "GPL";
