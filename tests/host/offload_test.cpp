// End-to-end on the host: guest ELF -> Submission (guest builder) ->
// Offload (preverify, translate, kernel load, attach) on real taps and
// veths, traffic through the kernel, counts read back through the guest's
// map handles. Each test process runs in its own netns (main.cpp).
#include <array>
#include <algorithm>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <map>

#include "guest/builder/elf_builder.hpp"
#include "host/core/btf_loader.hpp"
#include "host/core/offload.hpp"
#include "tests/host/ingress.hpp"
#include "tests/host/netdev.hpp"

namespace xo::host {
namespace {

constexpr std::uint8_t kGuestMac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
constexpr std::uint8_t kPeerMac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
constexpr std::uint8_t kProtoIcmp = 1, kProtoTcp = 6, kProtoUdp = 17;

std::string unique_session(const char* what) {
  static int n = 0;
  return std::string("o") + what + std::to_string(getpid()) + "_" + std::to_string(n++);
}

Submission example(const char* name, const char* prog) {
  std::string path = std::string(XO_EXAMPLES_BIN) + "/" + name + "/" + name + "_kern.o";
  auto s = guest::build_submission_from_file(path, std::string(prog));
  EXPECT_TRUE(s) << path << ": " << (s ? "" : s.error().message);
  return s ? std::move(*s) : Submission{};
}

std::uint32_t handle_of(const Submission& s, const std::string& map) {
  for (const auto& m : s.maps)
    if (m.name == map) return m.handle;
  ADD_FAILURE() << "no map " << map;
  return 0;
}

// rxcnt is PERCPU_ARRAY<u32, long>: sum over CPUs, read by guest handle.
std::uint64_t rxcnt(const Offload& off, std::uint32_t handle, std::uint32_t proto) {
  std::span<const std::uint8_t> key(reinterpret_cast<const std::uint8_t*>(&proto), 4);
  auto v = off.maps().lookup(handle, key);
  EXPECT_TRUE(v) << (v ? "" : v.error().message);
  if (!v) return 0;
  std::uint64_t sum = 0;
  for (std::size_t i = 0; i + 8 <= v->size(); i += 8) {
    std::uint64_t x;
    std::memcpy(&x, v->data() + i, 8);
    sum += x;
  }
  return sum;
}

bool exists(const std::string& path) {
  struct stat st {};
  return stat(path.c_str(), &st) == 0;
}

bool macs_swapped(const std::vector<std::uint8_t>& out, const std::vector<std::uint8_t>& in) {
  return out.size() == in.size() && std::memcmp(out.data(), in.data() + 6, 6) == 0 &&
         std::memcmp(out.data() + 6, in.data(), 6) == 0 && std::memcmp(out.data() + 12, in.data() + 12, in.size() - 12) == 0;
}

// Sends `n` frames of each protocol; returns them by protocol.
std::map<std::uint8_t, int> send_mix(test::PacketSocket& s, std::vector<std::uint8_t>* last = nullptr) {
  std::map<std::uint8_t, int> sent{{kProtoUdp, 7}, {kProtoTcp, 4}, {kProtoIcmp, 3}};
  for (auto [proto, n] : sent)
    for (int i = 0; i < n; ++i) {
      auto f = test::ipv4_frame(proto, kGuestMac, kPeerMac, 20 + i);
      EXPECT_TRUE(s.send_ok(f));
      if (last) *last = f;
    }
  return sent;
}

class OffloadTest : public testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(system("mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf"), 0);
  }
  DefaultPolicy policy;
};

