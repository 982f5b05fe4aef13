// The trampoline (guest/client/trampoline*.hpp) on this machine's kernel,
// standing in for a guest's: it is a plain XDP program. Each test process
// runs in a fresh network namespace (tests/host/main.cpp).
//
//   inject (AF_PACKET) -> veth a ==> a_peer [trampoline] --devmap/ifindex--> b ==> b_peer [XDP_PASS] (captured)
//                                        |--> XSKMAP[0] -> AF_XDP socket on a_peer queue 0 (copy mode)
//                                        |--> perf samples -> PERF_EVENT_ARRAY (libbpf perf_buffer)
//                                        '--> XDP_PASS -> a_peer's stack (captured)
//
// Descriptor frames are built from the one definition of the layout
// (guest/client/descriptor_layout.hpp names the host's), not a copy. Every case counts what
// arrives where, exactly: a frame that should be dropped must appear
// nowhere, and the same frame with the right cookie must reach its target.
#include <gtest/gtest.h>

#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <poll.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <thread>

#include "guest/client/guest_maps.hpp"
#include "guest/client/trampoline.hpp"
#include "guest/receivers/perf_reader.hpp"
#include "guest/receivers/xsk_socket.hpp"
#include "tests/host/netdev.hpp"
#include "guest/client/descriptor_layout.hpp"

namespace xo::guest {
namespace {

namespace d = descriptor;
using Bytes = std::vector<std::uint8_t>;

constexpr std::uint64_t kCookie = 0x1122334455667788ull;
constexpr std::uint32_t kDevmapHandle = 7, kXskHandle = 9, kPerfHandle = 11;
constexpr int kWaitMs = 300;

const std::uint8_t kDst[6] = {0x02, 0, 0, 0, 0, 0x0b};
const std::uint8_t kSrc[6] = {0x02, 0, 0, 0, 0, 0x0a};

void put_le(Bytes& b, std::size_t at, std::uint64_t v, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) b[at + i] = std::uint8_t(v >> (8 * i));
}

struct Sample {
  std::uint32_t map = kPerfHandle;
  Bytes data;
  std::uint64_t flags = BPF_F_CURRENT_CPU;
};

struct Descriptor {
  std::uint64_t cookie = kCookie;
  std::uint8_t version = d::kVersion;
  std::uint8_t verdict = d::kVerdictAction;
  std::uint8_t action = XDP_PASS;
  std::uint32_t map = 0, key = 0, pad = 0;
  std::uint64_t flags = 0;
  std::vector<Sample> samples;
  std::optional<std::uint8_t> nsamples;  // default: samples.size()
};

// outer Ethernet header + descriptor + records + inner frame (PROTOCOL.md 8.2).
Bytes descriptor_frame(const Descriptor& desc, const Bytes& inner) {
  Bytes f(d::kOuterHeaderSize + d::kHeaderSize, 0);
  std::memcpy(f.data(), inner.data(), 12);  // the inner frame's MACs
  f[12] = std::uint8_t(d::kEthertype >> 8);
  f[13] = std::uint8_t(d::kEthertype & 0xff);
  const std::size_t h = d::kOuterHeaderSize;
  put_le(f, h + d::kCookieOff, desc.cookie, 8);
  f[h + d::kVersionOff] = desc.version;
  f[h + d::kVerdictOff] = desc.verdict;
  f[h + d::kActionOff] = desc.action;
  f[h + d::kNsamplesOff] = desc.nsamples.value_or(std::uint8_t(desc.samples.size()));
  put_le(f, h + d::kMapOff, desc.map, 4);
  put_le(f, h + d::kKeyOff, desc.key, 4);
  put_le(f, h + d::kPadOff, desc.pad, 4);
  put_le(f, h + d::kFlagsOff, desc.flags, 8);
  for (const Sample& s : desc.samples) {
    const std::size_t r = f.size();
    f.resize(r + d::kRecordHeaderSize + (s.data.size() + 7) / 8 * 8, 0);
    put_le(f, r + d::kRecordMapOff, s.map, 4);
    put_le(f, r + d::kRecordSizeOff, s.data.size(), 4);
    put_le(f, r + d::kRecordFlagsOff, s.flags, 8);
    std::copy(s.data.begin(), s.data.end(), f.begin() + long(r + d::kRecordHeaderSize));
  }
  f.insert(f.end(), inner.begin(), inner.end());
  return f;
}

// A UDP-ish IPv4 frame whose payload byte `tag` tells frames apart.
Bytes inner_frame(std::uint8_t tag, std::size_t payload = 64) {
  Bytes f = test::ipv4_frame(17, kDst, kSrc, payload);
  f.back() = tag;
  return f;
}

class TrampolineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pin_dir_ = "/sys/fs/bpf/xo_tramp_test_" + std::to_string(getpid());
    Submission s;
    s.maps = {
        MapDef{1, MapType::Devmap, 4, 4, 4, 0, "tx_port"},
        MapDef{2, MapType::Xskmap, 4, 4, 4, 0, "xsks_map"},
        MapDef{3, MapType::PerfEventArray, 4, 4, 0, 0, "events"},
    };
    auto maps = open_guest_maps(s, pin_dir_);
    ASSERT_TRUE(maps) << maps.error().message;
    maps_ = std::move(*maps);
    ASSERT_EQ(maps_.size(), 3u);

