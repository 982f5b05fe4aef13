// A guest program calling a helper the host policy denies (it reads host
// state): the pre-verifier must name the call's source line.
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int denied_helper(struct xdp_md *ctx)
{
	__u32 len = ctx->data_end - ctx->data;

	if (len < 64)
		return XDP_PASS;
	return bpf_get_current_pid_tgid() & 1 ? XDP_DROP : XDP_PASS; /* MARK: denied call */
}

char _license[] SEC("license") = "GPL";
