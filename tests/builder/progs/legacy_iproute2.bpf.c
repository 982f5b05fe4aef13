// iproute2's legacy map records (struct bpf_elf_map): struct bpf_map_def
// plus id, pinning, inner_id, inner_idx, 36 bytes each. Loader fields are
// ignored (with a note); code in section "prog", as iproute2's examples had.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct bpf_elf_map {
	__u32 type;
	__u32 size_key;
	__u32 size_value;
	__u32 max_elem;
	__u32 flags;
	__u32 id;
	__u32 pinning;
	__u32 inner_id;
	__u32 inner_idx;
};

#define PIN_GLOBAL_NS 2

struct bpf_elf_map SEC("maps") counters = {
	.type = BPF_MAP_TYPE_ARRAY,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u64),
	.max_elem = 4,
	.pinning = PIN_GLOBAL_NS,
};

struct bpf_elf_map SEC("maps") drops = {
	.type = BPF_MAP_TYPE_ARRAY,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u64),
	.max_elem = 2,
};

SEC("prog")
int xdp_iproute2(struct xdp_md *ctx)
{
	__u32 k = 2;
	__u64 *v = bpf_map_lookup_elem(&counters, &k);

	if (v)
		*v += 5;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
