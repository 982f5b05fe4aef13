// prepare(): the kernel-free half of the one load pipeline (pipeline.hpp):
// bounds, preverify, translate. Compiled without libbpf, so the dispatch
// fuzzer runs the real pipeline up to the kernel.
#include <cerrno>
#include <utility>

#include "core/diagnostics.hpp"
#include "host/core/pipeline.hpp"
#include "translator/isa/cfg.hpp"

namespace xo::host {
namespace {

std::size_t slots_of(const translator::Translated& tr) { return isa::slot_layout(tr.insns).back(); }

// The IR tier on the direct tier's program (tier.hpp). Ir: its program or
// its error. Auto: its program only when it is smaller; otherwise, or when
// it fails, the direct program with a note saying why.
Status choose_tier(const Submission& s, const Policy& policy, const PipelineOptions& o, Prepared& out) {
  using translator::Tier;
  Diagnoser diag(s);
  const std::string kept = diag.label() + ": kept the direct tier: ";
  if (!o.reemit) {
    if (o.tier == Tier::Ir)
      return diag.whole("the IR tier is not linked into this program (xoffload and xoffloadd have it)", EOPNOTSUPP)
          .at_stage(Stage::Translate);
    out.notes.push_back(kept + "the IR tier is not linked into this program");
    return Ok{};
  }
  const std::size_t direct = slots_of(out.translated);
  if (direct > o.max_ir_slots) {
    const std::string why = "the IR tier takes programs of at most " + std::to_string(o.max_ir_slots) +
                            " slots (LLVM's time grows faster than linear); this one has " + std::to_string(direct);
    if (o.tier == Tier::Ir) return diag.whole(why, E2BIG).at_stage(Stage::Translate);
    out.notes.push_back(kept + why);
    return Ok{};
  }
  auto ir = o.reemit(s, out.translated, policy);
  if (!ir) {
    if (o.tier == Tier::Ir) return ir.error();
    out.notes.push_back(kept + ir.error().message);
    return Ok{};
  }
  for (const auto& n : ir->notes) out.notes.push_back(n);
  const std::size_t lifted = slots_of(*ir);
  if (o.tier == Tier::Auto && lifted >= direct) {
    out.notes.push_back(kept + "the IR tier's program is not smaller (" + std::to_string(lifted) + " >= " +
                        std::to_string(direct) + " slots)");
    return Ok{};
  }
  if (o.tier == Tier::Auto) out.fallback = std::move(out.translated);
  out.translated = std::move(*ir);
  out.tier = Tier::Ir;
  return Ok{};
}

}  // namespace

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
  if (o.tier != translator::Tier::Direct)
    if (auto st = choose_tier(s, policy, o, out); !st) return st.error();
  return out;
}

}  // namespace xo::host
