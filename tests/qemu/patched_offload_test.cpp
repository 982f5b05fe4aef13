// Test (a) of issue 12: the standard XDP hardware-offload API in a patched
// guest kernel (kernel-patches/) under the patched QEMU (qemu-patches/),
// carried over the virtio-net control queue to a real xoffloadd.
//
//   host netns (fresh):  tap <- AF_PACKET frames; xoffloadd --session <name>:<tap>:<sock>
//   guest (TCG):         eth0 = virtio-net-pci,xdp-offload=<chardev on sock>
//                        iproute2's ip and bpftool (--add-dynamic)
//
// Checked:
//  - `ip link set dev eth0 xdpoffload obj xdp1_offload.o sec xdp` succeeds
//    and `bpftool prog show` lists the program as offloaded to eth0;
//  - while it is attached the tap's egress runs one program; frames sent
//    toward the guest are dropped on the host (the sender sees each drop)
//    and never reach eth0 (rx_packets does not move);
//  - `bpftool map dump` in the guest reads the host's counters: exactly the
//    frames sent, per protocol;
//  - the xdp1 sample's own offload flag (`xdp1 -H eth0`, XDP_FLAGS_HW_MODE
//    through libbpf) does the same: its totals, read with the ordinary map
//    syscalls the driver forwards, equal what was sent, none reached eth0;
//    its 512-request reads are paced by the driver (EAGAIN retried), with
//    the daemon's default request rate;
//  - detaching (`xdpoffload off`) leaves nothing on the tap; re-attaching
//    and then unbinding the driver (virtio device reset) leaves nothing;
//  - rebooting the guest (`reboot -f`, QEMU resets the machine) frees the
//    program at once: QEMU's device reset sends RESET, before the rebooted
//    driver's own CAPS; the rebooted guest offloads again;
//  - after the VM ends nothing of the session is left (tap, bpffs pins).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <netinet/in.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <regex>
#include <string>
#include <thread>

#include "tests/e2e/offload_daemon.hpp"
#include "tests/e2e/offload_traffic.hpp"
#include "tests/e2e/guest_console.hpp"
#include "tests/e2e/vm_boot_harness.hpp"

