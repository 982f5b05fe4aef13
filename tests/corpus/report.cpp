#include "tests/corpus/report.hpp"

#include <bpf/libbpf.h>

#include <algorithm>
#include <cstdio>
#include <regex>
#include <sstream>

#include "tools/json.hpp"

namespace xo::corpus {

namespace {

void count(Counts& c, const ProgramRecord& r) {
  if (!r.crash.empty()) ++c.crashes;
  if (!r.compiled) return;
  ++c.programs;
  if (!r.native.ran) {
    ++c.native_undetermined;
    return;
  }
  if (!r.native.ok) {
    ++c.native_fail;
    return;
  }
  ++c.native_ok;
  c.native_chain += r.chain.ok;
  c.native_tc += r.tc.ok;
  if (!r.guest_side.empty()) {
    ++c.guest_side;
    const bool in_entry = std::any_of(r.guest_side.begin(), r.guest_side.end(),
                                      [](const std::string& u) { return u.rfind("runs in a", 0) == 0; });
    if (!in_entry && r.crash.empty()) {
      ++c.deferring;
      c.deferring_chain += r.chain.ok;
      c.deferring_tc += r.tc.ok;
    }
    return;
  }
  if (!r.target()) return;
  ++c.target;
  c.target_chain += r.chain.ok;
  c.target_tc += r.tc.ok;
}

std::string pct(int n, int d) {
  char b[32];
  std::snprintf(b, sizeof b, "%.1f%%", Summary::pct(n, d));
  return b;
}

// Markdown table cells: no pipes, no newlines.
std::string cell(std::string s) {
  for (auto& ch : s)
    if (ch == '\n') ch = ' ';
  std::string out;
  for (char ch : s) {
    if (ch == '|') out += '\\';
    out += ch;
  }
  return out;
}

std::string verdict(const Outcome& o) {
  if (!o.ran) return o.reason.empty() ? "—" : "n/a";
  return o.ok ? "ok" : "**no**";
}

std::string short_source(const ProgramRecord& r) {
  std::string s = r.object != "-" ? r.object : r.source;
  auto slash = s.rfind('/');
  return slash == std::string::npos ? s : s.substr(slash + 1);
}

std::string program_label(const ProgramRecord& r) { return short_source(r) + ":" + r.program; }

// The reason the table shows for a row: the first refusal among chain and
// tc (both when they differ), else the native one, else the crash.
std::string row_reason(const ProgramRecord& r) {
  if (!r.crash.empty()) return "CRASH: " + r.crash;
  if (!r.compiled) return "compile: " + r.compile_error;
  if (r.native.ran && !r.native.ok) return "native: " + r.native.reason;
  if (!r.native.ran && !r.native.reason.empty()) return "native: " + r.native.reason;
  std::string out;
  if (!r.chain.ok && r.chain.ran) out = r.chain.reason;
  if (!r.tc.ok && r.tc.ran && r.tc.reason != r.chain.reason) out += (out.empty() ? "" : " — tc: ") + r.tc.reason;
  return out;
}

struct Group {
  std::string kind;
  std::vector<std::string> programs;
};

// Reasons of `pick(r)` over the records `keep` accepts, grouped by kind,
// largest group first.
template <typename Keep, typename Pick>
std::vector<Group> group(const std::vector<ProgramRecord>& records, Keep keep, Pick pick) {
  std::map<std::string, std::vector<std::string>> by;
  for (const auto& r : records) {
    if (!keep(r)) continue;
    by[pick(r)].push_back(program_label(r));
  }
  std::vector<Group> out;
  for (auto& [k, v] : by) out.push_back({k, std::move(v)});
  std::stable_sort(out.begin(), out.end(),
                   [](const Group& a, const Group& b) { return a.programs.size() > b.programs.size(); });
  return out;
}

void write_groups(std::ostringstream& md, const std::vector<Group>& groups) {
  if (groups.empty()) {
    md << "- none\n";
    return;
  }
  for (const auto& g : groups) {
    md << "- **" << g.programs.size() << "** × `" << g.kind << "` — ";
    for (std::size_t i = 0; i < g.programs.size(); ++i) md << (i ? ", " : "") << g.programs[i];
    md << "\n";
  }
}

void write_counts_row(std::ostringstream& md, const std::string& name, const Counts& c) {
  md << "| " << name << " | " << c.files << " | " << c.compile_failures << " | " << c.programs << " | "
     << c.native_ok << " | " << c.guest_side << " | " << c.target << " | " << c.target_chain << " ("
     << pct(c.target_chain, c.target) << ") | " << c.target_tc << " (" << pct(c.target_tc, c.target) << ") | "
     << c.native_chain << " / " << c.native_tc << " | " << c.deferring << " | " << c.deferring_chain << " ("
     << pct(c.deferring_chain, c.deferring) << ") | " << c.deferring_tc << " (" << pct(c.deferring_tc, c.deferring)
     << ") |\n";
}

}  // namespace

Summary summarize(const Manifest& m, const std::vector<ProgramRecord>& records) {
  Summary s;
  for (const auto& e : m.entries) {
    ++s.total.files;
    ++s.by_origin[e.origin].files;
    if (!e.compiled()) {
      ++s.total.compile_failures;
      ++s.by_origin[e.origin].compile_failures;
    }
  }
  for (const auto& r : records) {
    if (!r.compiled) continue;  // counted above as a compile failure
    count(s.total, r);
    count(s.by_origin[r.origin], r);
  }
  return s;
}

std::string reason_kind(const ProgramRecord& r, const Outcome& o) {
  std::string s = o.reason;
  // Does the program use the map the refusal names? (libbpf names global
  // data maps "<object>.rodata"; the builder says ".rodata".)
  std::string usage;
  static const std::regex named_map(R"(map '([^']+)')");
  std::smatch nm;
  if (r.native.ok && std::regex_search(s, nm, named_map)) {
    const std::string name = nm[1].str();
    bool used = std::any_of(r.used_maps.begin(), r.used_maps.end(), [&](const std::string& u) {
      return u == name || (name[0] == '.' && u.size() > name.size() && u.compare(u.size() - name.size(), name.size(), name) == 0);
    });
    usage = used ? " [map used by the program]" : " [map NOT used by the program]";
  }
  static const std::regex object(R"(^\S+\.o: )");
  static const std::regex label(R"(prog '[^']*': )");
  static const std::regex insn(R"(insn \d+( \([^)]*\))?: )");
  static const std::regex quoted(R"('[^']*')");
  static const std::regex number(R"(\b(insn|of|is|off=|size=) ?-?\d+\b)");
  s = std::regex_replace(s, object, "");
  s = std::regex_replace(s, label, "");
  s = std::regex_replace(s, insn, "");
  s = std::regex_replace(s, quoted, "'…'");
  s = std::regex_replace(s, number, "$1 N");
  // "map type 27" -> "map type 27 (ringbuf)": the team reads names.
  static const std::regex map_type(R"(map type (\d+))");
  std::smatch mt;
  if (std::regex_search(s, mt, map_type)) {
    const char* name = libbpf_bpf_map_type_str(static_cast<bpf_map_type>(std::stoi(mt[1].str())));
    if (name) s.insert(std::size_t(mt.position(0) + mt.length(0)), std::string(" (") + name + ")");
  }
  return "[" + o.stage + "] " + s + usage;
}

std::string reason_cause(const std::string& kind) {
  static const std::vector<std::pair<std::regex, std::string>> causes = {
      {std::regex("legacy map definitions"), "legacy `maps` section (struct bpf_map_def) (issue 11 item 1)"},
      {std::regex("has no BPF programs|no function symbol"), "program or section not found by the builder (items 1, 8)"},
      // The builder says "has type T (N), which offload does not support" (or, for
      // maps naming guest objects, "... the host cannot reach"); the host "map type T is not allowed".
      {std::regex(R"((map type|has type) .*NOT used by the program)"), "unsupported map type the program does not use (item 2)"},
      {std::regex(R"((map type|has type) .*(not supported|does not support|not allowed|cannot reach))"),
       "unsupported map type the program uses (item 3)"},
      {std::regex(R"(max_entries 0)"), "map sized by user space before load, max_entries 0 (item 6)"},
      {std::regex(R"(\(kfunc\)|kfunc)"), "kfunc call (item 4: dynptr kfuncs)"},
      {std::regex(R"(helper .* is not allowed)"), "helper refused by the policy (item 4)"},
      {std::regex(R"(not available in the tc flavor|cannot be lowered to tc)"), "no exact tc lowering (item 9)"},
      {std::regex(R"(CO-RE)"), "CO-RE relocations (not in issue 11)"},
      {std::regex(R"(BTF rejected by the kernel)"), "guest BTF refused by the host kernel (not in issue 11)"},
      {std::regex(R"(^\[preverify\])"), "other pre-verifier refusals (items 5, 8)"},
      {std::regex(R"(^\[kernel-verify\])"), "host kernel verifier refused the translated program"},
      {std::regex(R"(^\[host-objects\])"), "other host objects (maps, pins)"},
  };
  for (const auto& [re, cause] : causes)
    if (std::regex_search(kind, re)) return cause;
  return "other";
}

std::string markdown(const Manifest& m, const std::vector<ProgramRecord>& records, const Summary& s,
                     const std::vector<std::string>& without_xdp, const std::string& command) {
  std::ostringstream md;
  const Counts& t = s.total;
  md << "# Corpus: real XDP programs through xoffload\n\n"
     << "Generated by `" << command << "` (tests/corpus/: `fetch-and-build` builds the corpus from Debian's "
     << "packages into a cache outside the repository; `xo_corpus` runs it). Do not edit by hand: run it again.\n\n"
     << "Sources:\n";
  for (const auto& p : m.provenance) md << "- " << p << "\n";
  md << "\nFor every XDP program of every object: the host kernel's native verdict (libbpf loads that program "
     << "alone, as its tool would), then xoffload's host pipeline in both flavors (guest builder -> "
     << "`host::Offload::load`: BTF, host maps, preverify, translate, host kernel verifier, pins; not attached). "
     << "*Guest-side* programs use objects only the guest can finish: `bpf_redirect` (23), `bpf_redirect_map` "
     << "(51), `bpf_perf_event_output` (25), DEVMAP/DEVMAP_HASH/CPUMAP/XSKMAP/PERF_EVENT_ARRAY maps, or run "
     << "inside a devmap/cpumap entry. Issue 11's target is computed over the **target** programs: native ok and "
     << "not guest-side (goal: chain >= 90%, tc >= 80%).\n\n";

  md << "## Summary\n\n"
     << "**Target programs: " << t.target << ". Chain offloads " << t.target_chain << " (" << pct(t.target_chain, t.target)
     << "), tc offloads " << t.target_tc << " (" << pct(t.target_tc, t.target) << ").** "
     << t.programs << " XDP programs in " << (t.files - t.compile_failures) << " objects (" << t.compile_failures
     << " source files did not compile); the kernel loads " << t.native_ok << " natively (" << t.native_fail
     << " refused, " << t.native_undetermined << " not determined); " << t.guest_side
     << " of those are guest-side. Pipeline crashes: " << t.crashes << ".\n\n";
  md << "**Deferring programs (issue 13): " << t.deferring << ". Chain offloads " << t.deferring_chain << " ("
     << pct(t.deferring_chain, t.deferring) << "), tc offloads " << t.deferring_tc << " ("
     << pct(t.deferring_tc, t.deferring) << ").** These are the native-ok guest-side programs that redirect "
     << "(`bpf_redirect`, `bpf_redirect_map` on a DEVMAP/DEVMAP_HASH/CPUMAP/XSKMAP) or emit perf samples: protocol "
     << "version 2 defers those calls to the guest's trampoline (transport/PROTOCOL.md 8), so the host runs the rest. "
     << "Programs that run inside a devmap/cpumap entry are not among them. Goal: chain >= 80%.\n\n";
  if (auto v = s.by_origin.find("linux-verifier-tests"); v != s.by_origin.end()) {
    // The verifier unit tests are many tiny programs written for the verifier,
    // not for packets: the numbers without them are closer to users' programs.
    const int target = t.target - v->second.target, chain = t.target_chain - v->second.target_chain,
              tc = t.target_tc - v->second.target_tc;
    md << "Without the verifier unit tests (selftests' verifier_*.c): chain " << chain << "/" << target << " ("
       << pct(chain, target) << "), tc " << tc << "/" << target << " (" << pct(tc, target) << ").\n\n";
  }
  int pin_warned = 0;
  for (const auto& r : records)
    if (std::any_of(r.notes.begin(), r.notes.end(), [](const std::string& n) { return n.find("cannot pin") != std::string::npos; }))
      ++pin_warned;
  if (pin_warned)
    md << pin_warned << " program(s) offloaded with a pin warning (bpffs refuses leaves like `map_.rodata`): "
       << "xoffloadd runs them, but `xoffload load`, which must leave every object pinned, refuses them "
       << "(issue 11 item 7). They count as offloaded here.\n\n";
  md
     << "| origin | files | compile failures | XDP programs | native ok | guest-side | target | chain ok | tc ok | "
        "chain / tc over all native ok | deferring | deferring chain ok | deferring tc ok |\n"
     << "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& [origin, c] : s.by_origin) write_counts_row(md, origin, c);
  write_counts_row(md, "**total**", t);

  auto is_target = [](const ProgramRecord& r) { return r.target(); };
  md << "\n## Refusal reasons, largest first\n\n"
     << "Grouped by kind: the stage that refused (`[stage]`: input = the guest builder, preverify, translate, "
        "host-objects, kernel-verify) and its message without program names, instruction numbers and quoted "
        "names ('…'). Each program is listed as object:program.\n\n"
     << "### Causes, over the target programs (chain | tc)\n\n"
     << "| cause | chain | tc |\n|---|---|---|\n";
  {
    std::map<std::string, std::pair<int, int>> causes;
    for (const auto& r : records) {
      if (!is_target(r)) continue;
      if (!r.chain.ok) ++causes[reason_cause(reason_kind(r, r.chain))].first;
      if (!r.tc.ok) ++causes[reason_cause(reason_kind(r, r.tc))].second;
    }
    std::vector<std::pair<std::string, std::pair<int, int>>> sorted(causes.begin(), causes.end());
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
      return a.second.first + a.second.second > b.second.first + b.second.second;
    });
    for (const auto& [cause, n] : sorted) md << "| " << cause << " | " << n.first << " | " << n.second << " |\n";
  }
  md << "\n### chain, over the target programs\n\n";
  write_groups(md, group(records, [&](const ProgramRecord& r) { return is_target(r) && !r.chain.ok; },
                         [](const ProgramRecord& r) { return reason_kind(r, r.chain); }));
  md << "\n### tc, over the target programs\n\n";
  write_groups(md, group(records, [&](const ProgramRecord& r) { return is_target(r) && !r.tc.ok; },
                         [](const ProgramRecord& r) { return reason_kind(r, r.tc); }));
  auto is_deferring = [](const ProgramRecord& r) {
    return r.compiled && r.native.ok && !r.guest_side.empty() && r.crash.empty() &&
           std::none_of(r.guest_side.begin(), r.guest_side.end(),
                        [](const std::string& u) { return u.rfind("runs in a", 0) == 0; });
  };
  md << "\n### chain, over the deferring programs (issue 13)\n\n";
  write_groups(md, group(records, [&](const ProgramRecord& r) { return is_deferring(r) && !r.chain.ok; },
                         [](const ProgramRecord& r) { return reason_kind(r, r.chain); }));
  md << "\n### tc, over the deferring programs (issue 13)\n\n";
  write_groups(md, group(records, [&](const ProgramRecord& r) { return is_deferring(r) && !r.tc.ok; },
                         [](const ProgramRecord& r) { return reason_kind(r, r.tc); }));
  md << "\n### What makes native-ok programs guest-side (not in the target)\n\n";
  {
    std::map<std::string, std::vector<std::string>> uses;
    for (const auto& r : records)
      if (r.compiled && r.native.ok)
        for (const auto& u : r.guest_side) {
          static const std::regex map_name(R"(^map \S+ )");
          uses[std::regex_replace(u, map_name, "map ")].push_back(program_label(r));
        }
    std::vector<Group> g;
    for (auto& [k, v] : uses) g.push_back({k, std::move(v)});
    std::stable_sort(g.begin(), g.end(), [](const Group& a, const Group& b) { return a.programs.size() > b.programs.size(); });
    write_groups(md, g);
  }
  md << "\n### Native refusals (the kernel's own; not in the target)\n\n";
  write_groups(md, group(records, [](const ProgramRecord& r) { return r.compiled && r.native.ran && !r.native.ok; },
                         [](const ProgramRecord& r) { return reason_kind(r, r.native); }));
  md << "\n### Compile failures (generic recipe; not in the corpus)\n\n";
  for (const auto& e : m.entries)
    if (!e.compiled()) md << "- `" << e.source << "`: " << cell(e.note) << "\n";

  md << "\n### Objects without XDP programs (not in the corpus)\n\n";
  if (without_xdp.empty()) md << "- none\n";
  for (const auto& w : without_xdp) md << "- " << cell(w) << "\n";
  md << "\n## Programs\n\n"
     << "| origin | object | program | section | native | tc | chain | guest-side | reason |\n"
     << "|---|---|---|---|---|---|---|---|---|\n";
  for (const auto& r : records) {
    md << "| " << r.origin << " | " << cell(short_source(r)) << " | " << cell(r.program) << " | " << cell(r.section)
       << " | " << (r.compiled ? verdict(r.native) : "compile failed") << " | " << verdict(r.tc) << " | "
       << verdict(r.chain) << " | ";
    for (std::size_t i = 0; i < r.guest_side.size(); ++i) md << (i ? "; " : "") << cell(r.guest_side[i]);
    md << " | " << cell(row_reason(r)) << " |\n";
  }
  return md.str();
}

