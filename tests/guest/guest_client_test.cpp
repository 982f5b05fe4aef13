// GuestClient against the real session library (host/session: Session and
// the kernel backend on a real tap in this test's netns), over a socketpair:
// the offload sequence, handle rewriting, failure clean-up, map access by
// name, per-CPU values, state file.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <gtest/gtest.h>
#include <linux/bpf.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "guest/builder/elf_builder.hpp"
#include "guest/client/guest_client.hpp"
#include "guest/client/offload_state.hpp"
#include "tests/guest/session_host.hpp"
#include "translator/isa/codec.hpp"

namespace xo::guest {
namespace {

using test::Bytes;
using test::SessionHost;
namespace tp = transport;

const std::string kXdp1 = std::string(XO_EXAMPLES_BIN) + "/xdp1/xdp1_kern.o";
const std::string kXdp2 = std::string(XO_EXAMPLES_BIN) + "/xdp2/xdp2_kern.o";

struct Connected {
  std::unique_ptr<SessionHost> host;
  std::optional<GuestClient> client;
};

Connected connect_pair(session::SessionQuotas quotas = {}) {
  int sv[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd host_end(sv[0]), guest_end(sv[1]);
  EXPECT_EQ(::fcntl(host_end.get(), F_SETFL, O_NONBLOCK), 0);
  Connected c;
  c.host = std::make_unique<SessionHost>(std::move(host_end), quotas);
  c.client.emplace(tp::Client(tp::Channel(std::move(guest_end), "session host"), 5000));
  return c;
}

unsigned cpus() { return static_cast<unsigned>(libbpf_num_possible_cpus()); }

Bytes u32(std::uint32_t v) { return {Bytes::value_type(v), Bytes::value_type(v >> 8), Bytes::value_type(v >> 16), Bytes::value_type(v >> 24)}; }
// One u64 per possible CPU: what a per-CPU map's value is from user space.
Bytes percpu_u64(std::uint64_t v) {
  Bytes b(8 * cpus());
  for (std::size_t c = 0; c < cpus(); ++c)
    for (int i = 0; i < 8; ++i) b[8 * c + i] = Bytes::value_type(v >> (8 * i));
  return b;
}

bpf_prog_info prog_info(std::uint32_t id) {
  bpf_prog_info info{};
  UniqueFd fd(bpf_prog_get_fd_by_id(id));
  std::uint32_t len = sizeof info;
  if (fd) bpf_obj_get_info_by_fd(fd.get(), &info, &len);
  return info;
}

TEST(GuestClient, OffloadSendsBtfMapsProgAttachInOrderWithHostHandles) {
  auto c = connect_pair();
  OffloadOptions o;
  o.ifindex = 7;
  o.flavor = tp::kFlavorTc;
  auto prog = c.client->offload_file(kXdp1, o);
  ASSERT_TRUE(prog.ok()) << prog.error().message;
  EXPECT_EQ(prog->name, "xdp_prog1");
  EXPECT_TRUE(prog->attached);
  EXPECT_EQ(prog->flavor, tp::kFlavorTc);
  EXPECT_NE(prog->btf, 0u);
  ASSERT_EQ(prog->maps.size(), 1u);
  EXPECT_EQ(prog->maps[0].name, "rxcnt");
  EXPECT_EQ(prog->maps[0].type, MapType::PercpuArray);
  // The session numbers BTF 1, then the map: the builder's handle 1 had to
  // be rewritten to the host's 2 for the program to load at all.
  EXPECT_EQ(prog->maps[0].handle, 2u);

  const std::vector<std::uint16_t> want = {
      std::uint16_t(tp::MsgType::Caps), std::uint16_t(tp::MsgType::BtfLoad), std::uint16_t(tp::MsgType::MapCreate),
      std::uint16_t(tp::MsgType::ProgLoad), std::uint16_t(tp::MsgType::ProgAttach)};
  EXPECT_EQ(c.host->request_types(), want);

  // What the host kernel now runs on the tap: a tc program with the guest's
  // BTF, func_info and line_info.
  EXPECT_EQ(c.host->programs(), 1u);
  EXPECT_EQ(c.host->maps(), 1u);
  EXPECT_EQ(c.host->btfs(), 1u);
  const std::uint32_t id = c.host->attached_prog_id();
  ASSERT_NE(id, 0u);
  const bpf_prog_info info = prog_info(id);
  EXPECT_EQ(info.type, std::uint32_t{BPF_PROG_TYPE_SCHED_CLS});
  EXPECT_NE(info.btf_id, 0u);
  EXPECT_GT(info.nr_func_info, 0u);
  EXPECT_GT(info.nr_line_info, 0u);
  EXPECT_EQ(info.nr_map_ids, 2u) << "rxcnt and the host's stats map";
}

TEST(GuestClient, RefusedProgramSurfacesTheMappedLogAndFreesItsMaps) {
  auto c = connect_pair();
  auto prog = c.client->offload_file(XO_REFUSED_OBJ, OffloadOptions{});
  ASSERT_FALSE(prog.ok());
  // The host kernel's refusal, mapped back to the guest's source line.
  EXPECT_NE(prog.error().message.find("refused_with_map.bpf.c:21"), std::string::npos) << prog.error().message;
  EXPECT_NE(prog.error().message.find("offload 'refused_with_map'"), std::string::npos) << prog.error().message;
  EXPECT_EQ(c.host->maps(), 0u);
  EXPECT_EQ(c.host->programs(), 0u);
  EXPECT_EQ(c.host->btfs(), 0u) << "the failed offload's BTF is freed too";
  const auto types = c.host->request_types();
  ASSERT_FALSE(types.empty());
  EXPECT_EQ(types.back(), std::uint16_t(tp::MsgType::BtfFree));
}

TEST(GuestClient, FailedMapCreateNamesTheMapAndLoadsNoProgram) {
  session::SessionQuotas tiny;
  // The BTF (about 7 KB as the kernel charges it) fits; rxcnt, 256 per-CPU
  // 8-byte values plus the kernel's array overhead, does not.
  tiny.max_map_bytes = 8192;
  auto c = connect_pair(tiny);
  auto prog = c.client->offload_file(kXdp1, OffloadOptions{});
  ASSERT_FALSE(prog.ok());
  EXPECT_NE(prog.error().message.find("map 'rxcnt'"), std::string::npos) << prog.error().message;
  EXPECT_NE(prog.error().message.find("EDQUOT"), std::string::npos) << prog.error().message;
  const auto types = c.host->request_types();
  EXPECT_EQ(std::count(types.begin(), types.end(), std::uint16_t(tp::MsgType::ProgLoad)), 0);
  EXPECT_EQ(c.host->btfs(), 0u);
}

TEST(GuestClient, UnknownInterfaceIsAnError) {
  auto c = connect_pair();
  OffloadOptions o;
  o.ifname = "nonexistent-if0";
  auto prog = c.client->offload_file(kXdp1, o);
  ASSERT_FALSE(prog.ok());
  EXPECT_NE(prog.error().message.find("nonexistent-if0"), std::string::npos);
  EXPECT_TRUE(c.host->request_types().empty());
}

TEST(GuestClient, PercpuCountersByNameAreSummedOverHostCpus) {
  auto c = connect_pair();
  auto prog = c.client->offload_file(kXdp1, OffloadOptions{});
  ASSERT_TRUE(prog.ok()) << prog.error().message;
  auto map = c.client->map_named(*prog, "rxcnt");
  ASSERT_TRUE(map.ok());
  ASSERT_TRUE(c.host->set_percpu_u64("rxcnt", 17, 5).ok());
  auto v = c.client->map_lookup((*map)->handle, u32(17));
  ASSERT_TRUE(v.ok() && v->has_value());
  EXPECT_EQ((*v)->size(), 8u * cpus());
  auto sum = sum_percpu_u64(**v, (*map)->value_size);
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(*sum, 5u * cpus());

  auto missing = c.client->map_named(*prog, "txcnt");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("maps: rxcnt"), std::string::npos) << missing.error().message;
}

TEST(GuestClient, DumpMapWalksEveryKeyAndUnloadFreesEverything) {
  auto c = connect_pair();
  auto prog = c.client->offload_file(kXdp1, OffloadOptions{});
  ASSERT_TRUE(prog.ok()) << prog.error().message;
  auto entries = c.client->dump_map(prog->maps[0]);
  ASSERT_TRUE(entries.ok()) << entries.error().message;
  EXPECT_EQ(entries->size(), 256u);
  EXPECT_EQ((*entries)[255].key, u32(255));

  auto stats = c.client->stats(prog->prog);
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->size(), 7u) << "XDP_ABORTED..XDP_REDIRECT, the host's policy drops, lost samples (v2)";
  EXPECT_EQ(stats->back().action, tp::kActionSampleLost);

