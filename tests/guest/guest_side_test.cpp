// The guest side of offloads that defer (issue 13, PROTOCOL.md 8) against
// the real session library and host engine: GuestClient pins the guest-side
// maps and installs the trampoline; the host's program on the session's tap
// emits descriptor frames. The test plays the wire into the VM: it reads
// what the host sent toward the guest from the tap's fd and injects it into
// a veth whose peer plays the guest NIC, where the trampoline runs.
//
//   PacketSocket(tap) -> [host tc program] -> tap fd --copy--> veth g ==> g_peer [trampoline]
//                                                                   --DEVMAP--> t ==> t_peer [XDP_PASS] (captured)
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <linux/if_link.h>
#include <fcntl.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "guest/client/guest_client.hpp"
#include "guest/client/kept_offload.hpp"
#include "guest/client/trampoline.hpp"
#include "tests/guest/session_host.hpp"
#include "tests/host/netdev.hpp"

namespace xo::guest {
namespace {

using test::Bytes;
using test::SessionHost;
namespace tp = transport;

const std::string kProgs = XO_GUEST_SIDE_PROGS;
const std::uint8_t kDst[6] = {0x02, 0, 0, 0, 0, 0x0b};
const std::uint8_t kSrc[6] = {0x02, 0, 0, 0, 0, 0x0a};

// A UDP frame to `port` (the programs keep port 7001, drop the rest).
Bytes udp_frame(std::uint16_t port, std::uint8_t tag) {
  Bytes f = xo::test::ipv4_frame(17, kDst, kSrc, 32);
  f[14 + 20 + 2] = std::uint8_t(port >> 8);
  f[14 + 20 + 3] = std::uint8_t(port);
  f[14 + 20 + 6] = f[14 + 20 + 7] = 0;  // no UDP checksum
  f.back() = tag;
  return f;
}

bool pinned(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::uint32_t xdp_prog_on(int ifindex) {
  __u32 id = 0;
  if (bpf_xdp_query_id(ifindex, 0, &id) != 0) return 0;
  return id;
}

std::uint32_t map_id(const std::string& pin) {
  UniqueFd fd(bpf_obj_get(pin.c_str()));
  bpf_map_info info{};
  __u32 len = sizeof info;
  return fd && bpf_obj_get_info_by_fd(fd.get(), &info, &len) == 0 ? info.id : 0;
}

std::vector<std::uint32_t> prog_map_ids(std::uint32_t prog_id) {
  UniqueFd fd(bpf_prog_get_fd_by_id(prog_id));
  std::vector<std::uint32_t> ids(16);
  bpf_prog_info info{};
  info.nr_map_ids = std::uint32_t(ids.size());
  info.map_ids = reinterpret_cast<std::uintptr_t>(ids.data());
  __u32 len = sizeof info;
  if (!fd || bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0) return {};
  ids.resize(std::min<std::size_t>(info.nr_map_ids, ids.size()));
  return ids;
}

class GuestSideTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pin_root_ = "/sys/fs/bpf/xo_gside_" + std::to_string(getpid()) + "_" + std::to_string(counter_++);
    // The redirect target needs an XDP program for veth to take frames.
    auto pass = load_xdp_program("xo_pass", pass_insns());
    ASSERT_TRUE(pass) << pass.error().message;
    pass_fd_ = std::move(*pass);
    auto a = XdpAttachment::attach(std::uint32_t(t_.peer_ifindex()), pass_fd_.get(), XDP_FLAGS_DRV_MODE);
    ASSERT_TRUE(a) << a.error().message;
    pass_attach_ = std::move(*a);
  }
  void TearDown() override { xo::test::run("rm -rf " + pin_root_); }

  std::string pins() const { return pin_root_ + "/" + g_.peer(); }
  Status point_devmap_at_t() {
    UniqueFd fd(bpf_obj_get((pins() + "/tx_port").c_str()));
    const std::uint32_t key = 0, value = std::uint32_t(t_.ifindex());
    if (!fd || bpf_map_update_elem(fd.get(), &key, &value, 0) != 0) return err(errno, "devmap update");
    return Ok{};
  }
  // Frames that reached t_peer (redirected) and g_peer's stack (passed)
  // after `frames` were injected on g.
  struct Seen {
    std::vector<Bytes> redirected, passed;
  };
  Seen inject(const std::vector<Bytes>& frames) {
    xo::test::PacketSocket at_t(t_.peer_ifindex()), at_g(g_.peer_ifindex()), in(g_.ifindex());
    for (const Bytes& f : frames) EXPECT_EQ(in.send(f), 0);
    return Seen{at_t.receive(300), at_g.receive(300)};
  }

  static inline int counter_ = 0;
  xo::test::Veth g_, t_;
  std::string pin_root_;
  UniqueFd pass_fd_;
  XdpAttachment pass_attach_;
};

TEST_F(GuestSideTest, HostDescriptorsReachTheGuestDevmapThroughTheTrampoline) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd host_end(sv[0]), guest_end(sv[1]);
  ASSERT_EQ(::fcntl(host_end.get(), F_SETFL, O_NONBLOCK), 0);
  SessionHost host(std::move(host_end));
  GuestClient client(tp::Client(tp::Channel(std::move(guest_end), "session host"), 5000));

