// e2e_offload_xdp: a real TCG guest offloads xdp1, then xdp2, to xoffloadd
// on the host, and the host sends known traffic toward it.
//
//   host netns (fresh):  tap (no address, no IPv6) <- AF_PACKET frames
//                        xoffloadd --session <name>:<tap>:<sock>
//   guest (QEMU TCG):    eth0 on the tap, /dev/xoffload0 on <sock>
//                        xdp1 --offload eth0; xdp2 --offload eth0; xoffload-guest ...
//
// Checked, per phase:
//  - control (nothing attached): the frames reach the guest (rx_packets
//    grows by what was sent), so the later "nothing arrived" means something;
//  - xdp1: the guest's totals, read from the host's map through the agent,
//    equal what was sent per protocol (UDP, TCP, ICMP), and eth0's
//    rx_packets does not move: dropped frames never entered the VM; the tap
//    has a tc egress bpf filter while it runs and none afterwards;
//  - xdp2: same counts, nothing reaches the guest, and every frame comes
//    back into the host on the tap with its MAC addresses swapped;
//  - a program the host kernel refuses comes back to the guest as an error
//    naming its source line; the guest CLI then offloads, dumps and unloads
//    over the same port.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <regex>
#include <thread>

#include "tests/e2e/offload_daemon.hpp"
#include "tests/e2e/offload_traffic.hpp"
#include "tests/e2e/guest_console.hpp"
#include "tests/e2e/vm_boot_harness.hpp"

