// xo_corpus: runs every XDP program of the corpus (tests/corpus/
// fetch-and-build's manifest) natively and through xoffload's host pipeline
// in both flavors, writes the report, and checks the floors:
//
//   xo_corpus --manifest M [--json F] [--markdown F] [--command TEXT]
//             [--min-chain-pct P] [--min-tc-pct P] [--min-target N]
//             [--program REGEX]
//
// Exit status 1 when the pipeline crashed or hung on any program, when a
// refusal has no one-line reason, when the target coverage is below a
// floor, or when an origin contributed no program (a corpus that silently
// shrank); 2 on usage or setup errors. Needs root: it runs in a network
// namespace of its own with one tap, and loads into the host kernel.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <regex>
#include <set>

#include "tests/corpus/manifest.hpp"
#include "tests/corpus/native.hpp"
#include "tests/corpus/report.hpp"
#include "tests/corpus/run.hpp"
#include "tests/host/netdev.hpp"

namespace {

using namespace xo::corpus;

struct Options {
  std::string manifest, json, markdown, command = "scripts/corpus", program_filter;
  double min_chain_pct = 0, min_tc_pct = 0, min_deferring_chain_pct = 0, min_deferring_tc_pct = 0;
  int min_target = 1;
};

int usage(const char* why) {
  std::fprintf(stderr, "xo_corpus: %s\nusage: xo_corpus --manifest FILE [--json FILE] [--markdown FILE] "
                       "[--command TEXT] [--min-chain-pct P] [--min-tc-pct P] [--min-target N] "
                       "[--min-deferring-chain-pct P] [--min-deferring-tc-pct P] [--program REGEX]\n", why);
  return 2;
}

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (i + 1 >= argc) return false;
    std::string v = argv[++i];
    if (a == "--manifest") o.manifest = v;
    else if (a == "--json") o.json = v;
    else if (a == "--markdown") o.markdown = v;
    else if (a == "--command") o.command = v;
    else if (a == "--program") o.program_filter = v;
    else if (a == "--min-chain-pct") o.min_chain_pct = std::atof(v.c_str());
    else if (a == "--min-tc-pct") o.min_tc_pct = std::atof(v.c_str());
    else if (a == "--min-target") o.min_target = std::atoi(v.c_str());
    else if (a == "--min-deferring-chain-pct") o.min_deferring_chain_pct = std::atof(v.c_str());
    else if (a == "--min-deferring-tc-pct") o.min_deferring_tc_pct = std::atof(v.c_str());
    else return false;
  }
  return !o.manifest.empty();
}

bool write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  return bool(out);
}

bool one_line(const Outcome& o) {
  return !o.ran || o.ok || (!o.reason.empty() && o.reason.find('\n') == std::string::npos);
}

