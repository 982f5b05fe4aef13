// SPDX-License-Identifier: GPL-2.0
// Guest XDP programs for the translator's semantics test: each one is loaded
// as XDP (the original) and, translated, as tc and chain programs; all must
// agree on verdict, output packet and map contents for the same frames.
// Every program bounds-checks and writes its observations into the packet,
// so a difference anywhere shows up in the output bytes.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define NOINLINE __attribute__((noinline))

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 16);
} counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u64);
	__type(value, __u64);
	__uint(max_entries, 64);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 8);
} percpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 32);
} lru SEC(".maps");

__u64 packets_seen = 7;         // .data
__u32 last_len;                 // .bss
const volatile __u32 salt = 0x9e3779b9;  // .rodata

static __always_inline __u64 load64(const __u8 *p)
{
	__u64 v;
	__builtin_memcpy(&v, p, 8);
	return v;
}
static __always_inline void store64(__u8 *p, __u64 v) { __builtin_memcpy(p, &v, 8); }

// Action = first payload byte: covers ABORTED..REDIRECT and unknown values.
SEC("xdp")
int sem_return_codes(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (p + 15 > end)
		return XDP_PASS;
	return p[14];
}

SEC("xdp")
int sem_alu(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (p + 30 + 8 * 20 > end)
		return XDP_DROP;
	__u64 a = load64(p + 14), b = load64(p + 22);
	__u32 c = (__u32)a, d = (__u32)(b >> 17);
	__u8 *o = p + 30;
	store64(o + 0, a + b);
	store64(o + 8, a - b);
	store64(o + 16, a * b);
	store64(o + 24, a / (b | 1));
	store64(o + 32, a % (b | 3));
	store64(o + 40, a << (b & 63));
	store64(o + 48, a >> (c & 63));
	store64(o + 56, (__u64)((__s64)a >> (d & 63)));
	store64(o + 64, (a ^ b) & (a | ~b));
	store64(o + 72, -a);
	store64(o + 80, (__u32)(c * d));
	store64(o + 88, c / (d | 1));
	store64(o + 96, c % (d | 5));
	store64(o + 104, (__u64)(__s64)((__s32)c >> 3));
	store64(o + 112, __builtin_bswap64(a));
	store64(o + 120, __builtin_bswap32(c));
	store64(o + 128, (__u64)(__s64)(__s8)a);
	store64(o + 136, (__u64)(__s64)(__s16)b);
	store64(o + 144, (c << 7) | (d >> 25));
	store64(o + 152, a + 0x123456789abcdefULL);
	return (a & 1) ? XDP_TX : XDP_PASS;
}

SEC("xdp")
int sem_branches(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (p + 40 > end)
		return XDP_ABORTED;
	__s64 a = (__s64)load64(p + 14), b = (__s64)load64(p + 22);
	__u32 m = 0;
	if (a == b) m |= 1 << 0;
	if ((__u64)a > (__u64)b) m |= 1 << 1;
	if ((__u64)a >= 1000) m |= 1 << 2;
	if (a & 0x80) m |= 1 << 3;
	if (a != 42) m |= 1 << 4;
	if (a > b) m |= 1 << 5;
	if (a >= -5) m |= 1 << 6;
	if ((__u64)a < (__u64)b) m |= 1 << 7;
	if ((__u64)b <= 77) m |= 1 << 8;
	if (a < 0) m |= 1 << 9;
	if (b <= -1000) m |= 1 << 10;
	if ((__s32)a < (__s32)b) m |= 1 << 11;
	if ((__u32)a > 0x7fffffff) m |= 1 << 12;
	__builtin_memcpy(p + 30, &m, 4);
	switch (m & 3) {
	case 0: return XDP_DROP;
	case 1: return XDP_PASS;
	case 2: return XDP_TX;
	default: return XDP_REDIRECT;
	}
}

SEC("xdp")
int sem_stack(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (p + 64 > end)
		return XDP_PASS;
	volatile __u8 bytes[32];
	volatile __u16 halves[8];
	volatile __u32 words[4];
	for (int i = 0; i < 32; i++)
		bytes[i] = p[i] ^ (__u8)i;
	for (int i = 0; i < 8; i++)
		halves[i] = (__u16)(bytes[2 * i] | bytes[2 * i + 1] << 8);
	for (int i = 0; i < 4; i++)
		words[i] = halves[2 * i] * 3u + halves[2 * i + 1];
	__u32 idx = p[14] & 3;
	__u32 w = words[idx];
	__builtin_memcpy(p + 40, &w, 4);
	for (int i = 0; i < 16; i++)
		p[44 + i] = bytes[31 - i];
	return XDP_TX;
}

