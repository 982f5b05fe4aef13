// Client against a scripted in-process host: typed calls, host errors,
// events arriving between a request and its reply, stale replies, timeouts.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "transport/client.hpp"

namespace xo::transport {
namespace {

using Bytes = std::vector<std::uint8_t>;

// Answers requests until the client disconnects. A tiny hash map lives in
// `table`; everything else is scripted per message type.
class FakeHost {
 public:
  explicit FakeHost(Channel ch) : ch_(std::move(ch)), thread_([this] { run(); }) {}
  ~FakeHost() { thread_.join(); }
  // Request ids of the first requests, in arrival order.
  std::vector<std::uint32_t> ids_seen() const {
    std::lock_guard lock(ids_mutex_);
    return ids_seen_;
  }

 private:
  template <typename M>
  void reply(std::uint32_t id, M m) {
    (void)ch_.send(id, Message(std::move(m)), 5000);
  }

  void run() {
    for (;;) {
      auto e = ch_.recv(10'000);
      if (!e) return;
      const std::uint32_t id = e->request_id;
      {
        std::lock_guard lock(ids_mutex_);
        if (ids_seen_.size() < 16) ids_seen_.push_back(id);
      }
      std::visit([&](auto& m) { handle(id, m); }, e->message);
    }
  }

  void handle(std::uint32_t id, CapsRequest&) {
    CapsReply r;
    r.isa_level = 3;
    r.flavors = 0x3;
    r.map_types = {1, 2};
    r.helpers = {{1, 2, 0x3}};
    r.quotas.max_maps = 4;
    reply(id, r);
  }
  void handle(std::uint32_t id, BtfLoadRequest& m) {
    if (m.btf.empty())
      reply(id, BtfLoadReply{{status::kEINVAL, "empty BTF"}, 0, "btf log line"});
    else
      reply(id, BtfLoadReply{{}, 2, ""});
  }
  void handle(std::uint32_t id, MapCreateRequest& m) {
    if (m.name == "toolarge")
      reply(id, MapCreateReply{{status::kEDQUOT, "session map bytes quota 4096 exceeded"}, 0});
    else
      reply(id, MapCreateReply{{}, 1});
  }
  void handle(std::uint32_t id, MapUpdateRequest& m) {
    table_[m.key] = m.value;
    reply(id, MapUpdateReply{});
  }
  void handle(std::uint32_t id, MapLookupRequest& m) {
    if (m.map == kForeignMap) return reply(id, MapLookupReply{{status::kEBADF, "map handle 99 does not exist"}, {}});
    auto it = table_.find(m.key);
    if (it == table_.end())
      reply(id, MapLookupReply{{status::kENOENT, "no such key"}, {}});
    else
      reply(id, MapLookupReply{{}, it->second});
  }
  void handle(std::uint32_t id, MapDeleteRequest& m) {
    if (table_.erase(m.key))
      reply(id, MapDeleteReply{});
    else
      reply(id, MapDeleteReply{{status::kENOENT, "no such key"}});
  }
  void handle(std::uint32_t id, MapGetNextKeyRequest& m) {
    if (m.map == kForeignMap) return reply(id, MapGetNextKeyReply{{status::kEBADF, "map handle 99 does not exist"}, {}});
    auto it = m.key.empty() ? table_.begin() : table_.upper_bound(m.key);
    if (it == table_.end())
      reply(id, MapGetNextKeyReply{{status::kENOENT, ""}, {}});
    else
      reply(id, MapGetNextKeyReply{{}, it->first});
  }
  void handle(std::uint32_t id, MapFreeRequest&) {
    reply(id, MapDeleteReply{});  // wrong reply type on purpose
  }
  void handle(std::uint32_t id, ProgLoadRequest& m) {
    // An event and a stale reply arrive before the real reply.
    reply(0, Event{EventKind::Quota, 0, "request rate high"});
    reply(id + 1000, ProgAttachReply{});
    if (m.name == "bad")
      reply(id, ProgLoadReply{{status::kEPERM, "insn 4 (x.c:9): helper 6 is not allowed"}, 0,
                              kFlavorAny, "insn 4: call 6\n"});
    else if (m.cookie != 0)  // version 2: the handle says which cookie arrived
      reply(id, ProgLoadReply{{}, std::uint32_t(m.cookie), kFlavorChain, ""});
    else
      reply(id, ProgLoadReply{{}, 7, kFlavorTc, ""});
  }
  void handle(std::uint32_t id, ProgAttachRequest&) { reply(id, ProgAttachReply{}); }
  void handle(std::uint32_t id, ProgDetachRequest&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // client times out
    reply(id, ProgDetachReply{});
  }
  void handle(std::uint32_t id, ProgUnloadRequest&) {
    reply(id, ProgUnloadReply{});
    reply(0, Event{EventKind::Detached, 7, "unloaded"});
  }
  void handle(std::uint32_t id, StatsRequest& m) {
    reply(id, StatsReply{{}, {{kActionDrop, m.prog, 64 * m.prog}}});
  }
  void handle(std::uint32_t id, BtfFreeRequest& m) {
    if (m.btf == 2)
      reply(id, BtfFreeReply{});
    else
      reply(id, BtfFreeReply{{status::kEBUSY, "BTF " + std::to_string(m.btf) + " still used by map 1"}});
  }
  void handle(std::uint32_t id, ResetRequest&) {
    reply(id, ErrorReply{{status::kENOSYS, "unknown message RESET"}});
  }
  template <typename Other>
  void handle(std::uint32_t id, Other&) {
    reply(id, ErrorReply{{status::kEINVAL, "not a request"}});
  }

  static constexpr std::uint32_t kForeignMap = 99;
  Channel ch_;
  std::map<Bytes, Bytes> table_;
  mutable std::mutex ids_mutex_;
  std::vector<std::uint32_t> ids_seen_;
  std::thread thread_;  // last: started once everything above exists
};

struct ClientAndHost {
  std::optional<Client> client;
  std::optional<FakeHost> host;
  ClientAndHost() {
    auto p = Channel::pair();
    EXPECT_TRUE(p);
    client.emplace(std::move(p->first), 2000);
    host.emplace(std::move(p->second));
  }
  ~ClientAndHost() {
    client.reset();  // disconnect: the host thread ends
    host.reset();
  }
};

// CAPS switches the client to the version the host chose; only then may a
// PROG_LOAD carry a cookie (PROTOCOL.md 8.1).
TEST(TransportClient, CapsChoosesVersion2AndTheCookieTravels) {
  ClientAndHost t;
  Client& c = *t.client;
  ProgLoadRequest p;
  p.name = "redir";
  p.insns = {isa::RawInsn::make(0xb7, 0, 0, 0, 4), isa::RawInsn::make(0x95, 0, 0, 0, 0)};
  p.cookie = 0xabcdef0012345678ull;
  EXPECT_EQ(c.version(), 1);
  auto before = c.prog_load(p);  // version 1 cannot carry it: refused locally, nothing sent
  ASSERT_FALSE(before);
  EXPECT_NE(before.error().message.find("cookie"), std::string::npos) << before.error().message;
  ASSERT_TRUE(c.caps());
  EXPECT_EQ(c.version(), 2);
  auto loaded = c.prog_load(p);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->prog_handle, 0x12345678u);
}

TEST(TransportClient, CapsAndMapOperations) {
  ClientAndHost t;
  Client& c = *t.client;
  auto caps = c.caps();
  ASSERT_TRUE(caps) << caps.error().message;
  EXPECT_EQ(caps->isa_level, 3);
  EXPECT_EQ(caps->helpers.size(), 1u);

  auto map = c.map_create(MapCreateRequest{.name = "rxcnt"});
  ASSERT_TRUE(map) << map.error().message;
  EXPECT_EQ(*map, 1u);

  const Bytes k1{1, 0, 0, 0}, k2{2, 0, 0, 0}, v{9, 9};
  auto missing = c.map_lookup(*map, k1);
  ASSERT_TRUE(missing) << missing.error().message;
  EXPECT_FALSE(missing->has_value());
  EXPECT_EQ(c.last_status(), status::kENOENT);

  ASSERT_TRUE(c.map_update(*map, k1, v));
  ASSERT_TRUE(c.map_update(*map, k2, v));
  auto found = c.map_lookup(*map, k1);
  ASSERT_TRUE(found && found->has_value());
  EXPECT_EQ(**found, v);

  std::vector<Bytes> keys;
  Bytes cursor;
  for (;;) {
    auto next = c.map_get_next_key(*map, cursor);
    ASSERT_TRUE(next) << next.error().message;
    if (!next->has_value()) break;
    cursor = **next;
    keys.push_back(cursor);
  }
  EXPECT_EQ(keys, (std::vector<Bytes>{k1, k2}));

  ASSERT_TRUE(c.map_delete(*map, k1));
  auto again = c.map_delete(*map, k1);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().message, "MAP_DELETE: ENOENT (-2): no such key");
}

TEST(TransportClient, HostErrorsBecomeOneLineMessages) {
  ClientAndHost t;
  Client& c = *t.client;
  auto quota = c.map_create(MapCreateRequest{.name = "toolarge"});
  ASSERT_FALSE(quota);
  EXPECT_EQ(quota.error().message,
            "MAP_CREATE: EDQUOT (-122): session map bytes quota 4096 exceeded");
  EXPECT_EQ(c.last_status(), status::kEDQUOT);

  auto reset = c.reset();
  ASSERT_FALSE(reset);
  EXPECT_EQ(reset.error().message, "RESET: ENOSYS (-38): unknown message RESET");

  auto btf = c.btf_load({});
  ASSERT_FALSE(btf);
  EXPECT_EQ(btf.error().message, "BTF_LOAD: EINVAL (-22): empty BTF\nbtf log line");

  auto wrong = c.map_free(1);
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().message,
            "socketpair:0: MAP_FREE: unexpected reply MAP_DELETE reply");
}

