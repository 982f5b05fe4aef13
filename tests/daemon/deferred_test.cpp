// Protocol version 2 through the real daemon (transport/PROTOCOL.md 8):
// CAPS negotiates it, guest-side maps exist as handles only, a deferring
// PROG_LOAD needs its cookie, and a tc offload delivers the descriptor frame
// to the guest's side of a real tap. A version 1 guest sees none of it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "guest/builder/elf_builder.hpp"
#include "tests/daemon/harness.hpp"
#include "tests/host/netdev.hpp"
#include "tests/translator/descriptor_frame.hpp"

namespace xo::dtest {
namespace {

namespace ts = xo::transport;
namespace st = xo::transport::status;

Submission program(const char* name) {
  auto s = guest::build_submission_from_file(XO_DEFERRED_OBJ, name);
  if (!s) throw std::runtime_error(std::string(name) + ": " + s.error().message);
  s->guest_ifindex = 2;
  return std::move(*s);
}

bool has_map_type(const ts::CapsReply& c, MapType t) {
  return std::count(c.map_types.begin(), c.map_types.end(), std::uint32_t(t)) == 1;
}
const ts::HelperCap* helper(const ts::CapsReply& c, std::int32_t id) {
  for (const auto& h : c.helpers)
    if (h.id == id) return &h;
  return nullptr;
}

struct Guest {
  test::Tap tap;
  SessionSpec spec{unique_name("dv"), tap.name(), "", ""};
  Daemon daemon{{spec}};
  std::optional<ts::Client> client;
  Guest() {
    auto c = connect_guest(daemon.session(0).socket);
    EXPECT_TRUE(c) << c.error().message;
    if (c) client.emplace(std::move(*c));
  }
};

TEST(DaemonVersion2, AVersion1GuestSeesNothingOfIt) {
  Guest g;
  ASSERT_TRUE(g.client);
  auto r = g.client->call(ts::CapsRequest{1, 1});
  ASSERT_TRUE(r) << r.error().message;
  const auto& caps = std::get<ts::CapsReply>(*r);
  EXPECT_EQ(caps.version, 1);
  for (MapType t : kGuestSideMapTypes) EXPECT_FALSE(has_map_type(caps, t)) << map_type_name(t);
  for (std::int32_t id : {BPF_FUNC_redirect, BPF_FUNC_redirect_map, BPF_FUNC_perf_event_output})
    EXPECT_FALSE(helper(caps, id)) << id;
  auto devmap = g.client->call(ts::MapCreateRequest{.type = MapType::Devmap, .key_size = 4, .value_size = 4,
                                                    .max_entries = 4, .name = "tx_port"});
  ASSERT_TRUE(devmap);
  EXPECT_EQ(ts::reply_status(*devmap)->code, st::kEINVAL) << ts::reply_status(*devmap)->message;
  // A redirect by ifindex needs no map: the helper itself is refused, as
  // it always was for version 1.
  Offloaded out;
  auto reply = prog_load_reply(*g.client, program("defer_redirect_ifindex"), ts::kFlavorTc, out);
  ASSERT_TRUE(reply) << reply.error().message;
  EXPECT_EQ(reply->status.code, st::kEPERM) << reply->status.message;
  EXPECT_NE(reply->status.message.find("bpf_redirect"), std::string::npos) << reply->status.message;
}

TEST(DaemonVersion2, GuestSideMapsAreHandlesWithoutElements) {
  Guest g;
  ASSERT_TRUE(g.client);
  auto caps = g.client->caps();
  ASSERT_TRUE(caps) << caps.error().message;
  EXPECT_EQ(caps->version, 2);
  EXPECT_EQ(g.client->version(), 2);
  for (MapType t : kGuestSideMapTypes) EXPECT_TRUE(has_map_type(*caps, t)) << map_type_name(t);
  for (std::int32_t id : {BPF_FUNC_redirect, BPF_FUNC_redirect_map, BPF_FUNC_perf_event_output}) {
    const ts::HelperCap* h = helper(*caps, id);
    ASSERT_TRUE(h) << id;
    EXPECT_EQ(h->flavors & ((1u << ts::kFlavorTc) | (1u << ts::kFlavorChain)),
              (1u << ts::kFlavorTc) | (1u << ts::kFlavorChain));
    EXPECT_FALSE(h->flavors & (1u << ts::kFlavorTun)) << "tun cannot deliver a descriptor";
  }
  auto map = g.client->map_create(ts::MapCreateRequest{.type = MapType::Xskmap, .key_size = 4, .value_size = 4,
                                                       .max_entries = 4, .name = "xsks"});
  ASSERT_TRUE(map) << map.error().message;
  const std::vector<std::uint8_t> key{0, 0, 0, 0};
  for (const ts::Message& m : std::vector<ts::Message>{ts::MapLookupRequest{*map, key},
                                                       ts::MapUpdateRequest{*map, 0, key, key},
                                                       ts::MapDeleteRequest{*map, key},
                                                       ts::MapGetNextKeyRequest{*map, {}}}) {
    auto r = g.client->call(m);
    ASSERT_TRUE(r);
    EXPECT_EQ(ts::reply_status(*r)->code, st::kEOPNOTSUPP) << ts::type_name(ts::type_of(m));
  }
  // Nor can it shape or fill a map of maps: it has no host object.
  auto outer = g.client->call(ts::MapCreateRequest{.type = MapType::ArrayOfMaps, .key_size = 4, .value_size = 4,
                                                   .max_entries = 2, .name = "outer", .inner_map = *map});
  ASSERT_TRUE(outer);
  EXPECT_EQ(ts::reply_status(*outer)->code, st::kEINVAL) << ts::reply_status(*outer)->message;
  EXPECT_TRUE(g.client->map_free(*map));
}

TEST(DaemonVersion2, ADeferringProgramNeedsItsCookie) {
  Guest g;
  ASSERT_TRUE(g.client);
  ASSERT_TRUE(g.client->caps());
  Submission s = program("defer_redirect_map");
  Offloaded out;
  auto reply = prog_load_reply(*g.client, s, ts::kFlavorTc, out);  // no cookie
  ASSERT_TRUE(reply) << reply.error().message;
  EXPECT_EQ(reply->status.code, st::kEINVAL) << reply->status.message;
  EXPECT_NE(reply->status.message.find("no cookie"), std::string::npos) << reply->status.message;
}

// The whole path on a real tap: the guest client draws the cookie, the
// daemon's tc program pushes the descriptor, the guest's side of the tap
// reads it.
TEST(DaemonVersion2, TcOffloadDeliversTheDescriptorFrame) {
  Guest g;
  ASSERT_TRUE(g.client);
  Submission s = program("defer_redirect_map");
  guest::GuestClient gc(std::move(*g.client));
  guest::OffloadOptions o;
  o.flavor = ts::kFlavorTc;
  o.ifindex = 2;
  o.install_guest_side = false;  // this test reads the descriptor off the tap itself
  auto off = gc.offload(s, o);
  ASSERT_TRUE(off) << off.error().message << "\n" << g.daemon.log();
  ASSERT_NE(off->cookie, 0u);
  const guest::OffloadedMap* tx = off->find_map("tx_port");
  ASSERT_TRUE(tx);
  const std::uint8_t dst[6] = {0x52, 0x54, 0, 0x12, 0x34, 0x56}, src[6] = {0x02, 0, 0, 0, 0, 0x01};
  auto frame = test::ipv4_frame(17, dst, src, 40);
  frame[14] = 0x01;
  frame[15] = 3;
  test::PacketSocket sock(g.tap.ifindex());
  ASSERT_TRUE(sock.send_ok(frame));
  auto got = g.tap.read_frames(300);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0], test::descriptor_frame(frame, off->cookie, 1, 0, tx->handle, 3, 2 /* XDP_PASS */));
  auto stats = gc.stats(off->prog);
  ASSERT_TRUE(stats) << stats.error().message;
  std::uint64_t redirected = 0;
  for (const auto& c : *stats)
    if (c.action == ts::kActionRedirect) redirected = c.packets;
  EXPECT_EQ(redirected, 1u);
}

}  // namespace
}  // namespace xo::dtest
