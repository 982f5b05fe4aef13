// xoffload verify / translate / dump on the clang-built examples and on raw
// bytecode written with `xoffload asm`: what a user sees, checked field by
// field against what the objects contain.
#include <algorithm>
#include <cstdint>
#include <fstream>
#include <set>

#include "tests/cli/cli_harness.hpp"

namespace xo::cli_test {
namespace {

// Raw bytecode from LLVM assembly text, through `xoffload asm`.
fs::path assemble(const TempDir& dir, const std::string& name, const std::string& text) {
  spit(dir / (name + ".s"), text);
  fs::path bin = dir / (name + ".bin");
  Ran r = xoffload({"asm", (dir / (name + ".s")).string(), "-o", bin.string()});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return bin;
}

TEST(CliVerify, AcceptsXdp1InBothFlavors) {
  for (std::string flavor : {"tc", "chain"}) {
    Ran r = xoffload({"verify", xdp1(), "--flavor", flavor});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("OK: prog 'xdp_prog1'"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find(flavor + " translation"), std::string::npos) << r.out;
    EXPECT_EQ(r.err, "");
  }
}

TEST(CliVerify, RejectsDeniedHelperWithOneLine) {
  TempDir dir;
  fs::path bad = assemble(dir, "fibber", "r1 = 0\ncall 0x45\nexit\n");
  Ran r = xoffload({"verify", "--raw", bad.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "prog 'fibber': insn 1: helper bpf_fib_lookup (69) is not allowed for offloaded programs\n");
}

TEST(CliVerify, JsonRejectionNamesStageAndInsn) {
  TempDir dir;
  fs::path bad = assemble(dir, "uninit", "r0 = 1\nr0 += r5\nexit\n");
  Ran r = xoffload({"verify", "--raw", bad.string(), "--json"});
  EXPECT_EQ(r.exit_code, 1);
  auto d = parse_json(r.out);
  ASSERT_TRUE(d.IsObject());
  EXPECT_FALSE(d["ok"].GetBool());
  EXPECT_STREQ(d["stage"].GetString(), "preverify");
  EXPECT_EQ(d["insn"].GetUint(), 1u);
  std::string msg = d["error"].GetString();
  EXPECT_EQ(msg.rfind("prog 'uninit': insn 1: ", 0), 0u) << msg;
  EXPECT_NE(msg.find("r5"), std::string::npos) << msg;
}

TEST(CliVerify, TranslationRefusalIsReportedAsSuch) {
  // bpf_xdp_adjust_meta has no exact tc lowering; chain keeps it native.
  TempDir dir;
  fs::path meta = assemble(dir, "meta", "r2 = -8\ncall 0x36\nr0 = 2\nexit\n");
  Ran tc = xoffload({"verify", "--raw", meta.string(), "--json"});
  EXPECT_EQ(tc.exit_code, 1) << tc.out;
  auto d = parse_json(tc.out);
  ASSERT_TRUE(d.IsObject());
  EXPECT_FALSE(d["ok"].GetBool());
  EXPECT_NE(std::string(d["error"].GetString()).find("adjust_meta"), std::string::npos) << tc.out;
  Ran chain = xoffload({"verify", "--raw", meta.string(), "--flavor", "chain"});
  EXPECT_EQ(chain.exit_code, 0) << chain.err;
}

TEST(CliVerify, UsageErrors) {
  EXPECT_EQ(xoffload({"verify"}).exit_code, 2);
  EXPECT_EQ(xoffload({"verify", xdp1(), "--flavor", "devmapx"}).exit_code, 2);
  Ran missing = xoffload({"verify", "/nonexistent/prog.o"});
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.err.find("/nonexistent/prog.o"), std::string::npos) << missing.err;
  Ran wrong_prog = xoffload({"verify", xdp1(), "--program", "no_such_prog"});
  EXPECT_EQ(wrong_prog.exit_code, 1);
  EXPECT_NE(wrong_prog.err.find("no_such_prog"), std::string::npos) << wrong_prog.err;
}

TEST(CliTranslate, JsonShape) {
  TempDir dir;
  fs::path bin = dir / "host.bin";
  Ran r = xoffload({"translate", xdp1(), "--json", "-o", bin.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto d = parse_json(r.out);
  ASSERT_TRUE(d.IsObject());
  EXPECT_STREQ(d["prog"].GetString(), "xdp_prog1");
  EXPECT_EQ(d["prog_type"].GetUint(), 3u);  // BPF_PROG_TYPE_SCHED_CLS
  const auto& insns = d["insns"];
  ASSERT_TRUE(insns.IsArray());
  std::size_t host_slots = d["host_slots"].GetUint();
  EXPECT_EQ(fs::file_size(bin), host_slots * 8);
  std::size_t next = 0;
  bool saw_map = false;
  for (const auto& i : insns.GetArray()) {
    EXPECT_EQ(i["index"].GetUint(), next);
    std::string raw = i["raw"].GetString();
    ASSERT_TRUE(raw.size() == 16 || raw.size() == 32) << raw;
    next += raw.size() / 16;
    EXPECT_GT(std::string(i["text"].GetString()).size(), 0u);
    if (i.HasMember("comment") && std::string(i["comment"].GetString()).find("'rxcnt'") != std::string::npos) {
      saw_map = true;
      // Map references stay the guest's handle until the host loads the program.
      EXPECT_NE(std::string(i["comment"].GetString()).find("(handle 1)"), std::string::npos)
          << i["comment"].GetString();
    }
  }
  EXPECT_EQ(next, host_slots);
  EXPECT_TRUE(saw_map);
  std::size_t guest_slots = d["guest_slots"].GetUint();
  EXPECT_EQ(d["index_map"]["old_to_new"].Size(), guest_slots + 1);
  EXPECT_EQ(d["index_map"]["new_to_old"].Size(), host_slots);
  ASSERT_GE(d["func_info"].Size(), 1u);
  EXPECT_EQ(d["func_info"][0]["insn_off"].GetUint(), 0u);
  ASSERT_GT(d["line_info"].Size(), 5u);
  for (const auto& l : d["line_info"].GetArray()) {
    EXPECT_LT(l["insn_off"].GetUint(), host_slots);
    std::string source = l["source"].GetString();  // the program or the examples' shared header
    EXPECT_TRUE(source.rfind("xdp1_kern.c:", 0) == 0 || source.rfind("xo_parse.h:", 0) == 0) << source;
  }
  EXPECT_EQ(d["maps"][0]["handle"].GetUint(), 1u);
  EXPECT_FALSE(d.HasMember("placeholder_fd_base"));
}

TEST(CliTranslate, ChainIsXdpAndTextListsHostProgram) {
  Ran r = xoffload({"translate", xdp2(), "--flavor", "chain"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("BPF_PROG_TYPE_XDP"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("referenced by guest handle"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("call 0x17"), std::string::npos) << "PASS becomes bpf_redirect (23)\n" << r.out;
}

// --tier (issue 14): the IR tier's program, smaller than the direct tier's
// for xdp1, with the guest's source lines still in its line_info; auto
// picks it; a bad tier is a usage error.
TEST(CliTranslate, TierIrAndAuto) {
  Ran direct = xoffload({"translate", xdp1(), "--flavor", "chain", "--json"});
  Ran ir = xoffload({"translate", xdp1(), "--flavor", "chain", "--tier", "ir", "--json"});
  ASSERT_EQ(direct.exit_code, 0) << direct.err;
  ASSERT_EQ(ir.exit_code, 0) << ir.err;
  auto d = parse_json(direct.out), i = parse_json(ir.out);
  EXPECT_STREQ(d["tier"].GetString(), "direct");
  EXPECT_STREQ(i["tier"].GetString(), "ir");
  EXPECT_LT(i["host_slots"].GetUint(), d["host_slots"].GetUint());
  EXPECT_STREQ(i["prog_type_name"].GetString(), "BPF_PROG_TYPE_XDP");
  ASSERT_GT(i["line_info"].Size(), 3u);
  EXPECT_EQ(i["line_info"][0]["insn_off"].GetUint(), 0u);
  for (const auto& l : i["line_info"].GetArray()) {
    const std::string src = l["source"].GetString();
    EXPECT_TRUE(src.rfind("xdp1_kern.c:", 0) == 0 || src.rfind("xo_parse.h:", 0) == 0) << src;
  }
  bool noted = false;
  for (const auto& n : i["notes"].GetArray()) noted |= std::string(n.GetString()).find("IR tier (LLVM 19") != std::string::npos;
  EXPECT_TRUE(noted) << ir.out;

  Ran a = xoffload({"translate", xdp1(), "--flavor", "chain", "--tier", "auto"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_NE(a.out.find("chain flavor, ir tier"), std::string::npos) << a.out;

  Ran bad = xoffload({"translate", xdp1(), "--tier", "llvm"});
  EXPECT_EQ(bad.exit_code, 2) << bad.err;
  EXPECT_NE(bad.err.find("--tier: 'llvm' is not a tier"), std::string::npos) << bad.err;
}

// A guest program LLVM would chew on for minutes (10000 slots of branches:
// -O2's time is superlinear; measured 17 s) never reaches LLVM: the IR
// tier's size bound refuses it (ir) or keeps the direct program (auto).
TEST(CliTranslate, TierIrRefusesAProgramOverItsBoundBeforeLlvm) {
  TempDir dir;
  {
    std::ofstream out(dir / "big.bin", std::ios::binary);
    auto put = [&out](std::uint8_t code, std::uint8_t regs, std::int16_t off, std::int32_t imm) {
      out.put(char(code)).put(char(regs));
      out.write(reinterpret_cast<const char*>(&off), 2).write(reinterpret_cast<const char*>(&imm), 4);
    };
    put(0xb7, 0x00, 0, 0);  // r0 = 0
    put(0x61, 0x12, 0, 0);  // r2 = *(u32 *)(r1 + 0)
    for (std::int32_t i = 0; i < 5000; ++i) {
      put(0x25, 0x02, 1, i);  // if r2 > i goto +1
      put(0x07, 0x00, 0, 1);  // r0 += 1
    }
    put(0x57, 0x00, 0, 3);  // r0 &= 3
    put(0x95, 0x00, 0, 0);  // exit
  }
  const std::string big = (dir / "big.bin").string();
  Ran ir = xoffload({"translate", "--raw", big, "--flavor", "chain", "--tier", "ir"});
  EXPECT_EQ(ir.exit_code, 1) << ir.out;
  EXPECT_NE(ir.err.find("the IR tier takes programs of at most 4096 slots"), std::string::npos) << ir.err;
  Ran a = xoffload({"translate", "--raw", big, "--flavor", "chain", "--tier", "auto"});
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_NE(a.out.find("chain flavor, direct tier"), std::string::npos) << a.out.substr(0, 400);
  EXPECT_NE(a.out.find("kept the direct tier: the IR tier takes programs of at most 4096 slots"), std::string::npos)
      << a.out.substr(0, 400);
}

TEST(CliDump, TierIrAddsTheIrColumn) {
  Ran r = xoffload({"dump", xdp2(), "--tier", "ir", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto d = parse_json(r.out);
  ASSERT_TRUE(d.HasMember("ir"));
  std::size_t mapped = 0;
  for (const auto& h : d["ir"].GetArray()) mapped += h["guest_index"].IsNull() ? 0 : 1;
  EXPECT_GT(mapped, d["ir"].Size() / 2) << "most IR insns map back to a guest insn through line info";
  Ran text = xoffload({"dump", xdp2(), "--tier", "ir"});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("| host: IR tier"), std::string::npos) << text.out;
}

TEST(CliDump, ShowsSourceLinesAndEveryHostInsnOnce) {
  Ran text = xoffload({"dump", xdp1()});
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("; xdp1_kern.c:"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("[epilogue"), std::string::npos) << text.out;

  Ran r = xoffload({"dump", xdp1(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto d = parse_json(r.out);
  ASSERT_TRUE(d.IsObject());
  std::multiset<unsigned> host_seen;
  std::size_t with_source = 0;
  for (const auto& g : d["guest"].GetArray()) {
    if (g["source"].IsObject()) {
      ++with_source;
      std::string file = g["source"]["file"].GetString();
      EXPECT_TRUE(file == "xdp1_kern.c" || file == "xo_parse.h") << file;
      EXPECT_GT(g["source"]["line"].GetUint(), 0u);
    }
    for (const auto& h : g["host"].GetArray()) host_seen.insert(h.GetUint());
  }
  EXPECT_GT(with_source, 5u);
  std::size_t unmapped = 0;
  for (const auto& h : d["host"].GetArray()) {
    unsigned idx = h["index"].GetUint();
    if (h["guest_index"].IsNull()) {
      ++unmapped;
      EXPECT_EQ(host_seen.count(idx), 0u);
    } else {
      EXPECT_EQ(host_seen.count(idx), 1u) << "host insn " << idx;
    }
  }
  EXPECT_EQ(host_seen.size() + unmapped, d["host"].Size());
}

TEST(CliDump, RawProgramHasNoSourceButHostCode) {
  TempDir dir;
  fs::path ok = assemble(dir, "pass", "r0 = 2\nexit\n");
  Ran r = xoffload({"dump", "--raw", ok.string(), "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  auto d = parse_json(r.out);
  ASSERT_EQ(d["guest"].Size(), 2u);
  EXPECT_TRUE(d["guest"][0]["source"].IsNull());
  EXPECT_STREQ(d["guest"][1]["role"].GetString(), "epilogue");
  EXPECT_GT(d["host"].Size(), 2u);
}

// A map its loader sizes before load: refused with the way out, accepted
// with --map-size (repeatable or comma-separated), on every pipeline command.
TEST(CliMapSize, MaxEntriesZeroNeedsMapSize) {
  const std::string obj = builder_prog("sized_by_user");
  Ran bare = xoffload({"verify", obj});
  EXPECT_EQ(bare.exit_code, 1);
  EXPECT_NE(bare.err.find("map 'flows' has max_entries 0"), std::string::npos) << bare.err;
  EXPECT_NE(bare.err.find("--map-size flows=N"), std::string::npos) << bare.err;
  Ran sized = xoffload({"verify", obj, "--map-size", "flows=64"});
  EXPECT_EQ(sized.exit_code, 0) << sized.err;
  Ran translated = xoffload({"translate", obj, "--map-size=flows=0x40"});
  EXPECT_EQ(translated.exit_code, 0) << translated.err;
  EXPECT_NE(translated.out.find("max_entries 64"), std::string::npos) << translated.out;
  Ran unknown = xoffload({"verify", obj, "--map-size", "flows=64,nope=1"});
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("no such map (maps: flows)"), std::string::npos) << unknown.err;
  Ran bad = xoffload({"verify", obj, "--map-size", "flows"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("expected NAME=N"), std::string::npos) << bad.err;
}

// verify runs the checks load makes before creating anything: a map above
// the host's max_entries quota was "OK" for verify and refused by load.
TEST(CliVerify, RunsTheLoadsHostChecks) {
  Ran r = xoffload({"verify", builder_prog("sized_by_user"), "--map-size", "flows=2000000", "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.out;
  auto d = parse_json(r.out);
  ASSERT_TRUE(d.IsObject()) << r.out;
  EXPECT_STREQ(d["stage"].GetString(), "host-objects");
  std::string msg = d["error"].GetString();
  EXPECT_NE(msg.find("map 'flows' (handle 1): max_entries 2000000 outside 1..1048576"), std::string::npos) << msg;
}

// A DEVMAP in the object that the chosen program never uses: OK with a note;
// the program that redirects through it verifies too, the DEVMAP kept as a
// guest-side map (protocol version 2 defers the redirect to the guest), and
// one that misuses a guest-side map is refused in one line with the insn.
TEST(CliVerify, UnusedMapTypeIsANoteUsedOneIsGuestSide) {
  const std::string obj = builder_prog("unused_devmap");
  Ran ok = xoffload({"verify", obj, "--program", "xdp_count"});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_NE(ok.out.find("1 maps"), std::string::npos) << ok.out;
  EXPECT_NE(ok.out.find("note: prog 'xdp_count' does not use map(s) 'tx_port' (devmap (14))"), std::string::npos)
      << ok.out;
  Ran used = xoffload({"verify", obj, "--program", "xdp_forward"});
  EXPECT_EQ(used.exit_code, 0) << used.err;
  Ran misused = xoffload({"verify", XO_DEFERRED_OBJ, "--program", "defer_lookup_xsk"});
  EXPECT_EQ(misused.exit_code, 1);
  EXPECT_NE(misused.err.find("prog 'defer_lookup_xsk': insn "), std::string::npos) << misused.err;
  EXPECT_NE(misused.err.find("map 'xsks' (xskmap) lives in the guest"), std::string::npos) << misused.err;
  EXPECT_EQ(std::count(misused.err.begin(), misused.err.end(), '\n'), 1) << misused.err;
}

TEST(CliHelp, EveryCommandIsListedAndHasHelp) {
  Ran list = xoffload({"--help"});
  ASSERT_EQ(list.exit_code, 0);
  for (std::string c : {"verify", "translate", "dump", "run", "load", "unload", "status"}) {
    EXPECT_NE(list.out.find("  " + c + " "), std::string::npos) << c << " missing from:\n" << list.out;
    Ran help = xoffload({c, "--help"});
    EXPECT_EQ(help.exit_code, 0) << c;
    EXPECT_EQ(help.out.rfind("usage: xoffload " + c + " ", 0), 0u) << help.out;
  }
}

TEST(CliHelp, VersionAndTopLevelUsageErrors) {
  Ran version = xoffload({"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out, "xoffload " XO_PROJECT_VERSION "\n");
  Ran none = xoffload({});
  EXPECT_EQ(none.exit_code, 2);
  EXPECT_NE(none.err.find("commands:"), std::string::npos) << none.err;
  Ran bogus = xoffload({"--bogus"});
  EXPECT_EQ(bogus.exit_code, 2);
  EXPECT_NE(bogus.err.find("xoffload: unknown option '--bogus'"), std::string::npos) << bogus.err;
  Ran missing_value = xoffload({"verify", xdp1(), "--flavor"});
  EXPECT_EQ(missing_value.exit_code, 2);
  EXPECT_NE(missing_value.err.find("xoffload verify: option --flavor needs a value"), std::string::npos)
      << missing_value.err;
}

}  // namespace
}  // namespace xo::cli_test
