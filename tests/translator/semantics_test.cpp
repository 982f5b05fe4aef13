// Semantics preserved: the original guest XDP program and its tc and chain
// translations, each loaded into the real kernel with its own maps, give the
// same verdict (under the flavor's mapping), the same output frame and the
// same map contents for the same input frames under BPF_PROG_TEST_RUN.
#include <gtest/gtest.h>
#include <sched.h>

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "core/btf_func.hpp"
#include "guest/builder/elf_builder.hpp"
#include "host/core/host_maps.hpp"
#include "host/core/isa_probe.hpp"
#include "host/core/kfunc_ids.hpp"
#include "host/core/pipeline.hpp"
#include "host/core/stats_map.hpp"
#include "translator/ir/ir.hpp"
#include "verifier-front/preverify.hpp"
#include "tests/translator/kernel_harness.hpp"
#include "tests/translator/test_support.hpp"

namespace xo::test {
namespace {

using isa::UnOp;
constexpr std::uint32_t kLoopback = 1;  // what the original reads as ingress_ifindex in test runs

// ---------------------------------------------------------------------------
// Input frames: real-looking headers plus synthetic frames whose first
// payload byte walks through every XDP action and some unknown values.

std::vector<std::uint8_t> pseudo_random(std::size_t n, std::uint32_t seed) {
  std::vector<std::uint8_t> v(n);
  for (auto& b : v) {
    seed = seed * 1103515245u + 12345u;
    b = static_cast<std::uint8_t>(seed >> 16);
  }
  return v;
}

std::vector<std::uint8_t> ethernet(std::uint16_t ethertype, std::size_t len, std::uint32_t seed) {
  auto f = pseudo_random(len, seed);
  const std::uint8_t dst[6] = {0x02, 0, 0, 0, 0, 0x01}, src[6] = {0x02, 0, 0, 0, 0, 0x02};
  std::copy(dst, dst + 6, f.begin());
  std::copy(src, src + 6, f.begin() + 6);
  f[12] = ethertype >> 8;
  f[13] = ethertype & 0xff;
  return f;
}

std::vector<std::vector<std::uint8_t>> frames() {
  std::vector<std::vector<std::uint8_t>> v;
  auto ipv4 = [](std::uint8_t proto, std::size_t len, std::uint32_t seed) {
    auto f = ethernet(0x0800, len, seed);
    f[14] = 0x45;
    f[23] = proto;
    return f;
  };
  v.push_back(ipv4(17, 64, 1));    // UDP
  v.push_back(ipv4(6, 74, 2));     // TCP
  v.push_back(ipv4(1, 98, 3));     // ICMP
  v.push_back(ipv4(17, 1500, 4));  // full-size
  auto v6 = ethernet(0x86dd, 86, 5);
  v6[14] = 0x60;
  v6[20] = 17;
  v.push_back(v6);
  v.push_back(ethernet(0x0806, 60, 6));  // ARP
  // tc test runs refuse IPv4/IPv6 frames shorter than their L3 header, so the
  // runts carry an experimental ethertype.
  v.push_back(ethernet(0x88b5, 14, 7));  // header only
  v.push_back(ethernet(0x88b5, 20, 8));  // runt
  const std::uint8_t actions[] = {0, 1, 2, 3, 4, 5, 7, 0xff, 0x80};
  std::uint32_t seed = 100;
  for (std::uint8_t a : actions) {
    auto f = ethernet(0x88b5, 64 + 16 * (seed % 9), seed);
    f[14] = a;
    v.push_back(f);
    ++seed;
  }
  return v;
}

// ---------------------------------------------------------------------------
// Programs written as bytecode, for forms clang -mcpu=v3 does not emit.

Submission raw_submission(const std::string& name, const std::vector<Insn>& prog) {
  Submission s;
  s.name = name;
  s.license = "GPL";
  s.guest_ifindex = kLoopback;
  s.insns = raw(prog);
  return s;
}

// r0 carries the action in its low half and garbage above: XDP looks at 32 bits.
Submission raw_upper_bits() {
  return raw_submission("raw_upper_bits", {
      ldx(Size::W, 2, 1, 0), ldx(Size::W, 3, 1, 4), mov64r(4, 2), alu64(AluOp::Add, 4, 16),
      jmpr(Cond::Gt, 4, 3, 5),
      ldx(Size::B, 0, 2, 14), mov64(5, 1), alu64(AluOp::Lsh, 5, 32), alu64r(AluOp::Or, 0, 5),
      exit_(),
      mov64(0, 2), exit_(),
  });
}

// One exit per action, so several exits share the epilogue.
Submission raw_many_exits() {
  return raw_submission("raw_many_exits", {
      ldx(Size::W, 2, 1, 0), ldx(Size::W, 3, 1, 4), mov64r(4, 2), alu64(AluOp::Add, 4, 15),
      jmpr(Cond::Gt, 4, 3, 9),
      ldx(Size::B, 5, 2, 14),
      jmp(Cond::Ne, 5, 3, 2), mov64(0, 3), exit_(),
      jmp(Cond::Ne, 5, 1, 2), mov64(0, 1), exit_(),
      mov64r(0, 5), exit_(),
      mov64(0, 2), exit_(),
  });
}

// ISA v4: signed division and modulo, movsx, bswap, sign-extending loads.
Submission raw_v4() {
  using isa::Bin;
  return raw_submission("raw_v4", {
      ldx(Size::W, 2, 1, 0), ldx(Size::W, 3, 1, 4), mov64r(4, 2), alu64(AluOp::Add, 4, 64),
      jmpr(Cond::Gt, 4, 3, 19),
      ldx(Size::DW, 5, 2, 14),
      isa::Load{Size::B, true, 6, 2, 15},
      mov64r(7, 5), alu64(AluOp::SDiv, 7, -7), stx(Size::DW, 2, 22, 7),
      mov64r(7, 5), alu64(AluOp::SMod, 7, 13), stx(Size::DW, 2, 30, 7),
      Bin{AluOp::MovSx16, true, 7, Reg{5}}, stx(Size::DW, 2, 38, 7),
      mov64r(7, 5), un(UnOp::Swap64, 7), stx(Size::DW, 2, 46, 7),
      mov32r(7, 5), alu32r(AluOp::SDiv, 7, 6), stx(Size::DW, 2, 54, 7),
      stx(Size::DW, 2, 14, 6),
      mov64(0, 3), exit_(),
      mov64(0, 2), exit_(),
  });
}

// The ctx pointer copied through registers and handed to a subprogram.
Submission raw_ctx_in_subprogram() {
  return raw_submission("raw_ctx_subprog", {
      mov64r(9, 1), mov64r(1, 9), call_local(11), mov64r(6, 0),
      ldx(Size::W, 2, 9, 0), ldx(Size::W, 3, 9, 4), mov64r(4, 2), alu64(AluOp::Add, 4, 24),
      jmpr(Cond::Gt, 4, 3, 3),
      stx(Size::W, 2, 14, 6), mov64(0, 3), exit_(),
      mov64(0, 1), exit_(),
      // subprogram: data_end - data + ingress_ifindex * 1000
      ldx(Size::W, 2, 1, 0), ldx(Size::W, 3, 1, 4), ldx(Size::W, 0, 1, 12),
      alu64(AluOp::Mul, 0, 1000), alu64r(AluOp::Sub, 3, 2), alu64r(AluOp::Add, 0, 3), exit_(),
  });
}

// ctx spilled to the stack, the register clobbered, ctx filled into another
// register: every field read through the fill is still a ctx access.
Submission raw_ctx_spill() {
  return raw_submission("raw_ctx_spill", {
      stx(Size::DW, 10, -8, 1), mov64(1, 0), ldx(Size::DW, 6, 10, -8),
      ldx(Size::W, 2, 6, 0), ldx(Size::W, 3, 6, 4), mov64r(4, 2), alu64(AluOp::Add, 4, 24),
      jmpr(Cond::Gt, 4, 3, 4),
      ldx(Size::W, 5, 6, 12), stx(Size::W, 2, 14, 5),
      mov64(0, 3), exit_(),
      mov64(0, 2), exit_(),
  });
}

// The guest's kfunc calls name functions of its own BTF; loaded natively
// (the original), they name the host kernel's, as libbpf would resolve them.
std::vector<isa::RawInsn> with_vmlinux_kfuncs(std::vector<isa::RawInsn> raw, const Submission& sub) {
  for (auto& insn : raw) {
    if (insn.code != (BPF_JMP | BPF_CALL) || insn.src() != BPF_PSEUDO_KFUNC_CALL) continue;
    auto name = btf_func_name(sub.btf, std::uint32_t(insn.imm));
    insn.imm = name ? host::vmlinux_kfunc_id(*name).value_or(-1) : -1;
  }
  return raw;
}

// ---------------------------------------------------------------------------

struct Program {
  std::string name;
  std::function<Result<Submission>()> build;
};

Result<Submission> from_object(const std::string& path, const std::string& prog) {
  auto s = guest::build_submission_from_file(path, prog.empty() ? std::nullopt
                                                                 : std::optional<std::string>(prog));
  if (s) s->guest_ifindex = kLoopback;
  return s;
}

std::vector<Program> programs() {
  std::vector<Program> v;
  for (const char* p : {"sem_return_codes", "sem_alu", "sem_branches", "sem_stack", "sem_atomics",
                        "sem_maps", "sem_calls", "sem_bytes", "sem_tail", "sem_head", "sem_ctx",
                        "sem_globals", "sem_loop", "sem_may_goto", "sem_bytes_oob", "sem_push_limits",
                        "sem_tail_limits", "sem_deep_stack", "sem_head_pop", "sem_push_shrink"})
    v.push_back({p, [p] { return from_object(XO_SEMANTICS_OBJ, p); }});
  // Issue 11: helpers and kfuncs that read no host state; ctx spilled and filled.
  for (const char* p : {"sem_more_helpers", "sem_check_mtu", "sem_dynptr", "sem_ctx_spill"})
    v.push_back({p, [p] { return from_object(XO_HELPERS_OBJ, p); }});
  v.push_back({"xdp1", [] { return from_object(XO_XDP1_OBJ, ""); }});
  v.push_back({"xdp2", [] { return from_object(XO_XDP2_OBJ, ""); }});
  v.push_back({"raw_upper_bits", [] { return Result<Submission>(raw_upper_bits()); }});
  v.push_back({"raw_many_exits", [] { return Result<Submission>(raw_many_exits()); }});
  v.push_back({"raw_v4", [] { return Result<Submission>(raw_v4()); }});
  v.push_back({"raw_ctx_in_subprogram", [] { return Result<Submission>(raw_ctx_in_subprogram()); }});
  v.push_back({"raw_ctx_spill", [] { return Result<Submission>(raw_ctx_spill()); }});
  return v;
}

struct Param {
  Program program;
  Flavor flavor;
  bool stats;
  translator::Tier tier = translator::Tier::Direct;
  friend void PrintTo(const Param& p, std::ostream* os) {
    *os << p.program.name << " as " << flavor_name(p.flavor) << (p.stats ? " with stats" : "") << " ("
        << translator::tier_name(p.tier) << " tier)";
  }
};

// What the IR tier refuses (translator/ir), by program, with the errno and
// the words of its refusal: --tier auto keeps the direct tier for these.
struct IrRefusal {
  int code;
  std::string words;
};
const std::map<std::string, IrRefusal>& ir_refused() {
  static const std::map<std::string, IrRefusal> m = {
      {"sem_may_goto", {EOPNOTSUPP, "may_goto is not lifted"}},
      {"sem_more_helpers", {EOPNOTSUPP, "callbacks (ld_imm64 func) are not lifted"}},
      {"sem_dynptr", {EOPNOTSUPP, "kfunc calls are not lifted"}},
      // Inlined subprograms share main's frame: mix() indexes its stack
      // with a variable (all 512 bytes stay in LLVM's frame), deep() uses
      // 504 bytes; main's own stack and LLVM's spills no longer fit.
      {"sem_calls", {E2BIG, "512-byte BPF stack"}},
      {"sem_deep_stack", {E2BIG, "512-byte BPF stack"}},
  };
  return m;
}

class Semantics : public ::testing::TestWithParam<Param> {
 protected:
  static void SetUpTestSuite() {
    // Per-CPU maps: both runs of a frame must happen on the same CPU.
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(sched_getcpu(), &set);
    sched_setaffinity(0, sizeof set, &set);
  }
};

TEST_P(Semantics, SameVerdictFrameAndMaps) {
  const Param& p = GetParam();
  auto sub = p.program.build();
  ASSERT_TRUE(sub.ok()) << sub.error().message;

  UniqueFd btf = load_btf(sub->btf);
  ASSERT_TRUE(sub->btf.empty() || btf.valid()) << "BTF load: " << errno_text(errno);
  HostMaps guest_side(sub->maps, btf.get()), host_side(sub->maps, btf.get());
  ASSERT_EQ(guest_side.error(), "");
  ASSERT_EQ(host_side.error(), "");

  Loaded original = load_program(BPF_PROG_TYPE_XDP, sub->name,
                                 with_vmlinux_kfuncs(with_host_fds(sub->insns, guest_side), *sub), *sub,
                                 sub->func_info, sub->line_info, btf.get());
  ASSERT_TRUE(original.prog.valid()) << "original: " << original.log;

  UniqueFd stats;
  std::uint32_t stats_cpus = 0;
  if (p.stats) {
    auto created = host::create_stats_map("xo_stats");
    ASSERT_TRUE(created.ok()) << created.error().message;
    stats = std::move(*created);
    auto cpus = host::stats_map_cpus(stats.get());
    ASSERT_TRUE(cpus.ok()) << cpus.error().message;
    stats_cpus = *cpus;
  }
  DefaultPolicy policy;  // what the host enforces
  translator::TranslateOptions opts;
  opts.flavor = p.flavor;
  opts.tap_ifindex = kLoopback;
  opts.guest_ifindex = sub->guest_ifindex;
  opts.stats = p.stats;
  opts.kfunc_id = host::vmlinux_kfunc_id;
  opts.stats_cpus = stats_cpus;
  auto tr = translator::translate(*sub, policy, opts);
  ASSERT_TRUE(tr.ok()) << tr.error().message;
  if (p.tier == translator::Tier::Ir) {
    // The IR tier on the direct tier's program, for this host's CPU.
    auto ir = ir::reemit(*sub, *tr, policy, ir::IrOptions{host::host_bpf_cpu()});
    if (auto it = ir_refused().find(p.program.name); it != ir_refused().end()) {
      ASSERT_FALSE(ir.ok()) << "the IR tier took " << p.program.name << ": update ir_refused()";
      EXPECT_EQ(ir.error().code, it->second.code) << ir.error().message;
      EXPECT_EQ(ir.error().stage, Stage::Translate) << ir.error().message;
      EXPECT_NE(ir.error().message.find(it->second.words), std::string::npos) << ir.error().message;
      return;
    }
    ASSERT_TRUE(ir.ok()) << ir.error().message;
    tr = std::move(ir->program);
  }
  auto bytes = tr->encode(*sub, [&](std::uint32_t h) -> std::optional<int> {
    if (h == translator::kStatsMapHandle) return stats.get();
    return host_side.fd_of(h);
  });
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  Loaded host = load_program(tr->prog_type, sub->name, *bytes, *sub, tr->func_info,
                             tr->line_info, btf.get(), tr->expected_attach_type);
  ASSERT_TRUE(host.prog.valid()) << "translated (" << translator::tier_name(p.tier) << " tier): " << host.log;

  std::vector<std::uint64_t> per_action(translator::kStatsSlots, 0);
  const auto input = frames();
  for (std::size_t n = 0; n < input.size(); ++n) {
    SCOPED_TRACE("frame " + std::to_string(n) + " (" + std::to_string(input[n].size()) + " bytes)");
    RunResult g = test_run(original.prog.get(), input[n]);
    RunResult h = test_run(host.prog.get(), input[n]);
    ASSERT_EQ(g.err, 0) << errno_text(g.err);
    ASSERT_EQ(h.err, 0) << errno_text(h.err);
    EXPECT_EQ(h.retval, expected_host_verdict(p.flavor, g.retval)) << "guest action " << g.retval;
    EXPECT_EQ(h.packet, g.packet);
    per_action[std::min<std::uint32_t>(g.retval, translator::kStatsSlotUnknown)]++;
  }
  EXPECT_EQ(host_side.dump(), guest_side.dump());

  if (p.stats) {
    auto totals = host::read_stats_map(stats.get());
    ASSERT_TRUE(totals.ok()) << totals.error().message;
    for (std::uint32_t slot = 0; slot < translator::kStatsSlots; ++slot)
      EXPECT_EQ((*totals)[slot], per_action[slot]) << "stats slot " << slot;
  }
}

// What tc refuses (lower_tc.cpp): these run in chain only, and the
// TcRefuses test holds tc to its one-line reason.
bool chain_only(const std::string& name) { return name == "sem_head_pop" || name == "sem_push_shrink"; }

std::vector<Param> params() {
  std::vector<Param> v;
  for (const auto& prog : programs())
    for (Flavor f : {Flavor::Tc, Flavor::Chain})
      if (f == Flavor::Chain || !chain_only(prog.name)) v.push_back({prog, f, false});
  for (const auto& prog : programs())
    if (prog.name == "sem_return_codes" || prog.name == "raw_many_exits" || prog.name == "xdp1" ||
        prog.name == "sem_deep_stack")
      for (Flavor f : {Flavor::Tc, Flavor::Chain}) v.push_back({prog, f, true});
  // Every case again through the IR tier (issue 14).
  const std::size_t direct = v.size();
  for (std::size_t i = 0; i < direct; ++i) {
    Param p = v[i];
    p.tier = translator::Tier::Ir;
    v.push_back(p);
  }
  return v;
}

INSTANTIATE_TEST_SUITE_P(Kernel, Semantics, ::testing::ValuesIn(params()), [](const auto& info) {
  return info.param.program.name + "_" + std::string(flavor_name(info.param.flavor)) +
         (info.param.stats ? "_stats" : "") + (info.param.tier == translator::Tier::Ir ? "_ir" : "");
});

// Refused in tc, precisely: the instruction, its source line, the reason,
// and the flavor that runs it (the Semantics suite runs both in chain).
TEST(TcRefuses, HeadPopAndShrinkAfterPushNameTheInstruction) {
  const struct {
    const char* prog;
    const char* reason;
  } cases[] = {
      {"sem_head_pop", "bpf_xdp_adjust_head(14) pops the head"},
      {"sem_push_shrink", "bpf_xdp_adjust_tail may shrink the frame after the head push at insn"},
  };
  TestPolicy policy;
  for (const auto& c : cases) {
    SCOPED_TRACE(c.prog);
    auto sub = from_object(XO_SEMANTICS_OBJ, c.prog);
    ASSERT_TRUE(sub.ok()) << sub.error().message;
    translator::TranslateOptions opts;
    opts.flavor = Flavor::Tc;
    opts.tap_ifindex = kLoopback;
    opts.guest_ifindex = sub->guest_ifindex;
    auto tr = translator::translate(*sub, policy, opts);
    ASSERT_FALSE(tr.ok());
    EXPECT_EQ(tr.error().code, EPERM);
    ASSERT_TRUE(tr.error().pc.has_value());
    const std::string m = tr.error().message;
    EXPECT_NE(m.find("insn " + std::to_string(*tr.error().pc) + " (semantics_progs.bpf.c:"), std::string::npos) << m;
    EXPECT_NE(m.find(c.reason), std::string::npos) << m;
    EXPECT_NE(m.find("--flavor chain"), std::string::npos) << m;
  }
}

// may_goto end to end: preverify accepts it (as the kernel does), translate()
// takes preverify's decoded program and CFG as they are, keeps every may_goto
// with its offset recomputed, and the host kernel loads both flavors. (The
// Semantics suite runs sem_may_goto too: same verdicts, frames and maps.)
TEST(MayGoto, PreverifiedTranslatedAndLoadedForTcAndChain) {
  auto sub = from_object(XO_SEMANTICS_OBJ, "sem_may_goto");
  ASSERT_TRUE(sub.ok()) << sub.error().message;
  auto count_may_goto = [](const std::vector<isa::Insn>& insns) {
    return std::count_if(insns.begin(), insns.end(),
                         [](const isa::Insn& i) { return std::holds_alternative<isa::MayGoto>(i); });
  };
  auto guest = isa::decode(sub->insns);
  ASSERT_TRUE(guest.ok()) << guest.error().message;
  ASSERT_GT(count_may_goto(*guest), 0) << "clang emitted no may_goto for can_loop";

  HostMaps host_side(sub->maps);
  ASSERT_EQ(host_side.error(), "");
  UniqueFd btf = load_btf(sub->btf);
  ASSERT_TRUE(sub->btf.empty() || btf.valid()) << "BTF load: " << errno_text(errno);
  TestPolicy policy;
  SubmissionMaps maps(*sub);
  for (Flavor f : {Flavor::Tc, Flavor::Chain}) {
    SCOPED_TRACE(std::string(flavor_name(f)));
    auto report = preverify(*sub, policy, maps, f);
    ASSERT_TRUE(report.ok()) << report.error().message;
    ASSERT_FALSE(report->decoded.structure.back_edges.empty()) << "the loop is a back edge";
    translator::TranslateOptions opts;
    opts.flavor = f;
    opts.tap_ifindex = kLoopback;
    opts.guest_ifindex = sub->guest_ifindex;
    auto tr = translator::translate(*sub, std::move(report->decoded), policy, opts);
    ASSERT_TRUE(tr.ok()) << tr.error().message;
    EXPECT_EQ(count_may_goto(tr->insns), count_may_goto(*guest));
    auto bytes = tr->encode(*sub, [&](std::uint32_t h) { return host_side.fd_of(h); });
    ASSERT_TRUE(bytes.ok()) << bytes.error().message;
    Loaded host = load_program(tr->prog_type, sub->name, *bytes, *sub, tr->func_info,
                               tr->line_info, btf.get(), tr->expected_attach_type);
    ASSERT_TRUE(host.prog.valid()) << host.log;
  }
}

// The chain translation is what the host's ingress XDP program tail-calls.
// libbpf loads that caller with expected_attach_type BPF_XDP, and since
// Linux 6.17 a prog array only takes programs whose attach type matches its
// owner's: the translation, loaded exactly as Translated says, must fit in
// the caller's prog array and run there as it runs alone.
TEST(ChainTailCall, TranslationRunsFromAnXdpCallersProgArray) {
  Submission sub = raw_many_exits();
  TestPolicy policy;
  translator::TranslateOptions opts;
  opts.flavor = Flavor::Chain;
  opts.tap_ifindex = kLoopback;
  opts.guest_ifindex = sub.guest_ifindex;
  auto tr = translator::translate(sub, policy, opts);
  ASSERT_TRUE(tr.ok()) << tr.error().message;
  EXPECT_EQ(tr->expected_attach_type, static_cast<std::uint32_t>(BPF_XDP));
  auto bytes = tr->encode(sub, [](std::uint32_t) { return std::nullopt; });
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  Loaded chained = load_program(tr->prog_type, "xo_chained", *bytes, sub, {}, {}, -1,
                                tr->expected_attach_type);
  ASSERT_TRUE(chained.prog.valid()) << chained.log;

  UniqueFd slots(bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "xo_chain_test", 4, 4, 1, nullptr));
  ASSERT_TRUE(slots.valid()) << errno_text(errno);
  // The caller (like examples/chain's ingress program): tail-call slot 0,
  // else return 77, a verdict no chain program returns.
  constexpr std::uint32_t kFellThrough = 77;
  Submission caller_sub = raw_submission("xo_chain_caller", {});
  auto caller_insns = raw({ld_map(2, slots.get()), mov64(3, 0), call(12 /* tail_call */),
                           mov64(0, kFellThrough), exit_()});
  Loaded caller = load_program(BPF_PROG_TYPE_XDP, "xo_chain_caller", caller_insns, caller_sub, {}, {}, -1,
                               BPF_XDP);
  ASSERT_TRUE(caller.prog.valid()) << caller.log;

