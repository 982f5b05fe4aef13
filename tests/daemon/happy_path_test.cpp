// xdp1 offloaded through xoffloadd in the tc flavor: packets sent into the
// tap's Tx path are counted in the host's rxcnt map, which the guest reads
// back through MAP_LOOKUP; STATS, pins and the admin log agree.
#include <gtest/gtest.h>

#include <grp.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <thread>

#include "tests/daemon/harness.hpp"
#include "tests/host/netdev.hpp"

namespace xo::dtest {
namespace {

namespace ts = xo::transport;

std::uint64_t sum_percpu(const std::vector<std::uint8_t>& value) {
  std::uint64_t sum = 0;
  for (std::size_t off = 0; off + 8 <= value.size(); off += 8) {
    std::uint64_t v;
    std::memcpy(&v, value.data() + off, 8);
    sum += v;
  }
  return sum;
}

TEST(DaemonHappyPath, Xdp1TcOffloadCountsPacketsAndReadsRxcnt) {
  test::Tap tap;
  SessionSpec spec{unique_name("hp"), tap.name(), "", ""};
  Daemon daemon({spec});
  auto client = connect_guest(daemon.session(0).socket);
  ASSERT_TRUE(client) << client.error().message;

  auto caps = client->caps();
  ASSERT_TRUE(caps) << caps.error().message;
  EXPECT_EQ(caps->version, 2);  // this build's guest and daemon speak version 2
  EXPECT_TRUE(caps->flavors & (1u << ts::kFlavorTc));
  EXPECT_FALSE(caps->helpers.empty());
  for (const auto& h : caps->helpers) EXPECT_NE(h.id, 69) << "bpf_fib_lookup must not be offered";

  auto sub = xdp1_submission();
  ASSERT_TRUE(sub) << sub.error().message;
  auto off = offload(*client, *sub, ts::kFlavorTc);
  ASSERT_TRUE(off) << off.error().message << "\n" << daemon.log();
  EXPECT_EQ(off->flavor, ts::kFlavorTc);
  ASSERT_TRUE(off->maps.count("rxcnt"));
  EXPECT_EQ(egress_links(tap.name()), 1);
  EXPECT_TRUE(path_exists("/sys/fs/bpf/xoffload/" + spec.name)) << "session pin dir";

  // ... and did all that with five capabilities: CAP_CHOWN (0, the sockets'
  // owner), CAP_NET_ADMIN (12), CAP_SYS_ADMIN (21), CAP_PERFMON (38),
  // CAP_BPF (39); root's others are gone from every set, the bounding set included.
  const std::uint64_t kept = (1ull << 0) | (1ull << 12) | (1ull << 21) | (1ull << 38) | (1ull << 39);
  const std::string status = test::run("cat /proc/" + std::to_string(daemon.pid()) + "/status");
  for (const char* set : {"CapPrm:", "CapEff:", "CapBnd:"}) {
    const auto at = status.find(set);
    ASSERT_NE(at, std::string::npos) << status;
    EXPECT_EQ(std::stoull(status.substr(at + std::strlen(set)), nullptr, 16), kept) << set << "\n" << status;
  }
  const auto inh = status.find("CapInh:");
  ASSERT_NE(inh, std::string::npos);
  EXPECT_EQ(std::stoull(status.substr(inh + 7), nullptr, 16), 0u);

  // 5 UDP (17) and 3 ICMP (1) frames through the tap's Tx path.
  const std::uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x02}, src[6] = {0x02, 0, 0, 0, 0, 0x01};
  test::PacketSocket sock(tap.ifindex());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(sock.send(test::ipv4_frame(17, dst, src)));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(sock.send(test::ipv4_frame(1, dst, src)));
  EXPECT_TRUE(tap.read_frames(200).empty()) << "xdp1 drops everything: nothing reaches the guest";