    // b's peer needs an XDP program for veth to take redirected frames.
    auto pass = load_xdp_program("xo_pass", pass_insns());
    ASSERT_TRUE(pass) << pass.error().message;
    pass_fd_ = std::move(*pass);
    auto pa = XdpAttachment::attach(std::uint32_t(b_.peer_ifindex()), pass_fd_.get(), XDP_FLAGS_DRV_MODE);
    ASSERT_TRUE(pa) << pa.error().message;
    pass_attach_ = std::move(*pa);

    const std::uint32_t key = 0, target = std::uint32_t(b_.ifindex());
    ASSERT_EQ(bpf_map_update_elem(maps_[0].fd.get(), &key, &target, 0), 0) << std::strerror(errno);

    TrampolineBinding binding{kCookie,
                              {{kDevmapHandle, maps_[0].fd.get()}, {kXskHandle, maps_[1].fd.get()}},
                              {{kPerfHandle, maps_[2].fd.get()}}};
    auto t = Trampoline::load(binding);
    ASSERT_TRUE(t) << t.error().message;
    trampoline_.emplace(std::move(*t));
    ASSERT_TRUE(trampoline_->attach(std::uint32_t(a_.peer_ifindex()), XDP_FLAGS_DRV_MODE));
  }
  void TearDown() override {
    trampoline_.reset();
    std::vector<std::string> names;
    for (const auto& m : maps_) names.push_back(m.def.name);
    maps_.clear();
    (void)unpin_guest_maps(names, pin_dir_);
  }

  // Sends each frame into a; returns what a_peer's stack and b_peer saw.
  struct Seen {
    std::vector<Bytes> passed, redirected;
  };
  Seen inject(const std::vector<Bytes>& frames) {
    test::PacketSocket at_a(a_.peer_ifindex()), at_b(b_.peer_ifindex());
    test::PacketSocket in(a_.ifindex());
    for (const Bytes& f : frames) EXPECT_EQ(in.send(f), 0);
    Seen s;
    s.passed = at_a.receive(kWaitMs);
    s.redirected = at_b.receive(kWaitMs);
    return s;
  }

  test::Veth a_, b_;
  std::string pin_dir_;
  std::vector<PinnedMap> maps_;
  UniqueFd pass_fd_;
  XdpAttachment pass_attach_;
  std::optional<Trampoline> trampoline_;
};

TEST_F(TrampolineTest, NonDescriptorFramesPassUnchanged) {
  const Bytes f1 = inner_frame(1), f2 = inner_frame(2, 200);
  auto seen = inject({f1, f2});
  EXPECT_EQ(seen.passed, (std::vector<Bytes>{f1, f2}));
  EXPECT_TRUE(seen.redirected.empty());
}