TEST_F(OffloadTest, Xdp1TcDropsTrafficTowardTheTapAndCountsPerProtocolExactly) {
  test::Tap tap;
  Submission sub = example("xdp1", "xdp_prog1");
  ASSERT_FALSE(sub.insns.empty());
  std::uint32_t rx = handle_of(sub, "rxcnt");

  std::vector<KernelObjectRef> objects;
  std::string dir;
  {
    LoadReport report;
    auto off = Offload::load({.session = unique_session("x1"), .tap = tap.name(), .flavor = Flavor::Tc}, sub,
                             policy, &report);
    ASSERT_TRUE(off) << off.error().message << "\n" << report.verifier_log;
    objects = off->kernel_objects();
    dir = off->pin_dir();
    EXPECT_EQ(objects.size(), 4u);  // prog, rxcnt, stats, btf

    // Visible to the admin: link, pins, names, source lines, typed map dump.
    // (bookworm's bpftool 7.1 predates tcx: the kernel's BPF_PROG_QUERY and
    // the pinned link's info say what is attached.)
    EXPECT_EQ(test::egress_hook(tap.name()), "tcx link " + std::to_string(off->status().tcx_link_id) + " id " +
                                                 std::to_string(off->prog_id()) + "\n");
    std::string link = test::run("bpftool link show pinned " + dir + "/link_egress");
    EXPECT_NE(link.find("prog " + std::to_string(off->prog_id())), std::string::npos) << link;
    std::string prog = test::run("bpftool prog show id " + std::to_string(off->prog_id()));
    EXPECT_NE(prog.find(std::to_string(off->prog_id()) + ": sched_cls"), std::string::npos) << prog;
    for (const char* leaf : {"prog", "stats", "map_rxcnt", "link_egress"}) EXPECT_TRUE(exists(dir + "/" + leaf)) << leaf;
    std::string xlated = test::run("bpftool prog dump xlated pinned " + dir + "/prog linum");
    EXPECT_NE(xlated.find("xdp1_kern.c"), std::string::npos) << xlated.substr(0, 2000);
    EXPECT_NE(xlated.find("h_proto = eth->h_proto"), std::string::npos) << xlated.substr(0, 2000);

    test::PacketSocket sender(tap.ifindex());
    auto sent = send_mix(sender);
    EXPECT_TRUE(tap.read_frames(300).empty()) << "dropped frames reached the guest";
    for (auto [proto, n] : sent) EXPECT_EQ(rxcnt(*off, rx, proto), std::uint64_t(n)) << "proto " << int(proto);
    auto stats = off->stats();
    ASSERT_TRUE(stats);
    EXPECT_EQ(stats->count[1], 14u);  // XDP_DROP
    EXPECT_EQ(stats->count[2] + stats->count[3] + stats->count[5], 0u);

    std::string dump = test::run("bpftool map dump pinned " + dir + "/map_rxcnt");
    EXPECT_NE(dump.find("\"key\": 17"), std::string::npos) << dump.substr(0, 800);
    std::string json = off->status().to_json();
    EXPECT_NE(json.find("\"flavor\":\"tc\""), std::string::npos) << json;
    EXPECT_NE(json.find("\"XDP_DROP\":14"), std::string::npos) << json;
  }
  // Unload: nothing left in the kernel, on the tap or in bpffs.
  EXPECT_TRUE(still_alive(objects).empty());
  EXPECT_EQ(test::egress_hook(tap.name()), "");
  EXPECT_FALSE(exists(dir));
  // And the guest gets its traffic again.
  test::PacketSocket sender(tap.ifindex());
  send_mix(sender);
  EXPECT_EQ(tap.read_frames(300).size(), 14u);
}

TEST_F(OffloadTest, Xdp2TcBouncesFramesBackWithMacsSwapped) {
  test::Tap tap;
  Submission sub = example("xdp2", "xdp_prog1");
  std::uint32_t rx = handle_of(sub, "rxcnt");
  auto off = Offload::load({.session = unique_session("x2"), .tap = tap.name()}, sub, policy);
  ASSERT_TRUE(off) << off.error().message;

  test::PacketSocket sender(tap.ifindex());
  test::PacketSocket capture(tap.ifindex());
  std::vector<std::uint8_t> frame = test::ipv4_frame(kProtoUdp, kGuestMac, kPeerMac, 40);
  constexpr int kFrames = 9;
  for (int i = 0; i < kFrames; ++i) ASSERT_EQ(sender.send(frame), 0);
  // TX in tc = redirect to the tap's ingress: the frame re-enters the host.
  auto back = capture.receive(400);
  int bounced = 0;
  for (auto& f : back) bounced += macs_swapped(f, frame);
  EXPECT_EQ(bounced, kFrames) << back.size() << " frames captured";
  EXPECT_TRUE(tap.read_frames(100).empty());
  EXPECT_EQ(rxcnt(*off, rx, kProtoUdp), std::uint64_t(kFrames));
  EXPECT_EQ(off->stats()->count[3], std::uint64_t(kFrames));  // XDP_TX
}

