// A CO-RE field access: the builder must refuse it with a clear message.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct pkt_view {
	__u32 data;
	__u32 data_end;
} __attribute__((preserve_access_index));

SEC("xdp")
int xdp_core(struct xdp_md *ctx)
{
	struct pkt_view *v = (struct pkt_view *)ctx;

	return v->data_end > v->data ? XDP_PASS : XDP_DROP;
}

char _license[] SEC("license") = "GPL";
