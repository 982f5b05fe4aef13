// Hostile guests. Each case sends one kind of bad input to session A and
// asserts (1) the clear error reply it gets and (2) that session B, another
// VM on the same daemon, keeps being served while and after A misbehaves.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <thread>

#include "tests/daemon/harness.hpp"
#include "tests/host/netdev.hpp"
#include "translator/isa/codec.hpp"
#include "transport/wire.hpp"

namespace xo::dtest {
namespace {

namespace ts = xo::transport;
namespace st = xo::transport::status;

std::vector<std::uint8_t> u32_bytes(std::uint32_t v) {
  std::vector<std::uint8_t> b(4);
  std::memcpy(b.data(), &v, 4);
  return b;
}

// A raw connection: arbitrary bytes out, decoded replies in.
struct RawGuest {
  ts::Channel ch;
  static RawGuest connect(const std::string& socket) {
    for (int i = 0; i < 250; ++i) {
      if (auto c = ts::Channel::connect_unix(socket)) return RawGuest{std::move(*c)};
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    throw std::runtime_error("cannot connect to " + socket);
  }
  void send(const std::vector<std::uint8_t>& bytes) {
    ASSERT_TRUE(ch.queue_bytes(bytes));
    ASSERT_TRUE(ch.flush());
    while (ch.wants_write()) ASSERT_TRUE(ch.flush());
  }
  Result<ts::Envelope> reply(int timeout_ms = 5000) { return ch.recv(timeout_ms); }
  // True when the daemon closed the connection within timeout_ms.
  bool closed_by_peer(int timeout_ms = 5000) {
    auto f = ch.recv_frame(timeout_ms);
    return !f && ch.broken();
  }
};

const ts::ReplyStatus& status_of(const ts::Envelope& e) {
  static const ts::ReplyStatus none{1, "not a reply"};
  const ts::ReplyStatus* s = ts::reply_status(e.message);
  return s ? *s : none;
}

class DaemonBadInput : public testing::Test {
 protected:
  void SetUp() override {
    a_ = std::make_unique<SessionSpec>(SessionSpec{unique_name("ba"), tap_a_.name(), "",
                                                   "max_maps = 3\nmax_map_bytes = 65536\nmax_progs = 1\n"
                                                   "max_insns = 64\ndeny_helpers = 7\n"});
    b_ = std::make_unique<SessionSpec>(SessionSpec{unique_name("bb"), tap_b_.name(), "", ""});
    daemon_ = std::make_unique<Daemon>(std::vector<SessionSpec>{*a_, *b_});
    auto b = connect_guest(daemon_->session(1).socket);
    ASSERT_TRUE(b) << b.error().message;
    guest_b_ = std::make_unique<ts::Client>(std::move(*b));
    ts::MapCreateRequest r;
    r.type = MapType::Hash;
    r.key_size = 4;
    r.value_size = 8;
    r.max_entries = 16;
    r.name = "bmap";
    auto h = guest_b_->map_create(r);
    ASSERT_TRUE(h) << h.error().message;
    b_map_ = *h;
  }

  void TearDown() override {
    if (daemon_) {
      EXPECT_TRUE(daemon_->running()) << "the daemon must survive every bad input\n" << daemon_->log();
    }
  }

  // Session B still answers, and its map is intact and writable.
  void expect_b_served() {
    auto caps = guest_b_->caps();
    ASSERT_TRUE(caps) << caps.error().message;
    const std::uint64_t v = ++b_counter_;
    ASSERT_TRUE(guest_b_->map_update(b_map_, u32_bytes(1), std::vector<std::uint8_t>((std::uint8_t*)&v, (std::uint8_t*)&v + 8)));
    auto got = guest_b_->map_lookup(b_map_, u32_bytes(1));
    ASSERT_TRUE(got && got->has_value());
    std::uint64_t back;
    std::memcpy(&back, (*got)->data(), 8);
    EXPECT_EQ(back, v);
  }

  ts::Client guest_a() {
    auto a = connect_guest(daemon_->session(0).socket);
    if (!a) throw std::runtime_error(a.error().message);
    return std::move(*a);
  }

