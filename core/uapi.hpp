// The kernel UAPI numbers xoffload speaks, taken from <linux/bpf.h> and
// <linux/pkt_cls.h> so that none is typed twice: helper ids, program and
// attach types, XDP and tc return codes, flags, and the ctx field offsets the
// flavor lowerings rewrite. The one bridge from the kernel's headers (the
// instruction encoding has its own, translator/isa/opcodes.hpp, beneath core).
#pragma once

#include <linux/bpf.h>
#include <linux/pkt_cls.h>

#include <cstddef>
#include <cstdint>

namespace xo::uapi {

// Helper ids (enum bpf_func_id) the translator emits or rewrites.
inline constexpr std::int32_t kMapLookupElem = BPF_FUNC_map_lookup_elem;
inline constexpr std::int32_t kGetSmpProcessorId = BPF_FUNC_get_smp_processor_id;
inline constexpr std::int32_t kSkbStoreBytes = BPF_FUNC_skb_store_bytes;
inline constexpr std::int32_t kRedirect = BPF_FUNC_redirect;
inline constexpr std::int32_t kSkbLoadBytes = BPF_FUNC_skb_load_bytes;
inline constexpr std::int32_t kSkbChangeTail = BPF_FUNC_skb_change_tail;
inline constexpr std::int32_t kSkbChangeHead = BPF_FUNC_skb_change_head;
inline constexpr std::int32_t kXdpAdjustHead = BPF_FUNC_xdp_adjust_head;
inline constexpr std::int32_t kXdpAdjustMeta = BPF_FUNC_xdp_adjust_meta;
inline constexpr std::int32_t kXdpAdjustTail = BPF_FUNC_xdp_adjust_tail;
inline constexpr std::int32_t kXdpGetBuffLen = BPF_FUNC_xdp_get_buff_len;
inline constexpr std::int32_t kXdpLoadBytes = BPF_FUNC_xdp_load_bytes;
inline constexpr std::int32_t kXdpStoreBytes = BPF_FUNC_xdp_store_bytes;
inline constexpr std::int32_t kCheckMtu = BPF_FUNC_check_mtu;

// Program and attach types (enum bpf_prog_type, enum bpf_attach_type).
inline constexpr std::uint32_t kProgTypeSchedCls = BPF_PROG_TYPE_SCHED_CLS;
inline constexpr std::uint32_t kProgTypeXdp = BPF_PROG_TYPE_XDP;
inline constexpr std::uint32_t kAttachTypeXdp = BPF_XDP;

// XDP program return codes (enum xdp_action).
enum XdpAction : std::int32_t {
  kAborted = XDP_ABORTED,
  kDrop = XDP_DROP,
  kPass = XDP_PASS,
  kTx = XDP_TX,
  kRedirectAct = XDP_REDIRECT,
};
// tc program return codes (linux/pkt_cls.h).
inline constexpr std::int32_t kTcActOk = TC_ACT_OK;
inline constexpr std::int32_t kTcActShot = TC_ACT_SHOT;
inline constexpr std::int32_t kTcActRedirect = TC_ACT_REDIRECT;
// bpf_redirect() flags.
inline constexpr std::int32_t kFIngress = BPF_F_INGRESS;

// struct xdp_md field offsets: what an XDP program's ctx loads name.
enum XdpMdField : std::int16_t {
  kXdpData = offsetof(xdp_md, data),
  kXdpDataEnd = offsetof(xdp_md, data_end),
  kXdpDataMeta = offsetof(xdp_md, data_meta),
  kXdpIngressIfindex = offsetof(xdp_md, ingress_ifindex),
  kXdpRxQueueIndex = offsetof(xdp_md, rx_queue_index),
  kXdpEgressIfindex = offsetof(xdp_md, egress_ifindex),
};
// struct __sk_buff field offsets the tc lowering reads instead.
inline constexpr std::int16_t kSkbLen = offsetof(__sk_buff, len);
inline constexpr std::int16_t kSkbQueueMapping = offsetof(__sk_buff, queue_mapping);
inline constexpr std::int16_t kSkbData = offsetof(__sk_buff, data);
inline constexpr std::int16_t kSkbDataEnd = offsetof(__sk_buff, data_end);
inline constexpr std::int16_t kSkbDataMeta = offsetof(__sk_buff, data_meta);
// cb[0]: tc scratch the tc lowering keeps XDP's head position in (lower_tc.cpp).
inline constexpr std::int16_t kSkbCb0 = offsetof(__sk_buff, cb);

}  // namespace xo::uapi
