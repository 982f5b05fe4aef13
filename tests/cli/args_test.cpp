// The one command-line parser (core/args.hpp) that every xoffload program
// uses: getopt's conventions, usage errors as values, generated --help.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/args.hpp"
#include "core/version.hpp"

namespace xo::args {
namespace {

const Spec kSpec{"[OPTS] IFACE",
                 "A test program.",
                 "Details.",
                 {{"-S", "", "skb mode"},
                  {"-F", "", "force"},
                  {"--offload", "", "offload", "-O"},
                  {"--object", "F", "object", "-o"},
                  {"--count", "N", "reports", "-n"},
                  {"--session", "N:T:S", "repeatable"},
                  {"--duration", "S", "seconds"}}};

Result<Args> parse_words(std::vector<std::string> words, const Spec& spec = kSpec) {
  return parse(spec, words);
}

TEST(Args, LongShortAliasAndInlineValues) {
  auto a = parse_words({"--object=x.o", "-n", "3", "-O", "eth0", "--duration", "2.5"});
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->positional, std::vector<std::string>{"eth0"});
  EXPECT_EQ(a->get("--object"), "x.o");
  EXPECT_TRUE(a->flag("--offload")) << "-O is stored under its long name";
  EXPECT_FALSE(a->flag("-O"));
  EXPECT_EQ(*a->unsigned_value("--count", 0), 3u);
  EXPECT_DOUBLE_EQ(*a->seconds("--duration", -1), 2.5);
  EXPECT_FALSE(a->help);
  EXPECT_FALSE(a->version);
}

TEST(Args, BundledShortFlagsAndAttachedValue) {
  auto a = parse_words({"-SFO", "-n5", "-oobj.o", "lo"});
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_TRUE(a->flag("-S"));
  EXPECT_TRUE(a->flag("-F"));
  EXPECT_TRUE(a->flag("--offload"));
  EXPECT_EQ(a->get("--count"), "5");
  EXPECT_EQ(a->get("--object"), "obj.o");
  EXPECT_EQ(a->positional, std::vector<std::string>{"lo"});
  auto b = parse_words({"-Sn", "7", "lo"});
  ASSERT_TRUE(b) << b.error().message;
  EXPECT_EQ(b->get("--count"), "7") << "a value option ending a bundle takes the next word";
}

TEST(Args, RepeatedOptionsKeepEveryValueAndGetReturnsTheLast) {
  auto a = parse_words({"--session", "a:t0:/s0", "--session=b:t1:/s1", "-n", "1", "-n", "2"});
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->all("--session"), (std::vector<std::string>{"a:t0:/s0", "b:t1:/s1"}));
  EXPECT_EQ(a->get("--count"), "2");
  EXPECT_TRUE(a->all("--object").empty());
}

TEST(Args, DoubleDashEndsOptionsAndADashAloneIsPositional) {
  auto a = parse_words({"-S", "--", "-F", "--offload", "-"});
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_TRUE(a->flag("-S"));
  EXPECT_FALSE(a->flag("-F"));
  EXPECT_EQ(a->positional, (std::vector<std::string>{"-F", "--offload", "-"}));
}

TEST(Args, HelpAndVersionAreAlwaysKnown) {
  auto a = parse_words({"-h"});
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->help);
  auto b = parse_words({"eth0", "--version"});
  ASSERT_TRUE(b);
  EXPECT_TRUE(b->version);
  EXPECT_FALSE(parse_words({"--version=1"}));
}

TEST(Args, UsageErrorsNameTheOption) {
  auto unknown = parse_words({"--bogus", "x"});
  ASSERT_FALSE(unknown);
  EXPECT_EQ(unknown.error().message, "unknown option '--bogus'");
  auto unknown_short = parse_words({"-Sx"});
  ASSERT_FALSE(unknown_short);
  EXPECT_EQ(unknown_short.error().message, "unknown option '-x' in '-Sx'");
  auto missing = parse_words({"eth0", "--object"});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "option --object needs a value (F)");
  auto missing_short = parse_words({"-n"});
  ASSERT_FALSE(missing_short);
  EXPECT_EQ(missing_short.error().message, "option --count needs a value (N)");
  auto flag_value = parse_words({"--offload=yes"});
  ASSERT_FALSE(flag_value);
  EXPECT_EQ(flag_value.error().message, "option --offload takes no value");
}

TEST(Args, NumbersAreCheckedWhenRead) {
  auto a = parse_words({"-n", "0x10", "--duration", "soon"});
  ASSERT_TRUE(a);
  EXPECT_EQ(*a->unsigned_value("--count", 0), 16u);
  auto d = a->seconds("--duration", -1);
  ASSERT_FALSE(d);
  EXPECT_EQ(d.error().message, "--duration: 'soon' is not a number of seconds");
  auto b = parse_words({"-n", "12x"});
  ASSERT_TRUE(b);
  auto n = b->unsigned_value("--count", 0, 1, 100);
  ASSERT_FALSE(n);
  EXPECT_EQ(n.error().message, "--count: '12x' is not a number in 1..100");
  EXPECT_FALSE(parse_words({"-n", "0"})->unsigned_value("--count", 5, 1, 100)) << "below min";
  EXPECT_EQ(*parse_words({})->unsigned_value("--count", 5, 1, 100), 5u) << "absent: the fallback";
  EXPECT_FALSE(parse_words({"--duration", "-1"})->seconds("--duration", 0));
}

TEST(Args, StopAtPositionalLeavesTheCommandUnparsed) {
  const Spec global{"[--port P] COMMAND", "", "", {{"--port", "P", ""}, {"--json", "", ""}}, true};
  auto a = parse_words({"--port", "/p", "offload", "x.o", "--flavor", "tc", "--json"}, global);
  ASSERT_TRUE(a) << a.error().message;
  EXPECT_EQ(a->get("--port"), "/p");
  EXPECT_FALSE(a->flag("--json")) << "options after the command word are the command's";
  EXPECT_EQ(a->positional, (std::vector<std::string>{"offload", "x.o", "--flavor", "tc", "--json"}));
}

TEST(Args, ArgvSkipsTheProgramName) {
  char prog[] = "xdp1", s[] = "-S", iface[] = "lo";
  char* argv[] = {prog, s, iface, nullptr};
  auto a = parse(kSpec, 3, argv);
  ASSERT_TRUE(a);
  EXPECT_TRUE(a->flag("-S"));
  EXPECT_EQ(a->positional, std::vector<std::string>{"lo"});
}

TEST(Args, HelpTextListsEveryOptionAndVersionTextIsTheProjects) {
  const std::string help = help_text(kSpec, "xdp1");
  EXPECT_EQ(help.rfind("usage: xdp1 [OPTS] IFACE\n\nA test program.\n\nDetails.\n\noptions:\n", 0), 0u) << help;
  for (const char* row : {"  -S ", "  -O, --offload ", "  -o, --object F ", "  -n, --count N ", "  --session N:T:S ",
                          "  -h, --help ", "  --version "})
    EXPECT_NE(help.find(row), std::string::npos) << row << " missing from:\n" << help;
  EXPECT_EQ(version_text("xoffloadd"), "xoffloadd " + std::string(kVersion) + "\n");
  EXPECT_EQ(version(), kVersion);
  EXPECT_EQ(std::string(kVersion), XO_PROJECT_VERSION) << "the generated header carries project(VERSION)";
}

}  // namespace
}  // namespace xo::args