  auto key = [](std::uint32_t k) {
    std::vector<std::uint8_t> b(4);
    std::memcpy(b.data(), &k, 4);
    return b;
  };
  auto udp = client->map_lookup(off->maps["rxcnt"], key(17));
  ASSERT_TRUE(udp && udp->has_value()) << (udp ? "absent" : udp.error().message);
  EXPECT_EQ(sum_percpu(**udp), 5u);
  auto icmp = client->map_lookup(off->maps["rxcnt"], key(1));
  ASSERT_TRUE(icmp && icmp->has_value());
  EXPECT_EQ(sum_percpu(**icmp), 3u);
  auto tcp = client->map_lookup(off->maps["rxcnt"], key(6));
  ASSERT_TRUE(tcp && tcp->has_value());
  EXPECT_EQ(sum_percpu(**tcp), 0u);

  auto stats = client->stats(off->prog);
  ASSERT_TRUE(stats) << stats.error().message;
  std::uint64_t drops = 0;
  for (const auto& c : *stats)
    if (c.action == ts::kActionDrop) drops = c.packets;
  EXPECT_EQ(drops, 8u);

  // The admin sees one line per event, naming the session and tap.
  const std::string log = daemon.log();
  const std::string who = "xoffloadd[" + spec.name + "/" + tap.name() + "]: ";
  EXPECT_NE(log.find(who + "PROG_LOAD 'xdp_prog1'"), std::string::npos) << log;
  EXPECT_NE(log.find("-> tc prog id"), std::string::npos) << log;
  EXPECT_NE(log.find(who + "PROG_ATTACH 'xdp_prog1'"), std::string::npos) << log;

