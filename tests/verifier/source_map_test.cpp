// Source lines from line_info + the BTF string section, including hostile
// blobs: every malformed input yields "no source line", never a crash.
#include <gtest/gtest.h>

#include <cstring>

#include "tests/verifier/harness.hpp"
#include "core/source_map.hpp"

namespace xo::test {
namespace {

using namespace ins;

// A BTF blob with no types and the given string section.
std::vector<std::uint8_t> btf_with_strings(const std::string& strings) {
  std::vector<std::uint8_t> b(24 + strings.size());
  const std::uint16_t magic = 0xeB9F;
  const std::uint32_t hdr[5] = {24, 0, 0, 0, static_cast<std::uint32_t>(strings.size())};
  std::memcpy(b.data(), &magic, 2);
  b[2] = 1;  // version
  std::memcpy(b.data() + 4, hdr, sizeof hdr);
  std::memcpy(b.data() + 24, strings.data(), strings.size());
  return b;
}

// "\0/src/x/t.c\0  r0 = r2;\0"
const std::string kStrings = std::string("\0/src/x/t.c\0  r0 = r2;\0", 23);
constexpr std::uint32_t kFileOff = 1, kLineOff = 12;

Submission with_lines(Slots insns) {
  Submission s = make_sub(std::move(insns));
  s.btf = btf_with_strings(kStrings);
  s.line_info = {{0, kFileOff, kLineOff, (41u << 10) | 3}, {1, kFileOff, kLineOff, (42u << 10) | 5}};
  return s;
}

TEST(SourceMap, LastEntryAtOrBeforePc) {
  const Submission s = with_lines(prog({MOV64_IMM(0, 0), MOV64_IMM(1, 0), EXIT()}));
  auto l0 = source_line(s, 0), l2 = source_line(s, 2);
  ASSERT_TRUE(l0 && l2);
  EXPECT_EQ(l0->file, "t.c");
  EXPECT_EQ(l0->line, 41u);
  EXPECT_EQ(l2->line, 42u);
  EXPECT_EQ(l2->column, 5u);
  EXPECT_EQ(l2->text, "r0 = r2;");
  EXPECT_EQ(format_location(*l2), "t.c:42");
}

TEST(SourceMap, RejectionNamesSourceLine) {
  const Submission s = with_lines(prog({MOV64_IMM(0, 0), MOV64_REG(0, 2), EXIT()}));
  auto r = preverify_default(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message,
            "prog 't_prog': insn 1 (t.c:42): reads r2, which no path initialises (kernel: R2 "
            "!read_ok)");
}

TEST(SourceMap, NoLineBeforeFirstEntry) {
  Submission s = with_lines(prog({MOV64_IMM(0, 0), EXIT()}));
  s.line_info = {{1, kFileOff, kLineOff, 7u << 10}};
  EXPECT_FALSE(source_line(s, 0));
  EXPECT_TRUE(source_line(s, 1));
}

TEST(SourceMap, HostileBlobsYieldNothing) {
  Submission s = with_lines(prog({MOV64_IMM(0, 0), EXIT()}));
  const auto good = s.btf;

  auto expect_none = [&](const char* what) {
    EXPECT_FALSE(source_line(s, 0).has_value()) << what;
    s.btf = good;
  };
  s.btf.resize(10);
  expect_none("truncated header");
  s.btf[0] = 0;
  expect_none("bad magic");
  std::uint32_t huge = 0xfffffff0;
  std::memcpy(s.btf.data() + 20, &huge, 4);
  expect_none("str_len past the end");
  std::memcpy(s.btf.data() + 16, &huge, 4);
  expect_none("str_off past the end");
  std::memcpy(s.btf.data() + 4, &huge, 4);
  expect_none("hdr_len past the end");
}

TEST(SourceMap, BadStringOffsetsDropTheFileButKeepTheLine) {
  Submission s = with_lines(prog({MOV64_IMM(0, 0), EXIT()}));
  s.line_info = {{0, 9999, 9999, 42u << 10}};
  auto l = source_line(s, 0);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->file, "");
  EXPECT_EQ(format_location(*l), "line 42");
}

TEST(SourceMap, UnterminatedStringIsRejected) {
  BtfStrings strings(btf_with_strings(std::string("\0abc", 4)));
  ASSERT_TRUE(strings.valid());
  EXPECT_EQ(strings.at(0), std::optional<std::string_view>(""));
  EXPECT_FALSE(strings.at(1).has_value());
  EXPECT_FALSE(strings.at(4).has_value());
}

TEST(SourceMap, ControlBytesInFileNamesAreReplaced) {
  Submission s = make_sub(prog({MOV64_IMM(0, 0), EXIT()}));
  s.btf = btf_with_strings(std::string("\0a\nb.c\0", 7));
  s.line_info = {{0, 1, 0, 3u << 10}};
  auto l = source_line(s, 0);
  ASSERT_TRUE(l);
  EXPECT_EQ(l->file, "a?b.c");
}

}  // namespace
}  // namespace xo::test
