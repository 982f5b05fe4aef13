// SEC("?xdp"): libbpf does not auto-load it, and reports its section as
// "xdp" while the ELF section is "?xdp".
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("?xdp")
int xdp_optional(struct xdp_md *ctx)
{
	return XDP_TX;
}

char _license[] SEC("license") = "GPL";