SEC("xdp")
int sem_atomics(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (p + 80 > end)
		return XDP_PASS;
	__u32 key = p[14] & 15;
	__u64 *v = bpf_map_lookup_elem(&counters, &key);
	if (!v)
		return XDP_ABORTED;
	__u64 x = load64(p + 16);
	__u64 r0 = __sync_fetch_and_add(v, x & 0xff);
	__u64 r1 = __sync_fetch_and_or(v, 0x100);
	__u64 r2 = __sync_fetch_and_and(v, ~0x10ULL);
	__u64 r3 = __sync_fetch_and_xor(v, x >> 56);
	__u64 r4 = __sync_lock_test_and_set(v, r3 + 5);
	__u64 r5 = __sync_val_compare_and_swap(v, r3 + 5, x);
	__u64 r6 = __sync_val_compare_and_swap(v, 12345, 1);  // fails unless x == 12345
	__sync_fetch_and_add(v, 1);  // plain lock add (no fetch)
	__u32 small = (__u32)x;
	__sync_fetch_and_add(&small, 3);
	__u32 s1 = __sync_fetch_and_xor(&small, 0xf0f0);
	store64(p + 24, r0);
	store64(p + 32, r1 ^ r2);
	store64(p + 40, r3);
	store64(p + 48, r4);
	store64(p + 56, r5 + r6);
	store64(p + 64, ((__u64)s1 << 32) | small);
	return XDP_PASS;
}

SEC("xdp")
int sem_maps(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (p + 24 > end)
		return XDP_DROP;
	__u32 proto = p[23] & 7;  // "IPv4 protocol", folded
	__u64 *cnt = bpf_map_lookup_elem(&counters, &proto);
	if (cnt)
		__sync_fetch_and_add(cnt, 1);
	__u64 *pc = bpf_map_lookup_elem(&percpu, &proto);
	if (pc)
		*pc += end - p;
	__u64 flow = load64(p + 6) & 0xffffffffffffULL;  // source MAC
	__u64 *seen = bpf_map_lookup_elem(&flows, &flow);
	__u64 one = 1;
	if (seen)
		*seen += 1;
	else
		bpf_map_update_elem(&flows, &flow, &one, BPF_NOEXIST);
	__u32 k = p[12] | p[13] << 8, val = end - p;
	bpf_map_update_elem(&lru, &k, &val, BPF_ANY);
	if (p[14] == 0x45) {  // drop the LRU entry again for IPv4 frames
		bpf_map_delete_elem(&lru, &k);
	}
	return XDP_DROP;
}

static NOINLINE int read_len(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	return end - data + ctx->ingress_ifindex * 1000;
}

static NOINLINE __u64 mix(__u64 a, __u64 b, __u32 rounds)
{
	volatile __u64 tmp[4] = {a, b, a ^ b, a + b};
	__u64 h = 0;
	for (__u32 i = 0; i < rounds && i < 16; i++)
		h = (h ^ tmp[i & 3]) * 0x100000001b3ULL + i;
	return h;
}

static NOINLINE int write_sum(__u8 *out, __u8 *end, __u64 v)
{
	if (out + 8 > end)
		return -1;
	store64(out, v);
	return 0;
}

SEC("xdp")
int sem_calls(struct xdp_md *ctx)
{
	int len = read_len(ctx);
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (p + 40 > end)
		return XDP_PASS;
	__u64 h = mix(load64(p + 14), len, p[15] & 15);
	if (write_sum(p + 24, end, h) < 0)
		return XDP_ABORTED;
	__builtin_memcpy(p + 32, &len, 4);
	return (h & 1) ? XDP_TX : XDP_DROP;
}

SEC("xdp")
int sem_bytes(struct xdp_md *ctx)
{
	__u8 mac[12];
	if (bpf_xdp_load_bytes(ctx, 0, mac, 12))
		return XDP_ABORTED;
	// Swap destination and source MACs, through the helpers.
	if (bpf_xdp_store_bytes(ctx, 0, mac + 6, 6) || bpf_xdp_store_bytes(ctx, 6, mac, 6))
		return XDP_ABORTED;
	__u32 len = bpf_xdp_get_buff_len(ctx);
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (p + 20 > end)
		return XDP_DROP;
	__builtin_memcpy(p + 14, &len, 4);
	return XDP_TX;
}