  OffloadOptions o;
  o.ifname = g_.peer();
  o.pin_root = pin_root_;
  o.flavor = tp::kFlavorTc;
  o.program = "e2e_devmap";
  auto prog = client.offload_file(kProgs, o);
  ASSERT_TRUE(prog) << prog.error().message;
  EXPECT_NE(prog->cookie, 0u);
  EXPECT_EQ(prog->guest_pin_dir, pins());
  ASSERT_TRUE(pinned(pins() + "/tx_port"));
  ASSERT_NE(prog->trampoline_id, 0u);
  EXPECT_EQ(xdp_prog_on(g_.peer_ifindex()), prog->trampoline_id);
  ASSERT_TRUE(point_devmap_at_t());

  // Toward the guest: one kept frame, one the program drops on the host.
  const Bytes kept = udp_frame(7001, 1), other = udp_frame(7100, 2);
  xo::test::PacketSocket to_guest(host.tap_ifindex());
  EXPECT_TRUE(to_guest.send_ok(kept));
  EXPECT_TRUE(to_guest.send_ok(other));
  auto wire = host.frames_to_guest(500);
  ASSERT_EQ(wire.size(), 1u) << "only the kept frame crosses, in a descriptor";
  ASSERT_GE(wire[0].size(), 14u + 32 + kept.size());
  EXPECT_EQ(wire[0][12], 0x88);
  EXPECT_EQ(wire[0][13], 0xb5);

  auto seen = inject(wire);
  EXPECT_EQ(seen.redirected, std::vector<Bytes>{kept});
  EXPECT_TRUE(seen.passed.empty());
  // A descriptor replayed with another cookie: dropped by the trampoline.
  Bytes forged = wire[0];
  forged[14] ^= 0xff;
  seen = inject({forged});
  EXPECT_TRUE(seen.redirected.empty());
  EXPECT_TRUE(seen.passed.empty());

  ASSERT_TRUE(client.unload(*prog));
  EXPECT_EQ(xdp_prog_on(g_.peer_ifindex()), 0u) << "the trampoline goes with the offload";
  EXPECT_FALSE(pinned(pins() + "/tx_port")) << "unload unpins the guest-side maps";
  EXPECT_EQ(host.programs(), 0u);
  EXPECT_EQ(host.maps(), 0u);
}

TEST_F(GuestSideTest, OffloadLostFallsBackToTheNativeProgramOnTheSameMaps) {
  const std::string sock = "/tmp/xo_gside_" + std::to_string(getpid()) + ".sock";
  SessionHost host(sock);
  KeepOptions k;
  k.object = kProgs;
  k.port = sock;
  k.offload.ifname = g_.peer();
  k.offload.pin_root = pin_root_;
  k.offload.flavor = tp::kFlavorTc;
  k.offload.program = "e2e_devmap";
  k.retry = std::chrono::hours(1);
  auto kept = KeptOffload::start(k);
  ASSERT_TRUE(kept) << kept.error().message;
  KeptOffload& ko = **kept;
  const std::uint32_t trampoline = ko.offloaded().trampoline_id;
  ASSERT_NE(trampoline, 0u);
  ASSERT_EQ(xdp_prog_on(g_.peer_ifindex()), trampoline);
  ASSERT_TRUE(point_devmap_at_t());
  const std::uint32_t devmap = map_id(pins() + "/tx_port");
  ASSERT_NE(devmap, 0u);

  host.send_event(tp::Event{tp::EventKind::OffloadLost, ko.offloaded().prog, "tap gone"});
  for (int i = 0; i < 50 && ko.runs_on() == RunsOn::Host; ++i) {
    (void)ko.poll();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(ko.runs_on(), RunsOn::Guest);
  const std::uint32_t native = xdp_prog_on(g_.peer_ifindex());
  EXPECT_NE(native, 0u);
  EXPECT_NE(native, trampoline) << "the trampoline is replaced";
  EXPECT_EQ(native, ko.native().prog_id());
  const auto ids = prog_map_ids(native);
  EXPECT_NE(std::find(ids.begin(), ids.end(), devmap), ids.end()) << "the native program uses the pinned DEVMAP";
  // It redirects natively through the entry guest user space set.
  const Bytes kept_frame = udp_frame(7001, 3);
  auto seen = inject({kept_frame, udp_frame(7100, 4)});
  EXPECT_EQ(seen.redirected, std::vector<Bytes>{kept_frame});
  EXPECT_TRUE(seen.passed.empty());

  ASSERT_TRUE(ko.stop());
  EXPECT_EQ(xdp_prog_on(g_.peer_ifindex()), 0u);
  EXPECT_FALSE(pinned(pins() + "/tx_port"));
}

}  // namespace
}  // namespace xo::guest
