// The xoffload CLI as a user runs it: `xoffload disasm` against
// `llvm-objdump-19 -d` on clang-built objects (xdp1, xdp2 and a sample with
// two sections, a subprogram and v4 instructions), `asm` -> `disasm --raw`
// round trips, --json, and the error paths.
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "tests/cli/cli_harness.hpp"

namespace {

using namespace xo::cli_test;  // TempDir, slurp, spit, Ran, run, xoffload

std::vector<std::string> lines_of(const std::string& s) {
  std::vector<std::string> lines;
  std::istringstream in(s);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

struct Insn {
  std::size_t index;
  std::string text;
  std::string raw;  // hex, may be empty when not known
  bool operator==(const Insn& o) const { return index == o.index && text == o.text; }
};
struct Section {
  std::string name;
  std::vector<Insn> insns;
};

std::ostream& operator<<(std::ostream& os, const Insn& i) {
  return os << i.index << ": " << i.text;
}

// llvm-objdump -d output -> sections of (slot index, text, raw bytes).
// "      5:\t2d 21 1a 00 00 00 00 00\tif r1 > r2 goto +0x1a <cli_prog+0x100>"
std::vector<Section> parse_objdump(const std::string& out) {
  static const std::regex section_re(R"(^Disassembly of section (.*):$)");
  static const std::regex insn_re(R"(^\s*(\d+):\t([0-9a-f ]+)\t(.*)$)");
  static const std::regex symbolized_target(R"( <[^<> ]*>$)");
  std::vector<Section> sections;
  for (const std::string& line : lines_of(out)) {
    std::smatch m;
    if (std::regex_match(line, m, section_re)) {
      sections.push_back(Section{m[1], {}});
    } else if (std::regex_match(line, m, insn_re) && !sections.empty()) {
      std::string raw = m[2];
      raw.erase(std::remove(raw.begin(), raw.end(), ' '), raw.end());
      std::string text = std::regex_replace(std::string(m[3]), symbolized_target, "");
      sections.back().insns.push_back(Insn{std::stoul(m[1]), text, raw});
    }
  }
  return sections;
}

// Our text listing -> sections. Fails the test on an xo decoder flag.
std::vector<Section> parse_ours(const std::string& out) {
  static const std::regex section_re(R"(^section (.*):$)");
  static const std::regex insn_re(R"(^  (\d+): (.*)$)");
  static const std::regex label_re(R"(^[A-Za-z_.$][\w.$]*:$)");
  std::vector<Section> sections;
  for (const std::string& line : lines_of(out)) {
    std::smatch m;
    if (line.empty() || std::regex_match(line, label_re)) continue;
    if (std::regex_match(line, m, section_re)) {
      sections.push_back(Section{m[1], {}});
    } else if (std::regex_match(line, m, insn_re) && !sections.empty()) {
      EXPECT_EQ(std::string(m[2]).find("; xo"), std::string::npos) << line;
      sections.back().insns.push_back(Insn{std::stoul(m[1]), m[2], ""});
    } else {
      ADD_FAILURE() << "unexpected line in xoffload disasm output: '" << line << "'";
    }
  }
  return sections;
}

void expect_same_listing(const std::vector<Section>& ours, const std::vector<Section>& objdump) {
  ASSERT_EQ(ours.size(), objdump.size()) << "section count";
  for (std::size_t s = 0; s < ours.size(); ++s) {
    EXPECT_EQ(ours[s].name, objdump[s].name);
    EXPECT_EQ(ours[s].insns, objdump[s].insns) << "section " << objdump[s].name;
  }
}

std::vector<std::string> objects() {
  std::vector<std::string> out;
  std::stringstream ss(XO_CLI_OBJECTS);
  for (std::string p; std::getline(ss, p, ':');)
    if (!p.empty()) out.push_back(p);
  return out;
}

class CliObject : public ::testing::TestWithParam<std::string> {};

// Default CPU (v4) is compared with objdump told the same CPU ...
TEST_P(CliObject, DisasmListsWhatObjdumpLists) {
  Ran objdump = run({XO_LLVM_OBJDUMP, "-d", "--mcpu=v4", GetParam()});
  ASSERT_EQ(objdump.exit_code, 0) << objdump.err;
  Ran ours = xoffload({"disasm", GetParam()});
  ASSERT_EQ(ours.exit_code, 0) << ours.err;
  auto expected = parse_objdump(objdump.out);
  ASSERT_FALSE(expected.empty());
  expect_same_listing(parse_ours(ours.out), expected);
}

// ... and --mcpu generic with plain `llvm-objdump -d`, byte for byte in text.
TEST_P(CliObject, DisasmGenericMatchesPlainObjdump) {
  Ran objdump = run({XO_LLVM_OBJDUMP, "-d", GetParam()});
  ASSERT_EQ(objdump.exit_code, 0) << objdump.err;
  Ran ours = xoffload({"disasm", "--mcpu", "generic", GetParam()});
  ASSERT_EQ(ours.exit_code, 0) << ours.err;
  expect_same_listing(parse_ours(ours.out), parse_objdump(objdump.out));
}

TEST_P(CliObject, JsonCarriesIndexesTextAndRawBytes) {
  Ran objdump = run({XO_LLVM_OBJDUMP, "-d", "--mcpu=v4", GetParam()});
  ASSERT_EQ(objdump.exit_code, 0) << objdump.err;
  auto expected = parse_objdump(objdump.out);
  Ran ours = xoffload({"disasm", "--json", GetParam()});
  ASSERT_EQ(ours.exit_code, 0) << ours.err;

  rapidjson::Document doc;
  doc.Parse(ours.out.c_str());
  ASSERT_FALSE(doc.HasParseError()) << "offset " << doc.GetErrorOffset() << ": " << ours.out;
  ASSERT_TRUE(doc.IsObject() && doc.HasMember("sections") && doc["sections"].IsArray());
  const auto& sections = doc["sections"];
  ASSERT_EQ(sections.Size(), expected.size());
  for (rapidjson::SizeType s = 0; s < sections.Size(); ++s) {
    const auto& sec = sections[s];
    ASSERT_TRUE(sec["name"].IsString() && sec["insns"].IsArray());
    EXPECT_EQ(sec["name"].GetString(), expected[s].name);
    const auto& insns = sec["insns"];
    ASSERT_EQ(insns.Size(), expected[s].insns.size()) << expected[s].name;
    for (rapidjson::SizeType i = 0; i < insns.Size(); ++i) {
      const Insn& want = expected[s].insns[i];
      ASSERT_TRUE(insns[i]["index"].IsUint64() && insns[i]["text"].IsString() &&
                  insns[i]["raw"].IsString());
      EXPECT_EQ(insns[i]["index"].GetUint64(), want.index);
      EXPECT_EQ(insns[i]["text"].GetString(), want.text);
      EXPECT_EQ(insns[i]["raw"].GetString(), want.raw) << want;
      EXPECT_TRUE(insns[i]["valid"].GetBool()) << want;
    }
  }
}

// The whole object through text and back: each section's listing, assembled
// by `xoffload asm`, gives the section's bytes, except where LLVM's text has
// no room for a field (bpf-to-bpf call src_reg), which must be the only
// differences.
TEST_P(CliObject, ListingReassemblesToTheSectionBytes) {
  Ran json = xoffload({"disasm", "--json", GetParam()});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  rapidjson::Document doc;
  doc.Parse(json.out.c_str());
  ASSERT_FALSE(doc.HasParseError());
  TempDir dir;
  for (const auto& sec : doc["sections"].GetArray()) {
    std::string text, raw;
    for (const auto& insn : sec["insns"].GetArray()) {
      text += std::string(insn["text"].GetString()) + "\n";
      raw += insn["raw"].GetString();
    }
    spit(dir / "s.s", text);
    Ran as = xoffload({"asm", (dir / "s.s").string(), "-o", (dir / "s.bin").string()});
    ASSERT_EQ(as.exit_code, 0) << as.err;
    std::string bin = slurp(dir / "s.bin");
    ASSERT_EQ(bin.size() * 2, raw.size()) << sec["name"].GetString();
    for (std::size_t slot = 0; slot < bin.size() / 8; ++slot) {
      auto byte = [&](std::size_t i) { return std::stoul(raw.substr(i * 2, 2), nullptr, 16); };
      for (std::size_t b = 0; b < 8; ++b) {
        unsigned got = static_cast<unsigned char>(bin[slot * 8 + b]);
        unsigned want = byte(slot * 8 + b);
        bool local_call = b == 1 && byte(slot * 8) == 0x85 && (want >> 4) == 1;
        if (local_call) want &= 0x0f;  // "call IMM" assembles as a helper call
        EXPECT_EQ(got, want) << sec["name"].GetString() << " slot " << slot << " byte " << b;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Objects, CliObject, ::testing::ValuesIn(objects()),
                         [](const auto& info) {
                           std::string n = fs::path(info.param).stem().string();
                           for (char& c : n)
                             if (!isalnum(static_cast<unsigned char>(c))) c = '_';
                           return n;
                         });

TEST(Cli, SectionFilter) {
  std::string obj = objects().front();
  Ran all = xoffload({"disasm", obj});
  Ran one = xoffload({"disasm", "--section", "xdp", obj});
  ASSERT_EQ(one.exit_code, 0) << one.err;
  auto sections = parse_ours(one.out);
  ASSERT_EQ(sections.size(), 1u);
  EXPECT_EQ(sections[0].name, "xdp");
  for (const auto& s : parse_ours(all.out))
    if (s.name == "xdp") {
      EXPECT_EQ(s.insns, sections[0].insns);
    }
  Ran none = xoffload({"disasm", "--section", "nope", obj});
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("no code section named 'nope'"), std::string::npos) << none.err;
}

TEST(Cli, AsmThenRawDisasmRoundTrips) {
  TempDir dir;
  const std::string source =
      "# labels, both jump widths, ld_imm64 and v4 forms\n"
      "entry:\n"
      "  r1 = 0x1122334455667788 ll\n"
      "  if r1 == 0x0 goto out\n"
      "  w2 = (s8)w1\n"
      "  r3 = *(s16 *)(r10 - 0x8)\n"
      "  r2 s/= 0x3\n"
      "  r2 = bswap32 r2\n"
      "  w0 = atomic_fetch_add((u32 *)(r10 - 0x4), w0)\n"
      "  gotol out\n"
      "  call 0x5\n"
      "out:\n"
      "  exit\n";
  spit(dir / "p.s", source);
  Ran as = xoffload({"asm", (dir / "p.s").string(), "-o", (dir / "p.bin").string()});
  ASSERT_EQ(as.exit_code, 0) << as.err;
  EXPECT_EQ(slurp(dir / "p.bin").size(), 11u * 8);
  Ran dis = xoffload({"disasm", "--raw", (dir / "p.bin").string()});
  ASSERT_EQ(dis.exit_code, 0) << dis.err;
  std::vector<Insn> want = {{0, "r1 = 0x1122334455667788 ll", ""},
                            {2, "if r1 == 0x0 goto +0x7", ""},
                            {3, "w2 = (s8)w1", ""},
                            {4, "r3 = *(s16 *)(r10 - 0x8)", ""},
                            {5, "r2 s/= 0x3", ""},
                            {6, "r2 = bswap32 r2", ""},
                            {7, "w0 = atomic_fetch_add((u32 *)(r10 - 0x4), w0)", ""},
                            {8, "gotol +0x1", ""},
                            {9, "call 0x5", ""},
                            {10, "exit", ""}};
  auto sections = parse_ours(dis.out);
  ASSERT_EQ(sections.size(), 1u);
  EXPECT_EQ(sections[0].insns, want);

  // The listing is itself valid input: text -> bytes -> text is a fixpoint.
  std::string again;
  for (const Insn& i : sections[0].insns) again += i.text + "\n";
  spit(dir / "q.s", again);
  ASSERT_EQ(xoffload({"asm", (dir / "q.s").string(), "-o", (dir / "q.bin").string()}).exit_code,
            0);
  EXPECT_EQ(slurp(dir / "q.bin"), slurp(dir / "p.bin"));
}

TEST(Cli, RawJsonFlagsInvalidSlots) {
  TempDir dir;
  // exit; an unknown opcode 0xff; a truncated ld_imm64 at the end.
  std::string bytes("\x95\0\0\0\0\0\0\0\xff\0\0\0\0\0\0\0\x18\x01\0\0\0\0\0\0", 24);
  spit(dir / "bad.bin", bytes);
  Ran r = xoffload({"disasm", "--raw", "--json", (dir / "bad.bin").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  rapidjson::Document doc;
  doc.Parse(r.out.c_str());
  ASSERT_FALSE(doc.HasParseError()) << r.out;
  const auto& insns = doc["sections"][0]["insns"];
  ASSERT_EQ(insns.Size(), 3u);
  EXPECT_TRUE(insns[0]["valid"].GetBool());
  EXPECT_FALSE(insns[1]["valid"].GetBool());
  EXPECT_FALSE(insns[2]["valid"].GetBool());
  EXPECT_EQ(insns[2]["index"].GetUint64(), 2u);
  EXPECT_EQ(std::string(insns[1]["raw"].GetString()), "ff00000000000000");
}

TEST(Cli, Errors) {
  TempDir dir;
  Ran unknown = xoffload({"frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("unknown command 'frobnicate'"), std::string::npos);
  EXPECT_NE(unknown.err.find("disasm"), std::string::npos) << "lists the commands";
  EXPECT_NE(unknown.err.find("asm"), std::string::npos);

  Ran missing = xoffload({"disasm", (dir / "missing.o").string()});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("missing.o"), std::string::npos) << missing.err;
  EXPECT_TRUE(missing.out.empty());

  spit(dir / "odd.bin", std::string(12, '\0'));
  Ran odd = xoffload({"disasm", "--raw", (dir / "odd.bin").string()});
  EXPECT_EQ(odd.exit_code, 1);
  EXPECT_NE(odd.err.find("not a multiple of 8"), std::string::npos) << odd.err;

  Ran not_elf = xoffload({"disasm", (dir / "odd.bin").string()});
  EXPECT_EQ(not_elf.exit_code, 1);
  EXPECT_NE(not_elf.err.find("not an ELF file"), std::string::npos) << not_elf.err;

  spit(dir / "bad.s", "r0 = 1\nr0 = nonsense +\nexit\n");
  Ran bad_asm = xoffload({"asm", (dir / "bad.s").string(), "-o", (dir / "bad.bin").string()});
  EXPECT_EQ(bad_asm.exit_code, 1);
  EXPECT_NE(bad_asm.err.find("line 2"), std::string::npos) << bad_asm.err;
  EXPECT_FALSE(fs::exists(dir / "bad.bin"));

  Ran no_output = xoffload({"asm", (dir / "bad.s").string()});
  EXPECT_EQ(no_output.exit_code, 2);
  Ran bad_option = xoffload({"disasm", "--bogus", "x.o"});
  EXPECT_EQ(bad_option.exit_code, 2);
  EXPECT_NE(bad_option.err.find("unknown option '--bogus'"), std::string::npos);
  Ran bad_cpu = xoffload({"disasm", "--mcpu", "v9", "x.o"});
  EXPECT_EQ(bad_cpu.exit_code, 2);
}

TEST(Cli, HelpPerCommand) {
  for (const char* cmd : {"disasm", "asm"}) {
    Ran help = xoffload({cmd, "--help"});
    EXPECT_EQ(help.exit_code, 0) << cmd;
    EXPECT_EQ(help.out.rfind(std::string("usage: xoffload ") + cmd, 0), 0u) << help.out;
  }
  Ran top = xoffload({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_NE(top.out.find("commands:"), std::string::npos);
}

}  // namespace
