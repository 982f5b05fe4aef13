#include "tests/host/netdev.hpp"

#include "host/core/attach_tcx.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <stdexcept>

namespace xo::test {

std::string unique_ifname(const char* prefix) {
  static std::atomic<int> counter{0};
  char buf[IFNAMSIZ];
  std::snprintf(buf, sizeof buf, "%s%d_%d", prefix, int(getpid() % 100000), counter++);
  return buf;
}

std::string egress_hook(const std::string& dev) {
  std::string out;
  const int ifindex = static_cast<int>(if_nametoindex(dev.c_str()));
  if (ifindex == 0) return "no device " + dev + "\n";
  if (auto q = host::tcx_query(ifindex, true))
    for (const auto& e : *q) out += "tcx link " + std::to_string(e.link_id) + " id " + std::to_string(e.prog_id) + "\n";
  else
    out += q.error().message + "\n";
  return out + run("tc filter show dev " + dev + " egress");
}

CommandResult run_command(const std::string& cmd) {
  CommandResult r;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) throw std::runtime_error("popen failed: " + cmd);
  char buf[4096];
  std::size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string run(const std::string& cmd, int* status) {
  auto r = run_command(cmd);
  if (status) *status = r.code;
  return std::move(r.out);
}

void set_up(const std::string& ifname) {
  UniqueFd s(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ifreq ifr{};
  std::strncpy(ifr.ifr_name, ifname.c_str(), IFNAMSIZ - 1);
  if (ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) throw std::runtime_error("SIOCGIFFLAGS " + ifname);
  ifr.ifr_flags |= IFF_UP;
  if (ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) throw std::runtime_error("SIOCSIFFLAGS " + ifname);
}

Tap::Tap() : name_(unique_ifname("xot")) {
  fd_.reset(open("/dev/net/tun", O_RDWR | O_CLOEXEC | O_NONBLOCK));
  if (!fd_) throw std::runtime_error("open /dev/net/tun");
  ifreq ifr{};
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::strncpy(ifr.ifr_name, name_.c_str(), IFNAMSIZ - 1);
  if (ioctl(fd_.get(), TUNSETIFF, &ifr) != 0) throw std::runtime_error("TUNSETIFF " + name_);
  set_up(name_);
  ifindex_ = static_cast<int>(if_nametoindex(name_.c_str()));
}

std::vector<std::vector<std::uint8_t>> Tap::read_frames(int timeout_ms) {
  std::vector<std::vector<std::uint8_t>> out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd_.get(), POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    std::vector<std::uint8_t> buf(65536);
    ssize_t n = read(fd_.get(), buf.data(), buf.size());
    if (n <= 0) continue;
    buf.resize(static_cast<std::size_t>(n));
    out.push_back(std::move(buf));
  }
  return out;
}

Veth::Veth() : a_(unique_ifname("xova")), b_(unique_ifname("xovb")) {
  int st = 0;
  std::string out = run("ip link add " + a_ + " type veth peer name " + b_, &st);
  if (st != 0) throw std::runtime_error("veth: " + out);
  set_up(a_);
  set_up(b_);
}

Veth::~Veth() { run("ip link del " + a_); }

int Veth::ifindex() const { return static_cast<int>(if_nametoindex(a_.c_str())); }
int Veth::peer_ifindex() const { return static_cast<int>(if_nametoindex(b_.c_str())); }

PacketSocket::PacketSocket(int ifindex) : ifindex_(ifindex) {
  fd_.reset(socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL)));
  if (!fd_) throw std::runtime_error("AF_PACKET socket");
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(ETH_P_ALL);
  sll.sll_ifindex = ifindex;
  if (bind(fd_.get(), reinterpret_cast<sockaddr*>(&sll), sizeof sll) != 0)
    throw std::runtime_error("AF_PACKET bind");
}

int PacketSocket::send(const std::vector<std::uint8_t>& frame) {
  sockaddr_ll sll{};
  sll.sll_family = AF_PACKET;
  sll.sll_ifindex = ifindex_;
  sll.sll_halen = ETH_ALEN;
  std::memcpy(sll.sll_addr, frame.data(), ETH_ALEN);
  ssize_t n = sendto(fd_.get(), frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&sll), sizeof sll);
  if (n == static_cast<ssize_t>(frame.size())) return 0;
  return n < 0 ? errno : EMSGSIZE;
}

std::vector<std::vector<std::uint8_t>> PacketSocket::receive(int timeout_ms, bool include_outgoing) {
  std::vector<std::vector<std::uint8_t>> out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd_.get(), POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    std::vector<std::uint8_t> buf(65536);
    sockaddr_ll from{};
    socklen_t len = sizeof from;
    ssize_t n = recvfrom(fd_.get(), buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &len);
    if (n <= 0) continue;
    if (from.sll_pkttype == PACKET_OUTGOING && !include_outgoing) continue;
    buf.resize(static_cast<std::size_t>(n));
    out.push_back(std::move(buf));
  }
  return out;
}

std::vector<std::uint8_t> ipv4_frame(std::uint8_t proto, const std::uint8_t dst_mac[6],
                                     const std::uint8_t src_mac[6], std::size_t payload) {
  std::vector<std::uint8_t> f(14 + 20 + payload, 0);
  std::memcpy(&f[0], dst_mac, 6);
  std::memcpy(&f[6], src_mac, 6);
  f[12] = 0x08;
  f[13] = 0x00;
  std::uint8_t* ip = &f[14];
  ip[0] = 0x45;
  std::uint16_t tot = htons(static_cast<std::uint16_t>(20 + payload));
  std::memcpy(ip + 2, &tot, 2);
  ip[8] = 64;
  ip[9] = proto;
  const std::uint8_t src[4] = {10, 77, 0, 1}, dst[4] = {10, 77, 0, 2};
  std::memcpy(ip + 12, src, 4);
  std::memcpy(ip + 16, dst, 4);
  std::uint32_t sum = 0;
  for (int i = 0; i < 20; i += 2) sum += (ip[i] << 8) | ip[i + 1];
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  std::uint16_t csum = htons(static_cast<std::uint16_t>(~sum));
  std::memcpy(ip + 10, &csum, 2);
  for (std::size_t i = 0; i < payload; ++i) f[34 + i] = static_cast<std::uint8_t>(i);
  return f;
}

}  // namespace xo::test