TEST_F(TrampolineTest, ActionPassPopsTheDescriptor) {
  const Bytes inner = inner_frame(3);
  Descriptor desc;
  desc.action = XDP_PASS;
  auto seen = inject({descriptor_frame(desc, inner)});
  EXPECT_EQ(seen.passed, std::vector<Bytes>{inner});
  EXPECT_TRUE(seen.redirected.empty());
}

TEST_F(TrampolineTest, DevmapRedirectReachesTheOtherVeth) {
  Descriptor desc;
  desc.verdict = d::kVerdictRedirectMap;
  desc.map = kDevmapHandle;
  desc.key = 0;
  std::vector<Bytes> sent, inners;
  for (std::uint8_t i = 0; i < 5; ++i) {
    inners.push_back(inner_frame(10 + i));
    sent.push_back(descriptor_frame(desc, inners.back()));
  }
  auto seen = inject(sent);
  EXPECT_EQ(seen.redirected, inners);
  EXPECT_TRUE(seen.passed.empty());
  // A key the devmap does not hold: bpf_redirect_map's own verdict (flags'
  // low bits: XDP_ABORTED by default), nothing arrives.
  desc.key = 3;
  seen = inject({descriptor_frame(desc, inner_frame(20))});
  EXPECT_TRUE(seen.redirected.empty());
  EXPECT_TRUE(seen.passed.empty());
  // ... and with XDP_PASS as the flags' fallback action, it passes.
  desc.flags = XDP_PASS;
  const Bytes inner = inner_frame(21);
  seen = inject({descriptor_frame(desc, inner)});
  EXPECT_TRUE(seen.redirected.empty());
  EXPECT_EQ(seen.passed, std::vector<Bytes>{inner});
}

TEST_F(TrampolineTest, RedirectByIfindex) {
  Descriptor desc;
  desc.verdict = d::kVerdictRedirect;
  desc.key = std::uint32_t(b_.ifindex());
  const Bytes i1 = inner_frame(30), i2 = inner_frame(31, 300);
  auto seen = inject({descriptor_frame(desc, i1), descriptor_frame(desc, i2)});
  EXPECT_EQ(seen.redirected, (std::vector<Bytes>{i1, i2}));
  EXPECT_TRUE(seen.passed.empty());
}

TEST_F(TrampolineTest, AfXdpSocketReceivesExactlyTheRedirectedFrames) {
  auto xsk = XskSocket::open(a_.peer(), 0);
  ASSERT_TRUE(xsk) << xsk.error().message;
  ASSERT_TRUE((*xsk)->bind_to_map(maps_[1].fd.get()));
  Descriptor to_xsk;
  to_xsk.verdict = d::kVerdictRedirectMap;
  to_xsk.map = kXskHandle;
  to_xsk.key = 0;
  std::vector<Bytes> sent, expected;
  for (std::uint8_t i = 0; i < 6; ++i) {
    const Bytes inner = inner_frame(40 + i);
    if (i % 2 == 0) {
      sent.push_back(descriptor_frame(to_xsk, inner));
      expected.push_back(inner);
    } else {
      sent.push_back(inner);  // plain frames pass to the stack, not the socket
    }
  }
  auto seen = inject(sent);
  EXPECT_EQ((*xsk)->receive(kWaitMs), expected);
  EXPECT_EQ(seen.passed.size(), 3u);
}

