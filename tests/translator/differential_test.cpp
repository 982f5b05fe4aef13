// Differential test: generated XDP programs, run natively as XDP and, through
// the one load pipeline (host/core/pipeline.hpp), as their tc and chain
// translations, all under BPF_PROG_TEST_RUN on the same frames. For every run
// the host verdict must be the guest's XDP action under the flavor's mapping
// (expected_host_verdict: tc PASS->OK, TX->REDIRECT to the tap's ingress,
// the rest->SHOT; chain PASS->REDIRECT into the tap, REDIRECT/unknown->DROP,
// the rest native), the output frame must be the same bytes, and so must the
// observation map the program writes every helper result into. With stats on,
// the host's per-action counters must count the native actions.
//
// Programs are composed from the lowering rules, in main and in a
// subprogram main hands the ctx to: bpf_xdp_adjust_head pushes
// and pops, adjust_tail grows and shrinks, adjust_meta, load/store_bytes in
// and out of bounds (the buffer is copied to the map afterwards, so a helper
// that scribbles on it is seen), packet reads and writes behind bounds checks,
// ctx reads of data/data_end/data_meta/ingress_ifindex/rx_queue_index,
// get_buff_len, and every return action. The generator also predicts which
// programs tc must refuse (adjust_meta, head pops, a shrink after a push) and
// the test holds the translator to that prediction: a refusal is never
// counted as a comparison, and an unexpected one fails.
//
// Seeded and reproducible: XO_DIFF_SEED and XO_DIFF_PROGRAMS override the
// defaults; a mismatch prints the seed, the program index and its ops.
#include <gtest/gtest.h>

#include <cerrno>
#include <algorithm>
#include <cstdlib>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "host/core/isa_probe.hpp"
#include "host/core/pipeline.hpp"
#include "host/core/stats_map.hpp"
#include "tests/translator/kernel_harness.hpp"
#include "translator/ir/ir.hpp"
#include "tests/translator/test_support.hpp"

namespace xo::test {
namespace {

constexpr std::uint32_t kLoopback = 1;   // ingress_ifindex of native test runs; the tap in translations
constexpr std::uint32_t kObsHandle = 1;  // the observation map's guest handle
constexpr int kObsSlots = 192;           // u64 slots in its one value
constexpr std::int16_t kBuf = -64;       // the helpers' stack buffer: fp-64 .. fp-1

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 0) : fallback;
}

// ---------------------------------------------------------------------------
// The generator.

struct Generated {
  Submission sub;
  std::vector<std::string> ops;  // one line per op, for failure messages
  // What tc must refuse, predicted from the ops (lower_tc.cpp's rules).
  bool tc_refused = false;
  std::string tc_reason;               // the first, for the tally
  std::set<std::string> tc_reasons;    // any of them may be the one reported
};

// The words of lower_tc.cpp's refusal for each predicted reason.
bool names_a_reason(const std::string& message, const std::set<std::string>& reasons) {
  const std::pair<const char*, const char*> words[] = {
      {"adjust_meta", "bpf_xdp_adjust_meta (54) cannot be lowered to tc"},
      {"head pop", "pops the head"},
      {"shrink after push", "may shrink the frame after the head push at insn"},
  };
  for (const auto& [reason, text] : words)
    if (reasons.count(reason) && message.find(text) != std::string::npos) return true;
  return false;
}

class Generator {
 public:
  explicit Generator(std::uint64_t seed) : rng_(seed) {}