  // Unload detaches; the guest's handle is gone afterwards.
  ASSERT_TRUE(unload(*client, *off));
  EXPECT_EQ(egress_programs(tap.name()), 0);
  auto gone = client->call(ts::MapLookupRequest{off->maps["rxcnt"], key(17)});
  ASSERT_TRUE(gone) << gone.error().message;
  EXPECT_EQ(ts::reply_status(*gone)->code, ts::status::kEBADF) << "a freed handle, not a missing key";
  EXPECT_NE(ts::reply_status(*gone)->message.find("does not exist in this session"), std::string::npos);
}

TEST(DaemonHappyPath, Xdp1ChainFlavorFillsThePinnedSlot) {
  test::Tap tap;
  SessionSpec spec{unique_name("ch"), tap.name(), "", "flavor = chain\n"};
  Daemon daemon({spec});
  auto client = connect_guest(daemon.session(0).socket);
  ASSERT_TRUE(client) << client.error().message;
  auto sub = xdp1_submission();
  ASSERT_TRUE(sub) << sub.error().message;
  auto off = offload(*client, *sub, ts::kFlavorAny);  // the session prefers chain
  ASSERT_TRUE(off) << off.error().message << "\n" << daemon.log();
  EXPECT_EQ(off->flavor, ts::kFlavorChain);
  const std::string slot = "/sys/fs/bpf/xoffload/" + spec.name + "/chain_" + tap.name();
  EXPECT_TRUE(path_exists(slot)) << "the host's ingress program tail-calls this prog array";
  EXPECT_EQ(egress_programs(tap.name()), 0) << "chain does not attach to the tap";
  EXPECT_NE(daemon.log().find("-> chain slot " + slot), std::string::npos) << daemon.log();
  client->channel() = ts::Channel(UniqueFd(), "closed");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (path_exists(slot) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_FALSE(path_exists(slot)) << "disconnect removes the session's pins";
}

TEST(DaemonHappyPath, ResetFreesEverythingAndSessionStaysUsable) {
  test::Tap tap;
  SessionSpec spec{unique_name("rs"), tap.name(), "", ""};
  Daemon daemon({spec});
  auto client = connect_guest(daemon.session(0).socket);
  ASSERT_TRUE(client) << client.error().message;
  auto sub = xdp1_submission();
  ASSERT_TRUE(sub) << sub.error().message;
  auto off = offload(*client, *sub, ts::kFlavorTc);
  ASSERT_TRUE(off) << off.error().message;
  auto held = bpf_objects_held_by(daemon.pid());
  EXPECT_GE(held.size(), 4u) << "BTF, rxcnt, stats map and program";
  ASSERT_TRUE(client->reset());
  EXPECT_EQ(egress_programs(tap.name()), 0);
  EXPECT_TRUE(bpf_objects_held_by(daemon.pid()).empty());
  EXPECT_TRUE(host::still_alive(as_refs(held)).empty());
  EXPECT_FALSE(client->prog_attach(off->prog));
  EXPECT_EQ(client->last_status(), ts::status::kEBADF);
  auto again = offload(*client, *sub, ts::kFlavorTc);
  ASSERT_TRUE(again) << again.error().message;
}

TEST(DaemonHappyPath, BtfFreeIsRefusedWhileUsedThenLeavesNoBtfBehind) {
  test::Tap tap;
  SessionSpec spec{unique_name("bf"), tap.name(), "", ""};
  Daemon daemon({spec});
  auto client = connect_guest(daemon.session(0).socket);
  ASSERT_TRUE(client) << client.error().message;
  auto sub = xdp1_submission();
  ASSERT_TRUE(sub) << sub.error().message;
  auto off = offload(*client, *sub, ts::kFlavorTc);
  ASSERT_TRUE(off) << off.error().message;
  ASSERT_NE(off->btf, 0u) << "xdp1 carries BTF";
  // The program and the BTF-typed map still use it.
  auto busy = client->btf_free(off->btf);
  ASSERT_FALSE(busy);
  EXPECT_EQ(client->last_status(), ts::status::kEBUSY) << busy.error().message;
  ASSERT_TRUE(client->prog_unload(off->prog));
  for (const auto& [name, h] : off->maps) ASSERT_TRUE(client->map_free(h)) << name;
  // Only the BTF object is left on the host, and the daemon logged its id.
  const auto held = bpf_objects_held_by(daemon.pid());
  ASSERT_EQ(held.size(), 1u);
  const std::string id = std::to_string(held.begin()->second);
  EXPECT_NE(daemon.log().find("BTF_LOAD " + std::to_string(sub->btf.size()) + " bytes -> handle " +
                              std::to_string(off->btf) + ", btf id " + id),
            std::string::npos)
      << daemon.log();
  ASSERT_TRUE(client->btf_free(off->btf));
  EXPECT_TRUE(bpf_objects_held_by(daemon.pid()).empty());
  EXPECT_TRUE(host::still_alive(as_refs(held)).empty()) << "the kernel BTF object is gone";
  EXPECT_NE(daemon.log().find("BTF_FREE handle " + std::to_string(off->btf) + ", btf id " + id),
            std::string::npos)
      << daemon.log();
  // Freed: the handle means nothing any more.
  EXPECT_FALSE(client->btf_free(off->btf));
  EXPECT_EQ(client->last_status(), ts::status::kEBADF);
}

TEST(DaemonHappyPath, TapDisappearingSendsOffloadLostAndFreesEverything) {
  auto tap = std::make_unique<test::Tap>();
  const std::string tap_name = tap->name();
  SessionSpec spec{unique_name("tg"), tap_name, "", ""};
  Daemon daemon({spec});
  auto client = connect_guest(daemon.session(0).socket);
  ASSERT_TRUE(client) << client.error().message;
  auto sub = xdp1_submission();
  ASSERT_TRUE(sub) << sub.error().message;
  auto off = offload(*client, *sub, ts::kFlavorTc);
  ASSERT_TRUE(off) << off.error().message;
  auto held = bpf_objects_held_by(daemon.pid());
  ASSERT_FALSE(held.empty());

  tap.reset();  // the VM's NIC goes away
  auto ev = client->wait_event(5000);
  ASSERT_TRUE(ev) << ev.error().message << "\n" << daemon.log();
  EXPECT_EQ(ev->kind, ts::EventKind::OffloadLost);
  EXPECT_EQ(ev->prog, off->prog);
  EXPECT_NE(ev->text.find("run it locally"), std::string::npos) << ev->text;
  EXPECT_EQ(ev->text.find(tap_name), std::string::npos) << "the host's tap name is not the guest's business: " << ev->text;
  EXPECT_TRUE(bpf_objects_held_by(daemon.pid()).empty());
  EXPECT_TRUE(host::still_alive(as_refs(held)).empty());
  EXPECT_NE(daemon.log().find("disappeared"), std::string::npos);
  // The session still answers (and refuses loads while the tap is gone).
  auto caps = client->caps();
  EXPECT_TRUE(caps) << caps.error().message;
}

// A device recreated under the tap's name (a new ifindex) before the daemon
// looks again is not the NIC a loaded program redirects into: the program,
// loaded but not attached, carries the old ifindex as a constant. The guest
// is told the offload is lost, and everything is freed.
TEST(DaemonHappyPath, ARecreatedTapIsNotTheOneTheProgramsWereLoadedFor) {
  auto tap = std::make_unique<test::Tap>();
  const std::string tap_name = tap->name();
  const int old_ifindex = tap->ifindex();
  SessionSpec spec{unique_name("tr"), tap_name, "", ""};
  Daemon daemon({spec});
  auto client = connect_guest(daemon.session(0).socket);
  ASSERT_TRUE(client) << client.error().message;
  auto sub = xdp1_submission();
  ASSERT_TRUE(sub) << sub.error().message;
  auto off = offload(*client, *sub, ts::kFlavorTc, /*attach=*/false);
  ASSERT_TRUE(off) << off.error().message;

  tap.reset();  // deleted and, at once, created again under the same name
  ASSERT_EQ(test::run_command("ip tuntap add dev " + tap_name + " mode tap").code, 0);
  struct Deleter {
    std::string name;
    ~Deleter() { (void)test::run_command("ip link del " + name); }
  } recreated{tap_name};
  const int new_ifindex = int(if_nametoindex(tap_name.c_str()));
  ASSERT_NE(new_ifindex, 0);
  ASSERT_NE(new_ifindex, old_ifindex);
  auto ev = client->wait_event(5000);
  ASSERT_TRUE(ev) << ev.error().message << "\n" << daemon.log();
  EXPECT_EQ(ev->kind, ts::EventKind::OffloadLost);
  EXPECT_EQ(ev->prog, off->prog);
  EXPECT_TRUE(bpf_objects_held_by(daemon.pid()).empty());
}

// `xoffload status` run in another network namespace (a fresh one, where
// neither the daemon's tap nor its ifindex exists) still names the
// tap, from the daemon's configuration and snapshot, and says which process
// is connected to the session, and since when.
TEST(DaemonStatus, FromAnotherNetnsNamesTheTapAndTheConnectedGuest) {
  test::Tap tap;
  SessionSpec spec{unique_name("st"), tap.name(), "", ""};
  Daemon daemon({spec});
  auto connected = connect_guest(daemon.session(0).socket);
  ASSERT_TRUE(connected) << connected.error().message;
  auto client = std::make_unique<transport::Client>(std::move(*connected));
  auto sub = xdp1_submission();
  ASSERT_TRUE(sub) << sub.error().message;
  auto off = offload(*client, *sub, ts::kFlavorTc);
  ASSERT_TRUE(off) << off.error().message << "\n" << daemon.log();
  const std::string netns = unique_name("xost");
  ASSERT_EQ(test::run_command("ip netns add " + netns).code, 0);
  struct NetnsDeleter {
    std::string name;
    ~NetnsDeleter() { (void)test::run_command("ip netns del " + name); }
  } netns_deleter{netns};
  // nsenter --net: only the network namespace (ip netns exec would also
  // mount a new /sys, hiding bpffs).
  const std::string status = "nsenter --net=/run/netns/" + netns + " " + std::string(XO_CLI_BIN) + " status --config " +
                             daemon.config_path() + " --session " + spec.name;
  auto text = test::run_command(status + " 2>&1");
  ASSERT_EQ(text.code, 0) << text.out;
  EXPECT_NE(text.out.find("egress on " + tap.name() + " (ifindex " + std::to_string(tap.ifindex()) +
                          ", in another network namespace)"),
            std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("socket " + daemon.session(0).socket + ": guest pid " + std::to_string(getpid()) + " (uid 0)"),
            std::string::npos)
      << text.out;
  auto json = test::run_command(status + " --json 2>&1");
  ASSERT_EQ(json.code, 0) << json.out;
  EXPECT_NE(json.out.find("\"tap\":\"" + tap.name() + "\""), std::string::npos) << json.out;
  EXPECT_NE(json.out.find("\"pid\":" + std::to_string(getpid())), std::string::npos) << json.out;
  const std::string record = daemon.state_dir() + "/" + spec.name + ".peer.json";
  EXPECT_TRUE(path_exists(record));
  client.reset();  // the guest leaves: the record goes with it (and the session with its pins)
  for (int i = 0; i < 100 && path_exists(record); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(path_exists(record));
}

// Whether a process with `uid`/`gid` (and no supplementary groups) can
// connect to the unix socket at `path`: a forked child drops to them and
// tries, as a QEMU running as its own user would.
bool can_connect_as(uid_t uid, gid_t gid, const std::string& path) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0) ::_exit(2);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, path.c_str(), sizeof a.sun_path - 1);
    ::_exit(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// socket_owner/socket_group/socket_mode: the VMM's user can connect to its
// VM's socket, another unprivileged user cannot, and a user that does not
// exist stops the daemon with a line naming it.
TEST(DaemonSocketAccess, OwnerGroupAndModeDecideWhoConnects) {
  test::Tap tap;
  SessionSpec spec{unique_name("sa"), tap.name(), "", "socket_owner = nobody\nsocket_group = 4242\nsocket_mode = 0640\n"};
  Daemon daemon({spec});
  // The socket appears at bind(); owner and mode follow a moment later.
  struct stat st {};
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(::stat(daemon.session(0).socket.c_str(), &st), 0);
    if ((st.st_mode & 07777) == 0640) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(st.st_uid, 65534u) << "nobody";
  EXPECT_EQ(st.st_gid, 4242u);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
  EXPECT_TRUE(can_connect_as(65534, 65534, daemon.session(0).socket)) << "the owner (mode 06xx)";
  EXPECT_FALSE(can_connect_as(4243, 4242, daemon.session(0).socket)) << "the group may only read (mode 0640)";
  EXPECT_FALSE(can_connect_as(4243, 4243, daemon.session(0).socket)) << "others get nothing";
  auto client = connect_guest(daemon.session(0).socket);
  ASSERT_TRUE(client) << client.error().message;  // the daemon's own side still works

  const std::string conf = "/tmp/" + unique_name("sabad") + ".conf";
  {
    std::FILE* f = std::fopen(conf.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fprintf(f, "[session sabad]\ntap = %s\nsocket = /tmp/%s.sock\nsocket_owner = no-such-user-xo\n",
                 tap.name().c_str(), unique_name("sabad").c_str());
    std::fclose(f);
  }
  // (timeout: a daemon that wrongly started would serve forever)
  auto r = test::run_command("timeout 10 " + std::string(XOFFLOADD_BIN) + " --config " + conf +
                             " --foreground --state-dir /tmp/" + unique_name("sabadst") + " 2>&1");
  std::remove(conf.c_str());
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("session 'sabad': socket /tmp/"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("no user 'no-such-user-xo'"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace xo::dtest
