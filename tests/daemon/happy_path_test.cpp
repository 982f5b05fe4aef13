// xdp1 offloaded through xoffloadd in the tc flavor: packets sent into the
// tap's Tx path are counted in the host's rxcnt map, which the guest reads
// back through MAP_LOOKUP; STATS, pins and the admin log agree.
#include <gtest/gtest.h>

#include <chrono>
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
  EXPECT_EQ(caps->version, 1);
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

  // ... and did all that with four capabilities: CAP_NET_ADMIN (12),
  // CAP_SYS_ADMIN (21), CAP_PERFMON (38), CAP_BPF (39); root's others are
  // gone from every set, the bounding set included.
  const std::uint64_t kept = (1ull << 12) | (1ull << 21) | (1ull << 38) | (1ull << 39);
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

}  // namespace
}  // namespace xo::dtest
