// A map its loader sizes before load (max_entries 0 in the object, as tools
// that call bpf_map__set_max_entries() ship them), next to one it does not
// use: --map-size flows=N makes it loadable.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 0);
} flows SEC(".maps");

SEC("xdp")
int xdp_sized(struct xdp_md *ctx)
{
	__u32 k = ctx->rx_queue_index;
	__u64 one = 1, *v = bpf_map_lookup_elem(&flows, &k);

	if (v)
		*v += 1;
	else
		bpf_map_update_elem(&flows, &k, &one, BPF_ANY);
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
