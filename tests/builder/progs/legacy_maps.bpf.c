// Pre-libbpf-1.0 map definitions: struct bpf_map_def records in SEC("maps"),
// which libbpf 1.x refuses ("legacy map definitions in 'maps' section are
// not supported by libbpf v1.0+"). Built twice: with BTF (clang -g emits a
// DATASEC "maps" that libbpf can no longer size) and without, like the old
// samples. The no-function-symbol variant strips xdp_legacy's symbol.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

// Gone from libbpf's headers since 1.0.
struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") rxcnt = {
	.type = BPF_MAP_TYPE_PERCPU_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 256,
};

struct bpf_map_def SEC("maps") seen = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),
	.max_entries = 64,
	.map_flags = BPF_F_NO_PREALLOC,
};

SEC("xdp")
int xdp_legacy(struct xdp_md *ctx)
{
	__u32 proto = 17, k = ctx->ingress_ifindex, one = 1;
	__u64 *v = bpf_map_lookup_elem(&rxcnt, &proto);

	if (v)
		*v += 1;
	bpf_map_update_elem(&seen, &k, &one, BPF_ANY);
	return XDP_DROP;
}

char _license[] SEC("license") = "GPL";
