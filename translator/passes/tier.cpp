#include "translator/passes/tier.hpp"

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

}  // namespace xo::translator