namespace xo::e2e {
namespace {

using namespace std::chrono_literals;
using Counts = std::map<int, long>;

constexpr const char* kGuestMac = "52:54:00:e2:e0:01";
constexpr const char* kSenderMac = "02:00:00:e2:e0:02";  // nobody owns it

// Each phase prints markers around itself; rx_packets deltas are eth0's.
constexpr const char* kGuestScript = R"SH(rx() { cat /sys/class/net/eth0/statistics/rx_packets; }
r=$(rx); echo XO-CONTROL-READY; sleep 5; echo "XO-CONTROL-END rx=$(( $(rx) - r ))"
r=$(rx); echo XO-XDP1-BEGIN; xdp1 --offload eth0 --duration 12; rc=$?; echo "XO-XDP1-END rc=$rc rx=$(( $(rx) - r ))"
sleep 3; r=$(rx); echo XO-XDP2-BEGIN; xdp2 --offload eth0 --duration 12; rc=$?; echo "XO-XDP2-END rc=$rc rx=$(( $(rx) - r ))"
xoffload-guest offload offload_bad.o --iface eth0; echo "XO-BAD-END rc=$?"
xoffload-guest caps && xoffload-guest offload xdp1_kern.o --iface eth0 && xoffload-guest maps &&
  xoffload-guest dump-map rxcnt > /tmp/dump && echo "XO-DUMP-LINES $(wc -l < /tmp/dump)" &&
  xoffload-guest stats && xoffload-guest unload; echo "XO-CLI-END rc=$?"
)SH";

std::string between(const std::string& text, const std::string& from, const std::string& to) {
  const auto a = text.find(from);
  if (a == std::string::npos) return "";
  const auto b = text.find(to, a);
  return text.substr(a, b == std::string::npos ? std::string::npos : b - a + to.size() + 40);
}




// Sends `per_proto` frames of each protocol, interleaved; returns the frames.
// `dropped` counts the sends the host stack reported dropped on the way out.
std::vector<Frame> send_mix(PacketSocket& sock, const Counts& per_proto, std::uint16_t seq_base,
                            long& dropped) {
  const Mac dst = *parse_mac(kGuestMac), src = *parse_mac(kSenderMac);
  std::vector<Frame> sent;
  Counts left = per_proto;
  for (std::uint16_t seq = seq_base; ; ++seq) {
    bool any = false;
    for (auto& [proto, n] : left) {
      if (n <= 0) continue;
      --n;
      any = true;
      Frame f = build_ipv4_frame(FrameSpec{dst, src, std::uint8_t(proto), 0x0ac90001, 0x0ac90002, seq});
      auto took = sock.send(f);
      EXPECT_TRUE(took.ok()) << took.error().message;
      if (took.ok() && !*took) ++dropped;
      sent.push_back(std::move(f));
    }
    if (!any) return sent;
  }
}

// What runs on the tap's egress: the tcx programs (the daemon attaches
// through a pinned tcx link; bookworm's tc cannot list tcx, so the kernel
// is asked with BPF_PROG_QUERY) and, for the cls_bpf fallback, tc filters.
std::string egress_hook(const std::string& netns, const std::string& tap) {
  return "tcx programs: " + run_in_netns(netns, {"python3", XO_TCX_EGRESS_COUNT, tap}).output +
         run_in_netns(netns, {"tc", "filter", "show", "dev", tap, "egress"}).output;
}

TEST(OffloadXdp, Xdp1CountsAndDropsXdp2BouncesInARealGuest) {
  ASSERT_EQ(system("mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf"), 0);
  auto vm_dir = ensure_vm_image();
  ASSERT_TRUE(vm_dir.ok()) << vm_dir.error().describe();
  auto netns = TestNetns::create();
  ASSERT_TRUE(netns.ok()) << netns.error().describe();
  auto tap = TestTap::create(*netns, unique_name("xoof"), "");
  ASSERT_TRUE(tap.ok()) << tap.error().describe();
  // No host traffic of its own toward the guest (MLD, router solicitations):
  // every frame the guest could count is one this test sent.
  auto v6 = run_in_netns(netns->name(), {"sysctl", "-qw", "net.ipv6.conf." + tap->name() + ".disable_ipv6=1"});
  ASSERT_EQ(v6.exit_code, 0) << v6.output;

  const std::string tag = unique_name("xo-e2e-off-", 40);
  const std::string sock = "/tmp/" + tag + ".sock";
  const std::string pin_root = "/sys/fs/bpf/" + tag;
  const std::string session = unique_name("e2e", 15);
  auto daemon = DaemonProcess::start(XO_DAEMON, netns->name(),
                                     {"--session", session + ":" + tap->name() + ":" + sock,
                                      "--pin-root", pin_root, "--log-level", "debug"},
                                     sock, "/tmp/" + tag + ".daemon.log");
  ASSERT_TRUE(daemon.ok()) << daemon.error().describe();

  GuestVmOptions o;
  o.vm_dir = *vm_dir;
  o.netns = netns->name();
  o.tap = tap->name();
  o.mac = kGuestMac;
  o.serial_socket = sock;
  o.cmd = kGuestScript;
  o.timeout_s = 330;
  for (const char* f : {"xoffload-guest", "xdp1", "xdp2", "xdp1_kern.o", "xdp2_kern.o"})
    o.adds.push_back(std::string(XO_GUEST_TOOLS_DIR) + "/" + f);
  o.adds.push_back(XO_OFFLOAD_BAD_OBJ);
  auto vm = GuestVm::start(o);
  ASSERT_TRUE(vm.ok()) << vm.error().describe();
  GuestVm& guest = **vm;
  auto psock = PacketSocket::open(netns->name(), tap->name());
  ASSERT_TRUE(psock.ok()) << psock.error().describe();
  auto context = [&] { return "\nconsole:\n" + guest.console() + "\ndaemon log:\n" + (*daemon)->log(); };

  // ---- control: nothing attached, frames reach the guest ----
  ASSERT_TRUE(wait_console(guest, "XO-CONTROL-READY", 150s)) << guest.runner_output() << context();
  long dropped0 = 0, dropped1 = 0, dropped2 = 0;
  send_mix(*psock, {{IPPROTO_UDP, 5}}, 1, dropped0);

  // ---- xdp1: count and drop on the host ----
  ASSERT_TRUE(wait_console(guest, "xdp1: offloaded", 60s)) << context();
  const std::string filter_during = egress_hook(netns->name(), tap->name());
  const Counts sent1 = {{IPPROTO_UDP, 30}, {IPPROTO_TCP, 20}, {IPPROTO_ICMP, 10}};
  send_mix(*psock, sent1, 100, dropped1);
  ASSERT_TRUE(wait_console(guest, "XO-XDP1-END", 60s)) << context();
  const std::string filter_after = egress_hook(netns->name(), tap->name());

  // ---- xdp2: count and bounce back with the MACs swapped ----
  ASSERT_TRUE(wait_console(guest, "xdp2: offloaded", 60s)) << context();
  psock->drain();
  const Counts sent2 = {{IPPROTO_UDP, 7}, {IPPROTO_TCP, 5}, {IPPROTO_ICMP, 3}};
  auto sent2_frames = send_mix(*psock, sent2, 1000, dropped2);
  const Mac guest_mac = *parse_mac(kGuestMac), sender_mac = *parse_mac(kSenderMac);
  auto bounced = psock->capture(5s, sent2_frames.size(), [&](const Captured& c) {
    return c.bytes.size() >= 14 && std::equal(sender_mac.begin(), sender_mac.end(), c.bytes.begin()) &&
           std::equal(guest_mac.begin(), guest_mac.end(), c.bytes.begin() + 6) && ipv4_proto(c.bytes) >= 0;
  });
  ASSERT_TRUE(wait_console(guest, "XO-CLI-END", 90s)) << context();
  auto exit_code = guest.wait(60s);
  const std::string console = guest.console();
  ASSERT_TRUE(exit_code.has_value()) << context();
  EXPECT_EQ(*exit_code, 0) << context();

  // Control: 5 frames reached eth0.
  EXPECT_EQ(marker_value(console, "XO-CONTROL-END", "rx"), 5) << context();
  EXPECT_EQ(dropped0, 0);
  // The sender's own stack saw xdp1's drops (tc egress shot -> ENOBUFS);
  // xdp2's bounces are redirects, not drops.
  EXPECT_EQ(dropped1, 60);
  EXPECT_EQ(dropped2, 0);

  // xdp1: counted per protocol on the host, read back by the guest; none arrived.
  const std::string s1 = between(console, "XO-XDP1-BEGIN", "XO-XDP1-END");
  EXPECT_EQ(proto_totals(s1), sent1) << s1;
  EXPECT_NE(s1.find("proto 17:"), std::string::npos) << "no per-second report\n" << s1;
  EXPECT_EQ(marker_value(console, "XO-XDP1-END", "rc"), 0) << context();
  EXPECT_EQ(marker_value(console, "XO-XDP1-END", "rx"), 0) << "dropped frames reached the guest" << context();
  EXPECT_NE(filter_during.find("tcx programs: 1\n"), std::string::npos) << "nothing on the tap's egress while xdp1 ran:\n"
                                                                   << filter_during;
  EXPECT_NE(filter_after.find("tcx programs: 0\n"), std::string::npos) << "left on the egress after xdp1 exited:\n"
                                                                  << filter_after;
  EXPECT_EQ(filter_after.find("bpf"), std::string::npos) << "a cls_bpf filter left after xdp1 exited:\n" << filter_after;

  // xdp2: counted, not delivered, bounced with MACs swapped (payload intact).
  const std::string s2 = between(console, "XO-XDP2-BEGIN", "XO-XDP2-END");
  EXPECT_EQ(proto_totals(s2), sent2) << s2;
  EXPECT_EQ(marker_value(console, "XO-XDP2-END", "rc"), 0) << context();
  EXPECT_EQ(marker_value(console, "XO-XDP2-END", "rx"), 0) << "bounced frames reached the guest" << context();
  Counts bounced_per_proto;
  std::size_t intact = 0;
  for (const auto& c : bounced) {
    ++bounced_per_proto[ipv4_proto(c.bytes)];
    for (const auto& f : sent2_frames)
      if (c.bytes.size() >= f.size() && std::equal(f.begin() + 12, f.end(), c.bytes.begin() + 12)) {
        ++intact;
        break;
      }
  }
  EXPECT_EQ(bounced_per_proto, sent2);
  EXPECT_EQ(intact, sent2_frames.size());

  // A program the host kernel refuses: the guest gets the verifier's
  // complaint mapped to its own source line, and the session goes on.
  EXPECT_NE(marker_value(console, "XO-BAD-END", "rc"), 0) << context();
  EXPECT_NE(console.find("offload_bad.bpf.c:13"), std::string::npos) << context();

  // The guest CLI over the same port (state kept between its processes).
  EXPECT_EQ(marker_value(console, "XO-CLI-END", "rc"), 0) << context();
  EXPECT_NE(console.find("XO-DUMP-LINES 256"), std::string::npos) << context();
  EXPECT_NE(console.find("flavors tc"), std::string::npos) << context();

  // Everything the session created is gone from the tap and bpffs.
  const std::string egress_end = egress_hook(netns->name(), tap->name());
  EXPECT_NE(egress_end.find("tcx programs: 0\n"), std::string::npos) << egress_end;
  EXPECT_EQ(egress_end.find("bpf"), std::string::npos) << egress_end;
  (*daemon)->stop();
  const std::string daemon_log = (*daemon)->log();
  EXPECT_EQ(daemon_log.find("rate limited"), std::string::npos)
      << "the guest client should pace itself to the advertised rate:\n" << daemon_log;
  auto leftover = run_command({"find", pin_root, "-mindepth", "1"});
  EXPECT_TRUE(leftover.output.empty() || leftover.exit_code != 0) << "pins left:\n" << leftover.output;
  run_command({"rm", "-rf", pin_root});
  std::printf("---- guest, xdp1 phase ----\n%s\n---- guest, xdp2 phase ----\n%s\n", s1.c_str(), s2.c_str());
  std::printf("---- guest, refused program ----\n%s\n",
              between(console, "xoffload-guest: offload 'offload_bad'", "XO-BAD-END").c_str());
  std::printf("e2e_offload_xdp: xdp1 counted %ld/%ld/%ld (udp/tcp/icmp), xdp2 bounced %zu of %zu\n",
              proto_totals(s1)[IPPROTO_UDP], proto_totals(s1)[IPPROTO_TCP], proto_totals(s1)[IPPROTO_ICMP], bounced.size(),
              sent2_frames.size());
}

// The same loaders without --offload: libbpf in the guest attaches natively
// to eth0 (virtio-net XDP). The counts are the same, but every frame crosses
// into the VM first (rx_packets grows by all of them), and xdp2's bounces
// leave the guest through its tx queue. The contrast is what offload buys.
constexpr const char* kNativeScript = R"SH(rx() { cat /sys/class/net/eth0/statistics/rx_packets; }
r=$(rx); echo XO-NATIVE1-BEGIN; xdp1 eth0 --duration 10; rc=$?; echo "XO-NATIVE1-END rc=$rc rx=$(( $(rx) - r ))"
r=$(rx); echo XO-NATIVE2-BEGIN; xdp2 eth0 --duration 10; rc=$?; echo "XO-NATIVE2-END rc=$rc rx=$(( $(rx) - r ))"
)SH";

