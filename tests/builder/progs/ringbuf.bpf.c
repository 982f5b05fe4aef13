// A map type offload does not model (BPF_MAP_TYPE_RINGBUF): refused by name.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

SEC("xdp")
int xdp_ringbuf(struct xdp_md *ctx)
{
	__u32 *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (e) {
		*e = ctx->ingress_ifindex;
		bpf_ringbuf_submit(e, 0);
	}
	return XDP_PASS;
}

char _license[] SEC("license") = "GPL";
