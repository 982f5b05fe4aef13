// SPDX-License-Identifier: GPL-2.0
// Guest programs that attack the host through the offload (issue 10). Each
// is valid for a privileged host kernel load; the daemon must refuse (or,
// for loop_spin, stop) every attack and accept the controls.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} vals SEC(".maps");

static __always_inline __u64 *slot(__u32 k)
{
	return bpf_map_lookup_elem(&vals, &k);
}

// Break 1: kernel pointers stored where the guest reads them back
// (MAP_LOOKUP): the map value's own address, a stack address, the packet.
SEC("xdp")
int leak_value_ptr(struct xdp_md *ctx)
{
	__u64 *v = slot(0);

	if (!v)
		return XDP_PASS;
	*v = (__u64)v;
	return XDP_PASS;
}

SEC("xdp")
int leak_stack_ptr(struct xdp_md *ctx)
{
	volatile __u64 local = 1;
	__u64 *v = slot(1);

	if (!v)
		return XDP_PASS;
	*v = (__u64)&local;
	return XDP_PASS;
}

SEC("xdp")
int leak_packet_ptr(struct xdp_md *ctx)
{
	__u64 *v = slot(2);

	if (!v)
		return XDP_PASS;
	*v = ctx->data;
	return XDP_PASS;
}

// A parser (a variable packet offset: the kernel verifies it only with
// pointer-leak rights) that also stores a packet address: it must not get
// those rights.
SEC("xdp")
int leak_after_parse(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u64 *v = slot(3);
	__u32 off;

	if (!v)
		return XDP_PASS;
	off = *v & 0xf;
	if (data + off + 1 > data_end)
		return XDP_PASS;
	*v = (__u64)(data + off);
	return XDP_PASS;
}

// A refusal whose verifier log prints the map reference (ld_imm64): the
// lookup result is used without its NULL check.
SEC("xdp")
int null_deref(struct xdp_md *ctx)
{
	__u32 k = 3;
	__u64 *v = bpf_map_lookup_elem(&vals, &k);

	return *v ? XDP_DROP : XDP_PASS;
}

// Break 2: loops that stall a host CPU.
static int empty_cb(__u32 index, void *data)
{
	return 0;
}

static int inner_cb(__u32 index, void *data)
{
	bpf_loop(300, empty_cb, NULL, 0);
	return 0;
}

SEC("xdp")
int loop_huge(struct xdp_md *ctx)
{
	bpf_loop(8 << 20, empty_cb, NULL, 0);  // the kernel's own maximum: ~67 ms
	return XDP_PASS;
}

SEC("xdp")
int loop_nested(struct xdp_md *ctx)
{
	bpf_loop(300, inner_cb, NULL, 0);  // 300 x 300 = 90000
	return XDP_PASS;
}

SEC("xdp")
int loop_var(struct xdp_md *ctx)
{
	__u64 *v = slot(0);

	bpf_loop(v ? *v : 1, empty_cb, NULL, 0);  // the guest picks the count at run time
	return XDP_PASS;
}

SEC("xdp")
int loop_ok(struct xdp_md *ctx)
{
	bpf_loop(1000, empty_cb, NULL, 0);
	return XDP_PASS;
}

// Within a session whose loop limit is raised: ~8 ms a packet, for the
// runtime watchdog.
SEC("xdp")
int loop_spin(struct xdp_md *ctx)
{
	bpf_loop(1 << 20, empty_cb, NULL, 0);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
