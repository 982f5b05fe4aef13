// A pointer stored in global data (needs a data relocation): the builder must
// refuse it, since neither libbpf nor the kernel can represent it.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

const char *volatile greeting = "hello";

SEC("xdp")
int xdp_dataptr(struct xdp_md *ctx)
{
	return greeting ? XDP_PASS : XDP_DROP;
}

char _license[] SEC("license") = "GPL";
