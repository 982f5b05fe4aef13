// Issue 11's map types through the real protocol and daemon, on a real tap:
// the guest fills each map with MAP_UPDATE (handles, never fds), and the
// frames that reach the guest show that the host program reads what the
// guest wrote. Programs: tests/builder/progs/maptypes.bpf.c.
#include <gtest/gtest.h>

#include <cstring>

#include "guest/builder/elf_builder.hpp"
#include "host/session/session.hpp"
#include "tests/daemon/harness.hpp"
#include "tests/host/netdev.hpp"

namespace xo::dtest {
namespace {

namespace ts = xo::transport;
namespace st = xo::transport::status;

const std::string kObject = std::string(XO_BUILDER_PROGS_DIR) + "/builder_maptypes.o";

Submission program(const char* name) {
  auto s = guest::build_submission_from_file(kObject, name);
  if (!s) throw std::runtime_error(std::string(name) + ": " + s.error().message);
  return std::move(*s);
}

std::vector<std::uint8_t> le32(std::uint32_t v) {
  std::vector<std::uint8_t> b(4);
  std::memcpy(b.data(), &v, 4);
  return b;
}

std::uint32_t u32_of(const std::vector<std::uint8_t>& b) {
  std::uint32_t v = 0;
  if (b.size() >= 4) std::memcpy(&v, b.data(), 4);
  return v;
}

// One guest on a fresh tap and daemon session.
struct Guest {
  test::Tap tap;
  SessionSpec spec{unique_name("mt"), tap.name(), "", ""};
  Daemon daemon{std::vector<SessionSpec>{spec}};
  transport::Client client = connect_guest(daemon.session(0).socket).value();

