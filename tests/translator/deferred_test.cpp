// Deferred actions (protocol version 2, transport/PROTOCOL.md 8) on the real
// kernel: guest programs that redirect through guest-side maps, redirect by
// ifindex or emit perf samples, translated for chain and tc, run with
// BPF_PROG_TEST_RUN. The output frame must be the descriptor frame the
// protocol specifies, byte for byte (the expected bytes are written here
// from PROTOCOL.md 8.2, not from the translator), and the stats map must
// count what the spec says; refused programs get their one-line reason.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "guest/builder/elf_builder.hpp"
#include "host/core/stats_map.hpp"
#include "translator/passes/passes.hpp"
#include "tests/translator/descriptor_frame.hpp"
#include "tests/translator/kernel_harness.hpp"

namespace xo::test {
namespace {

using Bytes = std::vector<std::uint8_t>;
constexpr std::uint64_t kCookie = 0x8877665544332211ull;
constexpr std::uint32_t kTap = 1;

Bytes frame(std::uint8_t sel, std::uint8_t key = 0, std::uint16_t ethertype = 0x0800, std::size_t len = 64) {
  Bytes f(len, 0);
  const std::uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x01}, src[6] = {0x02, 0, 0, 0, 0, 0x02};
  std::copy(dst, dst + 6, f.begin());
  std::copy(src, src + 6, f.begin() + 6);
  f[12] = std::uint8_t(ethertype >> 8);
  f[13] = std::uint8_t(ethertype);
  f[14] = sel;
  f[15] = key;
  for (std::size_t i = 16; i < len; ++i) f[i] = std::uint8_t(i * 7);
  return f;
}

using Sample = DescriptorSample;
void le(Bytes& b, std::uint64_t v, int n) { put_le(b, v, n); }

Bytes expected(const Bytes& inner, std::uint8_t verdict, std::uint8_t action, std::uint32_t map,
                       std::uint32_t key, std::uint64_t flags, const std::vector<Sample>& samples = {}) {
  return test::descriptor_frame(inner, kCookie, verdict, action, map, key, flags, samples);
}

Result<Submission> build(const std::string& prog) {
  auto s = guest::build_submission_from_file(XO_DEFERRED_OBJ, prog);
  if (s) s->guest_ifindex = kTap;
  return s;
}

std::uint32_t handle_of(const Submission& s, const std::string& name) {
  for (const MapDef& m : s.maps)
    if (m.name == name) return m.handle;
  ADD_FAILURE() << "no map " << name;
  return 0;
}

translator::TranslateOptions options(Flavor f, std::uint32_t stats_cpus) {
  translator::TranslateOptions o;
  o.flavor = f;
  o.tap_ifindex = kTap;
  o.guest_ifindex = kTap;
  o.stats = stats_cpus != 0;
  o.stats_cpus = stats_cpus;
  o.defer = true;
  o.cookie = kCookie;
  return o;
}

// One guest program translated and loaded for one flavor, with its own
// host maps (the guest-side ones have none) and a stats map.
struct Host {
  Submission sub;
  UniqueFd stats;
  std::unique_ptr<HostMaps> maps;
  UniqueFd btf;
  UniqueFd prog;
  translator::Translated tr;
};

void load(Host& h, const std::string& name, Flavor f) {
  auto sub = build(name);
  ASSERT_TRUE(sub) << sub.error().message;
  h.sub = *sub;
  auto created = host::create_stats_map("xo_stats");
  ASSERT_TRUE(created.ok()) << created.error().message;
  h.stats = std::move(*created);
  auto cpus = host::stats_map_cpus(h.stats.get());
  ASSERT_TRUE(cpus.ok());
  std::vector<MapDef> host_defs;
  for (const MapDef& m : h.sub.maps)
    if (!guest_side_map_type(m.type)) host_defs.push_back(m);
  h.btf = load_btf(h.sub.btf);
  h.maps = std::make_unique<HostMaps>(host_defs, h.btf.get());
  ASSERT_EQ(h.maps->error(), "");
  DefaultPolicy policy;
  auto tr = translator::translate(h.sub, policy, options(f, *cpus));
  ASSERT_TRUE(tr.ok()) << tr.error().message;
  EXPECT_TRUE(tr->defers);
  h.tr = *tr;
  auto bytes = tr->encode(h.sub, [&](std::uint32_t handle) -> std::optional<int> {
    if (handle == translator::kStatsMapHandle) return h.stats.get();
    return h.maps->fd_of(handle);
  });
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  Loaded l = load_program(tr->prog_type, name, *bytes, h.sub, tr->func_info, tr->line_info, h.btf.get(),
                          tr->expected_attach_type);
  ASSERT_TRUE(l.prog.valid()) << l.log;
  h.prog = std::move(l.prog);
}

std::uint64_t slot(const Host& h, std::uint32_t s) {
  auto totals = host::read_stats_map(h.stats.get());
  EXPECT_TRUE(totals.ok());
  return totals.ok() ? (*totals)[s] : ~0ull;
}

// What the host program returns when it delivers a frame to the guest
// (chain: redirected into the tap; tc: TC_ACT_OK) and when it drops one.
std::uint32_t delivered(Flavor f) { return f == Flavor::Chain ? 4 : 0; }
std::uint32_t dropped(Flavor f) { return f == Flavor::Chain ? 1 : 2; }

class Deferred : public ::testing::TestWithParam<Flavor> {};

TEST_P(Deferred, RedirectMapBecomesADescriptorFrame) {
  const Flavor f = GetParam();
  Host h;
  ASSERT_NO_FATAL_FAILURE(load(h, "defer_redirect_map", f));
  const Bytes in = frame(0x01, 5);
  RunResult r = test_run(h.prog.get(), in);
  ASSERT_EQ(r.err, 0) << errno_text(r.err);
  EXPECT_EQ(r.retval, delivered(f));
  EXPECT_EQ(r.packet, expected(in, 1, 0, handle_of(h.sub, "tx_port"), 5, XDP_PASS));
  // A frame the program drops never reaches the guest.
  RunResult d = test_run(h.prog.get(), frame(0xdd, 5));
  EXPECT_EQ(d.retval, dropped(f));
  EXPECT_EQ(slot(h, XDP_REDIRECT), 1u);
  EXPECT_EQ(slot(h, XDP_DROP), 1u);
}

TEST_P(Deferred, AfXdpRedirectNamesTheXskmapAndKey) {
  const Flavor f = GetParam();
  Host h;
  ASSERT_NO_FATAL_FAILURE(load(h, "defer_xsk", f));
  const Bytes in = frame(1);
  RunResult r = test_run(h.prog.get(), in);
  EXPECT_EQ(r.retval, delivered(f));
  EXPECT_EQ(r.packet, expected(in, 1, 0, handle_of(h.sub, "xsks"), 2, 0));
  EXPECT_EQ(test_run(h.prog.get(), frame(7)).retval, dropped(f));
}

TEST_P(Deferred, RedirectByIfindexIsExactEvenWhenBranchedOn) {
  const Flavor f = GetParam();
  Host h;
  ASSERT_NO_FATAL_FAILURE(load(h, "defer_redirect_ifindex", f));
  const Bytes in = frame(0);
  RunResult r = test_run(h.prog.get(), in);
  EXPECT_EQ(r.retval, delivered(f));
  EXPECT_EQ(r.packet, expected(in, 2, 0, 0, 7, 0));
  // Flags other than 0: bpf_redirect returns XDP_ABORTED and records
  // nothing; the program then passes the frame, without a descriptor.
  const Bytes plain = frame(9);
  RunResult p = test_run(h.prog.get(), plain);
  EXPECT_EQ(p.retval, delivered(f));
  EXPECT_EQ(p.packet, plain);
}

TEST_P(Deferred, SamplesTravelWithTheVerdict) {
  const Flavor f = GetParam();
  Host h;
  ASSERT_NO_FATAL_FAILURE(load(h, "defer_sampler", f));
  const std::uint32_t events = handle_of(h.sub, "events");
  const std::uint64_t flags = 0xffffffffull | (32ull << 32);  // BPF_F_CURRENT_CPU, 32 packet bytes
  auto sample = [&](const Bytes& in) {
    Bytes d;
    le(d, 0xfeedf00d, 4);
    le(d, in.size(), 2);
    d.push_back(in[14]);
    d.push_back(0);
    le(d, 0x0102030405060708ull, 8);
    return Sample{events, flags, d};
  };
  // Dropped, with a sample: the frame still goes to the guest, verdict ACTION/DROP.
  const Bytes drop = frame(1);
  RunResult r = test_run(h.prog.get(), drop);
  EXPECT_EQ(r.retval, delivered(f));
  EXPECT_EQ(r.packet, expected(drop, 0, XDP_DROP, 0, 0, 0, {sample(drop)}));
  // Passed, with a sample.
  const Bytes pass = frame(2);
  RunResult p = test_run(h.prog.get(), pass);
  EXPECT_EQ(p.retval, delivered(f));
  EXPECT_EQ(p.packet, expected(pass, 0, XDP_PASS, 0, 0, 0, {sample(pass)}));
  // XDP_TX: the frame leaves by the host; its sample is lost, counted.
  const Bytes tx = frame(3);
  RunResult t = test_run(h.prog.get(), tx);
  EXPECT_EQ(t.retval, f == Flavor::Chain ? 3u : 7u);
  EXPECT_EQ(t.packet, tx);
  // No sample, dropped: nothing reaches the guest.
  EXPECT_EQ(test_run(h.prog.get(), frame(5)).retval, dropped(f));
  EXPECT_EQ(slot(h, translator::kStatsSlotSampleLost), 1u);
  EXPECT_EQ(slot(h, XDP_DROP), 2u);
  EXPECT_EQ(slot(h, XDP_PASS), 1u);
  EXPECT_EQ(slot(h, XDP_TX), 1u);
}

TEST_P(Deferred, ForgedDescriptorFramesAreDroppedBeforeTheProgram) {
  const Flavor f = GetParam();
  Host h;
  ASSERT_NO_FATAL_FAILURE(load(h, "defer_redirect_map", f));
  RunResult r = test_run(h.prog.get(), frame(0x01, 5, 0x88B5));
  EXPECT_EQ(r.retval, dropped(f));
  EXPECT_EQ(slot(h, translator::kStatsSlotUnknown), 1u);
  EXPECT_EQ(slot(h, XDP_REDIRECT), 0u);
}

TEST_P(Deferred, RedirectWithoutARecordedCallIsAPolicyDrop) {
  const Flavor f = GetParam();
  Host h;
  ASSERT_NO_FATAL_FAILURE(load(h, "defer_redirect_without_call", f));
  EXPECT_EQ(test_run(h.prog.get(), frame(2)).retval, dropped(f));
  EXPECT_EQ(slot(h, translator::kStatsSlotUnknown), 1u);
  const Bytes in = frame(1);
  RunResult r = test_run(h.prog.get(), in);
  EXPECT_EQ(r.retval, delivered(f));
  EXPECT_EQ(r.packet, expected(in, 1, 0, handle_of(h.sub, "tx_port"), 1, 0));
}

INSTANTIATE_TEST_SUITE_P(Flavors, Deferred, ::testing::Values(Flavor::Chain, Flavor::Tc),
                         [](const auto& p) { return std::string(flavor_name(p.param)); });

Error refusal(const std::string& prog, translator::TranslateOptions o = options(Flavor::Chain, 0)) {
  auto sub = build(prog);
  EXPECT_TRUE(sub) << sub.error().message;
  if (!sub) return Error{};
  DefaultPolicy policy;
  auto tr = translator::translate(*sub, policy, o);
  EXPECT_FALSE(tr.ok()) << prog << " was translated";
  return tr.ok() ? Error{} : tr.error();
}

TEST(DeferredRefusals, BranchingOnRedirectMapsResultNamesTheCall) {
  for (Flavor f : {Flavor::Chain, Flavor::Tc}) {
    const Error e = refusal("defer_branch_on_result", options(f, 0));
    EXPECT_EQ(e.code, EPERM) << e.message;
    EXPECT_NE(e.message.find("prog 'defer_branch_on_result': insn "), std::string::npos) << e.message;
    EXPECT_NE(e.message.find("deferred_progs.bpf.c:"), std::string::npos) << "source line: " << e.message;
    EXPECT_NE(e.message.find("the result of bpf_redirect_map is used at insn"), std::string::npos) << e.message;
    EXPECT_EQ(e.message.find('\n'), std::string::npos) << e.message;
    ASSERT_TRUE(e.pc);
    auto sub = build("defer_branch_on_result");
    ASSERT_TRUE(sub);
    // The pc is the call's.
    const isa::RawInsn& call = sub->insns[*e.pc];
    EXPECT_EQ(call.code, BPF_JMP | BPF_CALL);
    EXPECT_EQ(call.imm, BPF_FUNC_redirect_map);
  }
}

TEST(DeferredRefusals, AnyOtherUseOfAGuestSideMap) {
  const Error e = refusal("defer_lookup_xsk");
  EXPECT_EQ(e.code, EPERM);
  EXPECT_NE(e.message.find("map 'xsks' (xskmap) lives in the guest"), std::string::npos) << e.message;
  EXPECT_NE(e.message.find("deferred_progs.bpf.c:"), std::string::npos) << e.message;
}

TEST(DeferredRefusals, Version1SessionsAndMissingCookies) {
  auto o = options(Flavor::Chain, 0);
  o.defer = false;
  Error e = refusal("defer_redirect_map", o);
  EXPECT_EQ(e.code, EPERM);
  EXPECT_NE(e.message.find("needs protocol version 2"), std::string::npos) << e.message;
  o = options(Flavor::Chain, 0);
  o.cookie = 0;
  e = refusal("defer_redirect_map", o);
  EXPECT_EQ(e.code, EINVAL);
  EXPECT_NE(e.message.find("no cookie"), std::string::npos) << e.message;
  // Flavors that cannot deliver a descriptor.
  o = options(Flavor::Tun, 0);
  e = refusal("defer_redirect_map", o);
  EXPECT_EQ(e.code, EPERM) << e.message;
}

}  // namespace
}  // namespace xo::test
