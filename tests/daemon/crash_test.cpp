// Issue 10, break 5: a daemon crash must not leave an orphan that
// blackholes the VM. The real daemon, killed with SIGKILL on real taps:
//  - under traffic, the tc flavor's program keeps filtering through the gap
//    (its tcx link is pinned), the restarted daemon adopts it, and the guest
//    reconnecting resumes its old handles;
//  - when the tap goes while the daemon is down, the restart removes
//    everything (pins, link, programs, maps, BTF);
//  - SIGHUP adds and removes sessions without a restart.
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <optional>
#include <thread>

#include <bpf/bpf.h>
#include <net/if.h>

#include "host/core/attach_tcx.hpp"
#include "host/session/snapshot.hpp"
#include "tests/daemon/harness.hpp"
#include "tests/host/netdev.hpp"

namespace xo::dtest {
namespace {

namespace ts = xo::transport;

// The default state dir, /run/xoffload/state, has a parent only systemd's
// RuntimeDirectory= makes; a daemon started by hand must still write its
// snapshots (without them a crash loses the session).
TEST(Snapshot, WriteCreatesTheStateDirsMissingParents) {
  const std::filesystem::path base = "/tmp/xo_snap_" + std::to_string(getpid());
  const std::filesystem::path dir = base / "run" / "state";
  std::filesystem::remove_all(base);
  session::SessionSnapshot snap;
  snap.tap = "xotap0";
  ASSERT_TRUE(session::write_snapshot((dir / "s.json").string(), snap));
  auto back = session::read_snapshot((dir / "s.json").string());
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->tap, "xotap0");
  EXPECT_EQ(std::filesystem::status(dir).permissions() & std::filesystem::perms::all, std::filesystem::perms::owner_all)
      << "the state dir stays the daemon's alone";
  std::filesystem::remove_all(base);
}

std::vector<std::uint8_t> key(std::uint32_t k) {
  std::vector<std::uint8_t> b(4);
  std::memcpy(b.data(), &k, 4);
  return b;
}

std::uint64_t sum_u64(const std::vector<std::uint8_t>& v) {
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i + 8 <= v.size(); i += 8) {
    std::uint64_t x;
    std::memcpy(&x, v.data() + i, 8);
    sum += x;
  }
  return sum;
}

// The link on the tap's egress: its id, its program. 0/0 when none.
host::TcxLinkState egress_link(const std::string& dev) {
  auto q = host::tcx_query(static_cast<int>(if_nametoindex(dev.c_str())), true);
  if (!q || q->size() != 1) return {};
  return q->front();
}

// UDP frames into the tap's Tx path until stopped; counts what was sent.
class Traffic {
 public:
  explicit Traffic(int ifindex) : sock_(ifindex), thread_([this] { run(); }) {}
  ~Traffic() { stop(); }
  std::uint64_t stop() {
    done_ = true;
    if (thread_.joinable()) thread_.join();
    return sent_;
  }
  std::uint64_t sent() const { return sent_; }

 private:
  void run() {
    const std::uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x02}, src[6] = {0x02, 0, 0, 0, 0, 0x01};
    const auto frame = test::ipv4_frame(17, dst, src);
    while (!done_) {
      if (sock_.send_ok(frame)) ++sent_;
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  }
  test::PacketSocket sock_;
  std::atomic<bool> done_{false};
  std::atomic<std::uint64_t> sent_{0};
  std::thread thread_;
};

TEST(DaemonCrash, KillUnderTrafficKeepsFilteringThenTheRestartAdoptsAndTheGuestResumes) {
  test::Tap tap;
  SessionSpec spec{unique_name("cr"), tap.name(), "", "requests_per_sec = 100000\nrequest_burst = 100000\n"};
  Daemon daemon({spec});
  auto sub = xdp1_submission();
  ASSERT_TRUE(sub) << sub.error().message;
  const std::string dir = "/sys/fs/bpf/xoffload/" + spec.name;

  // The guest stays connected until the daemon dies under it.
  auto client = connect_guest(daemon.session(0).socket);
  ASSERT_TRUE(client) << client.error().message;
  auto o = offload(*client, *sub, ts::kFlavorTc);
  ASSERT_TRUE(o) << o.error().message << "\n" << daemon.log();
  Offloaded off = *o;
  const host::TcxLinkState before = egress_link(tap.name());
  ASSERT_NE(before.link_id, 0u) << test::egress_hook(tap.name());
  ASSERT_TRUE(path_exists(daemon.state_dir() + "/" + spec.name + ".json")) << "snapshot";

  Traffic traffic(tap.ifindex());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  daemon.kill9();
  const std::uint64_t at_crash = traffic.sent();
  // The gap: no daemon. The pinned link keeps the program on the tap.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const host::TcxLinkState during = egress_link(tap.name());
  EXPECT_EQ(during.link_id, before.link_id) << "the link outlived the daemon";
  EXPECT_EQ(during.prog_id, before.prog_id);
  EXPECT_TRUE(path_exists(dir + "/link_egress"));
  const std::uint64_t in_gap = traffic.sent() - at_crash;
  EXPECT_GT(in_gap, 50u) << "traffic kept flowing through the gap";

  daemon.restart();
  EXPECT_NE(daemon.log().find("restart: adopted 1 programs, 1 maps, 1 BTF objects; program " +
                              std::to_string(off.prog) + " still on tcx egress link on " + tap.name()),
            std::string::npos)
      << daemon.log();
  const host::TcxLinkState after = egress_link(tap.name());
  EXPECT_EQ(after.link_id, before.link_id) << "adopted, not re-created: no gap";
  EXPECT_EQ(after.prog_id, before.prog_id);
  EXPECT_FALSE(bpf_objects_held_by(daemon.pid()).empty()) << "the new daemon holds the adopted objects";
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const std::uint64_t sent = traffic.stop();
  EXPECT_TRUE(tap.read_frames(200).empty()) << "xdp1 dropped every frame, before, during and after the crash";

  // The guest reconnects and its old handles work: every frame was counted
  // by the one program that never stopped.
  auto again = connect_guest(daemon.session(0).socket);
  ASSERT_TRUE(again) << again.error().message;
  auto udp = again->map_lookup(off.maps["rxcnt"], key(17));
  ASSERT_TRUE(udp && udp->has_value()) << (udp ? "absent" : udp.error().message) << "\n" << daemon.log();
  EXPECT_EQ(sum_u64(**udp), sent) << "frames counted across the crash";
  auto stats = again->stats(off.prog);
  ASSERT_TRUE(stats) << stats.error().message;
  std::uint64_t drops = 0;
  for (const auto& c : *stats)
    if (c.action == ts::kActionDrop) drops = c.packets;
  EXPECT_EQ(drops, sent);
  // And it can take them down with the handles it had.
  ASSERT_TRUE(unload(*again, off)) << daemon.log();
  EXPECT_EQ(egress_programs(tap.name()), 0);
  EXPECT_TRUE(bpf_objects_held_by(daemon.pid()).empty());
}

