// Output of the data path benchmark: the RFC's table as markdown, the
// per-packet cost table, and the JSON that scripts/bench and the chart read:
//   {"generator_mpps": x,
//    "case1": {"xdp1": {"no_offload_mpps", "offload_mpps", "ratio"}, "xdp2": {...}},
//    "case2": {...},
//    "cost": [{"prog", "hook", "native_ns", "translated_ns",
//              "translated_stats_ns", "ratio", "stats_ns"}, ...],
//    "config": {...}}
#pragma once

#include <string>
#include <vector>

#include "bench/datapath/cost_table.hpp"
#include "bench/datapath/rate_cases.hpp"

namespace xo::bench {

std::string rate_table_markdown(const RateResults& r);
// Issue 13's rows: xdp_half with and without offload, the descriptor's cost.
std::string deferred_table_markdown(const RateResults& r);
std::string cost_table_markdown(const std::vector<CostRow>& rows);
std::string to_json(const RateResults& r, const std::vector<CostRow>& cost, const std::string& config_json);

}  // namespace xo::bench