TEST_F(TrampolineTest, PerfSamplesAreExactAndTheFrameIsDropped) {
  auto opened = PerfReader::open(maps_[2].fd.get());
  ASSERT_TRUE(opened) << opened.error().message;
  PerfReader& reader = **opened;
  const Bytes inner = inner_frame(50);
  constexpr std::uint64_t kCtxLen = 20;
  Descriptor desc;
  desc.action = XDP_DROP;
  desc.samples = {Sample{kPerfHandle, {1, 2, 3, 4, 5}, BPF_F_CURRENT_CPU | (kCtxLen << 32)},
                  Sample{kPerfHandle, Bytes(8, 0xcd), BPF_F_CURRENT_CPU}};
  // The largest sample that fits the 192-byte bound alone.
  Descriptor largest;
  largest.action = XDP_DROP;
  largest.samples = {Sample{kPerfHandle, Bytes(d::kMaxSampleSize, 0xab), BPF_F_CURRENT_CPU}};
  auto seen = inject({descriptor_frame(desc, inner), descriptor_frame(largest, inner)});
  EXPECT_TRUE(seen.passed.empty());
  EXPECT_TRUE(seen.redirected.empty());
  auto samples = reader.take(kWaitMs);
  ASSERT_EQ(samples.size(), 3u);
  // Raw samples are padded so that 4 + size is a multiple of 8.
  auto expect_sample = [](const Bytes& got, const Bytes& want) {
    ASSERT_GE(got.size(), want.size());
    EXPECT_EQ(Bytes(got.begin(), got.begin() + long(want.size())), want);
    EXPECT_EQ((got.size() + 4) % 8, 0u);
    EXPECT_LT(got.size(), want.size() + 8);
  };
  Bytes first = {1, 2, 3, 4, 5};
  first.insert(first.end(), inner.begin(), inner.begin() + kCtxLen);
  expect_sample(samples[0], first);
  expect_sample(samples[1], Bytes(8, 0xcd));
  expect_sample(samples[2], Bytes(d::kMaxSampleSize, 0xab));
  EXPECT_EQ(reader.lost(), 0u);

  // A sample with a redirect: emitted, and the frame still goes.
  Descriptor both;
  both.verdict = d::kVerdictRedirect;
  both.key = std::uint32_t(b_.ifindex());
  both.samples = {Sample{kPerfHandle, {}, BPF_F_CURRENT_CPU | (std::uint64_t(14) << 32)}};
  seen = inject({descriptor_frame(both, inner)});
  EXPECT_EQ(seen.redirected, std::vector<Bytes>{inner});
  samples = reader.take(kWaitMs);
  ASSERT_EQ(samples.size(), 1u);
  EXPECT_EQ(Bytes(samples[0].begin(), samples[0].begin() + 14), Bytes(inner.begin(), inner.begin() + 14));
}

// Each of these would reach the devmap (or pass) if it were well-formed; the
// trampoline drops every one: nothing arrives anywhere, no sample.
TEST_F(TrampolineTest, MalformedOrForgedDescriptorsAreDropped) {
  auto opened = PerfReader::open(maps_[2].fd.get());
  ASSERT_TRUE(opened) << opened.error().message;
  PerfReader& reader = **opened;
  Descriptor good;
  good.verdict = d::kVerdictRedirectMap;
  good.map = kDevmapHandle;
  good.samples = {Sample{kPerfHandle, {9, 9}, BPF_F_CURRENT_CPU}};
  const Bytes inner = inner_frame(60);
  std::vector<std::pair<std::string, Bytes>> bad;
  auto variant = [&](const std::string& why, auto change) {
    Descriptor x = good;
    change(x);
    bad.emplace_back(why, descriptor_frame(x, inner));
  };
  variant("wrong cookie", [](Descriptor& x) { x.cookie ^= 1; });
  variant("zero cookie", [](Descriptor& x) { x.cookie = 0; });
  variant("bad version", [](Descriptor& x) { x.version = 2; });
  variant("bad verdict", [](Descriptor& x) { x.verdict = 3; });
  variant("unbound redirect map", [](Descriptor& x) { x.map = kPerfHandle; });
  variant("pad set", [](Descriptor& x) { x.pad = 1; });
  variant("too many samples", [](Descriptor& x) { x.nsamples = 3; });
  variant("sample on an unbound map", [](Descriptor& x) { x.samples[0].map = kDevmapHandle; });
  variant("ACTION with XDP_TX", [](Descriptor& x) { x.verdict = d::kVerdictAction; x.map = 0; x.action = XDP_TX; });
  variant("ACTION with a map", [](Descriptor& x) { x.verdict = d::kVerdictAction; x.action = XDP_PASS; });
  variant("REDIRECT with a map", [](Descriptor& x) { x.verdict = d::kVerdictRedirect; x.key = 1; });
  {
    Descriptor x = good;
    x.samples[0].data = Bytes(d::kMaxSampleSize + 8, 1);  // over the bound
    bad.emplace_back("sample over 128 bytes", descriptor_frame(x, inner));
    x.samples = {Sample{kPerfHandle, Bytes(d::kMaxSampleSize, 1)}, Sample{kPerfHandle, Bytes(8, 2)}};
    bad.emplace_back("descriptor over 192 bytes", descriptor_frame(x, inner));
  }
  {
    Bytes f = descriptor_frame(good, inner);
    f.resize(d::kOuterHeaderSize + d::kHeaderSize - 1);
    bad.emplace_back("short frame", f);
  }
  {
    Bytes f = descriptor_frame(good, inner);
    f.resize(d::kOuterHeaderSize + d::kHeaderSize + 4);  // the sample record is cut
    bad.emplace_back("record cut", f);
  }
  for (const auto& [why, frame] : bad) {
    auto seen = inject({frame});
    EXPECT_TRUE(seen.passed.empty()) << why;
    EXPECT_TRUE(seen.redirected.empty()) << why;
  }
  EXPECT_TRUE(reader.take(50).empty());
  // The well-formed one does arrive, with its sample.
  auto seen = inject({descriptor_frame(good, inner)});
  EXPECT_EQ(seen.redirected, std::vector<Bytes>{inner});
  EXPECT_EQ(reader.take(kWaitMs).size(), 1u);
}