  ASSERT_NE(prog->btf, 0u) << "xdp1 carries BTF";
  EXPECT_EQ(c.host->btfs(), 1u);
  ASSERT_TRUE(c.client->unload(*prog).ok());
  EXPECT_EQ(c.host->programs(), 0u);
  EXPECT_EQ(c.host->maps(), 0u);
  EXPECT_EQ(c.host->btfs(), 0u) << "unload frees the offload's BTF too";
  EXPECT_EQ(c.host->attached_prog_id(), 0u);
  EXPECT_EQ(prog->btf, 0u);
  const auto types = c.host->request_types();
  // detach before unload before map free
  auto pos = [&](tp::MsgType t) {
    return std::find(types.begin(), types.end(), std::uint16_t(t)) - types.begin();
  };
  EXPECT_LT(pos(tp::MsgType::ProgDetach), pos(tp::MsgType::ProgUnload));
  EXPECT_LT(pos(tp::MsgType::ProgUnload), pos(tp::MsgType::MapFree));
  EXPECT_LT(pos(tp::MsgType::MapFree), pos(tp::MsgType::BtfFree)) << "BTF last: the host refuses it while used";
  // A second unload is a no-op, not a double free.
  EXPECT_TRUE(c.client->unload(*prog).ok());
}

// The session advertises its default 1000 requests/s: the client starts
// with an empty bucket (another process may have drained the host's), so
// 300 lookups cannot take less than about 0.3 s; CAPS went first.
TEST(GuestClient, PacesRequestsToTheRateTheHostAdvertises) {
  // A slow host rate, so that an unpaced client (an in-process lookup takes
  // well under a millisecond) runs past the bucket, gets EAGAIN and has to
  // send again. Paced to what CAPS advertised, each lookup is sent once.
  session::SessionQuotas slow;
  slow.requests_per_sec = 100;
  slow.request_burst = 10;
  auto c = connect_pair(slow);
  auto prog = c.client->offload_file(kXdp1, OffloadOptions{});
  ASSERT_TRUE(prog.ok()) << prog.error().message;
  EXPECT_EQ(c.host->request_types().front(), std::uint16_t(tp::MsgType::Caps));
  for (int i = 0; i < 60; ++i) {
    auto r = c.client->map_lookup(prog->maps[0].handle, u32(i % 256));
    ASSERT_TRUE(r.ok()) << "request " << i << ": " << r.error().message;
  }
  const auto types = c.host->request_types();
  EXPECT_EQ(std::count(types.begin(), types.end(), std::uint16_t(tp::MsgType::MapLookup)), 60)
      << "lookups refused by the host's bucket were sent again";
}

TEST(GuestClient, MapOpsByNameReachTheHostMap) {
  auto c = connect_pair();
  auto prog = c.client->offload_file(kXdp1, OffloadOptions{});
  ASSERT_TRUE(prog.ok()) << prog.error().message;
  ASSERT_TRUE(c.client->map_update(*prog, "rxcnt", u32(6), percpu_u64(41)).ok());
  // A per-CPU value of one CPU's size is refused by the host, not padded.
  auto short_value = c.client->map_update(*prog, "rxcnt", u32(6), Bytes(8));
  if (cpus() > 1) {
    ASSERT_FALSE(short_value.ok());
    EXPECT_NE(short_value.error().message.find("EINVAL"), std::string::npos) << short_value.error().message;
  }
  auto v = c.client->map_lookup(*prog, "rxcnt", u32(6));
  ASSERT_TRUE(v.ok() && v->has_value());
  auto sum = sum_percpu_u64(**v, 8);
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(*sum, 41u * cpus());
  auto next = c.client->map_get_next_key(*prog, "rxcnt", u32(6));
  ASSERT_TRUE(next.ok() && next->has_value());
  EXPECT_EQ(**next, u32(7));
  // An array's elements cannot be deleted: the kernel's EINVAL comes back.
  auto del = c.client->map_delete(*prog, "rxcnt", u32(6));
  ASSERT_FALSE(del.ok());
  EXPECT_NE(del.error().message.find("EINVAL"), std::string::npos) << del.error().message;
  auto wrong = c.client->map_update(*prog, "nope", u32(6), percpu_u64(1));
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("no map 'nope'"), std::string::npos);
  // A handle the session does not own: the host's EBADF comes back, and a
  // lookup does not read it as "no such key" (that is ENOENT).
  auto foreign = c.client->map_update(999, u32(0), percpu_u64(1));
  ASSERT_FALSE(foreign.ok());
  EXPECT_NE(foreign.error().message.find("EBADF"), std::string::npos) << foreign.error().message;
  auto foreign_lookup = c.client->map_lookup(999, u32(0));
  ASSERT_FALSE(foreign_lookup.ok()) << "an unknown map is not an absent key";
  EXPECT_NE(foreign_lookup.error().message.find("EBADF"), std::string::npos) << foreign_lookup.error().message;
}

