// The RFC's packet-rate table on a Testbed: case 1 (frames a host ingress
// XDP program would redirect into the tap) and case 2 (skbs reaching the tap
// through a bridge), xdp1 and xdp2, without and with offload, plus the
// generator's ceiling. What each number counts (docs/PERFORMANCE.md):
//
//   generator      frames/s through a live-frame program that drops them
//   no offload     frames/s the guest side handled: xdp1 = frames read from
//                  the tap; xdp2 = frames read and written back (QEMU
//                  forwarding the guest's XDP_TX)
//   offload xdp1   frames/s the offloaded program dropped (its own rxcnt)
//   offload xdp2   frames/s the host transmitted back out (counted by the
//                  sink on the far end: c1b in case 1, g in case 2)
//   native         as offload, with the guest's C compiled natively for the
//                  host hook instead of translated (the best xoffload can do)
//
// Measurements are interleaved round by round and each figure is the median
// over the rounds, so slow drift on a shared machine hits all cells alike.
#pragma once

#include <string>
#include <vector>

#include "bench/datapath/testbed.hpp"

namespace xo::bench {

struct RateOptions {
  double seconds = 2.0;  // per measurement
  int rounds = 3;
  std::vector<int> gen_cpus = {0};
  bool verbose = false;
};

// One measurement: the figure plus what else was seen, for the log.
struct Sample {
  double value_mpps = 0;      // the figure as defined above
  double offered_mpps = 0;    // generator rate during the measurement
  double guest_rx_mpps = 0;   // frames read from the tap (0 when offloaded)
  double min_mpps = 0, max_mpps = 0;  // of value_mpps over the rounds (medians only)
};

struct Cell {
  double no_offload_mpps = 0, offload_mpps = 0;
  double ratio() const { return no_offload_mpps > 0 ? offload_mpps / no_offload_mpps : 0; }
  // Reference: the guest's C compiled natively for the host hook (no
  // xoffload), counted like the offload figure.
  double native_mpps = 0;
  Sample no_offload, offload, native;  // medians of the details, for the log
};

// Deferred actions (issue 13), case 1 only (chain): xdp_half drops every
// other frame and redirects the rest through a guest-side DEVMAP.
//   half no offload  frames/s the guest reads from the tap (it would run
//                    xdp_half itself)
//   half offload     frames/s xdp_half ran on, on the host (its counter);
//                    guest_rx_mpps: the descriptor frames the guest reads
//   redirect-all / pass-all offload: frames/s the guest reads when every
//                    frame carries a descriptor / none does; the difference
//                    of their per-frame times is the descriptor's cost
struct DeferredRates {
  Sample half_no_offload, half_offload, redirect_all, pass_all;
  // The translated programs' own run time per frame over the whole run
  // (kernel run-time statistics): the descriptor's cost on the host is
  // their difference.
  double redirect_all_prog_ns = 0, pass_all_prog_ns = 0;
  double descriptor_prog_ns() const { return redirect_all_prog_ns - pass_all_prog_ns; }
  double ratio() const {
    return half_no_offload.value_mpps > 0 ? half_offload.value_mpps / half_no_offload.value_mpps : 0;
  }
  // ns per frame, redirect-all against pass-all (end to end: the program,
  // the push, the larger copy into the tap and the guest's read).
  double descriptor_ns() const {
    return redirect_all.value_mpps > 0 && pass_all.value_mpps > 0
               ? 1e3 / redirect_all.value_mpps - 1e3 / pass_all.value_mpps
               : 0;
  }
};

struct RateResults {
  double generator_mpps = 0;
  Sample generator;
  Cell cell[2][2];  // [case 0/1][xdp1/xdp2]
  DeferredRates deferred;
  double seconds = 0;
  int rounds = 0;
  bool stats = true;
};

Result<RateResults> run_rate_cases(Testbed& tb, const RateOptions& o);

}  // namespace xo::bench