  Generated program(std::size_t index) {
    code_.clear();
    sub_.clear();
    ops_.clear();
    slot_ = 0;
    heads_.clear();
    refusal_.clear();
    reasons_.clear();
    // A third of the programs may use what tc refuses (adjust_meta, head
    // pops, shrinks after pushes); the others keep to what tc lowers, so
    // both flavors compare on most programs.
    tc_refusable_ = rng_() % 3 == 0;
    in_sub_ = false;
    function_entry();
    const int n = 2 + int(rng_() % 10);
    // Some ops run in a subprogram that main calls with the ctx as its
    // argument (the lowering follows the ctx into callees).
    const int sub_at = rng_() % 3 == 0 ? int(rng_() % n) : -1;
    for (int i = 0; i < n && slot_ + 20 < kObsSlots; ++i) {
      if (i == sub_at) {
        note("call sub {");
        in_sub_ = true;
        function_entry();
        for (int k = 1 + int(rng_() % 3); k > 0; --k) op();
        emit(mov64(0, 0));
        emit(exit_());
        in_sub_ = false;
        note("}");
        emit(mov64r(1, 6));
        sub_calls_.push_back(code_.size());
        emit(call_local(0));  // offset set once main's length is known
      }
      op();
    }
    final_action();
    auto slots = [&](std::size_t n) {  // call offsets count slots (ld_imm64 takes two)
      std::size_t k = 0;
      for (std::size_t i = 0; i < n; ++i) k += isa::slot_width(code_[i]);
      return static_cast<std::int32_t>(k);
    };
    for (std::size_t at : sub_calls_)  // the subprogram follows main
      code_[at] = call_local(slots(code_.size()) - slots(at) - 1);
    sub_calls_.clear();
    code_.insert(code_.end(), sub_.begin(), sub_.end());
    predict_tc_refusal();

    Generated g;
    g.sub.name = "diff_" + std::to_string(index);
    g.sub.license = "GPL";
    g.sub.guest_ifindex = kLoopback;
    g.sub.insns = raw(code_);
    g.sub.maps.push_back(MapDef{kObsHandle, MapType::Array, 4, 8 * kObsSlots, 1, 0, "obs"});
    g.ops = ops_;
    g.tc_refused = !refusal_.empty();
    g.tc_reason = refusal_;
    g.tc_reasons = reasons_;
    return g;
  }

 private:
  template <typename T>
  T pick(std::initializer_list<T> v) {
    return *(v.begin() + rng_() % v.size());
  }
  void emit(Insn i) { (in_sub_ ? sub_ : code_).push_back(i); }
  // r6 = ctx; r7 = &obs[0] (a map value: survives helper calls); the
  // buffer initialised (guest programs are verified without the right to
  // read uninitialised stack). Main and the subprogram alike.
  void function_entry() {
    emit(mov64r(6, 1));
    emit(ld_map_value(7, kObsHandle, 0));
    for (int i = 0; i < 8; ++i)
      emit(st(Size::DW, 10, kBuf + 8 * i, pick<std::int32_t>({0x11223344, -1, 0x5a5a5a5a, 7})));
  }
  // lower_tc.cpp's rule: a shrink that can follow a push is refused; in
  // straight-line code that is a later shrink in the same function, or any
  // shrink in the other function.
  struct HeadTail {
    bool push;  // else a shrink
    bool in_sub;
    std::size_t order;
  };
  void predict_tc_refusal() {
    for (const auto& p : heads_)
      for (const auto& t : heads_)
        if (p.push && !t.push && (p.in_sub != t.in_sub || t.order > p.order)) refuse("shrink after push");
  }
  void record(Reg r) { emit(stx(Size::DW, 7, static_cast<std::int16_t>(8 * slot_++), r)); }
  void note(const std::string& s) { ops_.push_back(s); }
  void refuse(const std::string& why) {
    if (refusal_.empty()) refusal_ = why;
    reasons_.insert(why);
  }
  void call_with(std::int32_t helper, std::int32_t r2) {
    emit(mov64r(1, 6));
    emit(mov64(2, r2));
    emit(call(helper));
    record(0);
  }