// The checks the ctest asserts; each failure is one line on stderr.
int check(const Options& o, const Manifest& m, const std::vector<ProgramRecord>& records, const Summary& s) {
  int failures = 0;
  auto fail = [&](const std::string& why) {
    std::fprintf(stderr, "xo_corpus: FAIL: %s\n", why.c_str());
    ++failures;
  };
  for (const auto& r : records) {
    std::string who = r.object + ":" + r.program;
    if (!r.crash.empty()) fail(who + ": " + r.crash);
    if (!one_line(r.native) || !one_line(r.tc) || !one_line(r.chain)) fail(who + ": a refusal without a one-line reason");
  }
  std::set<std::string> origins, with_programs;
  for (const auto& e : m.entries) origins.insert(e.origin);
  for (const auto& r : records)
    if (r.compiled) with_programs.insert(r.origin);
  for (const auto& origin : origins)
    if (!with_programs.count(origin)) fail("origin " + origin + " contributed no XDP program");
  if (o.program_filter.empty()) {
    if (s.total.target < o.min_target)
      fail("only " + std::to_string(s.total.target) + " target programs (floor " + std::to_string(o.min_target) + ")");
    if (s.chain_pct() + 1e-9 < o.min_chain_pct)
      fail("chain offloads " + std::to_string(s.chain_pct()) + "% of the target programs (floor " +
           std::to_string(o.min_chain_pct) + "%)");
    if (s.tc_pct() + 1e-9 < o.min_tc_pct)
      fail("tc offloads " + std::to_string(s.tc_pct()) + "% of the target programs (floor " +
           std::to_string(o.min_tc_pct) + "%)");
    if (s.deferring_chain_pct() + 1e-9 < o.min_deferring_chain_pct)
      fail("chain offloads " + std::to_string(s.deferring_chain_pct()) + "% of the deferring programs (floor " +
           std::to_string(o.min_deferring_chain_pct) + "%)");
    if (s.deferring_tc_pct() + 1e-9 < o.min_deferring_tc_pct)
      fail("tc offloads " + std::to_string(s.deferring_tc_pct()) + "% of the deferring programs (floor " +
           std::to_string(o.min_deferring_tc_pct) + "%)");
  }
  return failures;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, o)) return usage("bad arguments");
  auto m = read_manifest(o.manifest);
  if (!m) return usage(m.error().message.c_str());
  std::optional<std::regex> only;
  if (!o.program_filter.empty()) only.emplace(o.program_filter);

  // A network namespace of our own: the tap and anything loaded for it
  // vanish with the process. bpffs is global: our own pin root, removed
  // at the end (crashed children may leave sessions behind in it).
  auto tap = private_netns_with_tap();
  if (!tap) {
    std::fprintf(stderr, "xo_corpus: %s\n", tap.error().message.c_str());
    return 2;
  }
  RunContext ctx;
  ctx.corpus_dir = m->dir;
  ctx.pin_root = "/sys/fs/bpf/xoffload-corpus-" + std::to_string(getpid());
  ctx.tap = (*tap)->name();

  std::vector<ProgramRecord> records;
  std::vector<std::string> without_xdp;
  std::size_t index = 0;
  for (const auto& e : m->entries) {
    if (!e.compiled()) {
      ProgramRecord r;
      r.origin = e.origin;
      r.source = e.source;
      r.object = "-";
      r.program = "-";
      r.compiled = false;
      r.compile_error = e.note;
      records.push_back(std::move(r));
      continue;
    }
    const std::string path = ctx.corpus_dir + "/" + e.object;
    auto programs = xdp_programs(path);
    if (!programs) {
      // An object nobody can open: recorded as a native refusal of the whole object.
      ProgramRecord r;
      r.origin = e.origin;
      r.source = e.source;
      r.object = e.object;
      r.program = "*";
      r.native = Outcome{true, false, programs.error().message, "libbpf", programs.error().code};
      records.push_back(std::move(r));
      continue;
    }
    if (programs->empty()) without_xdp.push_back(e.object + ": " + e.source + " holds no XDP program");
    for (const auto& p : *programs) {
      if (only && !std::regex_search(e.object + ":" + p.name, *only)) continue;
      ProgramRecord r = run_program(ctx, e, p, index++);
      std::fprintf(stderr, "%-60s native %-4s tc %-4s chain %-4s%s\n", (e.object + ":" + p.name).c_str(),
                   r.native.ok ? "ok" : "no", r.tc.ok ? "ok" : "no", r.chain.ok ? "ok" : "no",
                   r.crash.empty() ? "" : ("  CRASH " + r.crash).c_str());
      records.push_back(std::move(r));
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(ctx.pin_root, ec);

  Summary s = summarize(*m, records);
  if (!o.json.empty() && !write_file(o.json, json(*m, records, s))) return usage(("cannot write " + o.json).c_str());
  if (!o.markdown.empty() && !write_file(o.markdown, markdown(*m, records, s, without_xdp, o.command)))
    return usage(("cannot write " + o.markdown).c_str());
  const Counts& t = s.total;
  std::printf("corpus: %d XDP programs, %d native ok, %d guest-side, %d target; chain %d/%d (%.1f%%), tc %d/%d (%.1f%%); "
              "deferring %d: chain %d (%.1f%%), tc %d (%.1f%%); %d compile failures, %d crashes\n",
              t.programs, t.native_ok, t.guest_side, t.target, t.target_chain, t.target, s.chain_pct(), t.target_tc,
              t.target, s.tc_pct(), t.deferring, t.deferring_chain, s.deferring_chain_pct(), t.deferring_tc,
              s.deferring_tc_pct(), t.compile_failures, t.crashes);
  return check(o, *m, records, s) ? 1 : 0;
}