TEST(TransportClient, EventsAndStaleRepliesAroundAProgLoad) {
  ClientAndHost t;
  Client& c = *t.client;
  auto prog = c.prog_load(ProgLoadRequest{.name = "xdp_prog1", .license = "GPL"});
  ASSERT_TRUE(prog) << prog.error().message;
  EXPECT_EQ(prog->prog_handle, 7u);
  EXPECT_EQ(prog->flavor, kFlavorTc);

  auto bad = c.prog_load(ProgLoadRequest{.name = "bad", .license = "GPL"});
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message,
            "PROG_LOAD: EPERM (-1): insn 4 (x.c:9): helper 6 is not allowed\ninsn 4: call 6\n");

  auto events = c.take_events();
  ASSERT_TRUE(events) << events.error().message;
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].kind, EventKind::Quota);
  EXPECT_EQ((*events)[0].text, "request rate high");

  ASSERT_TRUE(c.prog_unload(7));
  auto ev = c.wait_event(2000);
  ASSERT_TRUE(ev) << ev.error().message;
  EXPECT_EQ(ev->kind, EventKind::Detached);
  EXPECT_EQ(ev->prog, 7u);

  auto counters = c.stats(5);
  ASSERT_TRUE(counters);
  ASSERT_EQ(counters->size(), 1u);
  EXPECT_EQ((*counters)[0].packets, 5u);
  EXPECT_EQ((*counters)[0].bytes, 320u);
}