TEST_F(OffloadTest, ReloadReplacesTheProgramAtomicallyInPlace) {
  test::Tap tap;
  Submission drop = example("xdp1", "xdp_prog1");
  Submission bounce = example("xdp2", "xdp_prog1");
  auto off = Offload::load({.session = unique_session("rl"), .tap = tap.name()}, drop, policy);
  ASSERT_TRUE(off) << off.error().message;
  std::uint32_t first_id = off->prog_id();
  auto first_objects = off->kernel_objects();

  auto st = off->reload(bounce, policy);
  ASSERT_TRUE(st) << st.error().message;
  EXPECT_NE(off->prog_id(), first_id);
  std::string filters = test::egress_hook(tap.name());
  EXPECT_NE(filters.find("id " + std::to_string(off->prog_id())), std::string::npos) << filters;
  // One link, updated in place (BPF_LINK_UPDATE), not a second one.
  EXPECT_EQ(filters, "tcx link " + std::to_string(off->status().tcx_link_id) + " id " +
                         std::to_string(off->prog_id()) + "\n");
  // The old program and its maps are gone; the stats map carries on.
  std::vector<KernelObjectRef> old;
  for (auto r : first_objects)
    if (r.id != off->status().stats_map_id) old.push_back(r);
  EXPECT_TRUE(still_alive(old).empty());

  test::PacketSocket sender(tap.ifindex()), capture(tap.ifindex());
  auto frame = test::ipv4_frame(kProtoTcp, kGuestMac, kPeerMac);
  ASSERT_EQ(sender.send(frame), 0);
  auto back = capture.receive(300);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_TRUE(macs_swapped(back[0], frame));

  // A reload the kernel refuses leaves the running program in place.
  auto bad = guest::build_submission_from_file(std::string(XO_HOST_TEST_BIN) + "/host_bad_bounds.o");
  ASSERT_TRUE(bad);
  std::uint32_t running = off->prog_id();
  EXPECT_FALSE(off->reload(*bad, policy));
  EXPECT_EQ(off->prog_id(), running);
  filters = test::egress_hook(tap.name());
  EXPECT_NE(filters.find("id " + std::to_string(running)), std::string::npos) << filters;
}

int fault_line() {
  std::ifstream src(std::string(XO_HOST_TEST_SRC) + "/bad_bounds.bpf.c");
  std::string line;
  for (int n = 1; std::getline(src, line); ++n)
    if (line.find("FAULT") != std::string::npos) return n;
  return -1;
}

TEST_F(OffloadTest, KernelVerifierRefusalMapsToGuestInsnAndSourceLine) {
  test::Tap tap;
  auto sub = guest::build_submission_from_file(std::string(XO_HOST_TEST_BIN) + "/host_bad_bounds.o");
  ASSERT_TRUE(sub) << sub.error().message;
  std::string session = unique_session("vf");
  for (Flavor f : {Flavor::Tc, Flavor::Chain}) {
    LoadReport report;
    auto off = Offload::load({.session = session, .tap = tap.name(), .flavor = f}, *sub, policy, &report);
    ASSERT_FALSE(off) << "kernel accepted an unchecked packet read";
    const Error& e = off.error();
    std::string where = "(bad_bounds.bpf.c:" + std::to_string(fault_line()) + ")";
    EXPECT_NE(e.message.find("prog 'bad_bounds': host kernel verifier refused it (EACCES): guest insn "),
              std::string::npos)
        << e.message;
    EXPECT_NE(e.message.find(where), std::string::npos) << e.message;
    // The kernel's reason, verbatim ("R1 offset is outside of the packet" on 6.x).
    EXPECT_NE(e.message.find("packet"), std::string::npos) << e.message;
    ASSERT_TRUE(e.pc.has_value());
    // The guest insn is the byte load, in guest numbering.
    const auto& g = sub->insns.at(*e.pc);
    EXPECT_EQ(g.code, 0x71) << "guest insn " << *e.pc;  // ldxb
    EXPECT_NE(report.verifier_log.find("// guest insn " + std::to_string(*e.pc) + " " + where),
              std::string::npos)
        << report.verifier_log;
    // Nothing left behind: the session name is free again.
    EXPECT_FALSE(exists("/sys/fs/bpf/xoffload/" + session));
  }
}

