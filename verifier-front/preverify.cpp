// The pre-verifier's entry point: check before anything is changed.
#include "verifier-front/preverify.hpp"

#include "verifier-front/checks.hpp"

namespace xo {

Result<Report> preverify(const Submission& sub, const Policy& policy, const MapTable& maps,
                         Flavor flavor) {
  verifier::Context cx{sub, policy, maps, flavor, {}, {}, {}, {}};
  for (auto pass : {verifier::check_structure, verifier::check_cfg, verifier::check_map_refs,
                    verifier::check_helpers}) {
    if (auto s = pass(cx); !s) return s.error();
  }
  verifier::compute_coverage(cx);
  if (auto s = verifier::check_dataflow(cx); !s) return s.error();
  return std::move(cx.report);
}

}  // namespace xo
