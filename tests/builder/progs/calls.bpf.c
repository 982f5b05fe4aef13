// bpf-to-bpf calls: a global and two static subprograms in .text, one called
// only from another subprogram (transitive), one shared by two programs.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

static __noinline int twice(int x)
{
	return x * 2;
}

static __noinline int plus_three(int x)
{
	return twice(x) + 3 - x;  // x + 3
}

__noinline int add_one(int x)
{
	return x + 1;
}

SEC("xdp")
int xdp_calls(struct xdp_md *ctx)
{
	int v = add_one(0);          // 1
	v = plus_three(v);           // 4
	return v == 4 ? XDP_TX : XDP_ABORTED;
}

SEC("xdp")
int xdp_calls_other(struct xdp_md *ctx)
{
	return twice(1) == 2 ? XDP_PASS : XDP_ABORTED;
}

char _license[] SEC("license") = "GPL";
