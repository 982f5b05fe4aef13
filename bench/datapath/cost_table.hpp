// Per-packet cost of the translated host programs against the same C
// compiled natively for the hook, from BPF_PROG_TEST_RUN with repeat (one
// 64-byte UDP frame, no live frames: the program alone plus the test run
// loop, which is the same for both sides of a comparison):
//
//   tc     xoffload's tc flavor of xdp1/xdp2, per-action stats off and on,
//          vs examples/native/xdp{1,2}_tc (SCHED_CLS, TC_ACT_SHOT /
//          bpf_redirect(tap, BPF_F_INGRESS))
//   chain  xoffload's chain flavor (stats off and on) vs the unmodified
//          xdp{1,2}_kern.o loaded as XDP
//
// ns per packet = the thread's CPU time over the test run call / repeat
// (sub-ns resolution; the kernel's own `duration` is an integer). Every
// program is loaded `copies` times (independent JIT images), all copies run
// round-robin, and each figure is the median over copies and rounds.
#pragma once

#include <string>
#include <vector>

#include "bench/datapath/testbed.hpp"

namespace xo::bench {

struct CostOptions {
  std::uint32_t repeat = 2'000'000;
  int rounds = 7;
  int copies = 3;
  int cpu = 0;
};

struct CostRow {
  std::string prog;  // "xdp1", "xdp2"
  std::string hook;  // "tc", "chain"
  double native_ns = 0, translated_ns = 0, translated_stats_ns = 0;
  // The kernel runs the same instructions for native and translated (stats
  // off): any difference in ns is then the measurement, not the translation.
  bool same_code = false;
  double ratio() const { return native_ns > 0 ? translated_ns / native_ns : 0; }
  double stats_ns() const { return translated_stats_ns - translated_ns; }
};

Result<std::vector<CostRow>> run_cost_table(const Testbed& tb, const CostOptions& o);

}  // namespace xo::bench