std::string json(const Manifest& m, const std::vector<ProgramRecord>& records, const Summary& s) {
  auto counts = [](cli::JsonWriter& j, const Counts& c) {
    j.begin_object();
    j.field("files", c.files);
    j.field("compile_failures", c.compile_failures);
    j.field("programs", c.programs);
    j.field("native_ok", c.native_ok);
    j.field("native_fail", c.native_fail);
    j.field("native_undetermined", c.native_undetermined);
    j.field("guest_side", c.guest_side);
    j.field("target", c.target);
    j.field("target_chain_ok", c.target_chain);
    j.field("target_tc_ok", c.target_tc);
    j.field("deferring", c.deferring);
    j.field("deferring_chain_ok", c.deferring_chain);
    j.field("deferring_tc_ok", c.deferring_tc);
    j.field("native_ok_chain_ok", c.native_chain);
    j.field("native_ok_tc_ok", c.native_tc);
    j.field("crashes", c.crashes);
    j.end_object();
  };
  cli::JsonWriter j;
  j.begin_object();
  j.key("provenance");
  j.begin_array();
  for (const auto& p : m.provenance) j.value(p);
  j.end_array();
  j.key("summary");
  counts(j, s.total);
  j.key("by_origin");
  j.begin_object();
  for (const auto& [origin, c] : s.by_origin) {
    j.key(origin);
    counts(j, c);
  }
  j.end_object();
  std::string head = j.str();
  // Records are already JSON objects: splice them in as an array.
  std::string out = head + ",\"programs\":[";
  for (std::size_t i = 0; i < records.size(); ++i) out += (i ? "," : "") + to_json(records[i]);
  return out + "]}\n";
}

}  // namespace xo::corpus