  void op() {
    switch (rng_() % 12) {
      case 0: case 1: {  // adjust_head: pushes around XDP's 216-byte headroom, some pops
        std::int32_t d = pick<std::int32_t>({-1, -4, -8, -14, -64, -100, -200, -215, -216, -217,
                                             -256, -4000, 0, -8, 1, 8, 14, 60, 3000});
        if (d > 0 && !tc_refusable_) d = -d;
        note("adjust_head(" + std::to_string(d) + ")");
        if (d > 0) refuse("head pop");
        if (d <= 0) heads_.push_back({true, in_sub_, heads_.size()});
        call_with(44, d);
        break;
      }
      case 2: case 3: {  // adjust_tail: shrinks to XDP's 14-byte floor, grows to its frame end
        std::int32_t d = pick<std::int32_t>({-1, -8, -20, -46, -50, -100, -986, -3000, -5000, 0,
                                             1, 8, 100, 1000, 2000, 3000, 3400, 3506, 3600});
        const bool any_push = std::any_of(heads_.begin(), heads_.end(), [](const HeadTail& h) { return h.push; });
        if (d < 0 && !tc_refusable_ && (any_push || in_sub_ || rng_() % 2)) d = -d;  // grows then
        note("adjust_tail(" + std::to_string(d) + ")");
        if (d < 0) heads_.push_back({false, in_sub_, heads_.size()});
        call_with(65, d);
        break;
      }
      case 4: {
        if (!tc_refusable_ || rng_() % 2) return op();  // tc refuses every program with it
        const std::int32_t d = pick<std::int32_t>({-4, -8, -32, 4, 8, -300});
        note("adjust_meta(" + std::to_string(d) + ")");
        refuse("adjust_meta");
        call_with(54, d);
        break;
      }
      case 5: case 6: {  // load_bytes / store_bytes, in and out of the frame and the helpers' limits
        const bool load = rng_() % 2;
        const std::int32_t off = pick<std::int32_t>({0, 6, 13, 30, 50, 60, 100, 1000, 3000, 3519,
                                                     0xffff, 0x10000, -1, -64});
        const std::int32_t len = pick<std::int32_t>({1, 4, 8, 14, 32, 64});
        note(std::string(load ? "load_bytes(" : "store_bytes(") + std::to_string(off) + ", " +
             std::to_string(len) + ")");
        emit(mov64r(1, 6));
        emit(mov64(2, off));
        emit(mov64r(3, 10));
        emit(alu64(AluOp::Add, 3, kBuf));
        emit(mov64(4, len));
        emit(call(load ? 189 : 190));
        record(0);
        if (load)  // the whole buffer: XDP leaves it alone on errors
          for (int i = 0; i < 8; ++i) {
            emit(ldx(Size::DW, 0, 10, kBuf + 8 * i));
            record(0);
          }
        break;
      }
      case 7: {  // packet read behind a bounds check (data or data_meta based)
        const bool meta = rng_() % 4 == 0;
        const std::int16_t off = static_cast<std::int16_t>(rng_() % (meta ? 16 : 120));
        const Size size = pick<Size>({Size::B, Size::H, Size::W, Size::DW});
        note(std::string(meta ? "read_meta(" : "read(") + std::to_string(off) + ", " +
             std::to_string(int(size)) + ")");
        emit(ldx(Size::W, 2, 6, meta ? 8 : 0));
        emit(ldx(Size::W, 3, 6, meta ? 0 : 4));
        emit(mov64r(4, 2));
        emit(alu64(AluOp::Add, 4, off + int(size)));
        emit(mov64(0, -1));
        emit(jmpr(Cond::Gt, 4, 3, 1));
        emit(ldx(size, 0, 2, off));
        record(0);
        break;
      }
      case 8: {  // packet write behind a bounds check
        const std::int16_t off = static_cast<std::int16_t>(rng_() % 120);
        const Size size = pick<Size>({Size::B, Size::H, Size::W, Size::DW});
        const auto v = static_cast<std::int32_t>(rng_());
        note("write(" + std::to_string(off) + ", " + std::to_string(int(size)) + ")");
        emit(ldx(Size::W, 2, 6, 0));
        emit(ldx(Size::W, 3, 6, 4));
        emit(mov64r(4, 2));
        emit(alu64(AluOp::Add, 4, off + int(size)));
        emit(jmpr(Cond::Gt, 4, 3, 1));
        emit(st(size, 2, off, v));
        break;
      }
      case 9: {  // ctx: data_end - data and data - data_meta, seen through bounds checks
        const bool meta = rng_() % 3 == 0;
        const std::int32_t n = meta ? pick<std::int32_t>({1, 4, 8, 32})
                                    : pick<std::int32_t>({14, 15, 60, 64, 65, 100, 1500, 3520, 3521});
        note(std::string(meta ? "meta_len_at_least(" : "len_at_least(") + std::to_string(n) + ")");
        emit(ldx(Size::W, 2, 6, meta ? 8 : 0));
        emit(ldx(Size::W, 3, 6, meta ? 0 : 4));
        emit(alu64(AluOp::Add, 2, n));
        emit(mov64(0, 0));
        emit(jmpr(Cond::Gt, 2, 3, 1));
        emit(mov64(0, 1));
        record(0);
        break;
      }
      case 10: {  // ctx scalars
        const bool ifindex = rng_() % 2;
        note(ifindex ? "ingress_ifindex" : "rx_queue_index");
        emit(ldx(Size::W, 0, 6, ifindex ? 12 : 16));
        record(0);
        break;
      }
      default: {
        note("get_buff_len");
        emit(mov64r(1, 6));
        emit(call(188));
        record(0);
        break;
      }
    }
  }

