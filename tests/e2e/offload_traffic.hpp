// Host-side traffic for offload end-to-end runs: hand-built IPv4 frames
// (UDP, TCP, ICMP) written on a tap through an AF_PACKET socket, so that
// they leave the host on the tap's Tx path toward the guest (where the tc
// flavor's clsact egress program runs), and capture of what comes back in
// on the tap (frames xdp2 bounced with bpf_redirect(tap, BPF_F_INGRESS)).
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace xo::e2e {

using Mac = std::array<std::uint8_t, 6>;
using Frame = std::vector<std::uint8_t>;

Result<Mac> parse_mac(const std::string& text);
std::string mac_text(const Mac& mac);

struct FrameSpec {
  Mac dst{}, src{};
  std::uint8_t proto = 17;  // IPPROTO_UDP, IPPROTO_TCP or IPPROTO_ICMP
  std::uint32_t src_ip = 0x0ac90001;  // 10.201.0.1, host order
  std::uint32_t dst_ip = 0x0ac90002;  // 10.201.0.2
  std::uint16_t seq = 0;  // distinguishes frames (IP id, ports, ICMP seq)
};

// A 60-byte Ethernet + IPv4 frame with a valid IP checksum and a UDP, TCP
// (SYN) or ICMP echo header. Other protocol numbers get a raw payload.
Frame build_ipv4_frame(const FrameSpec& spec);
// The IPv4 protocol of a frame (after up to two VLAN tags), -1 if not IPv4.
int ipv4_proto(const Frame& frame);

struct Captured {
  std::uint8_t pkttype;  // PACKET_HOST, PACKET_OTHERHOST, ... (never PACKET_OUTGOING)
  Frame bytes;
};

// An AF_PACKET socket bound to one interface of a network namespace. It is
// created on a helper thread that joins the namespace, so the caller's
// thread never changes namespace.
class PacketSocket {
 public:
  // netns empty: the caller's namespace.
  static Result<PacketSocket> open(const std::string& netns, const std::string& ifname);
  PacketSocket(PacketSocket&& o) noexcept;
  PacketSocket& operator=(PacketSocket&&) = delete;
  PacketSocket(const PacketSocket&) = delete;
  ~PacketSocket();

  // true: the stack took the frame; false: it was dropped on the way out
  // (ENOBUFS, i.e. NET_XMIT_DROP: what a tc egress TC_ACT_SHOT reports to
  // the sender). Other failures are errors.
  Result<bool> send(const Frame& frame);
  // Incoming frames (not our own or other outgoing ones) until `wait`
  // passes, or until `want` frames satisfied `keep` (want 0: no early stop).
  template <typename Keep>
  std::vector<Captured> capture(std::chrono::milliseconds wait, std::size_t want, Keep keep);
  // Drops whatever is queued.
  void drain();

 private:
  PacketSocket(int fd, int ifindex) : fd_(fd), ifindex_(ifindex) {}
  bool recv_one(int timeout_ms, Captured& out);
  int fd_ = -1;
  int ifindex_ = 0;
};

template <typename Keep>
std::vector<Captured> PacketSocket::capture(std::chrono::milliseconds wait, std::size_t want, Keep keep) {
  std::vector<Captured> out;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || (want && out.size() >= want)) return out;
    Captured c;
    if (recv_one(int(left.count()), c) && keep(c)) out.push_back(std::move(c));
  }
}

}  // namespace xo::e2e
