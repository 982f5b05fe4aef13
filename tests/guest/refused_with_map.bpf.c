// SPDX-License-Identifier: GPL-2.0
// A guest program with a map that the host kernel refuses (a packet read
// without a data_end check): the guest client must get the refusal mapped to
// this file and line, and the host must free the map and BTF it created.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 4);
} seen SEC(".maps");

SEC("xdp")
int refused_with_map(struct xdp_md *ctx)
{
	unsigned char *data = (void *)(long)ctx->data;
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&seen, &key);
	if (v && data[20] == 1) /* line 21: unchecked packet read */
		*v += 1;
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