TEST(OffloadXdp, NativeXdp1Xdp2InTheGuestForContrast) {
  auto vm_dir = ensure_vm_image();
  ASSERT_TRUE(vm_dir.ok()) << vm_dir.error().describe();
  auto netns = TestNetns::create();
  ASSERT_TRUE(netns.ok()) << netns.error().describe();
  // 2 queue pairs for 1 vCPU: guest XDP_TX gets its own tx queue.
  auto tap = TestTap::create(*netns, unique_name("xonf"), "", /*multi_queue=*/true);
  ASSERT_TRUE(tap.ok()) << tap.error().describe();
  auto v6 = run_in_netns(netns->name(), {"sysctl", "-qw", "net.ipv6.conf." + tap->name() + ".disable_ipv6=1"});
  ASSERT_EQ(v6.exit_code, 0) << v6.output;

  GuestVmOptions o;
  o.vm_dir = *vm_dir;
  o.netns = netns->name();
  o.tap = tap->name();
  o.mac = kGuestMac;
  o.queues = 2;
  o.cmd = kNativeScript;
  o.timeout_s = 240;
  for (const char* f : {"xdp1", "xdp2", "xdp1_kern.o", "xdp2_kern.o"})
    o.adds.push_back(std::string(XO_GUEST_TOOLS_DIR) + "/" + f);
  auto vm = GuestVm::start(o);
  ASSERT_TRUE(vm.ok()) << vm.error().describe();
  GuestVm& guest = **vm;
  auto psock = PacketSocket::open(netns->name(), tap->name());
  ASSERT_TRUE(psock.ok()) << psock.error().describe();
  auto context = [&] { return "\nconsole:\n" + guest.console() + "\nrun-vm:\n" + guest.runner_output(); };

  long dropped1 = 0, dropped2 = 0;
  ASSERT_TRUE(wait_console(guest, "xdp1: attached", 150s)) << context();
  const Counts sent1 = {{IPPROTO_UDP, 30}, {IPPROTO_TCP, 20}, {IPPROTO_ICMP, 10}};
  send_mix(*psock, sent1, 100, dropped1);
  ASSERT_TRUE(wait_console(guest, "XO-NATIVE1-END", 60s)) << context();

  ASSERT_TRUE(wait_console(guest, "xdp2: attached", 60s)) << context();
  psock->drain();
  const Counts sent2 = {{IPPROTO_UDP, 7}, {IPPROTO_TCP, 5}, {IPPROTO_ICMP, 3}};
  auto sent2_frames = send_mix(*psock, sent2, 1000, dropped2);
  const Mac guest_mac = *parse_mac(kGuestMac), sender_mac = *parse_mac(kSenderMac);
  auto bounced = psock->capture(8s, sent2_frames.size(), [&](const Captured& c) {
    return c.bytes.size() >= 14 && std::equal(sender_mac.begin(), sender_mac.end(), c.bytes.begin()) &&
           std::equal(guest_mac.begin(), guest_mac.end(), c.bytes.begin() + 6) && ipv4_proto(c.bytes) >= 0;
  });
  auto exit_code = guest.wait(90s);
  const std::string console = guest.console();
  ASSERT_TRUE(exit_code.has_value()) << context();
  EXPECT_EQ(*exit_code, 0) << context();

  const std::string s1 = between(console, "XO-NATIVE1-BEGIN", "XO-NATIVE1-END");
  EXPECT_EQ(proto_totals(s1), sent1) << s1;
  EXPECT_EQ(marker_value(console, "XO-NATIVE1-END", "rc"), 0) << context();
  EXPECT_EQ(marker_value(console, "XO-NATIVE1-END", "rx"), 60) << "native XDP sees frames after they entered the VM"
                                                              << context();
  EXPECT_EQ(dropped1, 0);  // the host stack delivered them all to the tap
  const std::string s2 = between(console, "XO-NATIVE2-BEGIN", "XO-NATIVE2-END");
  EXPECT_EQ(proto_totals(s2), sent2) << s2;
  EXPECT_EQ(marker_value(console, "XO-NATIVE2-END", "rc"), 0) << context();
  EXPECT_EQ(marker_value(console, "XO-NATIVE2-END", "rx"), 15) << context();
  EXPECT_EQ(dropped2, 0);
  Counts bounced_per_proto;
  for (const auto& c : bounced) ++bounced_per_proto[ipv4_proto(c.bytes)];
  EXPECT_EQ(bounced_per_proto, sent2) << context();
  std::printf("---- guest, native xdp1 ----\n%s\n---- guest, native xdp2 ----\n%s\n", s1.c_str(), s2.c_str());
}

}  // namespace
}  // namespace xo::e2e