SEC("xdp")
int sem_tail(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (p + 16 > end)
		return XDP_PASS;
	int delta = (p[15] & 1) ? 12 : -(int)(p[15] & 7);
	if (bpf_xdp_adjust_tail(ctx, delta))
		return XDP_DROP;
	p = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (p + 20 > end)
		return XDP_ABORTED;
	__u32 len = end - p;
	__builtin_memcpy(p + 16, &len, 4);
	return XDP_PASS;
}

SEC("xdp")
int sem_head(struct xdp_md *ctx)
{
	if (bpf_xdp_adjust_head(ctx, -8))
		return XDP_DROP;
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (p + 8 + 14 > end)
		return XDP_ABORTED;
	// Re-build an Ethernet header in front: copy the MACs, mark the gap.
	__builtin_memcpy(p, p + 8, 12);
	__u64 tag = 0x0102030405060708ULL;
	__builtin_memcpy(p + 12, &tag, 8);
	return XDP_PASS;
}

SEC("xdp")
int sem_ctx(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (p + 24 > end)
		return XDP_PASS;
	__u32 ifindex = ctx->ingress_ifindex, queue = ctx->rx_queue_index;
	__u32 meta_gap = (__u32)((void *)(long)ctx->data - (void *)(long)ctx->data_meta);
	__builtin_memcpy(p + 14, &ifindex, 4);
	__builtin_memcpy(p + 18, &queue, 4);
	p[22] = (__u8)meta_gap;
	return XDP_TX;
}

SEC("xdp")
int sem_globals(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (p + 30 > end)
		return XDP_PASS;
	packets_seen += 1;
	last_len = end - p;
	__u64 v = packets_seen * salt;
	store64(p + 14, v);
	__builtin_memcpy(p + 22, &last_len, 4);
	return XDP_PASS;
}

SEC("xdp")
int sem_loop(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 sum = 0, n = 0;
#pragma clang loop unroll(disable)
	for (int i = 0; i < 200; i++) {
		if (p + i + 1 > end)
			break;
		sum = sum * 31 + p[i];
		n++;
	}
	if (p + 20 > end)
		return XDP_PASS;
	__builtin_memcpy(p + 14, &sum, 4);
	return (n & 1) ? XDP_TX : XDP_PASS;
}

// may_goto: a loop whose only bound for the verifier is the kernel's loop
// budget (can_loop, as in the kernel's bpf_experimental.h). The budget is
// far above 40, so the loop always ends by its own test. SEC("?xdp"), as the
// kernel's selftests write it (libbpf: not autoloaded), is a section the
// guest builder must find too.
#define can_loop                                                \
	({                                                      \
		__label__ l_break, l_continue;                  \
		_Bool ret = 1;                                  \
		asm volatile goto("may_goto %l[l_break]" :::: l_break); \
		goto l_continue;                                \
	l_break:                                                \
		ret = 0;                                        \
	l_continue:;                                            \
		ret;                                            \
	})

SEC("?xdp")
int sem_may_goto(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 sum = 0, i = 0;
	while (can_loop) {
		__u32 k = i & 63;
		if (p + k + 1 > end)
			break;
		sum = sum * 31 + p[k];
		if (++i == 40)
			break;
	}
	if (p + 20 > end)
		return XDP_PASS;
	__builtin_memcpy(p + 14, &sum, 4);
	return (i & 1) ? XDP_TX : XDP_PASS;
}

// bpf_xdp_load_bytes / store_bytes past the frame and past the helpers'
// 0xffff limit: XDP returns -EINVAL / -EFAULT and leaves the buffer and the
// frame alone (skb_load_bytes would zero the buffer, both skb helpers
// return -EFAULT). The results and the buffer go into the frame.
SEC("xdp")
int sem_bytes_oob(struct xdp_md *ctx)
{
	__u8 buf[16];
	__builtin_memset(buf, 0xab, sizeof(buf));
	__u32 len = bpf_xdp_get_buff_len(ctx);
	int r1 = bpf_xdp_load_bytes(ctx, len - 8, buf, 16);
	int r2 = bpf_xdp_load_bytes(ctx, 0x10000, buf, 4);
	int r3 = bpf_xdp_store_bytes(ctx, len - 4, buf, 8);
	int r4 = bpf_xdp_load_bytes(ctx, len - 16, buf, 16);  /* in bounds: the frame's tail */
	int r5 = bpf_xdp_store_bytes(ctx, 0x10000, buf, 4);
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (p + 14 + 20 + 16 > end)
		return XDP_PASS;
	__builtin_memcpy(p + 14, &r1, 4);
	__builtin_memcpy(p + 18, &r2, 4);
	__builtin_memcpy(p + 22, &r3, 4);
	__builtin_memcpy(p + 26, &r4, 4);
	__builtin_memcpy(p + 30, &r5, 4);
	__builtin_memcpy(p + 34, buf, 16);
	return XDP_TX;
}

