// The pipeline's tier choice (host/core/prepare.cpp, pipeline.cpp) without
// LLVM: the IR tier is a function the door injects, so these tests inject
// their own and hold the pipeline to its rules on the real kernel:
//  * auto keeps the IR program only when it is smaller, and loads the direct
//    program when the kernel refuses the IR one (never a new failure), with
//    a note saying why each time;
//  * ir loads the IR program or fails with its error;
//  * without an injected tier, ir refuses (EOPNOTSUPP) and auto notes it.
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "host/core/pipeline.hpp"
#include "tests/translator/kernel_harness.hpp"
#include "tests/translator/test_support.hpp"
#include "translator/isa/cfg.hpp"

namespace xo::test {
namespace {

using translator::Tier;

// A guest XDP program that passes every frame, with some waste in it.
Submission guest() {
  Submission s;
  s.name = "tier_guest";
  s.license = "GPL";
  s.guest_ifindex = 1;
  s.insns = raw({mov64r(2, 1), mov64r(3, 2), mov64(0, 2), exit_()});
  return s;
}

// The direct program with its insns replaced: what a re-emitting tier returns.
translator::Translated with_insns(const translator::Translated& direct, std::vector<isa::Insn> insns) {
  translator::Translated t = direct;
  t.insns = std::move(insns);
  t.func_info.clear();
  t.line_info.clear();
  t.index_map.new_to_old.assign(isa::slot_layout(t.insns).back(), std::optional<std::size_t>(0));
  t.notes = {"fake IR tier"};
  return t;
}

bool has_note(const std::vector<std::string>& notes, const std::string& words) {
  return std::any_of(notes.begin(), notes.end(), [&](const std::string& n) { return n.find(words) != std::string::npos; });
}

struct PipelineRun {
  Result<host::HostProgram> loaded;
  host::PipelineReport report;
};

PipelineRun load(Tier tier, translator::Reemit reemit, std::size_t max_ir_slots = 4096) {
  TestPolicy policy;
  host::PipelineOptions o;
  o.max_ir_slots = max_ir_slots;
  o.flavor = Flavor::Chain;
  o.tap_ifindex = 1;
  o.tier = tier;
  o.reemit = std::move(reemit);
  host::LoadTarget target;
  target.kernel_name = "xo_tier";
  target.host_fd_of = [](std::uint32_t) -> std::optional<int> { return std::nullopt; };
  host::PipelineReport report;
  auto loaded = host::load_program(guest(), policy, o, target, &report);
  return PipelineRun{std::move(loaded), std::move(report)};
}

// Smaller, and the kernel refuses it: ctx + 1000 is no xdp_md field.
translator::Reemit refused_by_kernel() {
  return [](const Submission&, const translator::Translated& d, const Policy&) -> Result<translator::Translated> {
    return with_insns(d, {ldx(Size::DW, 0, 1, 1000), exit_()});
  };
}

TEST(Tier, AutoLoadsTheDirectProgramWhenTheKernelRefusesTheIrOne) {
  PipelineRun r = load(Tier::Auto, refused_by_kernel());
  ASSERT_TRUE(r.loaded.ok()) << r.loaded.error().message;
  EXPECT_EQ(r.loaded->prepared.tier, Tier::Direct);
  EXPECT_FALSE(r.loaded->prepared.fallback.has_value());
  EXPECT_TRUE(has_note(r.report.notes, "kept the direct tier: the host kernel refused the IR tier's program"))
      << ::testing::PrintToString(r.report.notes);
  // The IR program (unprivileged, then with pointer-leak rights: this guest
  // is pointer-safe), then the direct one.
  EXPECT_EQ(r.report.kernel_verifications, 3u);
}

TEST(Tier, IrFailsWithTheKernelsRefusal) {
  PipelineRun r = load(Tier::Ir, refused_by_kernel());
  ASSERT_FALSE(r.loaded.ok());
  EXPECT_EQ(r.loaded.error().stage, Stage::KernelVerify) << r.loaded.error().message;
  EXPECT_EQ(r.loaded.error().code, EACCES) << r.loaded.error().message;
}

TEST(Tier, IrLoadsASmallerProgramTheKernelTakes) {
  for (Tier tier : {Tier::Ir, Tier::Auto}) {
    PipelineRun r = load(tier, [](const Submission&, const translator::Translated& d, const Policy&) -> Result<translator::Translated> {
      return with_insns(d, {mov64(0, 1), exit_()});  // XDP_DROP
    });
    ASSERT_TRUE(r.loaded.ok()) << r.loaded.error().message;
    EXPECT_EQ(r.loaded->prepared.tier, Tier::Ir);
    RunResult run = test_run(r.loaded->prog.fd.get(), std::vector<std::uint8_t>(64, 0));
    EXPECT_EQ(run.err, 0);
    EXPECT_EQ(run.retval, 1u) << "the injected program ran";
  }
}

TEST(Tier, AutoKeepsTheDirectProgramWhenTheIrOneIsNotSmaller) {
  PipelineRun r = load(Tier::Auto, [](const Submission&, const translator::Translated& d, const Policy&) -> Result<translator::Translated> {
    std::vector<isa::Insn> longer = d.insns;
    longer.insert(longer.begin(), mov64(4, 0));
    return with_insns(d, longer);
  });
  ASSERT_TRUE(r.loaded.ok()) << r.loaded.error().message;
  EXPECT_EQ(r.loaded->prepared.tier, Tier::Direct);
  EXPECT_TRUE(has_note(r.report.notes, "the IR tier's program is not smaller")) << ::testing::PrintToString(r.report.notes);
  EXPECT_EQ(r.report.kernel_verifications, 1u);
}

TEST(Tier, AutoNotesAnIrTierErrorAndIrReturnsIt) {
  auto failing = [](const Submission&, const translator::Translated&, const Policy&) -> Result<translator::Translated> {
    return Error{"prog 'tier_guest': IR tier: may_goto is not lifted", std::nullopt, EOPNOTSUPP, Stage::Translate};
  };
  PipelineRun a = load(Tier::Auto, failing);
  ASSERT_TRUE(a.loaded.ok()) << a.loaded.error().message;
  EXPECT_EQ(a.loaded->prepared.tier, Tier::Direct);
  EXPECT_TRUE(has_note(a.report.notes, "kept the direct tier: prog 'tier_guest': IR tier: may_goto is not lifted"))
      << ::testing::PrintToString(a.report.notes);
  PipelineRun i = load(Tier::Ir, failing);
  ASSERT_FALSE(i.loaded.ok());
  EXPECT_EQ(i.loaded.error().code, EOPNOTSUPP);
  EXPECT_EQ(i.loaded.error().stage, Stage::Translate);
}

// A guest must not hold a load worker in LLVM for minutes: past the bound
// the IR tier is not even asked.
TEST(Tier, ProgramsOverTheIrBoundStayDirectOrFailWithE2big) {
  int calls = 0;
  auto counting = [&calls](const Submission&, const translator::Translated& d, const Policy&) -> Result<translator::Translated> {
    ++calls;
    return with_insns(d, {mov64(0, 1), exit_()});
  };
  PipelineRun a = load(Tier::Auto, counting, 2);
  ASSERT_TRUE(a.loaded.ok()) << a.loaded.error().message;
  EXPECT_EQ(a.loaded->prepared.tier, Tier::Direct);
  EXPECT_TRUE(has_note(a.report.notes, "kept the direct tier: the IR tier takes programs of at most 2 slots"))
      << ::testing::PrintToString(a.report.notes);
  PipelineRun i = load(Tier::Ir, counting, 2);
  ASSERT_FALSE(i.loaded.ok());
  EXPECT_EQ(i.loaded.error().code, E2BIG) << i.loaded.error().message;
  EXPECT_EQ(i.loaded.error().stage, Stage::Translate);
  EXPECT_EQ(calls, 0) << "the IR tier ran on a program over its bound";
  PipelineRun within = load(Tier::Ir, counting);
  EXPECT_TRUE(within.loaded.ok()) << within.loaded.error().message;
  EXPECT_EQ(calls, 1);
}

TEST(Tier, WithoutAnInjectedTier) {
  PipelineRun a = load(Tier::Auto, nullptr);
  ASSERT_TRUE(a.loaded.ok()) << a.loaded.error().message;
  EXPECT_TRUE(has_note(a.report.notes, "the IR tier is not linked into this program"));
  PipelineRun i = load(Tier::Ir, nullptr);
  ASSERT_FALSE(i.loaded.ok());
  EXPECT_EQ(i.loaded.error().code, EOPNOTSUPP);
}

}  // namespace
}  // namespace xo::test
