// Global data in all three sections; the result depends on every one of them
// so that a wrong map handle or value offset changes the return code.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

volatile __u32 data_a = 11;           // .data
volatile __u32 data_b = 22;           // .data, offset after data_a
const volatile __u32 ro_limit = 33;   // .rodata
const volatile __u32 ro_extra = 44;   // .rodata
volatile __u64 bss_hits;              // .bss
volatile __u32 bss_last;              // .bss

SEC("xdp")
int xdp_globals(struct xdp_md *ctx)
{
	bss_hits += 1;
	bss_last = data_a;
	data_b += 1;
	// 11 + 23 + 33 + 44 - 111 = 0 -> XDP_ABORTED would be 0, so offset by XDP_PASS.
	return data_a + data_b + ro_limit + ro_extra - 111 + XDP_PASS;
}

char _license[] SEC("license") = "GPL";
