// e2e_vm_boot: the TCG guest boots, reaches the host over its virtio-net NIC
// on a tap, reaches the host's unix socket over the virtio-serial port
// org.xoffload.0, and powers itself off when its command ends.
//
// The host side lives in a fresh network namespace (tap + 10.200.0.1/24), so
// the test never touches the machine's own interfaces or routes.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "tests/e2e/vm_boot_harness.hpp"

namespace xo::e2e {
namespace {

using namespace std::chrono_literals;

constexpr const char* kHostCidr = "10.200.0.1/24";
constexpr const char* kGuestCidr = "10.200.0.2/24";

// ping: up to 10 s for the link and ARP to settle (a TCG guest is slow).
constexpr const char* kGuestCmd =
    "if ping -c 1 -w 10 10.200.0.1 >/dev/null; then echo GUEST-PING-OK; else echo GUEST-PING-FAIL; fi\n"
    "echo hello-from-guest > /dev/xoffload0 && echo GUEST-SERIAL-OK\n"
    "cat /proc/uptime | sed 's/^/GUEST-UPTIME /'\n";

TEST(VmBoot, PingsHostWritesSerialAndPowersOff) {
  auto vm_dir = ensure_vm_image();
  ASSERT_TRUE(vm_dir.ok()) << vm_dir.error().describe();

  auto netns = TestNetns::create();
  ASSERT_TRUE(netns.ok()) << netns.error().describe();
  auto tap = TestTap::create(*netns, unique_name("xovm"), kHostCidr);
  ASSERT_TRUE(tap.ok()) << tap.error().describe();
  auto peer = SerialPeer::listen("/tmp/" + unique_name("xo-vm-serial-", 40) + ".sock");
  ASSERT_TRUE(peer.ok()) << peer.error().describe();

  GuestVmOptions options;
  options.vm_dir = *vm_dir;
  options.netns = netns->name();
  options.tap = tap->name();
  options.guest_cidr = kGuestCidr;
  options.serial_socket = (*peer)->path();
  options.cmd = kGuestCmd;
  options.timeout_s = 200;  // below the ctest TIMEOUT so run-vm reports it

  auto started = std::chrono::steady_clock::now();
  auto vm = GuestVm::start(options);
  ASSERT_TRUE(vm.ok()) << vm.error().describe();
  std::optional<int> exit_code = (*vm)->wait(240s);
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  std::string console = (*vm)->console();
  ASSERT_TRUE(exit_code.has_value()) << "VM still running after 240 s; console:\n" << console;
  std::printf("e2e_vm_boot: VM ran for %.2f s (start to power-off)\n", seconds);
  EXPECT_EQ(*exit_code, 0) << "run-vm output:\n" << (*vm)->runner_output() << "\nconsole:\n"
                           << console;
  EXPECT_NE(console.find("GUEST-PING-OK"), std::string::npos) << console;
  EXPECT_NE(console.find("GUEST-SERIAL-OK"), std::string::npos) << console;
  EXPECT_NE(console.find("xo-exit: 0"), std::string::npos) << console;

  // QEMU flushes the port before exiting, but the peer's thread may still be
  // reading it.
  for (int i = 0; i < 50 && (*peer)->received().find("hello-from-guest\n") == std::string::npos; ++i)
    std::this_thread::sleep_for(100ms);
  EXPECT_EQ((*peer)->received(), "hello-from-guest\n");
  EXPECT_GE((*peer)->connections(), 1);
}

// Native XDP in the guest runs on the NIC's rx path: with an XDP_PASS
// program attached the host still answers the guest's pings; with XDP_DROP
// the replies never reach the stack; once detached, pings work again.
TEST(VmBoot, GuestNativeXdpSeesNicRx) {
  auto vm_dir = ensure_vm_image();
  ASSERT_TRUE(vm_dir.ok()) << vm_dir.error().describe();
  auto netns = TestNetns::create();
  ASSERT_TRUE(netns.ok()) << netns.error().describe();
  auto tap = TestTap::create(*netns, unique_name("xovm"), kHostCidr);
  ASSERT_TRUE(tap.ok()) << tap.error().describe();

  GuestVmOptions options;
  options.vm_dir = *vm_dir;
  options.netns = netns->name();
  options.tap = tap->name();
  options.guest_cidr = kGuestCidr;
  options.adds = {XO_VM_BOOT_XDP};
  options.timeout_s = 200;
  options.cmd =
      "probe() {\n"
      "  out=/tmp/xdp-$1.out; : > $out\n"
      "  vm_boot_xdp eth0 $1 60 > $out 2>&1 &\n"
      "  pid=$!; i=0\n"
      "  while ! grep -q XDP-ATTACH-OK $out && kill -0 $pid 2>/dev/null && [ $i -lt 200 ]; do\n"
      "    sleep 0.1; i=$((i + 1))\n"
      "  done\n"
      "  cat $out\n"
      "  if ping -c 2 -w 3 10.200.0.1 >/dev/null; then echo PING-WITH-$1-OK; else echo PING-WITH-$1-BLOCKED; fi\n"
      "  kill $pid; wait $pid\n"
      "}\n"
      "ping -c 1 -w 10 10.200.0.1 >/dev/null && echo PING-BEFORE-OK\n"
      "probe pass\n"
      "probe drop\n"
      "ping -c 1 -w 10 10.200.0.1 >/dev/null && echo PING-AFTER-OK\n";

  auto vm = GuestVm::start(options);
  ASSERT_TRUE(vm.ok()) << vm.error().describe();
  std::optional<int> exit_code = (*vm)->wait(240s);
  std::string console = (*vm)->console();
  ASSERT_TRUE(exit_code.has_value()) << "VM still running after 240 s; console:\n" << console;
  EXPECT_EQ(*exit_code, 0) << (*vm)->runner_output() << console;
  for (const char* marker : {"PING-BEFORE-OK", "XDP-ATTACH-OK eth0 pass", "PING-WITH-pass-OK",
                             "XDP-ATTACH-OK eth0 drop", "PING-WITH-drop-BLOCKED", "PING-AFTER-OK"})
    EXPECT_NE(console.find(marker), std::string::npos) << "missing " << marker << " in:\n" << console;
}

// The runner's timeout kills only its own QEMU and reports 124.
TEST(VmBoot, TimeoutKillsTheGuest) {
  auto vm_dir = ensure_vm_image();
  ASSERT_TRUE(vm_dir.ok()) << vm_dir.error().describe();
  GuestVmOptions options;
  options.vm_dir = *vm_dir;
  options.cmd = "echo GUEST-SLEEPING; sleep 600";
  options.timeout_s = 25;  // long enough to boot under a loaded ctest -j
  auto vm = GuestVm::start(options);
  ASSERT_TRUE(vm.ok()) << vm.error().describe();
  std::optional<int> exit_code = (*vm)->wait(60s);
  ASSERT_TRUE(exit_code.has_value()) << "run-vm did not stop its QEMU after its timeout";
  EXPECT_EQ(*exit_code, 124) << (*vm)->runner_output();
  EXPECT_NE((*vm)->console().find("GUEST-SLEEPING"), std::string::npos) << (*vm)->console();
  auto qemu = (*vm)->qemu_pid();
  ASSERT_TRUE(qemu.has_value()) << (*vm)->runner_output();
  EXPECT_NE(kill(*qemu, 0), 0) << "qemu pid " << *qemu << " still alive";
}

}  // namespace
}  // namespace xo::e2e
