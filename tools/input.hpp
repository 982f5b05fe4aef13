// What the pipeline commands (verify, translate, dump, run, load) share:
// reading the guest program (an ELF object through the guest builder, or raw
// bytecode), the common options, and preverify + translate with placeholder
// map fds for the commands that never load anything.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tools/cli.hpp"
#include "core/result.hpp"
#include "core/submission.hpp"
#include "host/core/pipeline.hpp"
#include "translator/passes/passes.hpp"
#include "core/policy.hpp"
#include "verifier-front/preverify.hpp"

namespace xo::cli {

// The options every pipeline command accepts; `extra` follows them in --help.
std::vector<OptionSpec> input_options(std::vector<OptionSpec> extra);

// FILE (positional) through the guest builder, or with --raw the file as
// 8-byte slots (no maps, no BTF; license "GPL", name from the file name).
// --program NAME picks one program of a multi-program object;
// --map-size NAME=N (repeatable, or NAME=N,NAME2=M) sizes maps before load;
// --guest-ifindex N fills Submission::guest_ifindex. The builder's notes
// (maps left out, ...) go to `notes` when given.
Result<Submission> read_submission(const Args& args, std::vector<std::string>* notes = nullptr);

// --flavor tc|chain (default tc).
Result<Flavor> flavor_option(const Args& args);

// What every pipeline command starts from: --flavor and the guest program.
struct PipelineInput {
  Flavor flavor;
  Submission sub;
  std::vector<std::string> notes;  // the builder's
};

// flavor_option + read_submission for command `cmd`. On an error, prints
// "<cmd>: <message>" to err and returns the exit code: kExitUsage for a bad
// option or not exactly one FILE, kExitFailure for a FILE that does not read.
std::variant<PipelineInput, int> read_pipeline_input(const Args& args, std::string_view cmd, std::ostream& err);

// An unsigned number option (decimal or 0x hex) with a default.
Result<std::uint32_t> u32_option(const Args& args, std::string_view name, std::uint32_t fallback);

// The offline half of the one load pipeline (host::prepare): preverify and
// translate, nothing loaded. Map references stay guest handles (`r1 = 1 ll`
// is the guest's map handle 1; handle 0 is the host's stats map), exactly
// what the host encodes into fds at load time. `stats` adds the per-action
// counting code.
// `tier` Ir or Auto also runs the LLVM IR tier (translator/ir) for this
// host's BPF CPU version; offline, Auto can apply only its size rule.
Result<host::Prepared> translate_offline(const Submission& sub, Flavor flavor, std::uint32_t tap_ifindex,
                                         bool stats, translator::Tier tier = translator::Tier::Direct);

// --tier ir|direct|auto (default direct).
Result<translator::Tier> tier_option(const Args& args);

std::string_view prog_type_name(std::uint32_t prog_type);

}  // namespace xo::cli
