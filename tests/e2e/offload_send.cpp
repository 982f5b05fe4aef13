// offload_send: write known IPv4 frames on a tap toward its guest (the
// demo's traffic source; the e2e test uses the same code as a library).
//
//   offload_send --iface TAP --dst MAC [--src MAC] [--netns NS]
//                [--udp N] [--tcp N] [--icmp N] [--pps RATE] [--bounce-wait S]
//
// Prints "offload_send: sent udp N tcp N icmp N" and, with --bounce-wait,
// "offload_send: bounced back with MACs swapped: N" (frames that came back
// into the host on the tap with dst = our src and src = the guest's MAC).
#include <netinet/in.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <thread>

#include "tests/e2e/offload_traffic.hpp"

int main(int argc, char** argv) {
  using namespace xo::e2e;
  std::string iface, netns, dst_text, src_text = "02:00:00:e2:e0:02";
  std::map<int, long> want = {{IPPROTO_UDP, 0}, {IPPROTO_TCP, 0}, {IPPROTO_ICMP, 0}};
  double pps = 0, bounce_wait = -1;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "offload_send: %s needs a value\n", a.c_str());
      return 2;
    }
    const char* v = argv[++i];
    if (a == "--iface") iface = v;
    else if (a == "--netns") netns = v;
    else if (a == "--dst") dst_text = v;
    else if (a == "--src") src_text = v;
    else if (a == "--udp") want[IPPROTO_UDP] = std::atol(v);
    else if (a == "--tcp") want[IPPROTO_TCP] = std::atol(v);
    else if (a == "--icmp") want[IPPROTO_ICMP] = std::atol(v);
    else if (a == "--pps") pps = std::atof(v);
    else if (a == "--bounce-wait") bounce_wait = std::atof(v);
    else {
      std::fprintf(stderr, "offload_send: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  auto dst = parse_mac(dst_text);
  auto src = parse_mac(src_text);
  if (iface.empty() || !dst || !src) {
    std::fprintf(stderr, "usage: offload_send --iface TAP --dst MAC [--src MAC] [--netns NS] "
                         "[--udp N] [--tcp N] [--icmp N] [--pps RATE] [--bounce-wait S]\n");
    return 2;
  }
  auto sock = PacketSocket::open(netns, iface);
  if (!sock) {
    std::fprintf(stderr, "offload_send: %s\n", sock.error().message.c_str());
    return 1;
  }
  std::map<int, long> sent;
  long dropped = 0;  // reported dropped on the way out (tc egress shot)
  std::map<int, long> left = want;
  const auto gap = pps > 0 ? std::chrono::microseconds(long(1e6 / pps)) : std::chrono::microseconds(0);
  for (std::uint16_t seq = 1;; ++seq) {
    bool any = false;
    for (auto& [proto, n] : left) {
      if (n <= 0) continue;
      --n;
      any = true;
      auto st = sock->send(build_ipv4_frame(FrameSpec{*dst, *src, std::uint8_t(proto), 0x0ac90001, 0x0ac90002, seq}));
      if (!st) {
        std::fprintf(stderr, "offload_send: %s\n", st.error().message.c_str());
        return 1;
      }
      ++sent[proto];
      if (!*st) ++dropped;
      if (gap.count()) std::this_thread::sleep_for(gap);
    }
    if (!any) break;
  }
  std::printf("offload_send: sent udp %ld tcp %ld icmp %ld on %s toward %s (%ld dropped on the way out)\n",
              sent[IPPROTO_UDP], sent[IPPROTO_TCP], sent[IPPROTO_ICMP], iface.c_str(),
              mac_text(*dst).c_str(), dropped);
  if (bounce_wait >= 0) {
    const long total = sent[IPPROTO_UDP] + sent[IPPROTO_TCP] + sent[IPPROTO_ICMP];
    auto back = sock->capture(std::chrono::milliseconds(long(bounce_wait * 1000)), std::size_t(total),
                              [&](const Captured& c) {
                                return c.bytes.size() >= 14 && std::equal(src->begin(), src->end(), c.bytes.begin()) &&
                                       std::equal(dst->begin(), dst->end(), c.bytes.begin() + 6);
                              });
    std::printf("offload_send: bounced back with MACs swapped: %zu\n", back.size());
  }
  return 0;
}