TEST(TransportClient, TimeoutThenLateReplyIsDiscarded) {
  ClientAndHost t;
  Client& c = *t.client;
  c.set_timeout(100);
  auto slow = c.prog_detach(7);
  ASSERT_FALSE(slow);
  EXPECT_EQ(slow.error().message, "PROG_DETACH: socketpair:0: timed out waiting to receive a frame");
  EXPECT_EQ(c.last_status(), status::kEIO);
  c.set_timeout(2000);
  // The late PROG_DETACH reply arrives first and must not be taken for this one.
  ASSERT_TRUE(c.prog_attach(7));
  auto counters = c.stats(3);
  ASSERT_TRUE(counters) << counters.error().message;
  EXPECT_EQ((*counters)[0].packets, 3u);
}

TEST(TransportClient, UnknownMapHandleIsAnErrorNotAMissingKey) {
  ClientAndHost t;
  Client& c = *t.client;
  auto lookup = c.map_lookup(99, Bytes{1, 0, 0, 0});
  ASSERT_FALSE(lookup) << "EBADF must not read as 'no such key'";
  EXPECT_EQ(lookup.error().message, "MAP_LOOKUP: EBADF (-9): map handle 99 does not exist");
  EXPECT_EQ(c.last_status(), status::kEBADF);
  auto next = c.map_get_next_key(99, {});
  ASSERT_FALSE(next);
  EXPECT_EQ(c.last_status(), status::kEBADF);
  // A missing key on a real map is still nullopt.
  auto missing = c.map_lookup(1, Bytes{1, 0, 0, 0});
  ASSERT_TRUE(missing) << missing.error().message;
  EXPECT_FALSE(missing->has_value());
}

TEST(TransportClient, BtfFree) {
  ClientAndHost t;
  Client& c = *t.client;
  EXPECT_TRUE(c.btf_free(2));
  auto busy = c.btf_free(3);
  ASSERT_FALSE(busy);
  EXPECT_EQ(busy.error().message, "BTF_FREE: EBUSY (-16): BTF 3 still used by map 1");
  EXPECT_EQ(c.last_status(), status::kEBUSY);
}

TEST(TransportClient, RequestIdsStartAtARandomValuePerClient) {
  // A virtio port outlives guest processes: a second process starting at
  // id 1 again could take a stale reply meant for the first one's id 1.
  std::set<std::uint32_t> firsts;
  for (int i = 0; i < 4; ++i) {
    ClientAndHost t;
    Client& c = *t.client;
    const std::uint32_t expected = c.peek_next_id();
    ASSERT_TRUE(c.caps());
    ASSERT_TRUE(c.stats(1));
    const auto ids = t.host->ids_seen();
    ASSERT_EQ(ids.size(), 2u);
    EXPECT_EQ(ids[0], expected);
    EXPECT_NE(ids[0], 0u) << "0 is the events' id";
    EXPECT_EQ(ids[1], ids[0] + 1 == 0 ? 1 : ids[0] + 1) << "consecutive after the random start";
    firsts.insert(ids[0]);
  }
  // Four draws of 32 random bits: equal ones (or a fixed start) would mean
  // no randomness (a chance collision is ~1e-9).
  EXPECT_EQ(firsts.size(), 4u);
  EXPECT_EQ(firsts.count(1), 0u);
}

TEST(TransportClient, DisconnectedHost) {
  auto p = Channel::pair();
  ASSERT_TRUE(p);
  Client c(std::move(p->first), 1000);
  { Channel gone = std::move(p->second); }
  auto r = c.caps();
  ASSERT_FALSE(r);
  // Either the send or the receive notices, depending on timing.
  EXPECT_NE(r.error().message.find("socketpair:0"), std::string::npos) << r.error().message;
  EXPECT_EQ(c.last_status(), status::kEIO);
}

}  // namespace
}  // namespace xo::transport
