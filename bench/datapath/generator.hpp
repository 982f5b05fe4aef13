// The traffic generator: XDP live frames. BPF_PROG_TEST_RUN with
// BPF_F_TEST_XDP_LIVE_FRAMES runs `prog` on `repeat` freshly initialised
// frames, in batches of `batch_size`, as if they had arrived on
// `ingress_ifindex`; the program's verdict is then carried out for real:
// XDP_TX transmits out of the ingress device, XDP_REDIRECT through the
// redirect target, XDP_PASS hands the frame to the stack, XDP_DROP frees it.
//
// One thread per entry of `cpus`, each pinned, each looping test runs until
// the duration has passed; `frames` is the sum of their completed repeats
// and `seconds` the wall time from the common start to the last thread's
// end, so frames / seconds is the rate at which the ingress program got
// frames through it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "bench/datapath/netdev.hpp"

namespace xo::bench {

struct GeneratorSpec {
  int prog_fd = -1;
  int ingress_ifindex = 0;           // in the generator threads' netns
  const ChildNetns* netns = nullptr;  // nullptr: the caller's netns
  std::vector<std::vector<std::uint8_t>> frames;  // rotated per test run
  double seconds = 1.0;
  std::vector<int> cpus = {0};
  std::uint32_t batch_size = 64;
};

struct GeneratorRun {
  std::uint64_t frames = 0;
  double seconds = 0;
  double mpps() const { return seconds > 0 ? double(frames) / seconds / 1e6 : 0; }
};

// `on_start` runs on the calling thread right before the threads are
// released (counter snapshots), `on_stop` right after they have all ended.
Result<GeneratorRun> run_generator(const GeneratorSpec& spec, const std::function<void()>& on_start = {},
                                   const std::function<void()>& on_stop = {});

}  // namespace xo::bench
