// Translator tiers. The direct tier (translate(), passes.hpp) rewrites
// bytecode and is always there. The IR tier (translator/ir, LLVM) lifts the
// direct tier's program to LLVM IR, optimises it for this host and
// re-emits it; it is linked only by doors that want it (the CLI, the daemon,
// tests), never by the core a VMM embeds, so the pipeline receives it as a
// function (Reemit) instead of linking it.
#pragma once

#include <functional>
#include <optional>
#include <string_view>

#include "core/policy.hpp"
#include "core/result.hpp"
#include "core/submission.hpp"
#include "translator/passes/passes.hpp"

namespace xo::translator {

enum class Tier : std::uint8_t {
  Direct,  // the bytecode rewriter only
  Ir,      // the IR tier's program, or an error
  Auto,    // the IR tier's program when it is smaller and the kernel takes it, else the direct one (with a note why)
};
std::string_view tier_name(Tier t);
std::optional<Tier> parse_tier(std::string_view s);

// The direct tier's program (map refs still guest handles) -> the IR tier's
// program for the same host: same prog type, guest handles, func/line info
// pointing at the guest's BTF, index map to guest slots. Only ever a subset
// of the direct program's helpers and maps (translator/ir checks it).
// How many argument registers (r1..rN) a helper reads: the policy's
// prototype for guest helpers, else the host helpers the lowerings emit
// (skb_*, redirect, get_smp_processor_id; core/uapi.hpp), else 5.
unsigned helper_nargs(const Policy& policy, std::int32_t helper);

using Reemit = std::function<Result<Translated>(const Submission& submission, const Translated& direct,
                                                const Policy& policy)>;

}  // namespace xo::translator
