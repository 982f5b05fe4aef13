// The host's per-action stats map (layout: translator/passes/passes.hpp):
// created, sized and read here for every door (Offload, the session backend,
// the CLI's pinned-session reader), so its layout is written down once.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "core/result.hpp"
#include "core/unique_fd.hpp"
#include "translator/passes/passes.hpp"

namespace xo::host {

// The rows a stats map has on this host: its possible CPUs. What offline
// translations (xoffload translate/dump/verify) pass as stats_cpus.
Result<std::uint32_t> stats_rows_here();

// An ARRAY with one value of stats_rows_here() rows, typed by BTF (struct
// xo_action_stats: cpu[N].{aborted,drop,pass,tx,redirect,unknown}) so that
// bpftool labels each action. `kernel_name`: names.hpp.
Result<UniqueFd> create_stats_map(const std::string& kernel_name);

// Its rows, from the map itself: what PipelineOptions::stats_cpus must say.
Result<std::uint32_t> stats_map_cpus(int fd);

// Per-action totals over every CPU's row; index = XDP action, kStatsSlotUnknown = other.
using ActionTotals = std::array<std::uint64_t, translator::kStatsSlots>;
Result<ActionTotals> read_stats_map(int fd);

}  // namespace xo::host