  test::Tap tap_a_, tap_b_;
  std::unique_ptr<SessionSpec> a_, b_;
  std::unique_ptr<Daemon> daemon_;
  std::unique_ptr<ts::Client> guest_b_;
  std::uint32_t b_map_ = 0;
  std::uint64_t b_counter_ = 0;
};

TEST_F(DaemonBadInput, TruncatedPayloadGetsEinvalAndTheConnectionGoesOn) {
  auto a = RawGuest::connect(daemon_->session(0).socket);
  // MAP_LOOKUP needs le32 map + bytes key; 3 bytes is a truncated field.
  a.send(frame_bytes(std::uint16_t(ts::MsgType::MapLookup), 41, {1, 0, 0}));
  auto r = a.reply();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->request_id, 41u);
  EXPECT_TRUE(std::holds_alternative<ts::ErrorReply>(r->message));
  EXPECT_EQ(status_of(*r).code, st::kEINVAL);
  EXPECT_NE(status_of(*r).message.find("truncated"), std::string::npos) << status_of(*r).message;
  expect_b_served();
  // Same connection, next frame: fine.
  a.send(frame_bytes(std::uint16_t(ts::MsgType::Caps), 42, {1, 0, 1, 0}));
  auto caps = a.reply();
  ASSERT_TRUE(caps) << caps.error().message;
  EXPECT_EQ(status_of(*caps).code, 0);
}

TEST_F(DaemonBadInput, TruncatedFrameThenHangUpFreesTheSession) {
  const auto baseline = bpf_objects_held_by(daemon_->pid());  // B's map
  {
    auto a = guest_a();
    ts::MapCreateRequest r;
    r.type = MapType::Array;
    r.key_size = 4;
    r.value_size = 8;
    r.max_entries = 4;
    r.name = "amap";
    ASSERT_TRUE(a.map_create(r));
    EXPECT_GT(bpf_objects_held_by(daemon_->pid()).size(), baseline.size());
    // A header announcing 100 payload bytes, 10 sent, then the guest dies.
    auto bytes = frame_bytes(std::uint16_t(ts::MsgType::MapUpdate), 7, std::vector<std::uint8_t>(10, 0), 1, 100);
    ASSERT_TRUE(a.channel().queue_bytes(bytes));
    ASSERT_TRUE(a.channel().flush());
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (bpf_objects_held_by(daemon_->pid()) != baseline && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(bpf_objects_held_by(daemon_->pid()), baseline) << "session A's map must be freed";
  EXPECT_NE(daemon_->log().find("truncated frame"), std::string::npos) << daemon_->log();
  expect_b_served();
  auto again = guest_a();  // A can come back (QEMU reconnect)
  EXPECT_TRUE(again.caps());
}

TEST_F(DaemonBadInput, OversizeLengthsGetE2bigAndTheStreamIsDropped) {
  for (auto [type, len] : {std::pair<std::uint16_t, std::uint32_t>{std::uint16_t(ts::MsgType::MapLookup), 8192},
                           {std::uint16_t(ts::MsgType::ProgLoad), 0x7fffffff},
                           {std::uint16_t(ts::MsgType::BtfLoad), 64u << 20}}) {
    auto a = RawGuest::connect(daemon_->session(0).socket);
    a.send(frame_bytes(type, 99, std::vector<std::uint8_t>(16, 0), 1, len));
    auto r = a.reply();
    ASSERT_TRUE(r) << ts::type_name(type) << ": " << r.error().message;
    EXPECT_EQ(r->request_id, 99u);
    EXPECT_EQ(status_of(*r).code, st::kE2BIG) << status_of(*r).message;
    EXPECT_TRUE(a.closed_by_peer()) << "a length over its bound desynchronises the stream";
    expect_b_served();
  }
}

// Valid requests and then a frame that breaks framing, in one write: every
// valid request is answered, in order, before the framing error's reply.
TEST_F(DaemonBadInput, AFramingErrorIsAnsweredAfterTheRequestsBeforeIt) {
  auto a = RawGuest::connect(daemon_->session(0).socket);
  std::vector<std::uint8_t> bytes;
  for (std::uint32_t id : {11u, 12u, 13u}) {
    auto caps = ts::encode(id, ts::CapsRequest{});
    ASSERT_TRUE(caps);
    bytes.insert(bytes.end(), caps->begin(), caps->end());
  }
  auto bad = frame_bytes(std::uint16_t(ts::MsgType::MapLookup), 14, std::vector<std::uint8_t>(16, 0), 1, 8192);
  bytes.insert(bytes.end(), bad.begin(), bad.end());
  a.send(bytes);
  for (std::uint32_t id : {11u, 12u, 13u, 14u}) {
    auto r = a.reply();
    ASSERT_TRUE(r) << "reply to " << id << ": " << r.error().message;
    EXPECT_EQ(r->request_id, id);
    EXPECT_EQ(status_of(*r).code, id == 14 ? st::kE2BIG : 0) << status_of(*r).message;
  }
  EXPECT_TRUE(a.closed_by_peer());
  expect_b_served();
}

TEST_F(DaemonBadInput, UnknownCommandsGetEnosys) {
  auto a = RawGuest::connect(daemon_->session(0).socket);
  for (std::uint16_t type : {std::uint16_t(0x00fe), std::uint16_t(0x2222), std::uint16_t(0x0042)}) {
    a.send(frame_bytes(type, type, {1, 2, 3, 4}));
    auto r = a.reply();
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->request_id, type);
    EXPECT_TRUE(std::holds_alternative<ts::ErrorReply>(r->message));
    EXPECT_EQ(status_of(*r).code, st::kENOSYS) << status_of(*r).message;
    expect_b_served();
  }
  // A reply type sent as a request is refused, not executed.
  a.send(frame_bytes(std::uint16_t(ts::MsgType::ResetReply), 5, {0, 0, 0, 0, 0, 0, 0, 0}));
  auto r = a.reply();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_NE(status_of(*r).code, 0);
}

TEST_F(DaemonBadInput, WrongVersionsGetEproto) {
  auto a = RawGuest::connect(daemon_->session(0).socket);
  a.send(frame_bytes(std::uint16_t(ts::MsgType::Caps), 3, {3, 0, 3, 0}, /*version=*/3));
  auto r = a.reply();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(status_of(*r).code, st::kEPROTO) << status_of(*r).message;
  expect_b_served();
  // Version negotiation in CAPS: a guest that only speaks 3..4.
  auto client = ts::Client(std::move(a.ch));
  auto caps = client.call(ts::CapsRequest{3, 4});
  ASSERT_TRUE(caps) << caps.error().message;
  EXPECT_EQ(ts::reply_status(*caps)->code, st::kEPROTO);
  expect_b_served();
}

TEST_F(DaemonBadInput, AnotherSessionsHandlesMeanNothing) {
  auto a = guest_a();
  auto expect_ebadf = [&](bool ok, const char* what) {
    EXPECT_FALSE(ok) << what;
    EXPECT_EQ(a.last_status(), st::kEBADF) << what;
  };
  // EBADF, not ENOENT: the client must not read these as "no such key".
  for (ts::Message m : {ts::Message(ts::MapLookupRequest{b_map_, u32_bytes(1)}),
                        ts::Message(ts::MapGetNextKeyRequest{b_map_, {}})}) {
    auto r = a.call(m);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(ts::reply_status(*r)->code, st::kEBADF);
    EXPECT_NE(ts::reply_status(*r)->message.find("does not exist in this session"), std::string::npos)
        << ts::reply_status(*r)->message;
  }
  expect_ebadf(bool(a.map_lookup(b_map_, u32_bytes(1))), "MAP_LOOKUP via the client");
  expect_ebadf(bool(a.map_get_next_key(b_map_, {})), "MAP_GET_NEXT_KEY via the client");
  expect_ebadf(bool(a.btf_free(b_map_)), "BTF_FREE");
  expect_ebadf(bool(a.map_update(b_map_, u32_bytes(1), std::vector<std::uint8_t>(8, 0xee))), "MAP_UPDATE");
  expect_ebadf(bool(a.map_delete(b_map_, u32_bytes(1))), "MAP_DELETE");
  expect_ebadf(bool(a.map_free(b_map_)), "MAP_FREE");
  expect_ebadf(bool(a.prog_attach(b_map_)), "PROG_ATTACH");
  expect_ebadf(bool(a.stats(b_map_)), "STATS");
  ts::MapCreateRequest m;
  m.type = MapType::Array;
  m.key_size = 4;
  m.value_size = 8;
  m.max_entries = 1;
  m.name = "typed";
  m.btf_handle = b_map_;
  expect_ebadf(bool(a.map_create(m)), "MAP_CREATE with a foreign BTF handle");
  // A program whose ld_imm64 names B's map.
  ts::ProgLoadRequest p;
  p.name = "steal";
  p.license = "GPL";
  p.flavor = ts::kFlavorTc;
  p.insns = isa::encode(std::vector<isa::Insn>{isa::LoadMapFd{1, std::int32_t(b_map_)},
                                               isa::Bin{isa::AluOp::Mov, true, 0, isa::Imm{2}},
                                               isa::Exit{}});
  auto load = a.prog_load(p);
  expect_ebadf(bool(load), "PROG_LOAD with a foreign map handle");
  expect_b_served();  // and B's map still has B's value
}

TEST_F(DaemonBadInput, QuotaOverrunsGetEdquot) {
  auto a = guest_a();
  ts::MapCreateRequest m;
  m.type = MapType::Hash;
  m.key_size = 4;
  m.value_size = 60;
  m.max_entries = 2000;  // 128000 bytes > 65536
  m.name = "big";
  EXPECT_FALSE(a.map_create(m));
  EXPECT_EQ(a.last_status(), st::kEDQUOT);
  // Per-CPU maps cost value x CPUs: an ARRAY of 40000 bytes of values fits,
  // the per-CPU one of the same shape does not (>= 2 CPUs).
  m.type = MapType::PercpuArray;
  m.value_size = 8;
  m.max_entries = 5000;
  EXPECT_FALSE(a.map_create(m));
  EXPECT_EQ(a.last_status(), st::kEDQUOT);
  m.type = MapType::Array;
  auto fits = a.map_create(m);
  ASSERT_TRUE(fits) << fits.error().message;
  EXPECT_FALSE(a.map_create(m)) << "a second one would exceed the total";
  EXPECT_EQ(a.last_status(), st::kEDQUOT);
  expect_b_served();

  // max_maps = 3: one exists, two more fit, the fourth does not.
  m.max_entries = 1;
  ASSERT_TRUE(a.map_create(m));
  ASSERT_TRUE(a.map_create(m));
  EXPECT_FALSE(a.map_create(m));
  EXPECT_EQ(a.last_status(), st::kEDQUOT);
  expect_b_served();

  // max_insns = 64 per program.
  ts::ProgLoadRequest p;
  p.name = "long";
  p.license = "GPL";
  p.flavor = ts::kFlavorTc;
  p.insns = trivial_program(65);
  EXPECT_FALSE(a.prog_load(p));
  EXPECT_EQ(a.last_status(), st::kEDQUOT);
  // max_progs = 1.
  p.insns = trivial_program(64);
  auto first = a.prog_load(p);
  ASSERT_TRUE(first) << first.error().message << "\n" << daemon_->log();
  EXPECT_FALSE(a.prog_load(p));
  EXPECT_EQ(a.last_status(), st::kEDQUOT);
  expect_b_served();
}

TEST_F(DaemonBadInput, DeniedHelpersGetEpermWithTheHelperNamed) {
  auto a = guest_a();
  ts::ProgLoadRequest p;
  p.name = "peek";
  p.license = "GPL";
  p.flavor = ts::kFlavorTc;
  // r1..r4 = 0; call bpf_fib_lookup (69), denied by the default policy.
  p.insns = {isa::RawInsn::make(0xb7, 1, 0, 0, 0), isa::RawInsn::make(0xb7, 2, 0, 0, 0),
             isa::RawInsn::make(0xb7, 3, 0, 0, 0), isa::RawInsn::make(0xb7, 4, 0, 0, 0),
             isa::RawInsn::make(0x85, 0, 0, 0, 69), isa::RawInsn::make(0xb7, 0, 0, 0, 2),
             isa::RawInsn::make(0x95, 0, 0, 0, 0)};
  auto r = a.prog_load(p);
  ASSERT_FALSE(r);
  EXPECT_EQ(a.last_status(), st::kEPERM);
  EXPECT_NE(r.error().message.find("insn 4"), std::string::npos) << r.error().message;
  // bpf_get_prandom_u32 (7): allowed by default, denied for A by config.
  p.insns = {isa::RawInsn::make(0x85, 0, 0, 0, 7), isa::RawInsn::make(0xb7, 0, 0, 0, 2),
             isa::RawInsn::make(0x95, 0, 0, 0, 0)};
  EXPECT_FALSE(a.prog_load(p));
  EXPECT_EQ(a.last_status(), st::kEPERM);
  auto caps = a.caps();
  ASSERT_TRUE(caps);
  for (const auto& h : caps->helpers) EXPECT_NE(h.id, 7) << "CAPS advertises the session's policy";
  auto on_b = guest_b_->prog_load(p);
  EXPECT_TRUE(on_b) << (on_b ? "" : on_b.error().message);
  expect_b_served();
}

// The status comes from the pipeline's typed error, whichever stage or
// flavor refuses: a policy verdict is EPERM everywhere, never EINVAL.
TEST_F(DaemonBadInput, PolicyRefusalsAreEpermInEveryFlavor) {
  auto a = guest_a();
  const auto mov = [](int reg, int imm) { return isa::RawInsn::make(0xb7, std::uint8_t(reg), 0, 0, imm); };
  const auto call = [](int id) { return isa::RawInsn::make(0x85, 0, 0, 0, id); };
  const isa::RawInsn ret2 = mov(0, 2), exit_insn = isa::RawInsn::make(0x95, 0, 0, 0, 0);
  ts::ProgLoadRequest p;
  p.name = "policy";
  p.license = "GPL";
  for (std::uint8_t flavor : {ts::kFlavorTc, ts::kFlavorChain}) {
    SCOPED_TRACE("flavor " + std::to_string(flavor));
    p.flavor = flavor;
    // bpf_fib_lookup (69): not on the allowlist at all.
    p.insns = {mov(1, 0), mov(2, 0), mov(3, 0), mov(4, 0), call(69), ret2, exit_insn};
    EXPECT_FALSE(a.prog_load(p));
    EXPECT_EQ(a.last_status(), st::kEPERM);
    // A kfunc call (src_reg 2) that names no function of the program's BTF.
    p.insns = {isa::RawInsn::make(0x85, 0, 2, 0, 1234), ret2, exit_insn};
    EXPECT_FALSE(a.prog_load(p));
    EXPECT_EQ(a.last_status(), st::kEPERM);
  }
  // bpf_xdp_adjust_meta (54): XDP-only, so refused in tc (EPERM, naming the
  // flavor) and loaded in chain. r1 is the ctx on entry.
  p.insns = {mov(2, 0), call(54), ret2, exit_insn};
  p.flavor = ts::kFlavorTc;
  auto tc = a.prog_load(p);
  ASSERT_FALSE(tc);
  EXPECT_EQ(a.last_status(), st::kEPERM);
  EXPECT_NE(tc.error().message.find("tc flavor"), std::string::npos) << tc.error().message;
  // A flavor this session does not offer.
  p.flavor = ts::kFlavorDevmap;
  EXPECT_FALSE(a.prog_load(p));
  EXPECT_EQ(a.last_status(), st::kEPERM);
  // Last: session A's quota is one program.
  p.flavor = ts::kFlavorChain;
  auto chain = a.prog_load(p);
  EXPECT_TRUE(chain) << (chain ? "" : chain.error().message) << "\n" << daemon_->log();
  expect_b_served();
}

TEST_F(DaemonBadInput, GuestNamesCannotDriveTheAdminsTerminal) {
  // A map named with terminal escapes and a line break: the admin's log
  // (journald, a terminal running journalctl -f) gets them as visible
  // \xNN text on one line, never as raw control bytes.
  ts::MapCreateRequest r;
  r.type = MapType::Array;
  r.key_size = 4;
  r.value_size = 8;
  r.max_entries = 4;
  r.name = "m\x1b[2J\x1b]0;owned\x07\nxoffloadd: forged";
  auto h = guest_b_->map_create(r);
  ASSERT_TRUE(h) << h.error().message;
  const std::string log = daemon_->log();
  EXPECT_EQ(log.find('\x1b'), std::string::npos) << log;
  EXPECT_EQ(log.find('\x07'), std::string::npos) << log;
  EXPECT_NE(log.find("m\\x1b[2J\\x1b]0;owned\\x07 xoffloadd: forged"), std::string::npos) << log;
  EXPECT_EQ(log.find("\nxoffloadd: forged"), std::string::npos) << log;
  expect_b_served();
}

TEST_F(DaemonBadInput, GarbageMagicIsAnsweredAndDropped) {
  auto a = RawGuest::connect(daemon_->session(0).socket);
  std::vector<std::uint8_t> junk(64, 0x41);
  a.send(junk);
  auto r = a.reply();
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(status_of(*r).code, st::kEPROTO);
  EXPECT_TRUE(a.closed_by_peer());
  expect_b_served();
}

TEST(DaemonFlood, FloodingSessionGetsEagainAndNeverStallsAnother) {
  test::Tap tap_f, tap_b;
  Daemon daemon({SessionSpec{unique_name("fl"), tap_f.name(), "", "requests_per_sec = 20\nrequest_burst = 10\n"},
                 SessionSpec{unique_name("fb"), tap_b.name(), "", ""}},
                "warn");
  auto b = connect_guest(daemon.session(1).socket);
  ASSERT_TRUE(b) << b.error().message;

  constexpr int kFlood = 20000;
  std::atomic<bool> done{false};
  int ok = 0, eagain = 0, other = 0;
  double flood_seconds = 0;
  std::thread flooder([&] {
    auto f = RawGuest::connect(daemon.session(0).socket);
    auto start = std::chrono::steady_clock::now();
    std::vector<std::uint8_t> all;
    for (int i = 1; i <= kFlood; ++i) {
      auto fr = frame_bytes(std::uint16_t(ts::MsgType::Caps), std::uint32_t(i), {1, 0, 1, 0});
      all.insert(all.end(), fr.begin(), fr.end());
    }
    // Writes and reads interleaved, as fast as the socket takes them.
    std::size_t sent = 0;
    int received = 0;
    while (received < kFlood) {
      if (sent < all.size()) {
        std::size_t chunk = std::min<std::size_t>(all.size() - sent, 4096);
        EXPECT_TRUE(f.ch.queue_bytes(std::span(all).subspan(sent, chunk)));
        sent += chunk;
        (void)f.ch.flush();
      } else {
        (void)f.ch.flush();
      }
      auto r = f.ch.recv(sent < all.size() ? 0 : 5000);
      while (r) {
        ++received;
        const auto c = status_of(*r).code;
        (c == 0 ? ok : c == st::kEAGAIN ? eagain : other)++;
        r = f.ch.recv(0);
      }
      if (f.ch.broken()) break;
    }
    flood_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    done = true;
  });

  // Meanwhile B's round trips stay fast.
  double worst_ms = 0;
  int b_calls = 0;
  while (!done || b_calls < 20) {
    auto t0 = std::chrono::steady_clock::now();
    auto caps = b->caps();
    ASSERT_TRUE(caps) << caps.error().message;
    worst_ms = std::max(worst_ms, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    ++b_calls;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  flooder.join();
  EXPECT_EQ(ok + eagain + other, kFlood) << "every flooded request is answered";
  EXPECT_EQ(other, 0);
  EXPECT_GE(ok, 10) << "the burst is served";
  EXPECT_LE(ok, 10 + int(20 * flood_seconds) + 2) << "then at most the sustained rate";
  EXPECT_GE(eagain, kFlood - 10 - int(20 * flood_seconds) - 2);
  EXPECT_LT(worst_ms, 500.0) << "session B stalled by A's flood";
  EXPECT_TRUE(daemon.running());
}

}  // namespace
}  // namespace xo::dtest