  std::uint32_t key = 0, value = static_cast<std::uint32_t>(chained.prog.get());
  ASSERT_EQ(bpf_map_update_elem(slots.get(), &key, &value, BPF_ANY), 0)
      << "prog array refused the chain translation: " << errno_text(errno);
  for (const auto& frame : frames()) {
    RunResult alone = test_run(chained.prog.get(), frame);
    RunResult called = test_run(caller.prog.get(), frame);
    ASSERT_EQ(alone.err, 0) << errno_text(alone.err);
    ASSERT_EQ(called.err, 0) << errno_text(called.err);
    EXPECT_NE(called.retval, kFellThrough);
    EXPECT_EQ(called.retval, alone.retval);
    EXPECT_EQ(called.packet, alone.packet);
  }
}

}  // namespace
}  // namespace xo::test

namespace xo::test {
namespace {

// Issue 11 end to end through the one load pipeline (host::load_program:
// preverify with the default policy, translate, host kfunc ids from vmlinux
// BTF, kernel load without pointer-leak rights or with the proven fallback),
// in both flavors, then run once: the pre-verifier accepts these programs as
// the kernel does, and the host kernel loads what the translator made.
TEST(Issue11, LoadedThroughThePipelineInBothFlavors) {
  for (const char* name : {"sem_more_helpers", "sem_check_mtu", "sem_dynptr", "sem_ctx_spill"}) {
    auto sub = from_object(XO_HELPERS_OBJ, name);
    ASSERT_TRUE(sub.ok()) << sub.error().message;
    UniqueFd btf = load_btf(sub->btf);
    ASSERT_TRUE(btf.valid()) << "BTF load: " << errno_text(errno);
    // The host's own map creation: typed by the guest's BTF (the spin lock
    // in `locked` needs its value type), never silently untyped.
    auto maps = host::create_host_maps("xo_i11", sub->maps, btf.get(), host::MapQuota{});
    ASSERT_TRUE(maps.ok()) << maps.error().message;
    EXPECT_TRUE(maps->notes().empty()) << maps->notes().front();
    for (const auto& m : maps->all())
      EXPECT_EQ(m.btf_typed, m.def.btf_value_type_id != 0) << m.def.name;
    for (Flavor f : {Flavor::Tc, Flavor::Chain}) {
      SCOPED_TRACE(std::string(name) + " as " + std::string(flavor_name(f)));
      DefaultPolicy policy;
      host::PipelineOptions o;
      o.flavor = f;
      o.tap_ifindex = kLoopback;
      host::LoadTarget target;
      target.kernel_name = "xo_issue11";
      target.btf_fd = btf.get();
      target.host_fd_of = [&](std::uint32_t h) -> std::optional<int> {
        const host::HostMap* m = maps->find(h);
        return m ? std::optional<int>(m->fd.get()) : std::nullopt;
      };
      host::PipelineReport report;
      auto prog = host::load_program(*sub, policy, o, target, &report);
      ASSERT_TRUE(prog.ok()) << prog.error().message << "\n" << report.verifier_log;
      RunResult r = test_run(prog->prog.fd.get(), frames()[0]);
      EXPECT_EQ(r.err, 0) << errno_text(r.err);
    }
  }
}

}  // namespace
}  // namespace xo::test