TEST_F(OffloadTest, ChainFlavorDropsOrBouncesWhatTheIngressProgramWouldRedirect) {
  test::Tap tap;
  test::Veth veth;
  // veth XDP_TX hands frames to the peer's NAPI, which exists only while the
  // peer has an XDP program (or GRO): give it a pass-through one.
  test::XdpPass peer_pass(veth.peer_ifindex());
  for (const char* name : {"xdp1", "xdp2"}) {
    SCOPED_TRACE(name);
    Submission sub = example(name, "xdp_prog1");
    std::uint32_t rx = handle_of(sub, "rxcnt");
    std::vector<KernelObjectRef> objects;
    test::IngressProgram ing;
    test::PacketSocket sender(veth.peer_ifindex());
    auto frame = test::ipv4_frame(kProtoUdp, kGuestMac, kPeerMac, 50);
    constexpr int kFrames = 6;
    {
      auto off = Offload::load({.session = unique_session("ch"), .tap = tap.name(), .flavor = Flavor::Chain},
                               sub, policy);
      ASSERT_TRUE(off) << off.error().message;
      for (auto r : off->kernel_objects())
        if (r.id != off->status().chain_map_id || r.kind != ObjectKind::Map) objects.push_back(r);
      std::string pin = off->pin_dir() + "/chain_" + tap.name();
      ASSERT_TRUE(exists(pin));
      test::load_ingress(ing, pin, tap.ifindex(), veth.ifindex());
      if (HasFatalFailure()) return;

      for (int i = 0; i < kFrames; ++i) ASSERT_EQ(sender.send(frame), 0);
      auto back = sender.receive(400);
      EXPECT_TRUE(tap.read_frames(100).empty()) << "frames reached the guest";
      int bounced = 0;
      for (auto& f : back) bounced += macs_swapped(f, frame);
      EXPECT_EQ(bounced, std::string(name) == "xdp2" ? kFrames : 0);
      EXPECT_EQ(rxcnt(*off, rx, kProtoUdp), std::uint64_t(kFrames));
      auto stats = off->stats();
      ASSERT_TRUE(stats);
      EXPECT_EQ(stats->count[std::string(name) == "xdp2" ? 3 : 1], std::uint64_t(kFrames));
    }
    // Unloaded: the slot is empty, the ingress program redirects to the tap
    // again. Everything but the prog array (the admin's ingress program
    // holds it) is gone.
    EXPECT_TRUE(still_alive(objects).empty());
    for (int i = 0; i < 3; ++i) ASSERT_EQ(sender.send(frame), 0);
    int at_tap = 0;
    for (auto& f : tap.read_frames(300)) at_tap += f == frame;
    EXPECT_EQ(at_tap, 3);
  }
}

// chain XDP_TX leaves through the uplink: under ChainTx::GuestMac only a
// frame whose source is the guest's MAC goes (xdp2 swaps the MACs, so its
// bounces carry kGuestMac); with another guest MAC configured, or under
// ChainTx::Drop, every bounce is dropped and counted as a policy drop.
TEST_F(OffloadTest, ChainTxLeavesOnlyWithTheGuestsSourceMac) {
  test::Tap tap;
  test::Veth veth;
  test::XdpPass peer_pass(veth.peer_ifindex());
  const std::array<std::uint8_t, 6> guest = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
  const std::array<std::uint8_t, 6> other = {0x52, 0x54, 0x00, 0x12, 0x34, 0x57};
  static_assert(sizeof kGuestMac == 6);
  ASSERT_TRUE(std::equal(guest.begin(), guest.end(), kGuestMac));
  struct Case {
    translator::ChainTx tx;
    std::array<std::uint8_t, 6> mac;
    bool leaves;
  };
  for (const Case& c : {Case{translator::ChainTx::GuestMac, guest, true}, Case{translator::ChainTx::GuestMac, other, false},
                        Case{translator::ChainTx::Drop, guest, false}, Case{translator::ChainTx::Any, other, true}}) {
    SCOPED_TRACE(int(c.tx));
    SCOPED_TRACE(int(c.mac[5]));
    Submission sub = example("xdp2", "xdp_prog1");
    test::IngressProgram ing;
    test::PacketSocket sender(veth.peer_ifindex());
    auto frame = test::ipv4_frame(kProtoUdp, kGuestMac, kPeerMac, 50);
    constexpr int kFrames = 6;
    OffloadOptions o{.session = unique_session("tx"), .tap = tap.name(), .flavor = Flavor::Chain};
    o.chain_tx = c.tx;
    o.guest_mac = c.mac;
    auto off = Offload::load(o, sub, policy);
    ASSERT_TRUE(off) << off.error().message;
    test::load_ingress(ing, off->pin_dir() + "/chain_" + tap.name(), tap.ifindex(), veth.ifindex());
    if (HasFatalFailure()) return;
    for (int i = 0; i < kFrames; ++i) ASSERT_EQ(sender.send(frame), 0);
    int bounced = 0;
    for (auto& f : sender.receive(400)) bounced += macs_swapped(f, frame);
    EXPECT_TRUE(tap.read_frames(100).empty()) << "frames reached the guest";
    auto stats = off->stats();
    ASSERT_TRUE(stats);
    EXPECT_EQ(bounced, c.leaves ? kFrames : 0);
    EXPECT_EQ(stats->count[3], c.leaves ? std::uint64_t(kFrames) : 0u);  // XDP_TX
    EXPECT_EQ(stats->count[5], c.leaves ? 0u : std::uint64_t(kFrames));  // policy drop
  }
}