// XDP's headroom: 256 - sizeof(struct xdp_frame) = 216 bytes may be pushed
// in all; then a constant grow that fits short frames only.
SEC("xdp")
int sem_push_limits(struct xdp_md *ctx)
{
	int a = bpf_xdp_adjust_head(ctx, -217);  /* -EINVAL */
	int b = bpf_xdp_adjust_head(ctx, -200);
	int c = bpf_xdp_adjust_head(ctx, -17);   /* -EINVAL: 217 in all */
	int d = bpf_xdp_adjust_head(ctx, -16);   /* 216 in all */
	int e = bpf_xdp_adjust_tail(ctx, 3000);  /* the frame ends 3520 + 216 bytes after data */
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (p + 20 > end)
		return XDP_ABORTED;
	__builtin_memcpy(p + 0, &a, 4);
	__builtin_memcpy(p + 4, &b, 4);
	__builtin_memcpy(p + 8, &c, 4);
	__builtin_memcpy(p + 12, &d, 4);
	__builtin_memcpy(p + 16, &e, 4);
	return XDP_PASS;
}

// XDP's frame end and its 14-byte floor, to the byte.
SEC("xdp")
int sem_tail_limits(struct xdp_md *ctx)
{
	int len = bpf_xdp_get_buff_len(ctx);
	int a = bpf_xdp_adjust_tail(ctx, 3520 - len + 1);  /* -EINVAL: one past the frame */
	int b = bpf_xdp_adjust_tail(ctx, 3520 - len);      /* to the frame's end */
	int c = bpf_xdp_adjust_tail(ctx, -(3520 - 13));    /* -EINVAL: below 14 */
	int d = bpf_xdp_adjust_tail(ctx, -(3520 - 64));    /* 64 bytes left */
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (p + 30 > end)
		return XDP_ABORTED;
	__builtin_memcpy(p + 14, &a, 4);
	__builtin_memcpy(p + 18, &b, 4);
	__builtin_memcpy(p + 22, &c, 4);
	__builtin_memcpy(p + 26, &d, 4);
	return XDP_TX;
}

// A subprogram with (almost) all 512 bytes of stack under a main program
// with none: the per-action counter must not give main a frame (the JIT
// rounds frames to 16: 16 + 512 > 512).
static NOINLINE __u64 deep(__u64 seed)
{
	volatile __u64 big[63];
	for (int i = 0; i < 63; i++)
		big[i] = seed * (i + 1);
	__u64 s = 0;
	for (int i = 0; i < 63; i += 7)
		s += big[i];
	return s;
}

SEC("xdp")
int sem_deep_stack(struct xdp_md *ctx)
{
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (p + 24 > end)
		return XDP_PASS;
	__u64 s = deep(p[14]);
	p = (void *)(long)ctx->data;
	end = (void *)(long)ctx->data_end;
	if (p + 24 > end)
		return XDP_ABORTED;
	store64(p + 16, s);
	return (s & 1) ? XDP_TX : XDP_PASS;
}

// chain only: what tc refuses, naming the instruction.
SEC("xdp")
int sem_head_pop(struct xdp_md *ctx)
{
	if (bpf_xdp_adjust_head(ctx, 14))
		return XDP_DROP;
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (p + 8 > end)
		return XDP_ABORTED;
	p[0] ^= 0xff;
	return XDP_PASS;
}

SEC("xdp")
int sem_push_shrink(struct xdp_md *ctx)
{
	if (bpf_xdp_adjust_head(ctx, -8))
		return XDP_DROP;
	if (bpf_xdp_adjust_tail(ctx, -40))
		return XDP_ABORTED;
	__u8 *p = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (p + 8 > end)
		return XDP_ABORTED;
	p[0] = 0x42;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
