// A kfunc extern call: the builder must refuse it with a clear message.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

extern int bpf_xo_made_up_kfunc(int x) __ksym;

SEC("xdp")
int xdp_kfunc(struct xdp_md *ctx)
{
	return bpf_xo_made_up_kfunc(1) ? XDP_PASS : XDP_DROP;
}

char _license[] SEC("license") = "GPL";
