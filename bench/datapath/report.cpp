#include "bench/datapath/report.hpp"

#include <cstdio>

namespace xo::bench {

namespace {

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

const char* kCaseTitle[2] = {"case 1: XDP_REDIRECT into the tap", "case 2: through a bridge (skb)"};
const char* kProgTitle[2] = {"xdp1 (drop)", "xdp2 (TX)"};

}  // namespace

std::string rate_table_markdown(const RateResults& r) {
  std::string s;
  s += "| case | program | without offload (Mpps) | with offload (Mpps) | ratio | with offload / generator | "
       "native on host (Mpps) | offload / native |\n";
  s += "|---|---|---:|---:|---:|---:|---:|---:|\n";
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < 2; ++i) {
      const Cell& cell = r.cell[c][i];
      s += std::string("| ") + kCaseTitle[c] + " | " + kProgTitle[i] + " | " + fmt("%.2f", cell.no_offload_mpps) +
           " | " + fmt("%.2f", cell.offload_mpps) + " | " + fmt("%.2fx", cell.ratio()) + " | " +
           fmt("%.0f%%", r.generator_mpps > 0 ? 100 * cell.offload_mpps / r.generator_mpps : 0) + " | " +
           fmt("%.2f", cell.native_mpps) + " | " +
           fmt("%.0f%%", cell.native_mpps > 0 ? 100 * cell.offload_mpps / cell.native_mpps : 0) + " |\n";
    }
  s += "\ngenerator_mpps (ceiling: live frames dropped by the ingress program itself): " +
       fmt("%.2f", r.generator_mpps) + "\n";
  s += "\nDetail (medians): offered = generator rate during the measurement, guest rx = frames read from the tap, "
       "range = lowest and highest figure over the rounds.\n\n";
  s += "| measurement | figure (Mpps) | range (Mpps) | offered (Mpps) | guest rx (Mpps) |\n|---|---:|---:|---:|---:|\n";
  s += "| generator ceiling | " + fmt("%.3f", r.generator.value_mpps) + " | " + fmt("%.2f", r.generator.min_mpps) +
       fmt("-%.2f", r.generator.max_mpps) + " | " + fmt("%.3f", r.generator.offered_mpps) + " | " +
       fmt("%.3f", r.generator.guest_rx_mpps) + " |\n";
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < 2; ++i)
      for (int off = 0; off < 3; ++off) {
        const Sample& x = off == 2 ? r.cell[c][i].native : off ? r.cell[c][i].offload : r.cell[c][i].no_offload;
        s += std::string("| case ") + std::to_string(c + 1) + " xdp" + std::to_string(i + 1) +
             (off == 2 ? " native" : off ? " offload" : " no offload") + " | " + fmt("%.3f", x.value_mpps) + " | " +
             fmt("%.2f", x.min_mpps) + fmt("-%.2f", x.max_mpps) + " | " +
             fmt("%.3f", x.offered_mpps) + " | " + fmt("%.3f", x.guest_rx_mpps) + " |\n";
      }
  const DeferredRates& d = r.deferred;
  const std::pair<const char*, const Sample*> rows[] = {{"case 1 half no offload", &d.half_no_offload},
                                                        {"case 1 half offload", &d.half_offload},
                                                        {"case 1 redirect-all offload", &d.redirect_all},
                                                        {"case 1 pass-all offload", &d.pass_all}};
  for (const auto& [name, x] : rows)
    s += std::string("| ") + name + " | " + fmt("%.3f", x->value_mpps) + " | " + fmt("%.2f", x->min_mpps) +
         fmt("-%.2f", x->max_mpps) + " | " + fmt("%.3f", x->offered_mpps) + " | " + fmt("%.3f", x->guest_rx_mpps) +
         " |\n";
  return s;
}

std::string deferred_table_markdown(const RateResults& r) {
  const DeferredRates& d = r.deferred;
  std::string s;
  s += "| program (case 1, chain) | without offload (Mpps) | with offload (Mpps) | ratio | descriptor frames to the "
       "guest (Mpps) |\n|---|---:|---:|---:|---:|\n";
  s += "| xdp_half (drop half, redirect half through a guest DEVMAP) | " + fmt("%.2f", d.half_no_offload.value_mpps) +
       " | " + fmt("%.2f", d.half_offload.value_mpps) + " | " + fmt("%.2fx", d.ratio()) + " | " +
       fmt("%.2f", d.half_offload.guest_rx_mpps) + " |\n";
  s += "\nDescriptor cost per frame, end to end (every frame redirected with a descriptor, " +
       fmt("%.2f", d.redirect_all.value_mpps) + " Mpps, against every frame passed without one, " +
       fmt("%.2f", d.pass_all.value_mpps) + " Mpps): " + fmt("%+.1f", d.descriptor_ns()) + " ns per frame\n";
  s += "\nDescriptor cost per frame in the host program (kernel run-time statistics of the ingress program "
       "that tail-calls each translated chain program, over the run): redirect-all " + fmt("%.1f", d.redirect_all_prog_ns) + " ns, pass-all " +
       fmt("%.1f", d.pass_all_prog_ns) + " ns: " + fmt("%+.1f", d.descriptor_prog_ns()) + " ns per frame\n";
  return s;
}