TEST(GuestClient, RewriteRejectsAHandleTheSubmissionDoesNotDefine) {
  const std::vector<isa::RawInsn> insns = isa::encode(std::vector<isa::Insn>{isa::LoadMapFd{1, 3}, isa::Exit{}});
  auto bad = rewrite_map_handles(insns, {{1, 100}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().pc, 0u);
  auto good = rewrite_map_handles(insns, {{3, 42}});
  ASSERT_TRUE(good.ok());
  EXPECT_EQ((*good)[0].imm, 42);
  EXPECT_EQ((*good)[1], insns[1]);  // the second slot is never taken for an insn
}

TEST(GuestClient, PercpuSumRejectsPartialSlots) {
  EXPECT_FALSE(sum_percpu_u64(Bytes(12), 8).ok());
  EXPECT_FALSE(sum_percpu_u64(Bytes{}, 8).ok());
  // 4-byte values sit in 8-byte slots.
  Bytes two = {1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0xff, 0xff, 0xff, 0xff};
  auto s = sum_percpu_u64(two, 4);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, 3u);
}

TEST(GuestClient, FlavorNames) {
  for (const char* n : {"tc", "chain", "devmap", "tun", "any"}) {
    auto f = parse_flavor(n);
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(flavor_name(*f), n);
  }
  EXPECT_FALSE(parse_flavor("xdp").ok());
  EXPECT_EQ(flavor_set_name(0x3), "tc,chain");
}

