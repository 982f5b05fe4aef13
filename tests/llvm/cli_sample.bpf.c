// SPDX-License-Identifier: GPL-2.0
// A BPF object for the CLI tests: two code sections, a bpf-to-bpf call, a map
// (ld_imm64 with a relocation), atomics, byte swaps, 32-bit ALU, and (when
// built with -mcpu=v4) sign-extending loads/moves and signed division.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

// Signed division needs -mcpu=v4; below that the sample divides unsigned.
#if defined(__BPF_CPU_VERSION__) && __BPF_CPU_VERSION__ >= 4
typedef int div_t32;
typedef long div_t64;
#else
typedef unsigned int div_t32;
typedef unsigned long div_t64;
#endif

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, long);
	__uint(max_entries, 4);
} counters SEC(".maps");

static __attribute__((noinline)) int mix(int a, int b)
{
	return (a * 7) ^ (b >> 3);
}

SEC("xdp")
int cli_prog(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	signed char *p = data;
	__u32 key = 0;
	long *v;

	if (data + 16 > data_end)
		return XDP_PASS;
	key = bpf_ntohs(*(__u16 *)(p + 12)) & 3;
	v = bpf_map_lookup_elem(&counters, &key);
	if (v) {
		__sync_fetch_and_add(v, 1);
		if (__sync_fetch_and_or(v, p[2]) > 100)
			return XDP_DROP;
	}
	return mix(p[0], (div_t32)p[1] / (div_t32)(p[3] | 1)) & 1 ? XDP_TX : XDP_PASS;
}

SEC("tc")
int cli_tc(struct __sk_buff *skb)
{
	long x = (long)(short)skb->len;
	if (x < -5)
		return 2;
	return bpf_htonl(skb->mark) == 7 ? 0 : (int)((div_t64)x / 3);
}

char _license[] SEC("license") = "GPL";