TEST_F(TrampolineTest, RemovedWithItsOwner) {
  const std::uint32_t ifindex = std::uint32_t(a_.peer_ifindex());
  __u32 id = 0;
  ASSERT_EQ(bpf_xdp_query_id(int(ifindex), XDP_FLAGS_DRV_MODE, &id), 0);
  EXPECT_EQ(id, trampoline_->prog_id());
  trampoline_.reset();
  ASSERT_EQ(bpf_xdp_query_id(int(ifindex), XDP_FLAGS_DRV_MODE, &id), 0);
  EXPECT_EQ(id, 0u);
  // With no trampoline a descriptor frame is just an unknown ethertype.
  Descriptor desc;
  desc.verdict = d::kVerdictRedirect;
  desc.key = std::uint32_t(b_.ifindex());
  const Bytes f = descriptor_frame(desc, inner_frame(70));
  auto seen = inject({f});
  EXPECT_EQ(seen.passed, std::vector<Bytes>{f});
  EXPECT_TRUE(seen.redirected.empty());
}

// Every shape of binding loads: the kernel refuses unreachable code, which
// a binding without perf maps (or redirect maps) must not leave.
TEST(TrampolineCode, EveryBindingShapeLoads) {
  auto devmap = bpf_map_create(BPF_MAP_TYPE_DEVMAP, "t_dev", 4, 4, 1, nullptr);
  auto perf = bpf_map_create(BPF_MAP_TYPE_PERF_EVENT_ARRAY, "t_perf", 4, 4, 1, nullptr);
  ASSERT_GE(devmap, 0);
  ASSERT_GE(perf, 0);
  UniqueFd d(devmap), p(perf);
  for (const TrampolineBinding& b : {TrampolineBinding{1, {}, {}}, TrampolineBinding{1, {{3, devmap}}, {}},
                                     TrampolineBinding{1, {}, {{4, perf}}},
                                     TrampolineBinding{1, {{3, devmap}}, {{4, perf}}}}) {
    auto t = Trampoline::load(b);
    EXPECT_TRUE(t) << b.redirect_maps.size() << " redirect, " << b.perf_maps.size()
                   << " perf maps: " << t.error().message;
  }
}

TEST(TrampolineCode, RefusesBadBindings) {
  EXPECT_EQ(trampoline_insns({0, {}, {}}).error().code, EINVAL);
  EXPECT_FALSE(trampoline_insns({1, {{0, 3}}, {}}));
  EXPECT_FALSE(trampoline_insns({1, {{5, 3}}, {{5, 4}}}));
  EXPECT_FALSE(trampoline_insns({1, {{5, -1}}, {}}));
  EXPECT_TRUE(trampoline_insns({1, {}, {}}));
}

}  // namespace
}  // namespace xo::guest
