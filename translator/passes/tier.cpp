#include "translator/passes/tier.hpp"

#include "core/uapi.hpp"

namespace xo::translator {

std::string_view tier_name(Tier t) {
  switch (t) {
    case Tier::Direct: return "direct";
    case Tier::Ir: return "ir";
    case Tier::Auto: return "auto";
  }
  return "?";
}

std::optional<Tier> parse_tier(std::string_view s) {
  if (s == "direct") return Tier::Direct;
  if (s == "ir") return Tier::Ir;
  if (s == "auto") return Tier::Auto;
  return std::nullopt;
}

unsigned helper_nargs(const Policy& policy, std::int32_t helper) {
  if (const HelperProto* p = policy.helper(helper)) return p->nargs;
  switch (helper) {
    case uapi::kGetSmpProcessorId: return 0;
    case uapi::kRedirect: return 2;
    case uapi::kSkbChangeTail:
    case uapi::kSkbChangeHead: return 3;
    case uapi::kSkbLoadBytes: return 4;
    case uapi::kSkbStoreBytes: return 5;
    default: return 5;
  }
}

}  // namespace xo::translator
