// The generator's frames: 64 bytes (without FCS), IPv4, in a UDP/TCP/ICMP
// mix. Live frames repeat one template per BPF_PROG_TEST_RUN call, so the
// generator rotates through these templates call by call.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

namespace xo::bench {

inline constexpr std::size_t kFrameSize = 64;
// Locally administered addresses: the generator's frames go S -> D; xdp2
// swaps them, so bounced frames go D -> S.
inline constexpr std::array<std::uint8_t, 6> kSrcMac = {0x02, 0x58, 0x4f, 0, 0, 0x01};
inline constexpr std::array<std::uint8_t, 6> kDstMac = {0x02, 0x58, 0x4f, 0, 0, 0x02};

enum class Proto : std::uint8_t { Udp = 17, Tcp = 6, Icmp = 1 };

std::vector<std::uint8_t> make_frame(Proto p);
// UDP, TCP, ICMP.
std::vector<std::vector<std::uint8_t>> frame_mix();

}  // namespace xo::bench
