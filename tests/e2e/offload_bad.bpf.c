// SPDX-License-Identifier: GPL-2.0
// Offloaded from the guest in e2e_offload_xdp: the host kernel verifier
// refuses it (packet read without a data_end check), and the guest must get
// that refusal as an error naming this file and line.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int offload_bad(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;

	return data[30] == 7 ? XDP_DROP : XDP_PASS; /* unchecked packet read: line 13 */
}

char _license[] SEC("license") = "GPL";
