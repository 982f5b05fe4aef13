// e2e_offload_deferred (issue 13): what the host cannot finish, the guest
// finishes. A real TCG guest with two virtio-net NICs offloads programs that
// redirect or sample (tests/guest/guest_side_progs.bpf.c) to a real xoffloadd; the
// host runs them on eth0's tap and hands the guest's part to the trampoline
// the guest tools install on eth0.
//
//   host netns (fresh):  tap0 <- AF_PACKET frames   xoffloadd --session <s>:tap0:<sock>
//                        tap1 -> AF_PACKET capture (what the guest sends out of eth1)
//   guest (QEMU TCG):    eth0 on tap0 (offloaded program + trampoline), eth1 on tap1
//                        (an XDP_PASS program: virtio_net's ndo_xdp_xmit needs one)
//
// Every program keeps UDP frames to port 7001 for the guest and drops all
// others on the host. Each phase sends 10 kept and 10 other frames and
// counts on both sides:
//   (a) DEVMAP redirect eth0 -> eth1 (key 0 set by guest user space with
//       bpftool on the pinned map): the 10 kept frames leave tap1, byte for
//       byte; eth0 received exactly 10 (the dropped ones never entered);
//   (e) forgery, same offload: 10 frames forged from outside with ethertype
//       0x88B5 and a descriptor redirecting to the DEVMAP: the host drops
//       them (policy drops in its STATS), eth0 gets nothing, tap1 nothing;
//   (b) bpf_redirect to eth1 by ifindex: as (a);
//   (c) AF_XDP: xo-xsk-count (libxdp, copy mode) on the pinned XSKMAP
//       receives exactly the 10 kept frames;
//   (d) perf: xo-perf-count on the pinned PERF_EVENT_ARRAY reads exactly 10
//       samples (header + the frame's first 42 bytes, as sent) while the
//       frames themselves are dropped (none reaches the guest's stack).
// After each phase the guest CLI unloads: the trampoline and the pins go.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <regex>
#include <thread>

#include "tests/e2e/guest_console.hpp"
#include "tests/e2e/offload_daemon.hpp"
#include "tests/e2e/offload_traffic.hpp"
#include "tests/e2e/vm_boot_harness.hpp"

