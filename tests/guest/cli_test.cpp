// The static guest executables (xoffload-guest, xdp1 --offload) run as child
// processes against the real session library (tests/guest/session_host.hpp)
// on a unix socket: what they print, and what they leave on the host.
#include <gtest/gtest.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <future>
#include <regex>
#include <thread>

#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "core/unique_fd.hpp"

#include "tests/guest/session_host.hpp"
#include "tests/host/netdev.hpp"

namespace xo::guest {
namespace {

using test::Bytes;
using test::SessionHost;

unsigned cpus() { return static_cast<unsigned>(libbpf_num_possible_cpus()); }

using RunResult = xo::test::CommandResult;
RunResult run(const std::string& cmd) { return xo::test::run_command(cmd); }

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

class GuestCli : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string tag = std::to_string(getpid()) + "-" + ::testing::UnitTest::GetInstance()->current_test_info()->name();
    sock_ = "/tmp/xo-guest-cli-" + tag + ".sock";
    state_ = "/tmp/xo-guest-cli-" + tag + ".state";
    session::SessionQuotas q;
    q.max_maps = 8;
    host_ = std::make_unique<SessionHost>(sock_, q);
  }
  void TearDown() override {
    host_.reset();
    std::remove(state_.c_str());
  }
  std::string cli(const std::string& args) const {
    return std::string(XO_GUEST_CLI) + " --port " + sock_ + " --state " + state_ + " " + args;
  }
  std::string sock_, state_;
  std::unique_ptr<SessionHost> host_;
};

TEST_F(GuestCli, IsAStaticExecutable) {
  auto r = run("file -L " + std::string(XO_GUEST_CLI) + " " + XO_XDP1 + " " + XO_XDP2);
  ASSERT_EQ(r.code, 0) << r.out;
  std::size_t statics = 0;
  for (std::size_t pos = 0; (pos = r.out.find("statically linked", pos)) != std::string::npos; ++pos) ++statics;
  EXPECT_EQ(statics, 3u) << r.out;
}

TEST_F(GuestCli, CapsOffloadMapsDumpStatsUnload) {
  auto caps = run(cli("caps --json"));
  ASSERT_EQ(caps.code, 0) << caps.out;
  EXPECT_TRUE(contains(caps.out, "\"flavors\":\"tc,chain\"")) << caps.out;
  EXPECT_TRUE(contains(caps.out, "\"max_maps\":8")) << caps.out;

  auto off = run(cli("offload " + std::string(XO_EXAMPLES_BIN) + "/xdp1/xdp1_kern.o --flavor tc"));
  ASSERT_EQ(off.code, 0) << off.out;
  // The session's handles: BTF 1, map 2, program 3.
  EXPECT_TRUE(contains(off.out, "prog 3 'xdp_prog1' flavor tc attached")) << off.out;
  EXPECT_TRUE(contains(off.out, "map 2 'rxcnt' percpu_array key 4 value 8 max_entries 256")) << off.out;
  ASSERT_EQ(host_->programs(), 1u);
  EXPECT_NE(host_->attached_prog_id(), 0u);

  // A later process finds the handles through the state file.
  auto maps = run(cli("maps --json"));
  ASSERT_EQ(maps.code, 0) << maps.out;
  EXPECT_TRUE(contains(maps.out, "\"name\":\"rxcnt\",\"handle\":2")) << maps.out;

  ASSERT_TRUE(host_->set_percpu_u64("rxcnt", 17, 9).ok());
  auto dump = run(cli("dump-map rxcnt"));
  ASSERT_EQ(dump.code, 0) << dump.out;
  EXPECT_TRUE(contains(dump.out, "key: 11 00 00 00  value: 09 00 00 00 00 00 00 00")) << dump.out;
  EXPECT_TRUE(contains(dump.out, "sum: " + std::to_string(9 * cpus()) + "\n")) << dump.out;
  auto no_map = run(cli("dump-map txcnt"));
  EXPECT_NE(no_map.code, 0);
  EXPECT_TRUE(contains(no_map.out, "no offloaded map named 'txcnt'")) << no_map.out;

  // Seven frames into the tap's Tx path: xdp1 drops them on the host.
  xo::test::PacketSocket tx(static_cast<int>(if_nametoindex(host_->tap().c_str())));
  const std::uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(tx.send_ok(xo::test::ipv4_frame(17, mac, mac)));
  auto stats = run(cli("stats"));
  ASSERT_EQ(stats.code, 0) << stats.out;
  EXPECT_TRUE(std::regex_search(stats.out, std::regex(R"(XDP_DROP +7 pkts)"))) << stats.out;

  auto unload = run(cli("unload"));
  ASSERT_EQ(unload.code, 0) << unload.out;
  EXPECT_EQ(host_->programs(), 0u);
  EXPECT_EQ(host_->maps(), 0u);
  auto after = run(cli("maps"));
  EXPECT_TRUE(contains(after.out, "no offloaded programs")) << after.out;
}

