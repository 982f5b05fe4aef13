// The corpus's numbers and the documents made of them: docs/CORPUS.md
// (summary, refusal reasons by kind, largest first, and the per-program
// table) and the same data as JSON.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tests/corpus/manifest.hpp"
#include "tests/corpus/record.hpp"

namespace xo::corpus {

struct Counts {
  int files = 0;            // manifest entries
  int compile_failures = 0;
  int programs = 0;         // XDP programs in the objects that compiled
  int native_ok = 0, native_fail = 0, native_undetermined = 0;
  int guest_side = 0;       // native ok, but using guest-side objects
  int target = 0;           // native ok, no guest-side objects: issue 11's denominator
  int target_chain = 0, target_tc = 0;
  // Issue 13's denominator: guest-side programs that redirect, use AF_XDP or
  // emit perf samples (not those that run inside a devmap/cpumap entry),
  // which protocol version 2 defers to the guest's trampoline.
  int deferring = 0, deferring_chain = 0, deferring_tc = 0;
  int native_chain = 0, native_tc = 0;  // over every native-ok program
  int crashes = 0;
};

struct Summary {
  Counts total;
  std::map<std::string, Counts> by_origin;
  double chain_pct() const { return pct(total.target_chain, total.target); }
  double tc_pct() const { return pct(total.target_tc, total.target); }
  double deferring_chain_pct() const { return pct(total.deferring_chain, total.deferring); }
  double deferring_tc_pct() const { return pct(total.deferring_tc, total.deferring); }
  static double pct(int n, int d) { return d ? 100.0 * n / d : 0.0; }
};

Summary summarize(const Manifest& m, const std::vector<ProgramRecord>& records);

// A refusal's kind: its message without the program label, instruction
// numbers, source positions and quoted names, prefixed with its stage; a
// refusal that names a map says whether `r`'s code uses that map.
std::string reason_kind(const ProgramRecord& r, const Outcome& o);

// The coarse cause of a kind (e.g. "helper refused by policy"), with the
// item of issue 11 that covers it.
std::string reason_cause(const std::string& kind);

// `without_xdp`: objects that compiled but hold no XDP program, one line
// each ("object: why").
std::string markdown(const Manifest& m, const std::vector<ProgramRecord>& records, const Summary& s,
                     const std::vector<std::string>& without_xdp, const std::string& command);
std::string json(const Manifest& m, const std::vector<ProgramRecord>& records, const Summary& s);

}  // namespace xo::corpus
