// SPDX-License-Identifier: GPL-2.0
// Guest XDP programs for the helpers and kfuncs issue 11 allowed, and for
// ctx spilled to the stack: the semantics test (semantics_test.cpp) loads
// each natively as XDP and, translated, as tc and chain programs, and
// compares verdicts, output frames and maps. Every observation is written
// into the frame, so a difference anywhere shows in the output bytes.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct locked_value {
	struct bpf_spin_lock lock;
	__u32 count;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, struct locked_value);
	__uint(max_entries, 1);
} locked SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} per_cpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 8);
} walked SEC(".maps");

static __always_inline void put32(__u8 *p, __u32 v) { __builtin_memcpy(p, &v, 4); }
static __always_inline void put64(__u8 *p, __u64 v) { __builtin_memcpy(p, &v, 8); }

struct walk_ctx {
	__u64 sum;
	__u32 seen;
};

static long add_element(struct bpf_map *map, __u32 *key, __u64 *value, struct walk_ctx *c)
{
	c->sum = c->sum * 31 + *value + *key;
	c->seen++;
	return 0;
}

// bpf_spin_lock/unlock, bpf_ktime_get_coarse_ns, bpf_map_lookup_percpu_elem,
// bpf_for_each_map_elem.
SEC("xdp")
int sem_more_helpers(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 k = 0;

	if (p + 64 > end)
		return XDP_PASS;
	__u32 len = bpf_xdp_get_buff_len(ctx);
	struct locked_value *l = bpf_map_lookup_elem(&locked, &k);
	if (!l)
		return XDP_ABORTED;
	bpf_spin_lock(&l->lock);
	l->count++;
	l->bytes += len;
	__u32 count = l->count;
	bpf_spin_unlock(&l->lock);

	__u64 now = bpf_ktime_get_coarse_ns();

	__u64 *mine = bpf_map_lookup_elem(&per_cpu, &k);
	if (mine)
		*mine += p[15];
	__u64 *same = bpf_map_lookup_percpu_elem(&per_cpu, &k, bpf_get_smp_processor_id());
	__u64 *none = bpf_map_lookup_percpu_elem(&per_cpu, &k, 0x7fffffff);

	__u32 slot = p[14] & 7;
	__u64 *w = bpf_map_lookup_elem(&walked, &slot);
	if (w)
		*w += p[16];
	struct walk_ctx wc = {};
	long n = bpf_for_each_map_elem(&walked, add_element, &wc, 0);

	put32(p + 14, count);
	p[18] = now != 0;
	put64(p + 20, same ? *same : ~0ull);
	p[28] = none == 0;
	put32(p + 30, (__u32)n);
	put64(p + 34, wc.sum);
	put32(p + 42, wc.seen);
	return (p[19] & 1) ? XDP_TX : XDP_PASS;
}

// bpf_check_mtu: the device is the guest's NIC (in the test: loopback,
// which is also what the original sees as its ctx device), named by 0 or
// by its ifindex; an unknown ifindex, flags and a grown length are answered
// as XDP answers them.
SEC("xdp")
int sem_check_mtu(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 mtu_ctx = 0, mtu_own = 0, mtu_none = 0, mtu_flags = 0, mtu_grown = 0, mtu_l3 = 100;

	if (p + 64 > end)
		return XDP_PASS;
	long r_ctx = bpf_check_mtu(ctx, 0, &mtu_ctx, 0, 0);
	long r_own = bpf_check_mtu(ctx, 1, &mtu_own, 0, 0);
	long r_none = bpf_check_mtu(ctx, 0x7ffffff0, &mtu_none, 0, 0);
	long r_flags = bpf_check_mtu(ctx, 0, &mtu_flags, 0, BPF_MTU_CHK_SEGS);
	long r_grown = bpf_check_mtu(ctx, 0, &mtu_grown, 70000, 0);
	long r_l3 = bpf_check_mtu(ctx, 0, &mtu_l3, -20, 0);

	put32(p + 14, r_ctx);
	put32(p + 18, mtu_ctx);
	put32(p + 22, r_own);
	put32(p + 26, mtu_own);
	put32(p + 30, r_none);
	put32(p + 34, mtu_none);
	put32(p + 38, r_flags);
	put32(p + 42, mtu_flags);
	put32(p + 46, r_grown);
	put32(p + 50, mtu_grown);
	put32(p + 54, r_l3);
	put32(p + 58, mtu_l3);
	return XDP_TX;
}

extern int bpf_dynptr_from_xdp(struct xdp_md *x, __u64 flags, struct bpf_dynptr *ptr__uninit) __ksym;
extern void *bpf_dynptr_slice(const struct bpf_dynptr *p, __u32 offset, void *buffer__opt,
			      __u32 buffer__szk) __ksym;
extern void *bpf_dynptr_slice_rdwr(const struct bpf_dynptr *p, __u32 offset, void *buffer__opt,
				   __u32 buffer__szk) __ksym;

// The packet dynptr kfuncs (tc: bpf_dynptr_from_skb).
SEC("xdp")
int sem_dynptr(struct xdp_md *ctx)
{
	struct bpf_dynptr ptr;
	__u8 head[8] = {}, body[4] = {};

	if (bpf_dynptr_from_xdp(ctx, 0, &ptr))
		return XDP_ABORTED;
	__u8 *h = bpf_dynptr_slice(&ptr, 0, head, sizeof(head));
	if (!h)
		return XDP_DROP;
	__u8 mix = h[0] ^ h[7];
	__u8 *b = bpf_dynptr_slice_rdwr(&ptr, 14, body, sizeof(body));
	if (!b)
		return XDP_PASS;  // the header-only frame
	b[0] = mix;
	b[1] += 1;
	b[3] ^= 0xff;
	return (b[2] & 1) ? XDP_TX : XDP_PASS;
}

// ctx saved to the stack and loaded back, as xdp-filter does under register
// pressure: a volatile local keeps it in a stack slot, so every ctx field
// below is read through a filled register.
SEC("xdp")
int sem_ctx_spill(struct xdp_md *ctx)
{
	struct xdp_md *volatile saved = ctx;
	__u8 *p = (void *)(long)saved->data, *end = (void *)(long)saved->data_end;

	if (p + 24 > end)
		return XDP_PASS;
	put32(p + 14, saved->ingress_ifindex);
	put32(p + 18, saved->rx_queue_index);
	return XDP_TX;
}

char _license[] SEC("license") = "GPL";