namespace xo::e2e {
namespace {

using namespace std::chrono_literals;

constexpr const char* kGuestMac = "52:54:00:e2:d0:01";
constexpr const char* kGuestMac2 = "52:54:00:e2:d0:02";
constexpr const char* kSenderMac = "02:00:00:e2:d0:09";
constexpr std::uint16_t kKeepPort = 7001;
constexpr int kKept = 10, kOther = 10, kForged = 10;

// Each phase: offload, READY, (host sends), END with eth0 rx / eth1 tx deltas,
// the host's counters, unload. Receivers run in the background and say when
// their socket or rings are ready.
constexpr const char* kGuestScript = R"SH(P=/sys/fs/bpf/xoffload-guest/eth0
# No IPv6 chatter of the guest's own (router solicitations) in eth1's count.
for i in all default eth0 eth1; do echo 1 > /proc/sys/net/ipv6/conf/$i/disable_ipv6; done
rx() { cat /sys/class/net/eth0/statistics/rx_packets; }
tx1() { cat /sys/class/net/eth1/statistics/tx_packets; }
echo "XO-IFINDEX eth1=$(cat /sys/class/net/eth1/ifindex)"
vm_boot_xdp eth1 pass 900 > /tmp/eth1.log 2>&1 &
while ! grep -q XDP-ATTACH-OK /tmp/eth1.log; do sleep 0.2; done
wait_file() { i=0; while [ ! -e "$1" ] && [ $i -lt 150 ]; do sleep 0.2; i=$((i+1)); done; }
unload() { xoffload-guest stats; xoffload-guest unload > /dev/null; echo "XO-$1-UNLOADED rc=$? pins=$(ls $P 2>/dev/null | wc -l)"; }

xoffload-guest offload deferred_e2e.o --prog e2e_devmap --iface eth0 || echo XO-A-OFFLOAD-FAILED
bpftool map update pinned $P/tx_port key 0 0 0 0 value 3 0 0 0 && echo XO-A-DEVMAP-SET
r=$(rx); t=$(tx1); echo XO-A-READY; sleep 8; echo "XO-A-END rx=$(( $(rx) - r )) tx1=$(( $(tx1) - t ))"
r=$(rx); t=$(tx1); echo XO-E-READY; sleep 8; echo "XO-E-END rx=$(( $(rx) - r )) tx1=$(( $(tx1) - t ))"
echo XO-AE-STATS; unload AE

xoffload-guest offload deferred_e2e.o --prog e2e_ifindex --iface eth0 || echo XO-B-OFFLOAD-FAILED
r=$(rx); t=$(tx1); echo XO-B-READY; sleep 8; echo "XO-B-END rx=$(( $(rx) - r )) tx1=$(( $(tx1) - t ))"
unload B

xoffload-guest offload deferred_e2e.o --prog e2e_xsk --iface eth0 || echo XO-C-OFFLOAD-FAILED
xo-xsk-count --iface eth0 --map $P/xsks_map --count 10 --duration 40 --udp-port 7001 --ready /tmp/xsk.ready > /tmp/xsk.out 2>&1 &
xp=$!; wait_file /tmp/xsk.ready
r=$(rx); echo XO-C-READY; wait $xp; echo "XO-C-END rc=$? rx=$(( $(rx) - r ))"; cat /tmp/xsk.out
unload C

xoffload-guest offload deferred_e2e.o --prog e2e_sampler --iface eth0 || echo XO-D-OFFLOAD-FAILED
xo-perf-count --map $P/events --count 10 --duration 40 --dump --ready /tmp/perf.ready > /tmp/perf.out 2>&1 &
pp=$!; wait_file /tmp/perf.ready
r=$(rx); echo XO-D-READY; wait $pp; echo "XO-D-END rc=$? rx=$(( $(rx) - r ))"; cat /tmp/perf.out
unload D
)SH";

std::string between(const std::string& text, const std::string& from, const std::string& to) {
  const auto a = text.find(from);
  if (a == std::string::npos) return "";
  const auto b = text.find(to, a);
  return text.substr(a, b == std::string::npos ? std::string::npos : b - a + to.size() + 40);
}

void put16(Frame& f, std::size_t at, std::uint16_t v) {
  f[at] = std::uint8_t(v >> 8);
  f[at + 1] = std::uint8_t(v);
}

// A 60-byte UDP frame to `port` (UDP checksum 0: none, valid for IPv4).
Frame udp_frame(std::uint16_t seq, std::uint16_t port) {
  Frame f = build_ipv4_frame(FrameSpec{*parse_mac(kGuestMac), *parse_mac(kSenderMac), IPPROTO_UDP, 0x0ac90001,
                                       0x0ac90002, seq});
  put16(f, 14 + 20 + 2, port);
  put16(f, 14 + 20 + 6, 0);
  return f;
}

bool is_kept(const Frame& f) {
  return f.size() >= 14 + 20 + 8 && ipv4_proto(f) == IPPROTO_UDP && f[36] == (kKeepPort >> 8) &&
         f[37] == (kKeepPort & 0xff);
}

// kKept frames to the kept port, kOther to other ports, interleaved. Returns
// the kept ones; `host_dropped` counts what the host's program dropped (the
// sender sees tc's TC_ACT_SHOT as ENOBUFS).
std::vector<Frame> send_phase(PacketSocket& sock, std::uint16_t seq_base, long& host_dropped) {
  std::vector<Frame> kept;
  for (int i = 0; i < kKept + kOther; ++i) {
    const bool keep = i % 2 == 0;
    Frame f = udp_frame(std::uint16_t(seq_base + i), keep ? kKeepPort : std::uint16_t(7100 + i));
    auto took = sock.send(f);
    EXPECT_TRUE(took.ok()) << took.error().message;
    if (took.ok() && !*took) ++host_dropped;
    if (keep) kept.push_back(std::move(f));
  }
  return kept;
}

// A forged descriptor frame (PROTOCOL.md 8.2 layout, a guessed cookie)
// asking for a DEVMAP redirect of a kept frame.
Frame forged_frame(std::uint16_t seq) {
  const Frame inner = udp_frame(seq, kKeepPort);
  Frame f(inner.begin(), inner.begin() + 12);
  f.push_back(0x88);
  f.push_back(0xb5);
  Frame desc(32, 0);
  for (int i = 0; i < 8; ++i) desc[i] = std::uint8_t(0x11 * (i + 1) + seq);  // cookie
  desc[8] = 1;   // version
  desc[9] = 1;   // REDIRECT_MAP
  desc[12] = 1;  // map handle 1
  f.insert(f.end(), desc.begin(), desc.end());
  f.insert(f.end(), inner.begin(), inner.end());
  return f;
}

std::string hex(const Frame& bytes, std::size_t n) {
  std::string out;
  char b[4];
  for (std::size_t i = 0; i < n && i < bytes.size(); ++i) {
    std::snprintf(b, sizeof b, " %02x", bytes[i]);
    out += b;
  }
  return out;
}

// Frames captured on tap1 that are kept frames (the guest sends some of its
// own too, e.g. neighbour discovery).
std::vector<Frame> kept_on_tap1(PacketSocket& tap1, std::chrono::milliseconds wait, std::size_t want) {
  std::vector<Frame> out;
  for (auto& c : tap1.capture(wait, want, [](const Captured& c) { return is_kept(c.bytes); }))
    out.push_back(std::move(c.bytes));
  return out;
}

// "XDP_DROP  N pkts" style lines of `xoffload-guest stats` within `section`.
long stat_packets(const std::string& section, const std::string& action) {
  const std::regex re(action + R"(\s+(\d+) pkts)");
  std::smatch m;
  return std::regex_search(section, m, re) ? std::stol(m[1]) : -1;
}

TEST(OffloadDeferred, RedirectsAfXdpPerfAndForgeryInARealGuest) {
  ASSERT_EQ(system("mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf"), 0);
  auto vm_dir = ensure_vm_image();
  ASSERT_TRUE(vm_dir.ok()) << vm_dir.error().describe();
  auto netns = TestNetns::create();
  ASSERT_TRUE(netns.ok()) << netns.error().describe();
  auto tap0 = TestTap::create(*netns, unique_name("xodf0"), "");
  ASSERT_TRUE(tap0.ok()) << tap0.error().describe();
  auto tap1 = TestTap::create(*netns, unique_name("xodf1"), "");
  ASSERT_TRUE(tap1.ok()) << tap1.error().describe();
  for (const auto* t : {&*tap0, &*tap1}) {
    auto v6 = run_in_netns(netns->name(), {"sysctl", "-qw", "net.ipv6.conf." + t->name() + ".disable_ipv6=1"});
    ASSERT_EQ(v6.exit_code, 0) << v6.output;
  }

  const std::string tag = unique_name("xo-e2e-dfr-", 40);
  const std::string sock = "/tmp/" + tag + ".sock";
  const std::string pin_root = "/sys/fs/bpf/" + tag;
  const std::string session = unique_name("e2d", 15);
  auto daemon = DaemonProcess::start(XO_DAEMON, netns->name(),
                                     {"--session", session + ":" + tap0->name() + ":" + sock, "--pin-root",
                                      pin_root, "--log-level", "debug"},
                                     sock, "/tmp/" + tag + ".daemon.log");
  ASSERT_TRUE(daemon.ok()) << daemon.error().describe();

  GuestVmOptions o;
  o.vm_dir = *vm_dir;
  o.netns = netns->name();
  o.tap = tap0->name();
  o.mac = kGuestMac;
  o.serial_socket = sock;
  o.cmd = kGuestScript;
  o.timeout_s = 400;
  o.adds = {std::string(XO_GUEST_TOOLS_DIR) + "/xoffload-guest", XO_DEFERRED_OBJ + std::string("=/xo/deferred_e2e.o"),
            XO_VM_BOOT_XDP};
  o.extra_args = {"--tap2", tap1->name(), "--mac2", kGuestMac2,
                  "--add-dynamic", XO_XSK_COUNT, "--add-dynamic", XO_PERF_COUNT, "--add-dynamic", "/usr/sbin/bpftool"};
  auto vm = GuestVm::start(o);
  ASSERT_TRUE(vm.ok()) << vm.error().describe();
  GuestVm& guest = **vm;
  auto in = PacketSocket::open(netns->name(), tap0->name());
  ASSERT_TRUE(in.ok()) << in.error().describe();
  auto out = PacketSocket::open(netns->name(), tap1->name());
  ASSERT_TRUE(out.ok()) << out.error().describe();
  auto context = [&] { return "\nconsole:\n" + guest.console() + "\ndaemon log:\n" + (*daemon)->log(); };

  // ---- (a) devmap redirect eth0 -> eth1 ----
  ASSERT_TRUE(wait_console(guest, "XO-A-READY", 200s)) << guest.runner_output() << context();
  out->drain();
  long dropped_a = 0, dropped_e = 0, dropped_b = 0, dropped_c = 0, dropped_d = 0;
  const auto sent_a = send_phase(*in, 100, dropped_a);
  const auto got_a = kept_on_tap1(*out, 6s, sent_a.size());

  // ---- (e) forged descriptors from outside, same offload ----
  ASSERT_TRUE(wait_console(guest, "XO-E-READY", 60s)) << context();
  out->drain();
  for (int i = 0; i < kForged; ++i) {
    auto took = in->send(forged_frame(std::uint16_t(200 + i)));
    ASSERT_TRUE(took.ok()) << took.error().message;
    if (!*took) ++dropped_e;
  }
  const auto got_e = kept_on_tap1(*out, 5s, 0);

  // ---- (b) bpf_redirect by ifindex ----
  ASSERT_TRUE(wait_console(guest, "XO-B-READY", 90s)) << context();
  out->drain();
  const auto sent_b = send_phase(*in, 300, dropped_b);
  const auto got_b = kept_on_tap1(*out, 6s, sent_b.size());

  // ---- (c) AF_XDP ----
  ASSERT_TRUE(wait_console(guest, "XO-C-READY", 90s)) << context();
  const auto sent_c = send_phase(*in, 400, dropped_c);

  // ---- (d) perf samples ----
  ASSERT_TRUE(wait_console(guest, "XO-D-READY", 90s)) << context();
  const auto sent_d = send_phase(*in, 500, dropped_d);

  ASSERT_TRUE(wait_console(guest, "XO-D-UNLOADED", 90s)) << context();
  auto exit_code = guest.wait(60s);
  const std::string console = guest.console();
  ASSERT_TRUE(exit_code.has_value()) << context();
  EXPECT_EQ(*exit_code, 0) << context();
  EXPECT_NE(console.find("XO-IFINDEX eth1=3"), std::string::npos) << "guest_side_progs.bpf.c assumes eth1 is ifindex 3"
                                                                    << context();
  EXPECT_EQ(console.find("OFFLOAD-FAILED"), std::string::npos) << context();
  EXPECT_NE(console.find("XO-A-DEVMAP-SET"), std::string::npos) << context();

  // (a): the kept frames left eth1 unchanged; only they entered eth0.
  EXPECT_EQ(dropped_a, kOther) << "host drops seen by the sender";
  EXPECT_EQ(got_a, sent_a) << context();
  EXPECT_EQ(marker_value(console, "XO-A-END", "rx"), kKept) << "frames that entered eth0" << context();
  EXPECT_EQ(marker_value(console, "XO-A-END", "tx1"), kKept) << context();
  // (e): forged frames were dropped on the host and reached nothing.
  EXPECT_EQ(dropped_e, kForged);
  EXPECT_TRUE(got_e.empty()) << got_e.size() << " forged frames left eth1";
  EXPECT_EQ(marker_value(console, "XO-E-END", "rx"), 0) << context();
  EXPECT_EQ(marker_value(console, "XO-E-END", "tx1"), 0) << context();
  const std::string stats_ae = between(console, "XO-AE-STATS", "XO-AE-UNLOADED");
  EXPECT_EQ(stat_packets(stats_ae, "POLICY_DROP"), kForged) << stats_ae;
  EXPECT_EQ(stat_packets(stats_ae, "XDP_DROP"), kOther) << stats_ae;
  EXPECT_EQ(stat_packets(stats_ae, "XDP_REDIRECT"), kKept) << stats_ae;
  EXPECT_EQ(marker_value(console, "XO-AE-UNLOADED", "rc"), 0) << context();
  EXPECT_EQ(marker_value(console, "XO-AE-UNLOADED", "pins"), 0) << context();

  // (b)
  EXPECT_EQ(dropped_b, kOther);
  EXPECT_EQ(got_b, sent_b) << context();
  EXPECT_EQ(marker_value(console, "XO-B-END", "rx"), kKept) << context();
  EXPECT_EQ(marker_value(console, "XO-B-END", "tx1"), kKept) << context();
  EXPECT_EQ(marker_value(console, "XO-B-UNLOADED", "rc"), 0) << context();

  // (c): exactly the kept frames reached the AF_XDP socket.
  EXPECT_EQ(dropped_c, kOther);
  EXPECT_EQ(marker_value(console, "XO-C-END", "rc"), 0) << context();
  EXPECT_NE(console.find("xsk: 10 frames, 600 bytes, 10 udp:7001, 0 other"), std::string::npos) << context();
  EXPECT_EQ(marker_value(console, "XO-C-END", "rx"), kKept) << context();
  EXPECT_EQ(marker_value(console, "XO-C-UNLOADED", "pins"), 0) << context();

  // (d): exactly one sample per kept frame, each its header and the frame's
  // first 42 bytes; the frames themselves were dropped.
  EXPECT_EQ(dropped_d, kOther);
  EXPECT_EQ(marker_value(console, "XO-D-END", "rc"), 0) << context();
  EXPECT_NE(console.find("perf: 10 samples"), std::string::npos) << context();
  EXPECT_NE(console.find(", 0 lost"), std::string::npos) << context();
  for (const Frame& f : sent_d) {
    const std::string want = "sample: 4c 50 4d 5a 3c 00 00 00" + hex(f, 42);
    EXPECT_NE(console.find(want), std::string::npos) << "no sample" << want << context();
  }
  EXPECT_EQ(marker_value(console, "XO-D-END", "rx"), kKept) << context();

  (*daemon)->stop();
  run_command({"rm", "-rf", pin_root});
  std::printf("e2e_offload_deferred: (a) %zu/%zu on eth1, (e) %ld/%d forged dropped, (b) %zu/%zu, "
              "(c)/(d) see console\n%s\n",
              got_a.size(), sent_a.size(), dropped_e, kForged, got_b.size(), sent_b.size(),
              between(console, "XO-C-END", "XO-C-UNLOADED").c_str());
}

}  // namespace
}  // namespace xo::e2e