TEST_F(GuestCli, ErrorsExitNonZeroWithOneLine) {
  auto bad_flavor = run(cli("offload " + std::string(XO_EXAMPLES_BIN) + "/xdp1/xdp1_kern.o --flavor xdp"));
  EXPECT_NE(bad_flavor.code, 0);
  EXPECT_TRUE(contains(bad_flavor.out, "unknown flavor 'xdp'")) << bad_flavor.out;
  auto missing = run(cli("offload /nonexistent.o"));
  EXPECT_NE(missing.code, 0);
  EXPECT_TRUE(contains(missing.out, "/nonexistent.o")) << missing.out;
  auto no_host = run(std::string(XO_GUEST_CLI) + " --port /tmp/xo-no-such-socket-" + std::to_string(getpid()) + " caps");
  EXPECT_NE(no_host.code, 0);
  EXPECT_EQ(host_->programs(), 0u);
}

// The guest tools' command lines go through the one parser: --version,
// --help (top level and per command), and usage errors exit 2 before
// anything reaches the host.
TEST_F(GuestCli, VersionHelpAndUsageErrors) {
  for (const std::string& bin : {std::string(XO_GUEST_CLI), std::string(XO_XDP1), std::string(XO_XDP2)}) {
    const std::string name = bin.substr(bin.rfind('/') + 1);
    auto v = run(bin + " --version");
    EXPECT_EQ(v.code, 0) << bin;
    EXPECT_EQ(v.out, name + " " XO_PROJECT_VERSION "\n");
    auto h = run(bin + " --help");
    EXPECT_EQ(h.code, 0) << bin;
    EXPECT_EQ(h.out.rfind("usage: " + name + " ", 0), 0u) << h.out;
  }
  auto offload_help = run(cli("offload --help"));
  EXPECT_EQ(offload_help.code, 0);
  EXPECT_EQ(offload_help.out.rfind("usage: xoffload-guest offload FILE", 0), 0u) << offload_help.out;
  EXPECT_TRUE(contains(offload_help.out, "--hold SECONDS")) << offload_help.out;

  const std::string obj = std::string(XO_EXAMPLES_BIN) + "/xdp1/xdp1_kern.o";
  for (const std::string& bad :
       {std::string(XO_GUEST_CLI), cli(""), cli("frobnicate"), cli("offload"), cli("caps --bogus"),
        cli("dump-map"), cli("stats extra"), cli("offload " + obj + " --hold soon"),
        std::string(XO_GUEST_CLI) + " --port", std::string(XO_XDP1), std::string(XO_XDP1) + " -n x lo",
        std::string(XO_XDP1) + " --bogus lo", std::string(XO_XDP2) + " lo eth0"}) {
    auto r = run(bad);
    EXPECT_EQ(r.code, 2) << bad << "\n" << r.out;
  }
  auto unknown = run(cli("caps --bogus"));
  EXPECT_TRUE(contains(unknown.out, "xoffload-guest: caps: unknown option '--bogus'")) << unknown.out;
  auto no_file = run(cli("offload"));
  EXPECT_TRUE(contains(no_file.out, "offload: FILE missing")) << no_file.out;
  EXPECT_EQ(host_->programs(), 0u);
  EXPECT_EQ(host_->maps(), 0u);
}

