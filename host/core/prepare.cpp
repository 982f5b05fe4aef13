// prepare(): the kernel-free half of the one load pipeline (pipeline.hpp):
// bounds, preverify, translate. Compiled without libbpf, so the dispatch
// fuzzer runs the real pipeline up to the kernel.
#include <cerrno>
#include <utility>

#include "core/diagnostics.hpp"
#include "host/core/pipeline.hpp"

namespace xo::host {

Result<Prepared> prepare(const Submission& s, const Policy& policy, const PipelineOptions& o) {
  // Bounds first: nothing guest-sized is decoded past its quota.
  if (s.insns.empty()) return Diagnoser(s).whole("no instructions").at_stage(Stage::Input);
  if (s.insns.size() > o.max_insns)
    return Diagnoser(s)
        .whole(std::to_string(s.insns.size()) + " instructions exceed the quota of " + std::to_string(o.max_insns),
               EDQUOT)
        .at_stage(Stage::Input);
  if (s.license.size() > 128)
    return Diagnoser(s).whole("license string longer than 128 bytes").at_stage(Stage::Input);

  Prepared out;
  SubmissionMaps table(s);
  auto pre = preverify(s, policy, table, o.flavor);
  if (!pre) return pre.error();
  for (auto& f : pre->notes) out.notes.push_back(std::move(f.message));
  out.pointer_safe = pre->pointer_safe;
  out.pointer_note = pre->pointer_note;

  translator::TranslateOptions topts;
  topts.flavor = o.flavor;
  topts.tap_ifindex = o.tap_ifindex;
  topts.stats = o.stats;
  topts.stats_cpus = o.stats_cpus;
  topts.guest_ifindex = s.guest_ifindex;
  topts.kfunc_id = o.kfunc_id;
  topts.chain_tx = o.chain_tx;
  topts.guest_mac = o.guest_mac;
  topts.defer = o.defer;
  topts.cookie = o.cookie;
  // preverify already decoded and analyzed the program: the host decodes a
  // guest's bytes once.
  auto tr = translator::translate(s, std::move(pre->decoded), policy, topts);
  if (!tr) return tr.error();
  for (const auto& n : tr->notes) out.notes.push_back(n);
  out.translated = std::move(*tr);
  return out;
}

}  // namespace xo::host
