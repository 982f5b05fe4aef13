// The kernel-facing commands on a real kernel: `run` (BPF_PROG_TEST_RUN of
// the translated program), and `load` / `status` / `unload` on real taps in
// fresh network namespaces, checked with bpftool and the kernel object ids
// (ids, not global counts: other tests create BPF objects concurrently).
#include <chrono>
#include <cstdio>
#include <set>
#include <thread>

#include "tests/cli/cli_harness.hpp"

namespace xo::cli_test {
namespace {

std::string to_hex(const std::vector<std::uint8_t>& bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string s;
  for (auto b : bytes) {
    s += kDigits[b >> 4];
    s += kDigits[b & 15];
  }
  return s;
}

const std::vector<std::uint8_t> kDstMac = {0x02, 0, 0, 0, 0, 0x02};
const std::vector<std::uint8_t> kSrcMac = {0x02, 0, 0, 0, 0, 0x01};

// Ethernet + IPv4 + UDP (protocol 17), 8 bytes of payload.
std::vector<std::uint8_t> udp_frame() {
  std::vector<std::uint8_t> f(kDstMac);
  f.insert(f.end(), kSrcMac.begin(), kSrcMac.end());
  const std::vector<std::uint8_t> rest = {
      0x08, 0x00,                                                  // IPv4
      0x45, 0x00, 0x00, 0x24, 0x00, 0x00, 0x00, 0x00, 0x40, 0x11,  // len 36, ttl 64, UDP
      0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0x02,  // 192.168.0.1 -> .2
      0x04, 0xd2, 0x16, 0x2e, 0x00, 0x10, 0x00, 0x00,              // UDP 1234 -> 5678
      1, 2, 3, 4, 5, 6, 7, 8};
  f.insert(f.end(), rest.begin(), rest.end());
  return f;
}

class MountBpffs : public ::testing::Environment {
 public:
  void SetUp() override {
    if (run({"mountpoint", "-q", "/sys/fs/bpf"}).exit_code != 0)
      run({"mount", "-t", "bpf", "bpf", "/sys/fs/bpf"});
  }
};
[[maybe_unused]] auto* const kBpffs = ::testing::AddGlobalTestEnvironment(new MountBpffs);

const rapidjson::Value* map_entry(const rapidjson::Value& maps, const char* map, const std::string& key_hex) {
  if (!maps.HasMember(map)) return nullptr;
  for (const auto& e : maps[map].GetArray())
    if (key_hex == e["key"].GetString()) return &e;
  return nullptr;
}

TEST(CliRun, Xdp1DropsUdpAndCountsIt) {
  Ran r = xoffload({"run", xdp1(), "--packet-hex", to_hex(udp_frame()), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto d = parse_json(r.out);
  ASSERT_TRUE(d.IsObject());
  EXPECT_STREQ(d["guest_action"].GetString(), "XDP_DROP");
  EXPECT_STREQ(d["host_verdict"].GetString(), "TC_ACT_SHOT");
  EXPECT_EQ(std::string(d["packet"].GetString()), to_hex(udp_frame()));
  EXPECT_TRUE(d["ns_per_run"].IsUint());
  const auto* udp = map_entry(d["maps"], "rxcnt", "11000000");  // key 17 (IPPROTO_UDP), LE
  ASSERT_NE(udp, nullptr) << r.out;
  EXPECT_EQ((*udp)["sum"].GetUint64(), 1u);
  EXPECT_STREQ((*udp)["key_btf"].GetString(), "(__u32)17");
  EXPECT_EQ(d["maps"]["rxcnt"].Size(), 1u) << "only the UDP counter moved: " << r.out;
}

TEST(CliRun, RepeatCountsEveryRun) {
  TempDir dir;
  auto frame = udp_frame();
  spit(dir / "udp.bin", std::string(frame.begin(), frame.end()));
  Ran r = xoffload({"run", xdp1(), "--packet", (dir / "udp.bin").string(), "--repeat", "10", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto d = parse_json(r.out);
  EXPECT_STREQ(d["guest_action"].GetString(), "XDP_DROP");
  const auto* udp = map_entry(d["maps"], "rxcnt", "11000000");
  ASSERT_NE(udp, nullptr) << r.out;
  EXPECT_EQ((*udp)["sum"].GetUint64(), 10u);
}

TEST(CliRun, Xdp2BouncesWithMacsSwapped) {
  auto frame = udp_frame();
  auto swapped = frame;
  std::copy(kSrcMac.begin(), kSrcMac.end(), swapped.begin());
  std::copy(kDstMac.begin(), kDstMac.end(), swapped.begin() + 6);
  for (std::string flavor : {"tc", "chain"}) {
    Ran r = xoffload({"run", xdp2(), "--flavor", flavor, "--packet-hex", to_hex(frame), "--json"});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    auto d = parse_json(r.out);
    EXPECT_STREQ(d["guest_action"].GetString(), "XDP_TX") << flavor;
    EXPECT_STREQ(d["host_verdict"].GetString(), flavor == "tc" ? "TC_ACT_REDIRECT" : "XDP_TX");
    EXPECT_EQ(std::string(d["packet"].GetString()), to_hex(swapped)) << flavor;
  }
}

TEST(CliRun, TextOutputAndBadPacket) {
  Ran r = xoffload({"run", xdp1(), "--packet-hex", to_hex(udp_frame())});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("guest_action: XDP_DROP"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[(__u32)17] = (long)1"), std::string::npos) << r.out;
  EXPECT_EQ(xoffload({"run", xdp1(), "--packet-hex", "0g"}).exit_code, 2);
  EXPECT_EQ(xoffload({"run", xdp1()}).exit_code, 2);
  Ran tiny = xoffload({"run", xdp1(), "--packet-hex", "0102"});
  EXPECT_EQ(tiny.exit_code, 1);
  EXPECT_NE(tiny.err.find("packet of 2 bytes"), std::string::npos) << tiny.err;
}

TEST(CliVerify, KernelVerdictMapsBackToGuestInsn) {
  // Passes preverify (no packet bounds there) but not the kernel verifier.
  TempDir dir;
  spit(dir / "unbounded.s", "r2 = *(u32 *)(r1 + 0x0)\nr0 = *(u8 *)(r2 + 0x0)\nr0 = 2\nexit\n");
  fs::path bin = dir / "unbounded.bin";
  ASSERT_EQ(xoffload({"asm", (dir / "unbounded.s").string(), "-o", bin.string()}).exit_code, 0);
  EXPECT_EQ(xoffload({"verify", "--raw", bin.string()}).exit_code, 0);
  Ran r = xoffload({"verify", "--raw", bin.string(), "--kernel", "--json"});
  EXPECT_EQ(r.exit_code, 1);
  auto d = parse_json(r.out);
  ASSERT_TRUE(d.IsObject());
  EXPECT_STREQ(d["stage"].GetString(), "kernel-verify");
  EXPECT_STREQ(d["errno"].GetString(), "EACCES");
  EXPECT_EQ(d["insn"].GetUint(), 1u);
  EXPECT_NE(std::string(d["error"].GetString()).find("guest insn 1"), std::string::npos) << r.out;
  EXPECT_NE(std::string(d["verifier_log"].GetString()).find("invalid access to packet"), std::string::npos);
  Ran ok = xoffload({"verify", xdp1(), "--kernel"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("host kernel verifier"), std::string::npos);
}

// ---------------------------------------------------------------------------
// load / status / unload

bool bpf_object_exists(const std::string& kind, std::uint32_t id) {
  return run({"bpftool", kind, "show", "id", std::to_string(id)}).exit_code == 0;
}

// The kernel frees a program released by its link (deferred work) or a tc
// filter (RCU grace period) a little later: wait a bounded time for it to go.
bool gone_within(const std::string& kind, std::uint32_t id, std::chrono::seconds limit = std::chrono::seconds(5)) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (bpf_object_exists(kind, id)) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

// Unloads the session on scope exit if a test failed half way.
class SessionGuard {
 public:
  SessionGuard(std::string session, std::string netns) : session_(std::move(session)), netns_(std::move(netns)) {}
  ~SessionGuard() {
    if (fs::exists("/sys/fs/bpf/xoffload/" + session_)) xoffload({"unload", "--session", session_}, netns_);
  }

 private:
  std::string session_, netns_;
};

const rapidjson::Value* find_session(const rapidjson::Document& status, const std::string& name) {
  for (const auto& s : status["sessions"].GetArray())
    if (name == s["session"].GetString()) return &s;
  return nullptr;
}

TEST(CliLoad, TcLoadStatusUnloadLeavesNothing) {
  Netns ns;
  std::string tap = ns.add_tap();
  std::string session = unique_name("clitc", 30);
  SessionGuard guard(session, ns.name());

  Ran load = xoffload({"load", xdp1(), "--tap", tap, "--session", session, "--stats", "--json"}, ns.name());
  ASSERT_EQ(load.exit_code, 0) << load.err;
  auto l = parse_json(load.out);
  ASSERT_TRUE(l.IsObject());
  std::uint32_t prog_id = l["prog"]["id"].GetUint();
  std::uint32_t btf_id = l["btf_id"].GetUint();
  std::vector<std::uint32_t> map_ids = {l["stats_map_id"].GetUint()};
  for (const auto& m : l["maps"].GetArray()) map_ids.push_back(m["id"].GetUint());
  ASSERT_EQ(map_ids.size(), 2u);
  std::string pin_dir = l["pin_dir"].GetString();
  EXPECT_EQ(pin_dir, "/sys/fs/bpf/xoffload/" + session);

  // The load command has exited: the offload must still be there.
  EXPECT_TRUE(fs::exists(pin_dir + "/prog"));
  EXPECT_TRUE(fs::exists(pin_dir + "/map_rxcnt"));
  // Attached through a pinned tcx link (bookworm's bpftool 7.1 names the
  // link type by number: 11 = tcx) that runs the program.
  EXPECT_TRUE(fs::exists(pin_dir + "/link_egress"));
  Ran link = run({"bpftool", "link", "show", "pinned", pin_dir + "/link_egress"});
  ASSERT_EQ(link.exit_code, 0) << link.err;
  EXPECT_NE(link.out.find("type 11  prog " + std::to_string(prog_id)), std::string::npos) << link.out;
  const std::string link_id = link.out.substr(0, link.out.find(':'));
  Ran net = run({"bpftool", "net"}, ns.name());
  EXPECT_EQ(net.out.find("clsact/egress"), std::string::npos) << "no cls_bpf filter beside the link: " << net.out;
  Ran prog = run({"bpftool", "prog", "show", "id", std::to_string(prog_id)});
  EXPECT_EQ(prog.exit_code, 0);
  EXPECT_NE(prog.out.find("sched_cls"), std::string::npos) << prog.out;
  Ran pinned = run({"bpftool", "prog", "show", "pinned", pin_dir + "/prog"});
  EXPECT_NE(pinned.out.find(std::to_string(prog_id) + ":"), std::string::npos) << pinned.out;

  Ran status = xoffload({"status", "--json"}, ns.name());
  ASSERT_EQ(status.exit_code, 0) << status.err;
  auto st = parse_json(status.out);
  const auto* s = find_session(st, session);
  ASSERT_NE(s, nullptr) << status.out;
  EXPECT_STREQ((*s)["flavor"].GetString(), "tc");
  EXPECT_EQ(std::string((*s)["tap"].GetString()), tap);
  EXPECT_TRUE((*s)["attached"].GetBool());
  EXPECT_EQ((*s)["prog"]["id"].GetUint(), prog_id);
  EXPECT_EQ((*s)["prog"]["tag"].GetStringLength(), 16u);
  ASSERT_TRUE(s->HasMember("link")) << status.out;
  EXPECT_EQ(std::to_string((*s)["link"]["id"].GetUint()), link_id);
  EXPECT_EQ((*s)["link"]["prog_id"].GetUint(), prog_id);
  EXPECT_NE((*s)["link"]["ifindex"].GetInt(), 0);
  ASSERT_EQ((*s)["maps"].Size(), 1u);
  EXPECT_STREQ((*s)["maps"][0]["name"].GetString(), "rxcnt");
  EXPECT_EQ((*s)["maps"][0]["id"].GetUint(), map_ids[1]);
  EXPECT_TRUE((*s)["stats"].HasMember("XDP_DROP"));

  // Map contents from the pins, typed by the map's BTF: set rxcnt[6] on
  // every CPU with bpftool, read it back through status --entries.
  Ran update = run({"bpftool", "map", "update", "pinned", pin_dir + "/map_rxcnt", "key", "6", "0", "0", "0",
                    "value", "5", "0", "0", "0", "0", "0", "0", "0"});
  ASSERT_EQ(update.exit_code, 0) << update.err;
  Ran entries = xoffload({"status", "--session", session, "--entries", "--json"}, ns.name());
  ASSERT_EQ(entries.exit_code, 0) << entries.err;
  auto en = parse_json(entries.out);
  const auto& rx = en["sessions"][0]["maps"][0]["entries"];
  ASSERT_EQ(rx.Size(), 1u) << entries.out;
  EXPECT_STREQ(rx[0]["key"].GetString(), "06000000");
  EXPECT_STREQ(rx[0]["key_btf"].GetString(), "(__u32)6");
  EXPECT_EQ(rx[0]["sum"].GetUint64(), 5u * rx[0]["per_cpu"].Size());

  Ran unload = xoffload({"unload", "--session", session}, ns.name());
  ASSERT_EQ(unload.exit_code, 0) << unload.err;
  EXPECT_FALSE(fs::exists(pin_dir));
  EXPECT_NE(unload.out.find("detached tcx link " + link_id), std::string::npos) << unload.out;
  EXPECT_TRUE(gone_within("link", std::uint32_t(std::stoul(link_id)))) << "tcx link " << link_id << " outlived unload";
  EXPECT_TRUE(gone_within("prog", prog_id)) << "prog " << prog_id << " outlived unload";
  for (auto id : map_ids) EXPECT_TRUE(gone_within("map", id)) << "map " << id << " outlived unload";
  EXPECT_TRUE(gone_within("btf", btf_id)) << "btf " << btf_id << " outlived unload";
  Ran status_after = xoffload({"status", "--json"}, ns.name());
  EXPECT_EQ(find_session(parse_json(status_after.out), session), nullptr);
}

// Global data maps are named after their sections (.data, .rodata, .bss),
// and bpffs refuses '.' in a name: pinned as "map_.rodata", every object
// with global data failed `xoffload load`. They pin as map__data, ... now.
TEST(CliLoad, GlobalDataObjectLoadsPinsAndUnloads) {
  Netns ns;
  std::string tap = ns.add_tap();
  std::string session = unique_name("cliglob", 30);
  SessionGuard guard(session, ns.name());

  Ran load = xoffload({"load", builder_prog("globals"), "--tap", tap, "--session", session, "--json"}, ns.name());
  ASSERT_EQ(load.exit_code, 0) << load.err;
  auto l = parse_json(load.out);
  ASSERT_TRUE(l.IsObject()) << load.out;
  std::string pin_dir = l["pin_dir"].GetString();
  std::vector<std::uint32_t> map_ids;
  std::set<std::string> pins;
  for (const auto& m : l["maps"].GetArray()) {
    map_ids.push_back(m["id"].GetUint());
    pins.insert(m["pin"].GetString());
  }
  EXPECT_EQ(map_ids.size(), 3u) << load.out;
  for (const char* leaf : {"map__data", "map__rodata", "map__bss"}) {
    EXPECT_TRUE(fs::exists(pin_dir + "/" + leaf)) << leaf;
    EXPECT_EQ(pins.count(pin_dir + "/" + leaf), 1u) << leaf << " in " << load.out;
  }
  Ran rodata = run({"bpftool", "map", "show", "pinned", pin_dir + "/map__rodata"});
  EXPECT_EQ(rodata.exit_code, 0) << rodata.err;
  EXPECT_NE(rodata.out.find("frozen"), std::string::npos) << rodata.out;

  Ran status = xoffload({"status", "--session", session, "--json"}, ns.name());
  ASSERT_EQ(status.exit_code, 0) << status.err;
  const auto* s = find_session(parse_json(status.out), session);
  ASSERT_NE(s, nullptr) << status.out;
  EXPECT_EQ((*s)["maps"].Size(), 3u) << status.out;

  Ran unload = xoffload({"unload", "--session", session}, ns.name());
  ASSERT_EQ(unload.exit_code, 0) << unload.err;
  EXPECT_FALSE(fs::exists(pin_dir));
  for (auto id : map_ids) EXPECT_TRUE(gone_within("map", id)) << "map " << id << " outlived unload";
}

TEST(CliLoad, ChainLoadShowsSlotAndUnloadByTap) {
  Netns ns;
  std::string tap = ns.add_tap();
  std::string session = unique_name("clichain", 30);
  SessionGuard guard(session, ns.name());

  Ran load = xoffload({"load", xdp2(), "--tap", tap, "--flavor", "chain", "--session", session, "--json"}, ns.name());
  ASSERT_EQ(load.exit_code, 0) << load.err;
  auto l = parse_json(load.out);
  std::uint32_t prog_id = l["prog"]["id"].GetUint();
  std::uint32_t chain_id = l["chain_map_id"].GetUint();
  std::string chain_pin = "/sys/fs/bpf/xoffload/" + session + "/chain_" + tap;
  EXPECT_TRUE(fs::exists(chain_pin));
  Ran dump = run({"bpftool", "map", "dump", "pinned", chain_pin});
  char id_bytes[32];  // bpftool prints the slot's value (the prog id) as LE bytes
  std::snprintf(id_bytes, sizeof id_bytes, "%02x %02x %02x %02x", prog_id & 0xff, (prog_id >> 8) & 0xff,
                (prog_id >> 16) & 0xff, prog_id >> 24);
  EXPECT_NE(dump.out.find(std::string("value: ") + id_bytes), std::string::npos)
      << "slot 0 holds prog " << prog_id << ": " << dump.out;

  Ran status = xoffload({"status", "--session", session, "--json"}, ns.name());
  ASSERT_EQ(status.exit_code, 0) << status.err;
  auto st = parse_json(status.out);
  const auto* s = find_session(st, session);
  ASSERT_NE(s, nullptr) << status.out;
  EXPECT_STREQ((*s)["flavor"].GetString(), "chain");
  EXPECT_EQ(std::string((*s)["tap"].GetString()), tap);
  EXPECT_TRUE((*s)["attached"].GetBool());
  EXPECT_EQ((*s)["chain"]["slot0_prog_id"].GetUint(), prog_id);

  Ran unload = xoffload({"unload", "--tap", tap}, ns.name());
  ASSERT_EQ(unload.exit_code, 0) << unload.err;
  EXPECT_NE(unload.out.find(session), std::string::npos) << unload.out;
  EXPECT_FALSE(fs::exists("/sys/fs/bpf/xoffload/" + session));
  EXPECT_TRUE(gone_within("prog", prog_id));
  EXPECT_TRUE(gone_within("map", chain_id));
}

int ifindex_in(const Netns& ns, const std::string& dev) {
  Ran r = run({"ip", "-n", ns.name(), "-o", "link", "show", dev});
  return r.exit_code == 0 ? std::atoi(r.out.c_str()) : 0;
}

// A tcx link reports its tap's ifindex as numbered in the tap's own netns.
// Two fresh namespaces number their first tap alike: unload --tap in one
// must not take the other's session for its own, and status there must not
// name a local device as the tap.
TEST(CliUnload, ByTapLeavesTheSameIfindexInAnotherNetnsAlone) {
  Netns a, b;
  const std::string tap_a = a.add_tap(), tap_b = b.add_tap();
  ASSERT_EQ(ifindex_in(a, tap_a), ifindex_in(b, tap_b)) << "the case needs equal ifindexes";
  ASSERT_NE(ifindex_in(a, tap_a), 0);
  const std::string session = unique_name("clins", 30);
  SessionGuard guard(session, a.name());
  Ran load = xoffload({"load", xdp1(), "--tap", tap_a, "--session", session}, a.name());
  ASSERT_EQ(load.exit_code, 0) << load.err;

  Ran wrong = xoffload({"unload", "--tap", tap_b}, b.name());
  EXPECT_EQ(wrong.exit_code, 1) << wrong.out;
  EXPECT_NE(wrong.err.find("no xoffload session is attached to tap '" + tap_b + "'"), std::string::npos) << wrong.err;
  EXPECT_TRUE(fs::exists("/sys/fs/bpf/xoffload/" + session + "/link_egress"));

  Ran status = xoffload({"status", "--session", session}, b.name());
  ASSERT_EQ(status.exit_code, 0) << status.err;
  EXPECT_EQ(status.out.find(tap_b), std::string::npos) << status.out;
  EXPECT_NE(status.out.find("not in this netns"), std::string::npos) << status.out;

  Ran right = xoffload({"unload", "--tap", tap_a}, a.name());
  EXPECT_EQ(right.exit_code, 0) << right.err;
  EXPECT_FALSE(fs::exists("/sys/fs/bpf/xoffload/" + session));
}

TEST(CliLoad, RefusalsLeaveNothing) {
  Netns ns;
  std::string tap = ns.add_tap();
  std::string session = unique_name("clibad", 30);
  SessionGuard guard(session, ns.name());
  TempDir dir;
  spit(dir / "fib.s", "r1 = 0\ncall 0x45\nexit\n");
  ASSERT_EQ(xoffload({"asm", (dir / "fib.s").string(), "-o", (dir / "fib.bin").string()}).exit_code, 0);
  Ran r = xoffload({"load", "--raw", (dir / "fib.bin").string(), "--tap", tap, "--session", session}, ns.name());
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("helper bpf_fib_lookup (69) is not allowed"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists("/sys/fs/bpf/xoffload/" + session));
  Ran no_tap = xoffload({"load", xdp1(), "--tap", "xonosuchtap0", "--session", session}, ns.name());
  EXPECT_EQ(no_tap.exit_code, 1);
  EXPECT_NE(no_tap.err.find("xonosuchtap0"), std::string::npos) << no_tap.err;
  EXPECT_EQ(xoffload({"unload", "--session", session}, ns.name()).exit_code, 1);
}


// xoffloadd pins its sessions as prog<handle>_<name>, stats<handle> and
// map<handle>_<name> (a session may hold several programs). status must read
// that layout too: the same offload, renamed into it, reads back the same.
TEST(CliStatus, ReadsTheDaemonsNumberedPinLayout) {
  Netns ns;
  std::string tap = ns.add_tap();
  std::string session = unique_name("clidm", 30);
  SessionGuard guard(session, ns.name());

  Ran load = xoffload({"load", xdp1(), "--tap", tap, "--session", session, "--stats", "--json"}, ns.name());
  ASSERT_EQ(load.exit_code, 0) << load.err;
  auto l = parse_json(load.out);
  std::uint32_t prog_id = l["prog"]["id"].GetUint();
  std::string dir = l["pin_dir"].GetString();
  const std::vector<std::pair<std::string, std::string>> renames = {
      {"prog", "prog3_xdp_prog1"}, {"stats", "stats3"}, {"map_rxcnt", "map2_rxcnt"}};
  for (const auto& [from, to] : renames) fs::rename(dir + "/" + from, dir + "/" + to);

  Ran status = xoffload({"status", "--session", session, "--json"}, ns.name());
  for (const auto& [from, to] : renames) fs::rename(dir + "/" + to, dir + "/" + from);  // for unload
  ASSERT_EQ(status.exit_code, 0) << status.err;
  auto st = parse_json(status.out);
  const auto* s = find_session(st, session);
  ASSERT_NE(s, nullptr) << status.out;
  EXPECT_STREQ((*s)["flavor"].GetString(), "tc");
  EXPECT_EQ(std::string((*s)["tap"].GetString()), tap);
  EXPECT_TRUE((*s)["attached"].GetBool());
  EXPECT_EQ((*s)["prog"]["id"].GetUint(), prog_id);
  ASSERT_EQ((*s)["maps"].Size(), 1u) << status.out;
  EXPECT_STREQ((*s)["maps"][0]["name"].GetString(), "rxcnt");
  EXPECT_TRUE((*s)["stats"].HasMember("XDP_DROP")) << status.out;
}

}  // namespace
}  // namespace xo::cli_test