namespace xo::e2e {
namespace {

using namespace std::chrono_literals;
using Counts = std::map<int, long>;

constexpr const char* kGuestMac = "52:54:00:e2:e0:0a";
constexpr const char* kSenderMac = "02:00:00:e2:e0:0b";

constexpr const char* kGuestScript = R"SH(ip=/xo/ip; bt=/xo/bpftool
rx() { cat /sys/class/net/eth0/statistics/rx_packets; }
$ip link set dev eth0 xdpoffload obj xdp1_offload.o sec xdp; echo "XO-ATTACH rc=$?"
echo XO-PROGSHOW-BEGIN; $bt prog show; echo XO-PROGSHOW-END
r=$(rx); echo XO-READY; sleep 10; echo "XO-TRAFFIC-END rx=$(( $(rx) - r ))"
$bt map dump name rxcnt > /tmp/dump 2>&1; echo "XO-DUMP rc=$?"
echo XO-DUMP-BEGIN; grep -v 'value: 00 00 00 00 00 00 00 00' /tmp/dump; echo XO-DUMP-END
$ip link set dev eth0 xdpoffload off; echo "XO-DETACH rc=$?"
echo XO-DETACHED; sleep 6
r=$(rx); echo XO-XDP1-BEGIN; /xo/xdp1 -H eth0 --duration 16 --interval 4; rc=$?
echo "XO-XDP1-END rc=$rc rx=$(( $(rx) - r ))"
$ip link set dev eth0 xdpoffload obj xdp1_offload.o sec xdp; echo "XO-ATTACH2 rc=$?"
echo XO-ATTACHED2; sleep 6
d=$(basename "$(readlink /sys/class/net/eth0/device)")
echo "$d" > /sys/bus/virtio/drivers/virtio_net/unbind; echo "XO-UNBIND rc=$?"
echo XO-UNBOUND; sleep 6
echo "$d" > /sys/bus/virtio/drivers/virtio_net/bind; echo "XO-BIND rc=$?"
sleep 1; $ip link set dev eth0 xdpoffload obj xdp1_offload.o sec xdp; echo "XO-ATTACH3 rc=$?"
echo XO-ATTACHED3; sleep 6
echo XO-REBOOTING; reboot -f; sleep 60
)SH";

std::string run_build_script(const char* script) {
  auto r = run_command({script});
  if (r.exit_code != 0) return "";
  auto end = r.output.find_last_not_of("\n");
  auto start = r.output.rfind('\n', end);
  return r.output.substr(start == std::string::npos ? 0 : start + 1, end - (start == std::string::npos ? 0 : start + 1) + 1);
}


std::string between(const std::string& text, const std::string& from, const std::string& to) {
  const auto a = text.find(from);
  if (a == std::string::npos) return "";
  const auto b = text.find(to, a);
  return text.substr(a, b == std::string::npos ? std::string::npos : b - a);
}


// bpftool's plain dump: "key: 11 00 00 00  value: 1e 00 00 00 00 00 00 00".
Counts dump_counts(const std::string& dump) {
  Counts c;
  static const std::regex re(R"(key: ([0-9a-f]{2}) 00 00 00\s+value:((?: [0-9a-f]{2}){8}))");
  for (std::sregex_iterator it(dump.begin(), dump.end(), re), end; it != end; ++it) {
    std::string bytes = (*it)[2];
    long v = 0;
    for (int i = 7; i >= 0; --i) v = v << 8 | std::stol(bytes.substr(1 + 3 * i, 2), nullptr, 16);
    c[std::stoi((*it)[1], nullptr, 16)] = v;
  }
  return c;
}

std::string egress_hook(const std::string& netns, const std::string& tap) {
  return "tcx programs: " + run_in_netns(netns, {"python3", XO_TCX_EGRESS_COUNT, tap}).output +
         run_in_netns(netns, {"tc", "filter", "show", "dev", tap, "egress"}).output;
}

TEST(PatchedOffload, IpLinkXdpoffloadRunsXdp1OnTheHost) {
  const std::string qemu = run_build_script(XO_QEMU_BUILD);
  ASSERT_FALSE(qemu.empty()) << "qemu-patches/build failed";
  // XO_PATCHED_KERNEL names another guest kernel (e.g. one without the
  // driver patch, to see this test fail).
  const char* kernel_env = std::getenv("XO_PATCHED_KERNEL");
  const std::string kernel = kernel_env && *kernel_env ? kernel_env : run_build_script(XO_KERNEL_BUILD);
  ASSERT_FALSE(kernel.empty()) << "kernel-patches/build failed";
  ASSERT_EQ(system("mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf"), 0);
  auto vm_dir = ensure_vm_image();
  ASSERT_TRUE(vm_dir.ok()) << vm_dir.error().describe();
  auto netns = TestNetns::create();
  ASSERT_TRUE(netns.ok()) << netns.error().describe();
  auto tap = TestTap::create(*netns, unique_name("xopa"), "");
  ASSERT_TRUE(tap.ok()) << tap.error().describe();
  auto v6 = run_in_netns(netns->name(), {"sysctl", "-qw", "net.ipv6.conf." + tap->name() + ".disable_ipv6=1"});
  ASSERT_EQ(v6.exit_code, 0) << v6.output;

  const std::string tag = unique_name("xo-e2e-pat-", 40);
  const std::string sock = "/tmp/" + tag + ".sock";
  const std::string pin_root = "/sys/fs/bpf/" + tag;
  const std::string session = unique_name("pat", 15);
  // The session keeps the daemon's default request rate (1000/s, burst
  // 200): bpftool's map dump and each xdp1 report are 512 requests at once,
  // which the guest driver paces by retrying EAGAIN.
  const std::string conf = "/tmp/" + tag + ".conf";
  {
    std::ofstream c(conf);
    c << "[daemon]\npin_root = " << pin_root << "\nstate_dir = /tmp/" << tag << ".state\n\n[session " << session
      << "]\ntap = " << tap->name() << "\nsocket = " << sock << "\n";
  }
  struct FilesGone {
    std::string conf, state;
    ~FilesGone() {
      std::error_code ec;
      std::filesystem::remove(conf, ec);
      std::filesystem::remove_all(state, ec);
    }
  } files_gone{conf, "/tmp/" + tag + ".state"};
  auto daemon = DaemonProcess::start(XO_DAEMON, netns->name(), {"--config", conf, "--log-level", "debug"}, sock,
                                     "/tmp/" + tag + ".daemon.log");
  ASSERT_TRUE(daemon.ok()) << daemon.error().describe();

  GuestVmOptions o;
  o.vm_dir = *vm_dir;
  o.netns = netns->name();
  o.tap = tap->name();
  o.mac = kGuestMac;
  o.cmd = kGuestScript;
  o.timeout_s = 600;
  o.adds.push_back(XO_XDP1_OFFLOAD_OBJ);
  for (const char* f : {"xdp1", "xdp1_kern.o"}) o.adds.push_back(std::string(XO_GUEST_TOOLS_DIR) + "/" + f);
  o.extra_args = {"--qemu", qemu, "--kernel", kernel, "--xdp-offload-socket", sock, "--reboot",
                  "--add-dynamic", "/usr/sbin/ip", "--add-dynamic", "/usr/sbin/bpftool"};
  auto vm = GuestVm::start(o);
  ASSERT_TRUE(vm.ok()) << vm.error().describe();
  GuestVm& guest = **vm;
  auto psock = PacketSocket::open(netns->name(), tap->name());
  ASSERT_TRUE(psock.ok()) << psock.error().describe();
  auto context = [&] { return "\nconsole:\n" + guest.console() + "\nrun-vm:\n" + guest.runner_output() +
                              "\ndaemon log:\n" + (*daemon)->log(); };
  const Mac dst = *parse_mac(kGuestMac), src = *parse_mac(kSenderMac);
  std::uint16_t seq = 1;
  // Sends `counts` toward the guest; returns how many the host dropped.
  auto send = [&](const Counts& counts) {
    long dropped = 0;
    for (const auto& [proto, n] : counts)
      for (long i = 0; i < n; ++i) {
        auto took = psock->send(build_ipv4_frame(FrameSpec{dst, src, std::uint8_t(proto), 0x0ac90001, 0x0ac90002, seq++}));
        EXPECT_TRUE(took.ok()) << took.error().message;
        if (took.ok() && !*took) ++dropped;
      }
    return dropped;
  };

  // ip link ... xdpoffload
  ASSERT_TRUE(wait_console(guest, "XO-READY", 240s)) << context();
  const std::string hook_attached = egress_hook(netns->name(), tap->name());
  const Counts sent = {{IPPROTO_UDP, 30}, {IPPROTO_TCP, 20}, {IPPROTO_ICMP, 10}};
  const long dropped = send(sent);
  ASSERT_TRUE(wait_console(guest, "XO-DETACHED", 120s)) << context();
  std::this_thread::sleep_for(2s);
  const std::string hook_detached = egress_hook(netns->name(), tap->name());

  // xdp1 -H
  ASSERT_TRUE(wait_console(guest, "xdp1: attached", 120s)) << context();
  const std::string hook_xdp1 = egress_hook(netns->name(), tap->name());
  const Counts sent_xdp1 = {{IPPROTO_UDP, 12}, {IPPROTO_TCP, 8}, {IPPROTO_ICMP, 4}};
  const long dropped_xdp1 = send(sent_xdp1);
  ASSERT_TRUE(wait_console(guest, "XO-XDP1-END", 120s)) << context();

  // Re-attach, unbind (device reset), bind, attach again.
  ASSERT_TRUE(wait_console(guest, "XO-ATTACHED2", 60s)) << context();
  std::this_thread::sleep_for(2s);
  const std::string hook_attached2 = egress_hook(netns->name(), tap->name());
  ASSERT_TRUE(wait_console(guest, "XO-UNBOUND", 60s)) << context();
  std::this_thread::sleep_for(2s);
  const std::string hook_unbound = egress_hook(netns->name(), tap->name());
  ASSERT_TRUE(wait_console(guest, "XO-ATTACHED3", 60s)) << context();
  std::this_thread::sleep_for(2s);
  const std::string hook_attached3 = egress_hook(netns->name(), tap->name());

  // Reboot: QEMU resets the machine; the program must go at once, freed by
  // the RESET QEMU's device reset sends (before the rebooted driver's CAPS).
  // (The daemon's log from before the reboot: QEMU's reset can come before
  // this test reads the console's XO-REBOOTING.)
  const std::size_t log_before_reboot = (*daemon)->log().size();
  ASSERT_TRUE(wait_console(guest, "XO-REBOOTING", 60s)) << context();
  std::string hook_rebooted;
  for (int i = 0; i < 150; ++i) {
    hook_rebooted = egress_hook(netns->name(), tap->name());
    if (hook_rebooted.find("tcx programs: 0\n") != std::string::npos) break;
    std::this_thread::sleep_for(200ms);
  }
  auto attaches = [&] {
    const std::string c = guest.console();
    std::size_t n = 0;
    for (auto at = c.find("XO-ATTACH rc="); at != std::string::npos; at = c.find("XO-ATTACH rc=", at + 1)) ++n;
    return n;
  };
  const auto reattach_deadline = std::chrono::steady_clock::now() + 300s;
  while (attaches() < 2 && std::chrono::steady_clock::now() < reattach_deadline && !guest.wait(0ms))
    std::this_thread::sleep_for(200ms);
  const std::string console = guest.console();
  const std::string after_reboot_log = (*daemon)->log().substr(log_before_reboot);
  ASSERT_GE(attaches(), 2u) << "the rebooted guest did not come back" << context();
  const std::string console_rebooted = console.substr(console.find("XO-REBOOTING"));
  vm->reset();  // ends QEMU (by its pid)

  // The standard API: attached, shown as offloaded to eth0.
  EXPECT_EQ(marker_value(console, "XO-ATTACH ", "rc"), 0) << console;
  const std::string progs = between(console, "XO-PROGSHOW-BEGIN", "XO-PROGSHOW-END");
  EXPECT_NE(progs.find("offloaded_to eth0"), std::string::npos) << progs;
  EXPECT_NE(hook_attached.find("tcx programs: 1\n"), std::string::npos) << hook_attached;

  // Counted and dropped on the host; nothing reached the guest.
  EXPECT_EQ(dropped, 60);
  EXPECT_EQ(marker_value(console, "XO-TRAFFIC-END", "rx"), 0) << console;
  EXPECT_EQ(marker_value(console, "XO-DUMP", "rc"), 0) << console;
  const Counts counted = dump_counts(between(console, "XO-DUMP-BEGIN", "XO-DUMP-END"));
  EXPECT_EQ(counted, sent) << between(console, "XO-DUMP-BEGIN", "XO-DUMP-END");

  // The xdp1 sample's offload flag: the same, its totals from the host's map.
  const std::string xdp1_out = between(console, "XO-XDP1-BEGIN", "XO-XDP1-END");
  EXPECT_NE(xdp1_out.find("xdp1: attached xdp_prog1 to eth0 (XDP hardware offload"), std::string::npos) << xdp1_out;
  EXPECT_NE(hook_xdp1.find("tcx programs: 1\n"), std::string::npos) << hook_xdp1;
  EXPECT_EQ(dropped_xdp1, 24);
  EXPECT_EQ(marker_value(console, "XO-XDP1-END", "rc"), 0) << xdp1_out;
  EXPECT_EQ(marker_value(console, "XO-XDP1-END", "rx"), 0) << xdp1_out;
  const Counts totals_xdp1 = proto_totals(xdp1_out);
  EXPECT_EQ(totals_xdp1, sent_xdp1) << xdp1_out;

  // Detach, and a device reset (driver unbound), leave nothing on the tap.
  EXPECT_EQ(marker_value(console, "XO-DETACH ", "rc"), 0) << console;
  EXPECT_NE(hook_detached.find("tcx programs: 0\n"), std::string::npos) << hook_detached;
  EXPECT_EQ(marker_value(console, "XO-ATTACH2", "rc"), 0) << console;
  EXPECT_NE(hook_attached2.find("tcx programs: 1\n"), std::string::npos) << hook_attached2;
  EXPECT_EQ(marker_value(console, "XO-UNBIND", "rc"), 0) << console;
  EXPECT_NE(hook_unbound.find("tcx programs: 0\n"), std::string::npos) << hook_unbound;
  EXPECT_EQ(marker_value(console, "XO-BIND", "rc"), 0) << console;
  EXPECT_EQ(marker_value(console, "XO-ATTACH3", "rc"), 0) << console;
  EXPECT_NE(hook_attached3.find("tcx programs: 1\n"), std::string::npos) << hook_attached3;

  // A reboot frees it, through QEMU's reset, and the rebooted guest offloads again.
  EXPECT_NE(hook_rebooted.find("tcx programs: 0\n"), std::string::npos) << hook_rebooted;
  const auto reset_at = after_reboot_log.find("RESET from the guest: freeing 1 programs");
  const auto caps_at = after_reboot_log.find("CAPS: version");
  EXPECT_NE(reset_at, std::string::npos) << after_reboot_log;
  EXPECT_TRUE(caps_at == std::string::npos || reset_at < caps_at) << after_reboot_log;
  EXPECT_EQ(marker_value(console_rebooted, "XO-ATTACH ", "rc"), 0) << console_rebooted;

  // After the VM: nothing of the session on the tap or in bpffs.
  std::this_thread::sleep_for(1s);
  const std::string hook_end = egress_hook(netns->name(), tap->name());
  EXPECT_NE(hook_end.find("tcx programs: 0\n"), std::string::npos) << hook_end;
  (*daemon)->stop();
  auto leftover = run_command({"find", pin_root, "-mindepth", "1"});
  EXPECT_TRUE(leftover.output.empty() || leftover.exit_code != 0) << "pins left:\n" << leftover.output;
  run_command({"rm", "-rf", pin_root});
  std::printf("patched offload: ip link counted udp %ld tcp %ld icmp %ld, xdp1 -H totals udp %ld; guest rx %ld\n",
              counted.count(IPPROTO_UDP) ? counted.at(IPPROTO_UDP) : -1,
              counted.count(IPPROTO_TCP) ? counted.at(IPPROTO_TCP) : -1,
              counted.count(IPPROTO_ICMP) ? counted.at(IPPROTO_ICMP) : -1,
              totals_xdp1.count(IPPROTO_UDP) ? totals_xdp1.at(IPPROTO_UDP) : -1,
              marker_value(console, "XO-TRAFFIC-END", "rx"));
}

}  // namespace
}  // namespace xo::e2e