std::string cost_table_markdown(const std::vector<CostRow>& rows) {
  std::string s;
  s += "| program | hook | native (ns/pkt) | translated, stats off (ns/pkt) | translated / native | "
       "translated, stats on (ns/pkt) | stats cost (ns/pkt) | same code as native after verification |\n";
  s += "|---|---|---:|---:|---:|---:|---:|---|\n";
  for (const auto& r : rows)
    s += "| " + r.prog + " | " + (r.hook == "tc" ? std::string("tc (vs native tc)") : "chain (vs native XDP)") +
         " | " + fmt("%.2f", r.native_ns) + " | " + fmt("%.2f", r.translated_ns) + " | " +
         fmt("%.3fx", r.ratio()) + " | " + fmt("%.2f", r.translated_stats_ns) + " | " +
         fmt("%+.2f", r.stats_ns()) + " | " + (r.same_code ? "yes" : "no") + " |\n";
  return s;
}

std::string to_json(const RateResults& r, const std::vector<CostRow>& cost, const std::string& config_json) {
  std::string s = "{\n  \"generator_mpps\": " + fmt("%.4f", r.generator_mpps) + ",\n  \"generator_range_mpps\": [" +
                  fmt("%.4f", r.generator.min_mpps) + fmt(", %.4f", r.generator.max_mpps) + "]";
  for (int c = 0; c < 2; ++c) {
    s += ",\n  \"case" + std::to_string(c + 1) + "\": {";
    for (int i = 0; i < 2; ++i) {
      const Cell& cell = r.cell[c][i];
      s += std::string(i ? ", " : "") + "\"xdp" + std::to_string(i + 1) + "\": {\"no_offload_mpps\": " +
           fmt("%.4f", cell.no_offload_mpps) + ", \"offload_mpps\": " + fmt("%.4f", cell.offload_mpps) +
           ", \"ratio\": " + fmt("%.4f", cell.ratio()) + ", \"offered_no_offload_mpps\": " +
           fmt("%.4f", cell.no_offload.offered_mpps) + ", \"offered_offload_mpps\": " +
           fmt("%.4f", cell.offload.offered_mpps) + ", \"guest_rx_offload_mpps\": " +
           fmt("%.4f", cell.offload.guest_rx_mpps) + ", \"native_mpps\": " + fmt("%.4f", cell.native_mpps) +
           ", \"no_offload_range_mpps\": [" +
           fmt("%.4f", cell.no_offload.min_mpps) + fmt(", %.4f", cell.no_offload.max_mpps) +
           "], \"offload_range_mpps\": [" + fmt("%.4f", cell.offload.min_mpps) +
           fmt(", %.4f", cell.offload.max_mpps) + "]}";
    }
    s += "}";
  }
  s += ",\n  \"deferred\": {\"half_no_offload_mpps\": " + fmt("%.4f", r.deferred.half_no_offload.value_mpps) +
       ", \"half_offload_mpps\": " + fmt("%.4f", r.deferred.half_offload.value_mpps) + ", \"ratio\": " +
       fmt("%.4f", r.deferred.ratio()) + ", \"half_offload_guest_rx_mpps\": " +
       fmt("%.4f", r.deferred.half_offload.guest_rx_mpps) + ", \"redirect_all_mpps\": " +
       fmt("%.4f", r.deferred.redirect_all.value_mpps) + ", \"pass_all_mpps\": " +
       fmt("%.4f", r.deferred.pass_all.value_mpps) + ", \"descriptor_ns\": " +
       fmt("%.2f", r.deferred.descriptor_ns()) + ", \"redirect_all_prog_ns\": " +
       fmt("%.2f", r.deferred.redirect_all_prog_ns) + ", \"pass_all_prog_ns\": " +
       fmt("%.2f", r.deferred.pass_all_prog_ns) + ", \"descriptor_prog_ns\": " +
       fmt("%.2f", r.deferred.descriptor_prog_ns()) + "}";
  s += ",\n  \"cost\": [";
  for (std::size_t k = 0; k < cost.size(); ++k) {
    const auto& c = cost[k];
    s += std::string(k ? ",\n" : "\n") + "    {\"prog\": \"" + c.prog + "\", \"hook\": \"" + c.hook +
         "\", \"native_ns\": " + fmt("%.3f", c.native_ns) + ", \"translated_ns\": " + fmt("%.3f", c.translated_ns) +
         ", \"translated_stats_ns\": " + fmt("%.3f", c.translated_stats_ns) + ", \"ratio\": " +
         fmt("%.4f", c.ratio()) + ", \"stats_ns\": " + fmt("%.3f", c.stats_ns()) +
         ", \"same_code\": " + (c.same_code ? "true" : "false") + "}";
  }
  s += cost.empty() ? "]" : "\n  ]";
  s += ",\n  \"config\": " + config_json + "\n}\n";
  return s;
}

}  // namespace xo::bench