  // Every action, unknown values, and actions read from the frame.
  void final_action() {
    if (rng_() % 3 == 0) {
      const std::int16_t off = static_cast<std::int16_t>(rng_() % 24);
      note("return frame[" + std::to_string(off) + "] & 7");
      emit(ldx(Size::W, 2, 6, 0));
      emit(ldx(Size::W, 3, 6, 4));
      emit(mov64r(4, 2));
      emit(alu64(AluOp::Add, 4, off + 1));
      emit(mov64(0, 2));
      emit(jmpr(Cond::Gt, 4, 3, 2));
      emit(ldx(Size::B, 0, 2, off));
      emit(alu64(AluOp::And, 0, 7));
    } else {
      const std::int32_t a = pick<std::int32_t>({0, 1, 2, 2, 3, 3, 4, 5, 99});
      note("return " + std::to_string(a));
      emit(mov64(0, a));
    }
    emit(exit_());
  }

  std::mt19937_64 rng_;
  std::vector<Insn> code_, sub_;  // main, and the subprogram appended after it
  std::vector<std::size_t> sub_calls_;
  bool in_sub_ = false;
  bool tc_refusable_ = false;
  std::vector<std::string> ops_;
  int slot_ = 0;
  std::vector<HeadTail> heads_;  // pushes and shrinks, in program order
  std::string refusal_;
  std::set<std::string> reasons_;  // every refusal the ops call for
};

// Frames of every length class: Ethernet header only, runts, common sizes,
// and XDP's largest (3520: no grow fits). An experimental ethertype, since tc
// test runs refuse IP frames shorter than their L3 header.
std::vector<std::vector<std::uint8_t>> frames_for(std::mt19937_64& rng) {
  std::vector<std::vector<std::uint8_t>> v;
  for (int i = 0; i < 3; ++i) {
    const std::size_t sizes[] = {14, 15, 20, 34, 60, 64, 100, 256, 1000, 1514, 3000, 3520};
    std::vector<std::uint8_t> f(sizes[rng() % std::size(sizes)]);
    for (auto& b : f) b = static_cast<std::uint8_t>(rng());
    f[12] = 0x88;
    f[13] = 0xb5;
    v.push_back(std::move(f));
  }
  return v;
}