// --map-size sets max_entries before load, on xoffload-guest and on the
// example loader: the host creates the map at that size.
TEST_F(GuestCli, MapSizeReachesTheHost) {
  const std::string obj = std::string(XO_EXAMPLES_BIN) + "/xdp1/xdp1_kern.o";
  auto off = run(cli("offload " + obj + " --map-size rxcnt=64"));
  ASSERT_EQ(off.code, 0) << off.out;
  EXPECT_TRUE(contains(off.out, "map 2 'rxcnt' percpu_array key 4 value 8 max_entries 64")) << off.out;
  ASSERT_EQ(host_->maps(), 1u);
  EXPECT_EQ(host_->map_max_entries("rxcnt"), 64u);
  ASSERT_EQ(run(cli("unload")).code, 0);

  auto unknown = run(cli("offload " + obj + " --map-size txcnt=64"));
  EXPECT_NE(unknown.code, 0);
  EXPECT_TRUE(contains(unknown.out, "map size for 'txcnt': the object has no such map (maps: rxcnt)")) << unknown.out;
  auto bad = run(cli("offload " + obj + " --map-size rxcnt=0"));
  EXPECT_NE(bad.code, 0);
  EXPECT_TRUE(contains(bad.out, "--map-size")) << bad.out;
  EXPECT_EQ(host_->maps(), 0u);

  auto child = std::async(std::launch::async, [&] {
    return run(std::string(XO_XDP1) + " --offload --map-size rxcnt=32 --port " + sock_ + " --duration 1 lo");
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  std::uint32_t seen = 0;
  while (seen == 0 && std::chrono::steady_clock::now() < deadline) {
    seen = host_->map_max_entries("rxcnt");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  RunResult r = child.get();
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(seen, 32u) << r.out;
}

// xdp1 --offload reads the host's per-CPU counters, prints the sample's
// per-second lines and the totals, and unloads on exit.
TEST_F(GuestCli, Xdp1OffloadPrintsHostCountersAndUnloads) {
  auto child = std::async(std::launch::async, [&] {
    return run(std::string(XO_XDP1) + " --offload --port " + sock_ + " --duration 2.5 lo");
  });
  // Wait for its map, then count 4 UDP and 2 TCP packets "on the host".
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (host_->attached_prog_id() == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_NE(host_->attached_prog_id(), 0u);
  ASSERT_TRUE(host_->set_percpu_u64("rxcnt", 17, 4).ok());
  ASSERT_TRUE(host_->set_percpu_u64("rxcnt", 6, 2).ok());
  RunResult r = child.get();
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "xdp1: offloaded xdp_prog1 to the host for lo (flavor tc")) << r.out;
  EXPECT_TRUE(std::regex_search(r.out, std::regex(R"(\nproto 17: +[0-9]+ pkt/s\n)"))) << r.out;
  EXPECT_TRUE(contains(r.out, "total proto 17: " + std::to_string(4 * cpus()) + "\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "total proto 6: " + std::to_string(2 * cpus()) + "\n")) << r.out;
  EXPECT_FALSE(contains(r.out, "total proto 1:")) << r.out;
  EXPECT_EQ(host_->programs(), 0u);
  EXPECT_EQ(host_->maps(), 0u);
}

// xdp1 -H is the kernel's hardware offload: lo has no offload device, so the
// kernel refuses the program bound to it, and nothing is attached. -H with
// --offload (the other door) is a usage error. (The patched VM test,
// patched_offload_xdp1, runs -H where it works.)
TEST_F(GuestCli, Xdp1HardwareOffloadNeedsAnOffloadDevice) {
  RunResult both = run(std::string(XO_XDP1) + " -H --offload --port " + sock_ + " lo");
  EXPECT_EQ(both.code, 2) << both.out;
  EXPECT_TRUE(contains(both.out, "-H offloads through the NIC's driver, --offload through xoffload's channel")) << both.out;
  RunResult modes = run(std::string(XO_XDP1) + " -S -H lo");
  EXPECT_EQ(modes.code, 2) << modes.out;
  EXPECT_TRUE(contains(modes.out, "choose one mode")) << modes.out;
  RunResult r = run(std::string(XO_XDP1) + " -H --duration 1 lo");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_TRUE(contains(r.out, "xdp1: loading ")) << r.out;
  EXPECT_FALSE(contains(r.out, "attached")) << r.out;
  __u32 id = 0;
  ASSERT_EQ(bpf_xdp_query_id(int(if_nametoindex("lo")), XDP_FLAGS_HW_MODE, &id), 0);
  EXPECT_EQ(id, 0u);
}

// The id of the XDP program on `ifname` in this netns (generic or native), 0 for none.
std::uint32_t xdp_prog_on(const std::string& ifname) {
  __u32 id = 0;
  if (bpf_xdp_query_id(int(if_nametoindex(ifname.c_str())), 0, &id) != 0) return 0;
  return id;
}

// Polls `done` every 20 ms for up to `seconds`.
template <typename Done>
bool wait_until(Done done, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(long(seconds * 1000));
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// `n` UDP datagrams to 127.0.0.1 through this netns's lo.
void send_udp_on_lo(int n) {
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(9);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < n; ++i)
    (void)::sendto(s.get(), "x", 1, 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
}

// The host says it lost the program: xdp1 does not exit. It frees what the
// host still holds, runs the program natively on its NIC (the kernel shows
// it on lo, and it counts lo's frames), tries the host again, offloads anew
// and removes the native program. The totals add both.
TEST_F(GuestCli, Xdp1RunsNativelyWhenTheHostLosesItAndOffloadsAgain) {
  ::system("ip link set lo up");
  ASSERT_EQ(xdp_prog_on("lo"), 0u);
  auto child = std::async(std::launch::async, [&] {
    return run(std::string(XO_XDP1) + " --offload --port " + sock_ + " --duration 14 --retry 4 lo");
  });
  ASSERT_TRUE(wait_until([&] { return host_->attached_prog_id() != 0; }, 10));
  host_->send_event({xo::transport::EventKind::OffloadLost, 3, "tap xotap0 went away"});
  ASSERT_TRUE(wait_until([&] { return xdp_prog_on("lo") != 0; }, 5)) << "no native program after the event";
  EXPECT_EQ(host_->programs(), 0u);  // the guest freed the host's copy
  send_udp_on_lo(5);                 // counted (and dropped) by the native xdp1
  ASSERT_TRUE(wait_until([&] { return host_->attached_prog_id() != 0; }, 10)) << "not offloaded again";
  EXPECT_TRUE(wait_until([&] { return xdp_prog_on("lo") == 0; }, 5)) << "native program left on lo";
  ASSERT_TRUE(host_->set_percpu_u64("rxcnt", 6, 2).ok());
  RunResult r = child.get();
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "host event: offload lost (prog 3): tap xotap0 went away")) << r.out;
  EXPECT_TRUE(contains(r.out, "offload lost: running 'xdp_prog1' natively on lo")) << r.out;
  EXPECT_TRUE(contains(r.out, "offloaded again (prog handle")) << r.out;
  EXPECT_TRUE(contains(r.out, "total proto 17: 5\n")) << r.out;
  EXPECT_TRUE(contains(r.out, "total proto 6: " + std::to_string(2 * cpus()) + "\n")) << r.out;
  EXPECT_EQ(host_->programs(), 0u);
  EXPECT_EQ(host_->maps(), 0u);
  EXPECT_EQ(xdp_prog_on("lo"), 0u);
}

// The channel fails while the session lives on (a daemon restart that adopts
// the session): xdp1 runs natively at once, reconnects, finds its program
// still on the host and resumes it. Then the host goes away for good and a
// new one (a new session) comes up on the same socket: xdp1 offloads anew.
TEST_F(GuestCli, Xdp1RunsNativelyWhileTheHostIsAwayThenResumesOrOffloadsAgain) {
  ::system("ip link set lo up");
  auto child = std::async(std::launch::async, [&] {
    return run(std::string(XO_XDP1) + " --offload --port " + sock_ + " --duration 16 --retry 2 lo");
  });
  // EXPECTs, not ASSERTs: the child's output explains any miss.
  EXPECT_TRUE(wait_until([&] { return host_->attached_prog_id() != 0; }, 10));
  const std::uint32_t first = host_->attached_prog_id();
  host_->drop_connection();
  EXPECT_TRUE(wait_until([&] { return xdp_prog_on("lo") != 0; }, 5)) << "no native program after the hang-up";
  EXPECT_TRUE(wait_until([&] { return xdp_prog_on("lo") == 0; }, 8)) << "never went back to the host";
  EXPECT_EQ(host_->attached_prog_id(), first);  // resumed: the same kernel program
  EXPECT_EQ(host_->programs(), 1u);

  host_.reset();  // the host is gone: its session freed everything
  EXPECT_TRUE(wait_until([&] { return xdp_prog_on("lo") != 0; }, 5)) << "no native program after the host left";
  session::SessionQuotas q;
  host_ = std::make_unique<SessionHost>(sock_, q);
  EXPECT_TRUE(wait_until([&] { return host_->attached_prog_id() != 0; }, 8)) << "not offloaded to the new host";
  EXPECT_TRUE(wait_until([&] { return xdp_prog_on("lo") == 0; }, 5));
  RunResult r = child.get();
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(contains(r.out, "host unreachable (")) << r.out;
  if (HasFailure()) ADD_FAILURE() << "xdp1 said:\n" << r.out;
  EXPECT_TRUE(contains(r.out, "the host still runs it (prog handle 3): resumed")) << r.out;
  EXPECT_TRUE(contains(r.out, "offloaded again (prog handle")) << r.out;
  EXPECT_EQ(host_->programs(), 0u);
  EXPECT_EQ(xdp_prog_on("lo"), 0u);
}

}  // namespace
}  // namespace xo::guest
