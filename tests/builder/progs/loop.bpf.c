// A callback passed by address (ld_imm64 BPF_PSEUDO_FUNC against .text) and
// a string literal in .rodata.str1.1: both must survive the builder.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct loop_ctx {
	__u32 sum;
	__u32 bonus;
};

static int add_index(__u32 index, void *data)
{
	struct loop_ctx *c = data;

	c->sum += index + c->bonus;
	return 0;
}

SEC("xdp")
int xdp_loop(struct xdp_md *ctx)
{
	const volatile char *tag = "xoffload";
	struct loop_ctx c = { .sum = 0, .bonus = tag[1] == 'o' };

	bpf_loop(4, add_index, &c, 0);  // 0+1+2+3 + 4*1 = 10
	return c.sum == 10 ? XDP_PASS : XDP_DROP;
}

char _license[] SEC("license") = "GPL";
