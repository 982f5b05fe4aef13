// Several map types and several programs in one object.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct key4 {
	__u32 addr;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct key4);
	__type(value, __u64);
	__uint(max_entries, 1024);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} flows SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, __u32);
	__type(value, __u32);
	__uint(max_entries, 128);
} recent SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} stats SEC(".maps");

SEC("xdp")
int xdp_flows(struct xdp_md *ctx)
{
	struct key4 k = { .addr = ctx->ingress_ifindex };
	__u64 one = 1, *v;

	v = bpf_map_lookup_elem(&flows, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&flows, &k, &one, BPF_ANY);
	return XDP_PASS;
}

SEC("xdp")
int xdp_recent(struct xdp_md *ctx)
{
	__u32 k = ctx->rx_queue_index, val = 7;
	__u32 idx = 1;
	__u64 *s;

	bpf_map_update_elem(&recent, &k, &val, BPF_ANY);
	s = bpf_map_lookup_elem(&stats, &idx);
	if (s)
		*s += 1;
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
