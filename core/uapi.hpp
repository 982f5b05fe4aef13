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

// tcx (kernel 6.6+): bookworm's <linux/bpf.h> (6.1) predates it, so the
// numbers are written here, checked against torvalds/linux
// include/uapi/linux/bpf.h (enum bpf_attach_type: ..., BPF_STRUCT_OPS,
// BPF_NETFILTER, BPF_TCX_INGRESS, BPF_TCX_EGRESS, ...; enum bpf_link_type:
// BPF_LINK_TYPE_NETFILTER = 10, BPF_LINK_TYPE_TCX = 11). The static_asserts
// pin the neighbours the older header does have, so a shifted enum fails to
// build instead of attaching to the wrong hook.
static_assert(BPF_XDP == 37 && BPF_PERF_EVENT == 41, "enum bpf_attach_type moved");
static_assert(BPF_LINK_TYPE_XDP == 6, "enum bpf_link_type moved");
inline constexpr std::uint32_t kAttachTypeTcxIngress = 46;
inline constexpr std::uint32_t kAttachTypeTcxEgress = 47;
inline constexpr std::uint32_t kLinkTypeTcx = 11;
inline constexpr std::uint32_t kLinkTypeXdp = BPF_LINK_TYPE_XDP;

// struct bpf_link_info as the kernel fills it for a tcx link: the common
// head, then (8-byte aligned) the union member `tcx { ifindex, attach_type }`.
// bookworm's struct has no tcx member, so BPF_OBJ_GET_INFO_BY_FD gets this.
struct TcxLinkInfo {
  std::uint32_t type;
  std::uint32_t id;
  std::uint32_t prog_id;
  std::uint32_t pad;
  std::uint32_t ifindex;      // 0 once the device is gone (link defunct)
  std::uint32_t attach_type;  // kAttachTypeTcxIngress / kAttachTypeTcxEgress
  std::uint64_t rest[6];      // the rest of the union, unused
};
// BPF_PROG_QUERY's attr as 6.6+ kernels read it: bookworm's stops at
// prog_attach_flags; tcx adds link_ids (and reports the list's revision).
struct TcxQueryAttr {
  std::uint32_t target_ifindex;
  std::uint32_t attach_type;
  std::uint32_t query_flags;
  std::uint32_t attach_flags;
  std::uint64_t prog_ids;
  std::uint32_t count;
  std::uint32_t pad;
  std::uint64_t prog_attach_flags;
  std::uint64_t link_ids;
  std::uint64_t link_attach_flags;
  std::uint64_t revision;
};
static_assert(offsetof(bpf_attr, query.prog_cnt) == offsetof(TcxQueryAttr, count), "bpf_attr.query layout");
static_assert(offsetof(bpf_link_info, xdp.ifindex) == offsetof(TcxLinkInfo, ifindex), "bpf_link_info layout");

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
