// Real clang-built objects through the guest builder: rejections name the
// source line, and real programs (examples, builder test programs) are
// accepted both by the host kernel and by preverify.
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "guest/builder/elf_builder.hpp"
#include "tests/verifier/harness.hpp"
#include "tests/verifier/kernel_oracle.hpp"

namespace xo::test {
namespace {

// 1-based line of the first line containing `marker`.
std::uint32_t line_of(const std::string& path, const std::string& marker) {
  std::ifstream in(path);
  std::string line;
  for (std::uint32_t n = 1; std::getline(in, line); ++n)
    if (line.find(marker) != std::string::npos) return n;
  return 0;
}

TEST(RealObject, DeniedHelperNamesItsSourceLine) {
  auto sub = guest::build_submission_from_file(XO_VERIFIER_PROGS_DIR "/verifier_denied_helper.o");
  ASSERT_TRUE(sub.ok()) << sub.error().message;
  const std::uint32_t line = line_of(XO_VERIFIER_PROGS_SRC "/denied_helper.bpf.c", "MARK: denied call");
  ASSERT_NE(line, 0u);
  std::size_t call_pc = 0;
  bool found = false;
  for (std::size_t pc = 0; pc < sub->insns.size(); ++pc)
    if (sub->insns[pc].code == (BPF_JMP | BPF_CALL) && sub->insns[pc].imm == BPF_FUNC_get_current_pid_tgid) {
      call_pc = pc;
      found = true;
    }
  ASSERT_TRUE(found);

  auto r = preverify_default(*sub);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "prog 'denied_helper': insn " + std::to_string(call_pc) +
                                   " (denied_helper.bpf.c:" + std::to_string(line) +
                                   "): helper bpf_get_current_pid_tgid (14) is not allowed for "
                                   "offloaded programs");
  EXPECT_EQ(r.error().pc, std::optional<std::size_t>(call_pc));
}

struct Object {
  std::string path;
  std::string program;  // empty: the only program
};
std::ostream& operator<<(std::ostream& os, const Object& o) { return os << o.path; }

class RealPrograms : public ::testing::TestWithParam<Object> {};

TEST_P(RealPrograms, KernelAndPreverifyBothAccept) {
  const Object& o = GetParam();
  auto sub = guest::build_submission_from_file(
      o.path, o.program.empty() ? std::nullopt : std::optional<std::string>(o.program));
  ASSERT_TRUE(sub.ok()) << sub.error().message;
  const auto v = kernel_load_xdp(*sub);
  ASSERT_TRUE(v.accepted) << "errno " << v.error << "\n" << v.log;
  auto r = preverify_default(*sub);
  EXPECT_TRUE(r.ok()) << r.error().message;
}

// The examples parse packets with variable offsets, which the host kernel
// refuses without pointer-leak rights: the pointer-flow pass must prove them
// leak-free so the host can verify them with those rights.
TEST(RealObject, ExamplesAreProvenNotToLeakPointers) {
  for (const char* path : {XO_XDP1_OBJ, XO_XDP2_OBJ}) {
    auto sub = guest::build_submission_from_file(path);
    ASSERT_TRUE(sub.ok()) << sub.error().message;
    auto r = preverify_default(*sub);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_TRUE(r->pointer_safe) << path << ": " << r->pointer_note;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Objects, RealPrograms,
    ::testing::Values(Object{XO_XDP1_OBJ, ""}, Object{XO_XDP2_OBJ, ""},
                      Object{XO_BUILDER_PROGS_DIR "/builder_globals.o", ""},
                      Object{XO_BUILDER_PROGS_DIR "/builder_calls.o", "xdp_calls"},
                      Object{XO_BUILDER_PROGS_DIR "/builder_calls.o", "xdp_calls_other"},
                      Object{XO_BUILDER_PROGS_DIR "/builder_maps.o", "xdp_flows"},
                      Object{XO_BUILDER_PROGS_DIR "/builder_maps.o", "xdp_recent"},
                      Object{XO_BUILDER_PROGS_DIR "/builder_loop.o", ""}),
    [](const auto& info) {
      std::string n = info.param.path.substr(info.param.path.rfind('/') + 1) +
                      info.param.program;
      for (char& c : n)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      return n;
    });

}  // namespace
}  // namespace xo::test