TEST_F(OffloadTest, TestRunReportsGuestActionHostVerdictAndPacket) {
  test::Tap tap;
  auto frame = test::ipv4_frame(kProtoUdp, kGuestMac, kPeerMac);
  struct Case {
    const char* example;
    Flavor flavor;
    bool stats;
    const char* action;
    const char* verdict;
  } cases[] = {
      {"xdp1", Flavor::Tc, true, "XDP_DROP", "TC_ACT_SHOT"},
      {"xdp1", Flavor::Tc, false, "XDP_DROP|XDP_ABORTED", "TC_ACT_SHOT"},
      {"xdp2", Flavor::Tc, true, "XDP_TX", "TC_ACT_REDIRECT"},
      {"xdp2", Flavor::Chain, true, "XDP_TX", "XDP_TX"},
      {"xdp1", Flavor::Chain, false, "XDP_DROP", "XDP_DROP"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.example) + " " + std::string(flavor_name(c.flavor)));
    Submission sub = example(c.example, "xdp_prog1");
    auto off = Offload::load({.session = unique_session("tr"), .tap = tap.name(), .flavor = c.flavor,
                              .stats = c.stats, .attach = false},
                             sub, policy);
    ASSERT_TRUE(off) << off.error().message;
    // Repeated runs share one buffer (kernel semantics): an even number of
    // MAC swaps restores it, so look at the packet of a single run.
    auto one = off->test_run(frame, 1);
    ASSERT_TRUE(one) << one.error().message;
    if (std::string(c.example) == "xdp2") EXPECT_TRUE(macs_swapped(one->packet, frame));
    else EXPECT_EQ(one->packet, frame);
    auto r = off->test_run(frame, 10);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->guest_action, c.action);
    EXPECT_EQ(r->host_verdict, c.verdict);
    EXPECT_EQ(rxcnt(*off, handle_of(sub, "rxcnt"), kProtoUdp), 11u);
    EXPECT_EQ(test::egress_hook(tap.name()), "");  // attach = false
  }
  Submission sub = example("xdp1", "xdp_prog1");
  auto off = Offload::load({.session = unique_session("tr"), .tap = tap.name(), .attach = false}, sub, policy);
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->test_run(std::vector<std::uint8_t>(4, 0), 1));
  EXPECT_FALSE(off->test_run(frame, 0));
}

// persist(): the offload outlives its Offload object, held by its pins and
// the pinned tcx link, and comes down later from the pins alone.
TEST_F(OffloadTest, PersistLeavesTheProgramAttachedAndPinnedAfterTheObjectIsGone) {
  test::Tap tap;
  Submission sub = example("xdp1", "xdp_prog1");
  ASSERT_FALSE(sub.insns.empty());
  std::string session = unique_session("keep");
  // Whatever happens below, the session does not outlive the test (the tap's
  // filter goes with the tap).
  struct RemovePins {
    std::string session;
    ~RemovePins() { (void)remove_stale_session(session); }
  } remove_pins{session};

  std::vector<KernelObjectRef> objects;
  std::string dir;
  std::uint32_t prog_id = 0;
  {
    auto off = Offload::load({.session = session, .tap = tap.name(), .flavor = Flavor::Tc}, sub, policy);
    ASSERT_TRUE(off) << off.error().message;
    objects = off->kernel_objects();
    dir = off->pin_dir();
    prog_id = off->prog_id();
    ASSERT_TRUE(off->persist()) << "every pin is in place";
    EXPECT_TRUE(off->kernel_objects().empty()) << "persist() forgets what it owned";
    EXPECT_EQ(off->prog_fd(), -1);
  }
  // The Offload is gone; the kernel objects, pins and filter are not.
  ASSERT_EQ(objects.size(), 4u);  // prog, rxcnt, stats, btf
  for (const auto& o : objects) EXPECT_TRUE(kernel_object_exists(o)) << describe(o);
  for (const char* leaf : {"prog", "stats", "map_rxcnt", "link_egress"}) EXPECT_TRUE(exists(dir + "/" + leaf)) << leaf;
  EXPECT_NE(test::egress_hook(tap.name()).find("id " + std::to_string(prog_id)),
            std::string::npos);
  test::PacketSocket sender(tap.ifindex());
  send_mix(sender);
  EXPECT_TRUE(tap.read_frames(300).empty()) << "the persisted xdp1 still drops toward the guest";

  // Down from the pins alone (what `xoffload unload` does): the link pin
  // first, which detaches the program, then the rest.
  ASSERT_TRUE(remove_stale_session(session));
  EXPECT_FALSE(exists(dir));
  EXPECT_EQ(test::egress_hook(tap.name()), "") << "the link went with its pin";
  EXPECT_TRUE(still_alive(objects).empty());
}

