// remap_debug_info and diagnostics: func_info/line_info follow their
// instructions through the lowering, and refusals carry the guest source line.
#include <gtest/gtest.h>

#include <cstring>

#include "tests/translator/test_support.hpp"

namespace xo::test {
namespace {

// A BTF blob with no types and a string section "\0dir/prog.c\0".
std::vector<std::uint8_t> btf_with_strings(const std::string& strings) {
  std::vector<std::uint8_t> b(24 + strings.size());
  const std::uint16_t magic = 0xeB9F;
  const std::uint32_t hdr_len = 24, type_off = 0, type_len = 0, str_off = 0,
                      str_len = static_cast<std::uint32_t>(strings.size());
  std::memcpy(&b[0], &magic, 2);
  b[2] = 1;  // version
  std::memcpy(&b[4], &hdr_len, 4);
  std::memcpy(&b[8], &type_off, 4);
  std::memcpy(&b[12], &type_len, 4);
  std::memcpy(&b[16], &str_off, 4);
  std::memcpy(&b[20], &str_len, 4);
  std::memcpy(&b[24], strings.data(), strings.size());
  return b;
}
const std::string kStrings("\0dir/prog.c\0", 12);
constexpr std::uint32_t kFile = 1;  // offset of "dir/prog.c"

LineInfo line(std::uint32_t off, std::uint32_t l) { return {off, kFile, 0, l << 10 | 3}; }

Submission with_subprogram() {
  Submission s;
  s.name = "dbg";
  s.guest_ifindex = 1;
  s.btf = btf_with_strings(kStrings);
  s.insns = raw({
      mov64(2, -4),    // 0  line 10
      call(65),        // 1  line 11: becomes 11 insns in tc (XDP's checks)
      call_local(2),   // 2
      mov64(0, 2),     // 3  line 13
      exit_(),         // 4  becomes the 10-insn epilogue
      mov64(0, 0),     // 5  subprogram, line 20
      exit_(),         // 6
  });
  s.func_info = {{0, 1}, {5, 2}};
  s.line_info = {line(0, 10), line(1, 11), line(3, 13), line(5, 20)};
  return s;
}

Result<translator::Translated> translate_tc(const Submission& s) {
  TestPolicy policy;
  translator::TranslateOptions o{Flavor::Tc, 9, false, 1};
  return translator::translate(s, policy, o);
}

TEST(RemapDebugInfo, FuncAndLineInfoFollowTheirInstructions) {
  auto r = translate_tc(with_subprogram());
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->func_info, (std::vector<FuncInfo>{{0, 1}, {24, 2}}));
  EXPECT_EQ(r->line_info,
            (std::vector<LineInfo>{line(0, 10), line(1, 11), line(13, 13), line(24, 20)}));
  // The kernel finds subprogram 1 where func_info says it is.
  auto st = isa::analyze(r->insns);
  ASSERT_TRUE(st.ok());
  ASSERT_EQ(st->subprograms.size(), 2u);
  EXPECT_EQ(st->layout[st->subprograms[1].first], 24u);
}

TEST(RemapDebugInfo, IndexMapSendsHostSlotsBackToGuestSlots) {
  auto r = translate_tc(with_subprogram());
  ASSERT_TRUE(r.ok()) << r.error().message;
  const auto& m = r->index_map;
  EXPECT_EQ(m.old_to_new.at(1), 1u);
  EXPECT_EQ(m.old_to_new.at(4), 14u);
  EXPECT_EQ(m.old_to_new.at(5), 24u);
  EXPECT_EQ(m.new_to_old.at(4), std::optional<std::size_t>(1));   // inside the change_tail lowering
  EXPECT_EQ(m.new_to_old.at(19), std::optional<std::size_t>(4));  // inside the epilogue: the exit
}

TEST(RemapDebugInfo, LineInfoInsideLdImm64Refused) {
  Submission s;
  s.name = "dbg";
  s.insns = raw({ld_imm64(0, 2), exit_()});
  s.line_info = {line(0, 1), line(1, 2)};
  auto r = translate_tc(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "prog 'dbg': line_info[1].insn_off 1 is not the start of an instruction");
}

TEST(RemapDebugInfo, FuncInfoOutsideProgramRefused) {
  Submission s = with_subprogram();
  s.func_info.push_back({40, 3});
  auto r = translate_tc(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "prog 'dbg': func_info[2].insn_off 40 is outside the program");
}

TEST(Diagnostics, RefusalNamesTheSourceLine) {
  Submission s = with_subprogram();
  s.insns[3] = raw({call(69)})[0];  // line 13
  auto r = translate_tc(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "prog 'dbg': insn 3 (prog.c:13): helper 69 is not allowed for offloaded programs");
  EXPECT_EQ(r.error().pc, std::optional<std::size_t>(3));
}

TEST(Diagnostics, BrokenBtfGivesNoSourceButStillRefuses) {
  Submission s = with_subprogram();
  s.btf.resize(30);  // string section now runs past the blob
  s.insns[3] = raw({call(69)})[0];
  auto r = translate_tc(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message, "prog 'dbg': insn 3: helper 69 is not allowed for offloaded programs");
}

}  // namespace
}  // namespace xo::test