TEST(DaemonCrash, KillThenTapDeletedLeavesNothingAfterTheRestart) {
  std::optional<test::Tap> tap(std::in_place);
  const std::string tap_name = tap->name();
  SessionSpec spec{unique_name("cg"), tap_name, "", ""};
  Daemon daemon({spec});
  auto sub = xdp1_submission();
  ASSERT_TRUE(sub) << sub.error().message;
  const std::string dir = "/sys/fs/bpf/xoffload/" + spec.name;

  auto client = connect_guest(daemon.session(0).socket);
  ASSERT_TRUE(client) << client.error().message;
  auto off = offload(*client, *sub, ts::kFlavorTc);
  ASSERT_TRUE(off) << off.error().message;
  const auto objects = as_refs(bpf_objects_held_by(daemon.pid()));
  ASSERT_GE(objects.size(), 4u);  // prog, rxcnt, stats, btf (+ link's prog)
  const std::uint32_t link_id = egress_link(tap_name).link_id;
  ASSERT_NE(link_id, 0u);

  daemon.kill9();
  for (const auto& o : objects) EXPECT_TRUE(host::kernel_object_exists(o)) << "pinned: " << host::describe(o);
  tap.reset();  // the VM's NIC goes while the daemon is down
  daemon.restart();

  EXPECT_FALSE(path_exists(dir)) << "pins left: " << test::run("ls -R " + dir) << daemon.log();
  EXPECT_FALSE(path_exists(daemon.state_dir() + "/" + spec.name + ".json"));
  EXPECT_TRUE(host::still_alive(objects).empty()) << "program, maps or BTF outlived the restart";
  UniqueFd link(bpf_link_get_fd_by_id(link_id));
  EXPECT_FALSE(link.valid()) << "tcx link " << link_id << " outlived the restart";
  EXPECT_TRUE(bpf_objects_held_by(daemon.pid()).empty());
  EXPECT_NE(daemon.log().find("tap '" + tap_name + "' is gone"), std::string::npos) << daemon.log();
}

TEST(DaemonReload, SighupAddsAndRemovesSessionsWithoutARestart) {
  test::Tap tap_a, tap_b;
  SessionSpec a{unique_name("ha"), tap_a.name(), "", ""};
  SessionSpec b{unique_name("hb"), tap_b.name(), "", ""};
  Daemon daemon({a});
  const pid_t pid = daemon.pid();
  auto sub = xdp1_submission();
  ASSERT_TRUE(sub) << sub.error().message;
  a.socket = daemon.session(0).socket;

  daemon.reconfigure({a, b});
  ASSERT_NO_THROW(daemon.wait_for_sockets()) << daemon.log();
  auto guest_b = connect_guest(daemon.session(1).socket, 5000);
  ASSERT_TRUE(guest_b) << guest_b.error().message << daemon.log();
  auto off = offload(*guest_b, *sub, ts::kFlavorTc);
  ASSERT_TRUE(off) << off.error().message << daemon.log();
  EXPECT_EQ(egress_links(tap_b.name()), 1);
  const auto objects = as_refs(bpf_objects_held_by(daemon.pid()));
  ASSERT_FALSE(objects.empty());

  // b removed while its guest is connected with a program attached: torn
  // down, its socket gone; a is untouched; same process throughout.
  const std::string b_socket = daemon.session(1).socket;
  daemon.reconfigure({a});
  for (int i = 0; i < 200 && path_exists(b_socket); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_FALSE(path_exists(b_socket)) << daemon.log();
  EXPECT_EQ(egress_programs(tap_b.name()), 0) << test::egress_hook(tap_b.name());
  EXPECT_FALSE(path_exists("/sys/fs/bpf/xoffload/" + b.name));
  EXPECT_TRUE(host::still_alive(objects).empty());
  EXPECT_TRUE(path_exists(a.socket));
  EXPECT_EQ(daemon.pid(), pid);
  EXPECT_TRUE(daemon.running());
  auto guest_a = connect_guest(a.socket);
  ASSERT_TRUE(guest_a);
  EXPECT_TRUE(guest_a->caps()) << daemon.log();
  EXPECT_NE(daemon.log().find("SIGHUP: session added"), std::string::npos);
  EXPECT_NE(daemon.log().find("SIGHUP: session removed"), std::string::npos);
}

}  // namespace
}  // namespace xo::dtest
