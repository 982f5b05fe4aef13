// Frames and the AF_PACKET socket for offload end-to-end runs.
#include "tests/e2e/offload_traffic.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <thread>

namespace xo::e2e {
namespace {

void put16(Frame& f, std::size_t off, std::uint16_t v) {
  f[off] = std::uint8_t(v >> 8);
  f[off + 1] = std::uint8_t(v);
}
void put32(Frame& f, std::size_t off, std::uint32_t v) {
  put16(f, off, std::uint16_t(v >> 16));
  put16(f, off + 2, std::uint16_t(v));
}

// RFC 1071 one's complement sum over [off, off+len), plus `initial`.
std::uint16_t checksum(const Frame& f, std::size_t off, std::size_t len, std::uint32_t initial = 0) {
  std::uint32_t sum = initial;
  for (std::size_t i = 0; i + 1 < len; i += 2) sum += std::uint32_t(f[off + i]) << 8 | f[off + i + 1];
  if (len % 2) sum += std::uint32_t(f[off + len - 1]) << 8;
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return std::uint16_t(~sum);
}

}  // namespace

Result<Mac> parse_mac(const std::string& text) {
  Mac m{};
  unsigned b[6];
  char tail;
  if (std::sscanf(text.c_str(), "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
    return err("not a MAC address: '" + text + "'");
  for (int i = 0; i < 6; ++i) {
    if (b[i] > 0xff) return err("not a MAC address: '" + text + "'");
    m[i] = std::uint8_t(b[i]);
  }
  return m;
}

std::string mac_text(const Mac& m) {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
  return buf;
}

Frame build_ipv4_frame(const FrameSpec& s) {
  constexpr std::size_t kEth = 14, kIp = 20, kLen = 60;
  Frame f(kLen, 0);
  std::copy(s.dst.begin(), s.dst.end(), f.begin());
  std::copy(s.src.begin(), s.src.end(), f.begin() + 6);
  put16(f, 12, ETHERTYPE_IP);
  const std::size_t ip = kEth, l4 = kEth + kIp, l4_len = kLen - l4;
  f[ip] = 0x45;
  put16(f, ip + 2, std::uint16_t(kLen - kEth));  // total length
  put16(f, ip + 4, s.seq);                       // id
  f[ip + 8] = 64;                                // ttl
  f[ip + 9] = s.proto;
  put32(f, ip + 12, s.src_ip);
  put32(f, ip + 16, s.dst_ip);
  put16(f, ip + 10, checksum(f, ip, kIp));
  // Pseudo header sum for UDP/TCP checksums.
  const std::uint32_t pseudo = (s.src_ip >> 16) + (s.src_ip & 0xffff) + (s.dst_ip >> 16) +
                               (s.dst_ip & 0xffff) + s.proto + std::uint32_t(l4_len);
  switch (s.proto) {
    case IPPROTO_UDP:
      put16(f, l4, std::uint16_t(40000 + s.seq % 1000));
      put16(f, l4 + 2, 9);  // discard
      put16(f, l4 + 4, std::uint16_t(l4_len));
      put16(f, l4 + 6, checksum(f, l4, l4_len, pseudo));
      break;
    case IPPROTO_TCP:
      put16(f, l4, std::uint16_t(40000 + s.seq % 1000));
      put16(f, l4 + 2, 9);
      put32(f, l4 + 4, 1000u + s.seq);  // sequence number
      f[l4 + 12] = 5 << 4;              // data offset
      f[l4 + 13] = 0x02;                // SYN
      put16(f, l4 + 14, 512);           // window
      put16(f, l4 + 16, checksum(f, l4, l4_len, pseudo));
      break;
    case IPPROTO_ICMP:
      f[l4] = 8;  // echo request
      put16(f, l4 + 4, 0x7865);  // identifier "xe"
      put16(f, l4 + 6, s.seq);
      put16(f, l4 + 2, checksum(f, l4, l4_len));
      break;
    default:
      for (std::size_t i = l4; i < kLen; ++i) f[i] = std::uint8_t(i);
  }
  return f;
}

int ipv4_proto(const Frame& f) {
  std::size_t off = 12;
  for (int tags = 0; tags < 2 && off + 2 <= f.size(); ++tags) {
    const std::uint16_t t = std::uint16_t(f[off] << 8 | f[off + 1]);
    if (t != 0x8100 && t != 0x88a8) break;
    off += 4;
  }
  if (off + 2 > f.size() || f[off] != 0x08 || f[off + 1] != 0x00) return -1;
  const std::size_t ip = off + 2;
  if (ip + 20 > f.size()) return -1;
  return f[ip + 9];
}

Result<PacketSocket> PacketSocket::open(const std::string& netns, const std::string& ifname) {
  int fd = -1, ifindex = 0;
  std::string error;
  // setns() changes only the calling thread; do it on a throwaway thread.
  std::thread t([&] {
    if (!netns.empty()) {
      const std::string path = "/run/netns/" + netns;
      const int ns = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (ns < 0 || ::setns(ns, CLONE_NEWNET) != 0) {
        error = "setns " + path + ": " + std::strerror(errno);
        if (ns >= 0) ::close(ns);
        return;
      }
      ::close(ns);
    }
    ifindex = int(::if_nametoindex(ifname.c_str()));
    if (ifindex == 0) {
      error = "interface " + ifname + " in netns '" + netns + "': " + std::strerror(errno);
      return;
    }
    fd = ::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
    if (fd < 0) {
      error = std::string("socket(AF_PACKET): ") + std::strerror(errno);
      return;
    }
    sockaddr_ll sll{};
    sll.sll_family = AF_PACKET;
    sll.sll_protocol = htons(ETH_P_ALL);
    sll.sll_ifindex = ifindex;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0) {
      error = "bind AF_PACKET to " + ifname + ": " + std::strerror(errno);
      ::close(fd);
      fd = -1;
    }
  });
  t.join();
  if (fd < 0) return err(error);
  return PacketSocket(fd, ifindex);
}

PacketSocket::PacketSocket(PacketSocket&& o) noexcept : fd_(o.fd_), ifindex_(o.ifindex_) { o.fd_ = -1; }

PacketSocket::~PacketSocket() {
  if (fd_ >= 0) ::close(fd_);
}

Result<bool> PacketSocket::send(const Frame& frame) {
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = ifindex_;
  sll.sll_halen = 6;
  std::copy(frame.begin(), frame.begin() + 6, sll.sll_addr);
  const ssize_t n = ::sendto(fd_, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&sll), sizeof sll);
  if (n < 0 && errno == ENOBUFS) return false;
  if (n != ssize_t(frame.size()))
    return err(std::string("sendto AF_PACKET: ") + (n < 0 ? std::strerror(errno) : "short write"));
  return true;
}

bool PacketSocket::recv_one(int timeout_ms, Captured& out) {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, timeout_ms) <= 0) return false;
  std::uint8_t buf[2048];
  sockaddr_ll from{};
  socklen_t len = sizeof from;
  const ssize_t n = ::recvfrom(fd_, buf, sizeof buf, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&from), &len);
  if (n <= 0 || from.sll_pkttype == PACKET_OUTGOING) return false;
  out.pkttype = from.sll_pkttype;
  out.bytes.assign(buf, buf + n);
  return true;
}

void PacketSocket::drain() {
  std::uint8_t buf[2048];
  while (::recv(fd_, buf, sizeof buf, MSG_DONTWAIT) > 0) {
  }
}

}  // namespace xo::e2e
