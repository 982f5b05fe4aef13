// Leak test: after 100 offload/unload cycles on one long-lived session
// (PROG_UNLOAD, MAP_FREE, BTF_FREE; no RESET) and 100 abrupt disconnects
// (the socket closed mid-session with BTF, maps, program and tc filter
// alive), the daemon holds no BPF object, every object it ever held is gone
// from the kernel, no tc filter is left on the tap and the session's pin
// directory is gone.
//
// Counting: other processes (parallel tests, other users) create and free
// BPF objects at the same time, so a machine-wide census cannot be exact.
// Instead the test records every object id the daemon holds (its fds, from
// /proc/<pid>/fdinfo) while the session is alive, and checks that each of
// those ids is gone at the end; BPF ids are never reused quickly (cyclic
// idr), so "gone" is exact. The test is RUN_SERIAL all the same.
#include <gtest/gtest.h>

#include <thread>

#include "tests/daemon/harness.hpp"
#include "tests/host/netdev.hpp"

namespace xo::dtest {
namespace {

namespace ts = xo::transport;

TEST(DaemonLeak, HundredCyclesAndHundredAbruptDisconnectsLeaveNothing) {
  test::Tap tap;
  SessionSpec spec{unique_name("lk"), tap.name(), "", "requests_per_sec = 100000\nrequest_burst = 100000\n"};
  Daemon daemon({spec}, "warn");
  auto sub = xdp1_submission();
  ASSERT_TRUE(sub) << sub.error().message;
  ASSERT_TRUE(bpf_objects_held_by(daemon.pid()).empty());
  ASSERT_EQ(egress_programs(tap.name()), 0);
  const std::string pin_dir = "/sys/fs/bpf/xoffload/" + spec.name;

  std::set<std::pair<int, std::uint32_t>> seen;
  {
    auto client = connect_guest(daemon.session(0).socket);
    ASSERT_TRUE(client) << client.error().message;
    for (int i = 0; i < 100; ++i) {
      auto off = offload(*client, *sub, ts::kFlavorTc);
      ASSERT_TRUE(off) << "cycle " << i << ": " << off.error().message;
      ASSERT_EQ(egress_links(tap.name()), 1);
      auto held = bpf_objects_held_by(daemon.pid());
      ASSERT_GE(held.size(), 4u);
      seen.insert(held.begin(), held.end());
      ASSERT_TRUE(unload(*client, *off)) << "cycle " << i;
      ASSERT_EQ(egress_programs(tap.name()), 0) << "cycle " << i;
      // No RESET: unload's BTF_FREE must leave nothing behind, BTF included.
      ASSERT_TRUE(bpf_objects_held_by(daemon.pid()).empty()) << "cycle " << i;
    }
  }
  for (int i = 0; i < 100; ++i) {
    auto client = connect_guest(daemon.session(0).socket);
    ASSERT_TRUE(client) << client.error().message;
    auto off = offload(*client, *sub, ts::kFlavorTc);
    ASSERT_TRUE(off) << "disconnect " << i << ": " << off.error().message;
    auto held = bpf_objects_held_by(daemon.pid());
    seen.insert(held.begin(), held.end());
    ASSERT_EQ(egress_links(tap.name()), 1);
    // Abrupt: the guest vanishes with everything alive (no RESET, no unload).
    client->channel() = ts::Channel(UniqueFd(), "closed");
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while ((!bpf_objects_held_by(daemon.pid()).empty() || path_exists(pin_dir)) &&
           std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    ASSERT_TRUE(bpf_objects_held_by(daemon.pid()).empty()) << "disconnect " << i;
    ASSERT_FALSE(path_exists(pin_dir)) << "disconnect " << i;
  }

  EXPECT_TRUE(bpf_objects_held_by(daemon.pid()).empty());
  EXPECT_EQ(egress_programs(tap.name()), 0);
  EXPECT_FALSE(path_exists(pin_dir));
  // 200 offloads x (prog, rxcnt, stats map, BTF) at least.
  EXPECT_GE(seen.size(), 800u);
  auto alive = host::still_alive(as_refs(seen), std::chrono::seconds(10));
  std::string names;
  for (auto r : alive) names += host::describe(r) + " ";
  EXPECT_TRUE(alive.empty()) << alive.size() << " objects outlived their session: " << names;
  EXPECT_TRUE(daemon.running());
  EXPECT_EQ(daemon.stop(), 0) << daemon.log();
}

}  // namespace
}  // namespace xo::dtest