// ---------------------------------------------------------------------------

struct Tally {
  std::size_t programs = 0, compared = 0, runs = 0, refused = 0, mismatches = 0;
  std::map<std::string, std::size_t> refusals;
};

std::string describe(const Generated& g, std::uint64_t seed, std::size_t index) {
  std::ostringstream os;
  os << "seed " << seed << " program " << index << ":";
  for (const auto& o : g.ops) os << " " << o << ";";
  return os.str();
}

void run_flavor(Flavor flavor, Tally& t, translator::Tier tier = translator::Tier::Direct) {
  const std::uint64_t seed = env_or("XO_DIFF_SEED", 20261203);
  const std::size_t count = env_or("XO_DIFF_PROGRAMS", 500);
  Generator gen(seed);
  std::mt19937_64 frame_rng(seed ^ 0x9e3779b97f4a7c15ULL);
  TestPolicy policy;
  for (std::size_t index = 0; index < count; ++index) {
    const Generated g = gen.program(index);
    const auto input = frames_for(frame_rng);
    ++t.programs;
    SCOPED_TRACE(describe(g, seed, index));

    HostMaps native_maps(g.sub.maps), host_maps(g.sub.maps);
    ASSERT_EQ(native_maps.error(), "");
    ASSERT_EQ(host_maps.error(), "");
    Loaded native = load_program(BPF_PROG_TYPE_XDP, g.sub.name, with_host_fds(g.sub.insns, native_maps), g.sub,
                                 {}, {}, -1);
    ASSERT_TRUE(native.prog.valid()) << "native XDP load: " << native.log;

    const bool stats = index % 2 == 1;
    UniqueFd stats_map;
    std::uint32_t stats_cpus = 0;
    if (stats) {
      auto created = host::create_stats_map("xo_diff_stats");
      ASSERT_TRUE(created.ok()) << created.error().message;
      stats_map = std::move(*created);
      auto cpus = host::stats_map_cpus(stats_map.get());
      ASSERT_TRUE(cpus.ok()) << cpus.error().message;
      stats_cpus = *cpus;
    }
    host::PipelineOptions po;
    po.flavor = flavor;
    po.tap_ifindex = kLoopback;
    po.stats = stats;
    po.stats_cpus = stats_cpus;
    po.tier = tier;
    if (tier != translator::Tier::Direct) po.reemit = ir::reemitter(ir::IrOptions{host::host_bpf_cpu()});
    host::LoadTarget target;
    target.kernel_name = "xo_diff";
    target.host_fd_of = [&](std::uint32_t h) -> std::optional<int> {
      if (h == translator::kStatsMapHandle) return stats ? std::optional<int>(stats_map.get()) : std::nullopt;
      return host_maps.fd_of(h);
    };
    host::PipelineReport report;
    auto host = host::load_program(g.sub, policy, po, target, &report);

    const bool must_refuse = flavor == Flavor::Tc && g.tc_refused;
    if (must_refuse) {
      // Refused precisely: at translation, as a policy refusal, naming an insn.
      ASSERT_FALSE(host.ok()) << "tc accepted a program it cannot run exactly (" << g.tc_reason << ")";
      EXPECT_EQ(host.error().stage, Stage::Translate) << host.error().message;
      EXPECT_EQ(host.error().code, EPERM) << host.error().message;
      EXPECT_TRUE(host.error().pc.has_value()) << host.error().message;
      EXPECT_NE(host.error().message.find(": insn "), std::string::npos) << host.error().message;
      EXPECT_TRUE(names_a_reason(host.error().message, g.tc_reasons)) << host.error().message;
      ++t.refused;
      ++t.refusals[g.tc_reason];
      continue;
    }
    ASSERT_TRUE(host.ok()) << host.error().message << "\n" << report.verifier_log;
    ASSERT_EQ(host->prepared.tier, tier == translator::Tier::Direct ? translator::Tier::Direct : translator::Tier::Ir);
    ++t.compared;

    std::vector<std::uint64_t> per_action(translator::kStatsSlots, 0);
    for (std::size_t n = 0; n < input.size(); ++n) {
      SCOPED_TRACE("frame " + std::to_string(n) + " (" + std::to_string(input[n].size()) + " bytes)");
      RunResult a = test_run(native.prog.get(), input[n]);
      RunResult b = test_run(host->prog.fd.get(), input[n]);
      ASSERT_EQ(a.err, 0) << errno_text(a.err);
      ASSERT_EQ(b.err, 0) << errno_text(b.err);
      ++t.runs;
      per_action[std::min<std::uint32_t>(a.retval, translator::kStatsSlotUnknown)]++;
      const bool same = b.retval == expected_host_verdict(flavor, a.retval) && a.packet == b.packet &&
                        native_maps.dump() == host_maps.dump();
      if (!same) ++t.mismatches;
      EXPECT_EQ(b.retval, expected_host_verdict(flavor, a.retval)) << "native action " << a.retval;
      EXPECT_EQ(b.packet, a.packet) << "native " << a.packet.size() << " bytes, host " << b.packet.size();
      EXPECT_EQ(host_maps.dump(), native_maps.dump()) << "observation map";
    }
    if (stats) {
      auto totals = host::read_stats_map(stats_map.get());
      ASSERT_TRUE(totals.ok()) << totals.error().message;
      EXPECT_EQ(std::vector<std::uint64_t>(totals->begin(), totals->end()), per_action) << "per-action counters";
    }
    if (t.mismatches > 10) FAIL() << "more than 10 mismatching runs; stopping";
  }
}