// A FUNC whose prototype has an unnamed argument (what clang emits for a
// __naked function): the kernel refuses such BTF ("Invalid arg#1"), and
// libbpf then loads the object without BTF. So does the host.
TEST_F(OffloadTest, BtfTheKernelRefusesIsDroppedAsLibbpfDrops) {
  test::Tap tap;
  Submission sub = example("xdp1", "xdp_prog1");
  ASSERT_FALSE(sub.btf.empty());
  btf* b = btf__new(sub.btf.data(), static_cast<__u32>(sub.btf.size()));
  ASSERT_NE(b, nullptr);
  int func = btf__find_by_name_kind(b, "xdp_prog1", BTF_KIND_FUNC);
  ASSERT_GT(func, 0);
  auto* proto = const_cast<btf_type*>(btf__type_by_id(b, btf__type_by_id(b, func)->type));
  ASSERT_GE(btf_vlen(proto), 1);
  btf_params(proto)[0].name_off = 0;
  __u32 size = 0;
  auto* raw = static_cast<const std::uint8_t*>(btf__raw_data(b, &size));
  sub.btf.assign(raw, raw + size);
  btf__free(b);
  ASSERT_FALSE(load_btf(sub.btf)) << "the kernel must refuse the BTF for this test to mean anything";

  LoadReport report;
  auto off = Offload::load({.session = unique_session("nb"), .tap = tap.name(), .flavor = Flavor::Tc}, sub, policy,
                           &report);
  ASSERT_TRUE(off) << off.error().message << "\n" << report.verifier_log;
  EXPECT_EQ(off->kernel_objects().size(), 3u);  // prog, rxcnt, stats: no btf
  bool noted = false;
  for (const auto& n : report.notes) noted |= n.find("refused the guest's BTF") != std::string::npos;
  EXPECT_TRUE(noted);

  // A BTF over the quota is still refused: only the kernel's EINVAL is optional.
  auto big = Offload::load({.session = unique_session("nq"), .tap = tap.name(), .flavor = Flavor::Tc,
                            .btf_quota = BtfQuota{16}},
                           sub, policy);
  EXPECT_FALSE(big);
}

TEST_F(OffloadTest, LoadRefusesBadSessionsTapsAndDuplicates) {
  test::Tap tap;
  Submission sub = example("xdp1", "xdp_prog1");
  auto bad_session = Offload::load({.session = "../x", .tap = tap.name()}, sub, policy);
  ASSERT_FALSE(bad_session);
  EXPECT_NE(bad_session.error().message.find("session name"), std::string::npos);
  auto no_tap = Offload::load({.session = unique_session("nt"), .tap = "xo_no_such_tap"}, sub, policy);
  ASSERT_FALSE(no_tap);
  EXPECT_NE(no_tap.error().message.find("does not exist"), std::string::npos);
  std::string session = unique_session("dup");
  auto first = Offload::load({.session = session, .tap = tap.name()}, sub, policy);
  ASSERT_TRUE(first) << first.error().message;
  auto second = Offload::load({.session = session, .tap = tap.name()}, sub, policy);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("already exists"), std::string::npos);
  // A second session on the same tap cannot take over its filter.
  auto other = Offload::load({.session = unique_session("dup"), .tap = tap.name()}, sub, policy);
  ASSERT_FALSE(other);
  EXPECT_NE(other.error().message.find("EEXIST"), std::string::npos) << other.error().message;
  EXPECT_NE(test::egress_hook(tap.name()).find("id " + std::to_string(first->prog_id())),
            std::string::npos);
  auto devmap = Offload::load({.session = unique_session("dm"), .tap = tap.name(), .flavor = Flavor::Devmap},
                              sub, policy);
  ASSERT_FALSE(devmap);
  EXPECT_NE(devmap.error().message.find("not supported"), std::string::npos);
}

}  // namespace
}  // namespace xo::host