TEST(OffloadState, RoundTripsAndRejectsGarbage) {
  OffloadedProgram p;
  p.name = "xdp_prog1";
  p.prog = 500;
  p.btf = 1001;
  p.flavor = 0;
  p.attached = true;
  p.maps = {{"rxcnt", 100, MapType::PercpuArray, 4, 8, 256}, {".rodata", 101, MapType::Array, 4, 16, 1}};
  OffloadedProgram q = p;
  q.name = "other";
  q.attached = false;
  q.maps.clear();
  auto parsed = parse_state(format_state({p, q}));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_EQ(parsed->size(), 2u);
  EXPECT_EQ((*parsed)[0], p);
  EXPECT_EQ((*parsed)[1], q);
  EXPECT_FALSE(parse_state("map\trxcnt\t1\t6\t4\t8\t256\n").ok());  // map without prog
  EXPECT_FALSE(parse_state("prog\tx\tNaN\t0\t0\t0\n").ok());
  EXPECT_FALSE(parse_state("prog\tx\t1\t0\t999\t0\n").ok());

  const std::string path = "/tmp/xo-guest-state-" + std::to_string(getpid());
  ASSERT_TRUE(save_state(path, {p}).ok());
  auto loaded = load_state(path);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(*loaded, std::vector<OffloadedProgram>{p});
  ASSERT_TRUE(save_state(path, {}).ok());  // empty removes the file
  EXPECT_NE(access(path.c_str(), F_OK), 0);
  auto none = load_state(path);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace xo::guest
