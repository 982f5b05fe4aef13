// The pre-verifier's entry point: check before anything is changed.
#include "verifier-front/preverify.hpp"

#include "translator/isa/program.hpp"
#include "verifier-front/checks.hpp"

namespace xo {

Result<Report> preverify(const Submission& sub, const Policy& policy, const MapTable& maps,
                         Flavor flavor) {
  verifier::Context cx{sub, policy, maps, flavor, Diagnoser(sub), {}, {}, {}, {}, {}};
  for (auto pass : {verifier::check_structure, verifier::check_cfg, verifier::check_map_refs,
                    verifier::check_helpers}) {
    if (auto s = pass(cx); !s) return std::move(s.error()).at_stage(Stage::Preverify);
  }
  verifier::compute_coverage(cx);
  if (auto s = verifier::check_dataflow(cx); !s) return std::move(s.error()).at_stage(Stage::Preverify);
  if (auto s = verifier::check_loop_bounds(cx); !s) return std::move(s.error()).at_stage(Stage::Preverify);
  verifier::check_pointer_flow(cx);

  // The program and the CFG check_cfg built for it go to translate() as they are.
  cx.report.decoded = {std::move(cx.insns), std::move(cx.cfg)};
  return std::move(cx.report);
}

}  // namespace xo
