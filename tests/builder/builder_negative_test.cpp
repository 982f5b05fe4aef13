// Hostile or unsupported objects: every one is a clear error, never a crash.
#include <gtest/gtest.h>

#include <random>

#include <linux/bpf.h>

#include "core/btf_func.hpp"
#include "tests/builder/test_support.hpp"

namespace xo::guest {
namespace {

using testing::prog_obj;

std::vector<std::uint8_t> bytes_of(const std::string& path) {
  auto b = read_object_file(path);
  EXPECT_TRUE(b) << path;
  return b ? *b : std::vector<std::uint8_t>{};
}

void expect_error_containing(const Result<Submission>& r, const std::string& needle) {
  ASSERT_FALSE(r) << "expected an error containing '" << needle << "'";
  EXPECT_NE(r.error().message.find(needle), std::string::npos) << r.error().message;
  EXPECT_EQ(r.error().message.find('\n'), std::string::npos) << "one-line diagnostics: " << r.error().message;
}

TEST(BuilderNegative, EmptyInput) {
  expect_error_containing(build_submission({}), "too short");
}

TEST(BuilderNegative, GarbageInput) {
  std::vector<std::uint8_t> junk(4096);
  std::mt19937 rng(1);
  for (auto& b : junk) b = static_cast<std::uint8_t>(rng());
  expect_error_containing(build_submission(junk), "not an ELF");
}

TEST(BuilderNegative, MissingFile) {
  auto r = build_submission_from_file("/nonexistent/xo.o");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("/nonexistent/xo.o"), std::string::npos);
}

TEST(BuilderNegative, EveryTruncationIsAnError) {
  auto full = bytes_of(XO_XDP1_OBJ);
  ASSERT_GT(full.size(), 64u);
  // Section headers sit at the end of clang's output: any cut loses them.
  for (std::size_t len = 0; len < full.size(); len += 7) {
    std::span<const std::uint8_t> cut(full.data(), len);
    auto r = build_submission(cut);
    EXPECT_FALSE(r) << "truncated to " << len << " bytes but accepted";
  }
}

TEST(BuilderNegative, WrongMachine) {
  auto b = bytes_of(XO_XDP1_OBJ);
  b[18] = 62;  // e_machine = EM_X86_64
  b[19] = 0;
  expect_error_containing(build_submission(b), "EM_BPF");
}

TEST(BuilderNegative, BigEndianRejected) {
  auto b = bytes_of(XO_XDP1_OBJ);
  b[5] = 2;  // EI_DATA = ELFDATA2MSB
  expect_error_containing(build_submission(b), "little-endian");
}

// Random single-byte corruption of a real object: errors are fine, crashes
// and hangs are not (run under ASan in CI's sanitizer job if present).
TEST(BuilderNegative, RandomCorruptionNeverCrashes) {
  auto full = bytes_of(prog_obj("calls"));
  ASSERT_FALSE(full.empty());
  std::mt19937 rng(42);
  std::size_t accepted = 0;
  for (int i = 0; i < 300; ++i) {
    auto b = full;
    for (int k = 0; k < 4; ++k) b[rng() % b.size()] = static_cast<std::uint8_t>(rng());
    auto r = build_submission(b, "xdp_calls");
    if (r) {
      ++accepted;
    } else {
      EXPECT_FALSE(r.error().message.empty());
    }
  }
  // Most flips land in DWARF, which the builder ignores; not all can be fine.
  EXPECT_LT(accepted, 300u);
}

TEST(BuilderNegative, UnknownProgram) {
  expect_error_containing(build_submission_from_file(XO_XDP1_OBJ, "nope"), "no program named 'nope'");
}

TEST(BuilderNegative, AmbiguousSelection) {
  expect_error_containing(build_submission_from_file(prog_obj("maps")), "choose one");
  expect_error_containing(build_submission_from_file(prog_obj("maps"), "xdp"), "several programs");
}

TEST(BuilderNegative, CoreRelocationsRejected) {
  expect_error_containing(build_submission_from_file(prog_obj("core")), "CO-RE");
}

// A kfunc extern call is built (the host's policy decides on it, by name):
// the call names the function by the id of its declaration in the
// submission's own BTF, never by a kernel's id.
TEST(BuilderNegative, KfuncCallNamedByTheObjectsBtf) {
  auto r = build_submission_from_file(prog_obj("kfunc"));
  ASSERT_TRUE(r) << r.error().message;
  int kfunc_calls = 0;
  for (const auto& insn : r->insns) {
    if (insn.code != (BPF_JMP | BPF_CALL) || insn.src() != BPF_PSEUDO_KFUNC_CALL) continue;
    ++kfunc_calls;
    EXPECT_EQ(insn.off, 0);
    EXPECT_EQ(btf_func_name(r->btf, std::uint32_t(insn.imm)), std::optional<std::string>("bpf_xo_made_up_kfunc"));
  }
  EXPECT_EQ(kfunc_calls, 1);
}

}  // namespace
}  // namespace xo::guest

namespace xo::guest {
namespace {

TEST(BuilderNegative, PointerInGlobalDataRejected) {
  auto r = build_submission_from_file(testing::prog_obj("dataptr"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("pointer"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace xo::guest

namespace xo::guest {
namespace {

TEST(BuilderNegative, UnsupportedMapTypeNamed) {
  auto r = build_submission_from_file(testing::prog_obj("ringbuf"));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("map 'events'"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("27"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace xo::guest
