// The XDP frame a guest program is written for, as the tc lowering emulates
// it. An skb has no XDP headroom or frame size: skb_change_head and
// skb_change_tail grow it as far as memory allows. A guest's XDP program
// sees a frame with limits, and their failures are part of its behaviour
// (a push past the headroom returns -EINVAL and the program takes its error
// path), so tc reproduces the limits of one defined frame: the one
// BPF_PROG_TEST_RUN builds and most drivers (virtio-net among them) use, a
// 4 KiB page with XDP_PACKET_HEADROOM in front (docs/DECISIONS.md).
//
//   hard_start                data                        data_end       hard_end   page end
//   |xdp_frame (40)|headroom ..|frame ........................|tailroom .. |shared_info (320)|
//   <----------- 256 -------->
//   <------------------------------- 4096 - 320 = 3776 ------------------->
//
// bpf_xdp_adjust_head(-d): -EINVAL when data - d < hard_start + 40 (+ meta,
//   which tc never has): at most 216 bytes pushed in all, from a fresh frame.
// bpf_xdp_adjust_tail(delta): -EINVAL when data_end + delta > hard_end or
//   data_end + delta < data + 14 (ETH_HLEN, XDP's only floor).
// bpf_xdp_load_bytes/store_bytes(off, len): -EFAULT when off or len >
//   0xffff, -EINVAL when off + len > the frame length; the buffer and the
//   frame are left alone on both errors.
#pragma once

#include <cstdint>

namespace xo::translator::xdp_frame {

inline constexpr std::int32_t kHeadroom = 256;       // XDP_PACKET_HEADROOM
inline constexpr std::int32_t kFrameStruct = 40;     // sizeof(struct xdp_frame), kept at hard_start
inline constexpr std::int32_t kFrameSize = 4096;     // frame_sz: one page
inline constexpr std::int32_t kTailroom = 320;       // SKB_DATA_ALIGN(sizeof(struct skb_shared_info))
inline constexpr std::int32_t kEthHeader = 14;       // ETH_HLEN

// Bytes a program may push in front of a fresh frame.
inline constexpr std::int32_t kMaxPush = kHeadroom - kFrameStruct;  // 216
// The longest frame with nothing pushed: data_end may reach hard_end.
inline constexpr std::int32_t kMaxLen = kFrameSize - kTailroom - kHeadroom;  // 3520
// bpf_xdp_load_bytes/store_bytes: larger offsets or lengths are -EFAULT.
inline constexpr std::int32_t kMaxBytesArg = 0xffff;

}  // namespace xo::translator::xdp_frame
