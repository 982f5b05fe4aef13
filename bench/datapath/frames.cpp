#include "bench/datapath/frames.hpp"

#include <cstring>

namespace xo::bench {

namespace {

void put16(std::uint8_t* p, std::uint16_t v) {
  p[0] = static_cast<std::uint8_t>(v >> 8);
  p[1] = static_cast<std::uint8_t>(v);
}

std::uint16_t checksum(const std::uint8_t* p, std::size_t n) {
  std::uint32_t sum = 0;
  for (std::size_t i = 0; i + 1 < n; i += 2) sum += (std::uint32_t(p[i]) << 8) | p[i + 1];
  if (n & 1) sum += std::uint32_t(p[n - 1]) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<std::uint16_t>(~sum);
}

}  // namespace

std::vector<std::uint8_t> make_frame(Proto proto) {
  std::vector<std::uint8_t> f(kFrameSize, 0);
  std::uint8_t* eth = f.data();
  std::memcpy(eth, kDstMac.data(), 6);
  std::memcpy(eth + 6, kSrcMac.data(), 6);
  put16(eth + 12, 0x0800);

  std::uint8_t* ip = eth + 14;
  const std::size_t ip_len = kFrameSize - 14;
  ip[0] = 0x45;
  put16(ip + 2, static_cast<std::uint16_t>(ip_len));
  put16(ip + 4, 0x1234);
  ip[8] = 64;
  ip[9] = static_cast<std::uint8_t>(proto);
  const std::uint8_t src[4] = {198, 18, 0, 1}, dst[4] = {198, 18, 0, 2};  // benchmarking net
  std::memcpy(ip + 12, src, 4);
  std::memcpy(ip + 16, dst, 4);
  put16(ip + 10, checksum(ip, 20));

  std::uint8_t* l4 = ip + 20;
  const std::size_t l4_len = ip_len - 20;
  switch (proto) {
    case Proto::Udp:
      put16(l4, 9);      // discard
      put16(l4 + 2, 9);
      put16(l4 + 4, static_cast<std::uint16_t>(l4_len));
      break;  // UDP checksum 0: none
    case Proto::Tcp:
      put16(l4, 40000);
      put16(l4 + 2, 9);
      l4[12] = 5 << 4;   // data offset
      l4[13] = 0x02;     // SYN
      put16(l4 + 14, 65535);
      break;
    case Proto::Icmp:
      l4[0] = 8;  // echo request
      put16(l4 + 4, 1);
      put16(l4 + 6, 1);
      put16(l4 + 2, checksum(l4, l4_len));
      break;
  }
  return f;
}

std::vector<std::vector<std::uint8_t>> frame_mix() {
  return {make_frame(Proto::Udp), make_frame(Proto::Tcp), make_frame(Proto::Icmp)};
}

}  // namespace xo::bench