void report(Flavor f, const Tally& t, translator::Tier tier = translator::Tier::Direct) {
  std::ostringstream os;
  os << "differential " << flavor_name(f) << " (" << translator::tier_name(tier) << " tier): " << t.programs << " programs, " << t.compared
     << " compared over " << t.runs << " runs, " << t.mismatches << " mismatching runs, " << t.refused
     << " refused as predicted";
  for (const auto& [why, n] : t.refusals) os << " (" << why << ": " << n << ")";
  std::printf("%s\n", os.str().c_str());
}

TEST(Differential, TcMatchesNativeXdp) {
  Tally t;
  run_flavor(Flavor::Tc, t);
  report(Flavor::Tc, t);
  EXPECT_EQ(t.mismatches, 0u);
  EXPECT_GT(t.compared, t.programs / 3) << "too few programs compared: the generator drifted";
}

TEST(Differential, ChainMatchesNativeXdp) {
  Tally t;
  run_flavor(Flavor::Chain, t);
  report(Flavor::Chain, t);
  EXPECT_EQ(t.mismatches, 0u);
  EXPECT_EQ(t.compared, t.programs) << "chain refuses none of the generated programs";
}

// The same programs and frames through the LLVM IR tier (translator/ir):
// lifted from the direct tier's program, -O2, re-emitted; every program must
// lift, load and match.
TEST(Differential, TcIrTierMatchesNativeXdp) {
  Tally t;
  run_flavor(Flavor::Tc, t, translator::Tier::Ir);
  report(Flavor::Tc, t, translator::Tier::Ir);
  EXPECT_EQ(t.mismatches, 0u);
  EXPECT_GT(t.compared, t.programs / 3) << "too few programs compared: the generator drifted";
}

TEST(Differential, ChainIrTierMatchesNativeXdp) {
  Tally t;
  run_flavor(Flavor::Chain, t, translator::Tier::Ir);
  report(Flavor::Chain, t, translator::Tier::Ir);
  EXPECT_EQ(t.mismatches, 0u);
  EXPECT_EQ(t.compared, t.programs) << "chain refuses none of the generated programs";
}

}  // namespace
}  // namespace xo::test
