// SPDX-License-Identifier: GPL-2.0
// xdp1: count packets per IP protocol and drop them.
// Behaves like the Linux sample samples/bpf/xdp1_kern.c (direct packet
// access version): Ethernet, up to two VLAN tags, IPv4/IPv6 -> protocol;
// rxcnt[protocol] += 1; XDP_DROP. The parsing and the rxcnt map are the
// examples' shared examples/include/xo_parse.h.
#include "xo_parse.h"

SEC("xdp")
int xdp_prog1(struct xdp_md *ctx)
{
	void *data_end = (void *)(long)ctx->data_end;
	void *data = (void *)(long)ctx->data;
	int rc = XDP_DROP;

	/* rxcnt[IP protocol] += 1; a frame cut short is dropped uncounted. */
	count_ipproto(data, data_end);

	return rc;
}

char _license[] SEC("license") = "GPL";
