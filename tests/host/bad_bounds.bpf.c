// SPDX-License-Identifier: GPL-2.0
// A guest program the pre-verifier lets through and the host kernel
// refuses: packet read without a data_end check. Used to check that the
// kernel's complaint comes back as a guest instruction and source line.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int bad_bounds(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;

	return data[20] == 1 ? XDP_DROP : XDP_PASS; /* FAULT: unchecked packet read */
}

char _license[] SEC("license") = "GPL";
