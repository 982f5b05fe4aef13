// Deferred actions end to end on the host (protocol version 2,
// transport/PROTOCOL.md 8): a guest program that redirects through a
// guest-side DEVMAP, or samples into a guest-side perf array, offloaded with
// host::Offload (what `xoffload load` runs) on a real tap, fed through the
// kernel (tc: frames sent on the tap; chain: frames arriving on a veth whose
// ingress XDP program tail-calls the chain slot). What the guest would read
// from its NIC is read from the tap's fd and compared byte for byte with the
// descriptor frame the protocol specifies. The test process runs in its own
// netns (main.cpp).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include "guest/builder/elf_builder.hpp"
#include "host/core/offload.hpp"
#include "tests/host/ingress.hpp"
#include "tests/host/netdev.hpp"
#include "tests/translator/descriptor_frame.hpp"

namespace xo::host {
namespace {

using Bytes = std::vector<std::uint8_t>;
constexpr std::uint8_t kGuestMac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
constexpr std::uint8_t kPeerMac[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

std::string unique_session(const char* what) {
  static int n = 0;
  return std::string("d") + what + std::to_string(getpid()) + "_" + std::to_string(n++);
}

Submission deferred(const char* prog) {
  auto s = guest::build_submission_from_file(XO_DEFERRED_OBJ, std::string(prog));
  EXPECT_TRUE(s) << (s ? "" : s.error().message);
  if (s) s->guest_ifindex = 2;
  return s ? std::move(*s) : Submission{};
}

std::uint32_t handle_of(const Submission& s, const std::string& map) {
  for (const auto& m : s.maps)
    if (m.name == map) return m.handle;
  ADD_FAILURE() << "no map " << map;
  return 0;
}

// An IPv4/UDP frame toward the guest; byte 14 (the IP header's first byte,
// 0x45) is what deferred_progs.bpf.c's programs read as the selector, so
// the selector is written over it: these frames only need to be Ethernet.
Bytes toward_guest(std::uint8_t sel, std::uint8_t key, std::uint16_t ethertype = 0x0800) {
  Bytes f = test::ipv4_frame(17, kGuestMac, kPeerMac, 40);
  f[12] = std::uint8_t(ethertype >> 8);
  f[13] = std::uint8_t(ethertype);
  f[14] = sel;
  f[15] = key;
  return f;
}

class DeferredOffload : public testing::TestWithParam<Flavor> {
 protected:
  void SetUp() override { ASSERT_EQ(system("mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf"), 0); }

  // Loads `prog` on the tap for the flavor and returns a sender whose frames
  // go through it: tc, the tap's own Tx path; chain, a veth's ingress XDP
  // program that tail-calls the chain slot.
  void offload(const char* prog) {
    sub_ = deferred(prog);
    ASSERT_FALSE(sub_.insns.empty());
    LoadReport report;
    auto off = Offload::load({.session = unique_session("o"), .tap = tap_.name(), .flavor = GetParam()}, sub_,
                             policy_, &report);
    ASSERT_TRUE(off) << off.error().message << "\n" << report.verifier_log;
    off_.emplace(std::move(*off));
    ASSERT_NE(off_->status().cookie, 0u) << "a program that defers gets a cookie";
    if (GetParam() == Flavor::Chain) {
      veth_.emplace();
      ing_.emplace();
      test::load_ingress(*ing_, off_->pin_dir() + "/chain_" + tap_.name(), tap_.ifindex(), veth_->ifindex());
      if (HasFatalFailure()) return;
      sender_.emplace(veth_->peer_ifindex());
    } else {
      sender_.emplace(tap_.ifindex());
    }
  }
  std::vector<Bytes> through(const Bytes& f, int n = 1) {
    for (int i = 0; i < n; ++i) EXPECT_TRUE(sender_->send_ok(f));
    return tap_.read_frames(300);
  }
  std::uint64_t count(std::size_t slot) {
    auto s = off_->stats();
    EXPECT_TRUE(s);
    return s ? s->count[slot] : ~0ull;
  }

  DefaultPolicy policy_;
  test::Tap tap_;
  Submission sub_;
  std::optional<test::Veth> veth_;
  std::optional<test::IngressProgram> ing_;
  std::optional<test::PacketSocket> sender_;
  std::optional<Offload> off_;  // last: torn down first
};

TEST_P(DeferredOffload, RedirectMapArrivesAsTheDescriptorFrame) {
  ASSERT_NO_FATAL_FAILURE(offload("defer_redirect_map"));
  const Bytes in = toward_guest(0x01, 5);
  const auto got = through(in, 3);
  ASSERT_EQ(got.size(), 3u);
  const Bytes want = test::descriptor_frame(in, off_->status().cookie, 1, 0, handle_of(sub_, "tx_port"), 5, 2);
  for (const Bytes& f : got) EXPECT_EQ(f, want);
  // Dropped on the host: nothing reaches the guest.
  EXPECT_TRUE(through(toward_guest(0xdd, 5), 2).empty());
  // Forged: a frame already carrying the descriptor's ethertype is dropped
  // before the program runs, counted as a policy drop.
  EXPECT_TRUE(through(toward_guest(0x01, 5, 0x88B5), 2).empty());
  EXPECT_EQ(count(4), 3u);  // XDP_REDIRECT
  EXPECT_EQ(count(1), 2u);  // XDP_DROP
  EXPECT_EQ(count(5), 2u);  // policy drops
}

TEST_P(DeferredOffload, DroppedFrameWithASampleStillCarriesItToTheGuest) {
  ASSERT_NO_FATAL_FAILURE(offload("defer_sampler"));
  const Bytes in = toward_guest(1, 0);
  const auto got = through(in);
  ASSERT_EQ(got.size(), 1u);
  Bytes data;
  test::put_le(data, 0xfeedf00d, 4);
  test::put_le(data, in.size(), 2);
  data.push_back(1);
  data.push_back(0);
  test::put_le(data, 0x0102030405060708ull, 8);
  const test::DescriptorSample s{handle_of(sub_, "events"), 0xffffffffull | (32ull << 32), data};
  EXPECT_EQ(got[0], test::descriptor_frame(in, off_->status().cookie, 0, 1 /* XDP_DROP */, 0, 0, 0, {s}));
  EXPECT_TRUE(through(toward_guest(7, 0)).empty()) << "dropped without a sample: nothing crosses";
}

INSTANTIATE_TEST_SUITE_P(Flavors, DeferredOffload, testing::Values(Flavor::Tc, Flavor::Chain),
                         [](const auto& p) { return std::string(flavor_name(p.param)); });

}  // namespace
}  // namespace xo::host