  Offloaded load(const char* name, bool attach = true, std::uint8_t flavor = ts::kFlavorTc) {
    auto off = offload(client, program(name), flavor, attach);
    if (!off) throw std::runtime_error(std::string(name) + ": " + off.error().message + "\n" + daemon.log());
    return std::move(*off);
  }
  // How many of `n` UDP frames to 10.77.0.2 sent into the tap's Tx path reach the guest.
  int delivered(int n) {
    const std::uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x02}, src[6] = {0x02, 0, 0, 0, 0, 0x01};
    test::PacketSocket sock(tap.ifindex());
    for (int i = 0; i < n; ++i) EXPECT_TRUE(sock.send_ok(test::ipv4_frame(17, dst, src)));
    int got = 0;
    for (const auto& f : tap.read_frames(300))
      if (f.size() >= 34 && f[12] == 0x08 && f[13] == 0x00 && f[23] == 17) ++got;
    return got;
  }
  std::int32_t status_of(const ts::Message& request) {
    auto reply = client.call(request);
    if (!reply) return st::kEIO;
    return ts::reply_status(*reply)->code;
  }
};

// 10.77.0.0/16 as an LPM key: u32 prefix length, then the address bytes.
std::vector<std::uint8_t> lpm_key(std::uint32_t prefixlen, std::uint8_t a, std::uint8_t b, std::uint8_t c,
                                  std::uint8_t d) {
  auto k = le32(prefixlen);
  k.insert(k.end(), {a, b, c, d});
  return k;
}

TEST(DaemonMapTypes, LpmTrieDropsThePrefixesTheGuestBlocks) {
  Guest g;
  Offloaded off = g.load("lpm_filter");
  const std::uint32_t blocked = off.maps.at("blocked");
  EXPECT_EQ(g.delivered(3), 3) << "empty trie: everything passes";
  ASSERT_TRUE(g.client.map_update(blocked, lpm_key(16, 10, 78, 0, 0), le32(1)));
  EXPECT_EQ(g.delivered(3), 3) << "another /16";
  ASSERT_TRUE(g.client.map_update(blocked, lpm_key(16, 10, 77, 0, 0), le32(2)));
  EXPECT_EQ(g.delivered(3), 0) << "10.77.0.2 lies in 10.77.0.0/16";
  // A lookup is a longest-prefix match, as in the program.
  auto hit = g.client.map_lookup(blocked, lpm_key(32, 10, 77, 0, 2));
  ASSERT_TRUE(hit && hit->has_value()) << (hit ? "absent" : hit.error().message);
  EXPECT_EQ(u32_of(**hit), 2u);
  ASSERT_TRUE(g.client.map_delete(blocked, lpm_key(16, 10, 77, 0, 0)));
  EXPECT_EQ(g.delivered(2), 2);

  // Charged the most the trie can hold, not what the kernel counts today
  // (its figure follows the element count).
  MapDef def = program("lpm_filter").maps.at(0);
  const std::uint64_t charged = session::charged_map_bytes(def, 1);  // per-CPU-free: any CPU count
  EXPECT_NE(g.daemon.log().find("MAP_CREATE 'blocked' " + std::to_string(charged) + " bytes"), std::string::npos)
      << g.daemon.log();
}

TEST(DaemonMapTypes, LpmTrieWithoutNoPreallocIsRefusedByName) {
  Guest g;
  ts::MapCreateRequest r;
  r.type = MapType::LpmTrie;
  r.key_size = 8;
  r.value_size = 4;
  r.max_entries = 4;
  r.name = "lpm";
  auto h = g.client.map_create(r);
  ASSERT_FALSE(h);
  EXPECT_NE(h.error().message.find("BPF_F_NO_PREALLOC"), std::string::npos) << h.error().message;
}

TEST(DaemonMapTypes, QueueAndStackPushPeekAndPopThroughTheProtocol) {
  Guest g;
  Offloaded off = g.load("queue_verdicts");
  const std::uint32_t verdicts = off.maps.at("verdicts"), seen = off.maps.at("seen");
  ASSERT_TRUE(g.client.map_update(verdicts, {}, le32(1)));  // XDP_DROP for the next frame
  EXPECT_EQ(g.delivered(2), 1) << "the first frame took the queued DROP, the second found the queue empty";
  // The stack holds what the program pushed, last first: PASS then DROP.
  auto top = g.client.map_lookup(seen, {});
  ASSERT_TRUE(top && top->has_value()) << (top ? "empty" : top.error().message);
  EXPECT_EQ(u32_of(**top), 2u);
  ASSERT_TRUE(g.client.map_delete(seen, {}));  // pop
  top = g.client.map_lookup(seen, {});
  ASSERT_TRUE(top && top->has_value());
  EXPECT_EQ(u32_of(**top), 1u);
  ASSERT_TRUE(g.client.map_delete(seen, {}));
  top = g.client.map_lookup(seen, {});
  ASSERT_TRUE(top);
  EXPECT_FALSE(top->has_value()) << "empty stack: ENOENT";
  // Keyless: a key is a malformed request.
  EXPECT_EQ(g.status_of(ts::MapUpdateRequest{verdicts, 0, le32(0), le32(1)}), st::kEINVAL);
}

TEST(DaemonMapTypes, BloomFilterTestsAndAddsValues) {
  Guest g;
  Offloaded off = g.load("bloom_filter");
  const std::uint32_t bad = off.maps.at("bad_dst");
  const std::vector<std::uint8_t> dst{10, 77, 0, 2};
  auto absent = g.client.map_lookup(bad, dst);  // the key field carries the value to test
  ASSERT_TRUE(absent) << absent.error().message;
  EXPECT_FALSE(absent->has_value());
  EXPECT_EQ(g.delivered(2), 2);
  ASSERT_TRUE(g.client.map_update(bad, {}, dst));
  auto present = g.client.map_lookup(bad, dst);
  ASSERT_TRUE(present && present->has_value());
  EXPECT_EQ(g.delivered(2), 0) << "10.77.0.2 is in the filter";
}

TEST(DaemonMapTypes, MapOfMapsStoresTheGuestsMapsByHandle) {
  Guest g;
  Offloaded off = g.load("map_in_map");
  const std::uint32_t outer = off.maps.at("policies");
  EXPECT_EQ(g.delivered(2), 2) << "no inner map: PASS";
  ts::MapCreateRequest r;
  r.type = MapType::Array;
  r.key_size = 4;
  r.value_size = 4;
  r.max_entries = 1;
  r.name = "drop_all";
  auto inner = g.client.map_create(r);
  ASSERT_TRUE(inner) << inner.error().message;
  ASSERT_TRUE(g.client.map_update(*inner, le32(0), le32(1)));  // XDP_DROP
  ASSERT_TRUE(g.client.map_update(outer, le32(0), le32(*inner)));
  EXPECT_EQ(g.delivered(2), 0) << "the program found the guest's map in slot 0";
  auto stored = g.client.map_lookup(outer, le32(0));
  ASSERT_TRUE(stored && stored->has_value());
  EXPECT_EQ(u32_of(**stored), *inner) << "the guest reads back its handle, never a host fd or id";

  // Referenced maps stay; handles the session does not own, or maps of
  // another shape, never get in.
  EXPECT_EQ(g.status_of(ts::MapFreeRequest{*inner}), st::kEBUSY);
  EXPECT_EQ(g.status_of(ts::MapUpdateRequest{outer, 0, le32(1), le32(9999)}), st::kEBADF);
  r.type = MapType::Hash;
  r.name = "wrong_shape";
  auto hash = g.client.map_create(r);
  ASSERT_TRUE(hash) << hash.error().message;
  EXPECT_EQ(g.status_of(ts::MapUpdateRequest{outer, 0, le32(1), le32(*hash)}), st::kEINVAL);
  ASSERT_TRUE(g.client.map_delete(outer, le32(0)));
  EXPECT_EQ(g.delivered(2), 2);
  EXPECT_TRUE(g.client.map_free(*inner));
}

TEST(DaemonMapTypes, ProgArrayTailCallsAmongTheGuestsPrograms) {
  Guest g;
  Offloaded caller = g.load("tail_caller");
  Offloaded target = g.load("tail_drop", /*attach=*/false);
  const std::uint32_t jump = caller.maps.at("jump");
  EXPECT_EQ(g.delivered(2), 2) << "empty slot: the tail call falls through to PASS";
  ASSERT_TRUE(g.client.map_update(jump, le32(0), le32(target.prog)));
  EXPECT_EQ(g.delivered(2), 0) << "tail_drop ran";
  auto stored = g.client.map_lookup(jump, le32(0));
  ASSERT_TRUE(stored && stored->has_value());
  EXPECT_EQ(u32_of(**stored), target.prog);
  EXPECT_EQ(g.status_of(ts::ProgUnloadRequest{target.prog}), st::kEBUSY) << "a prog array still runs it";

  // A program of the other flavor cannot join the array.
  Offloaded chain = g.load("tail_drop", false, ts::kFlavorChain);
  auto reply = g.client.call(ts::MapUpdateRequest{jump, 0, le32(1), le32(chain.prog)});
  ASSERT_TRUE(reply);
  EXPECT_EQ(ts::reply_status(*reply)->code, st::kEINVAL);
  EXPECT_NE(ts::reply_status(*reply)->message.find("tail calls stay in one flavor"), std::string::npos)
      << ts::reply_status(*reply)->message;
  ASSERT_TRUE(g.client.map_delete(jump, le32(0)));
  EXPECT_EQ(g.delivered(2), 2);
  EXPECT_TRUE(g.client.prog_unload(target.prog));
}

}  // namespace
}  // namespace xo::dtest
