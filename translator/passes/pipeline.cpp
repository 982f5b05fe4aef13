// translate(): decode, run the passes in the order passes.hpp lists, encode.
#include <string>

#include "translator/isa/codec.hpp"
#include "core/diagnostics.hpp"
#include "translator/passes/epilogue.hpp"
#include "translator/passes/passes.hpp"

namespace xo::translator {
namespace {

Result<isa::Rewritten> lower_for_flavor(const std::vector<isa::Insn>& insns,
                                        const isa::Structure& st, PassContext& ctx) {
  switch (ctx.options.flavor) {
    case Flavor::Tc: return lower_tc(insns, st, ctx);
    case Flavor::Chain: return lower_chain(insns, st, ctx);
    case Flavor::Tun: return lower_tun(insns, st, ctx);
    default:
      return ctx.diag.whole("flavor " + std::string(flavor_name(ctx.options.flavor)) +
                            " is not supported by this translator; use tc, chain or tun");
  }
}

std::uint32_t prog_type_of(Flavor f) {
  return f == Flavor::Tc ? uapi::kProgTypeSchedCls : uapi::kProgTypeXdp;
}

// A chain program is only ever run as a tail call from the host's ingress
// XDP program, and since Linux 6.17 a prog array accepts a program only when
// its expected_attach_type matches the array's owner (the caller). libbpf
// loads every SEC("xdp") program, hence every host ingress program, as
// BPF_XDP; so the chain program must say BPF_XDP too. tc filters ignore it.
// A tun program is attached with TUNSETTXXDP, which (like every XDP attach
// point outside prog arrays) takes BPF_XDP programs only.
std::uint32_t expected_attach_type_of(Flavor f) {
  return f == Flavor::Chain || f == Flavor::Tun ? uapi::kAttachTypeXdp : 0;
}

}  // namespace

Result<Translated> translate(const Submission& submission, const Policy& policy,
                             const TranslateOptions& options) {
  Diagnoser diag(submission);
  if (submission.insns.empty()) return diag.whole("the program has no instructions").at_stage(Stage::Decode);
  auto insns = isa::decode(submission.insns);
  if (!insns) {
    const Error& e = insns.error();
    return (e.pc ? diag.at(*e.pc, e.message, e.code) : diag.whole(e.message, e.code)).at_stage(Stage::Decode);
  }
  auto structure = isa::analyze(*insns, declared_entries(submission));
  if (!structure) {
    const Error& e = structure.error();
    return (e.pc ? diag.at(*e.pc, e.message, e.code) : diag.whole(e.message, e.code)).at_stage(Stage::Decode);
  }
  return translate(submission, isa::Decoded{std::move(insns).value(), std::move(structure).value()}, policy,
                   options);
}

namespace {

Result<Translated> run_passes(const Submission& submission, isa::Decoded decoded, const Policy& policy,
                              const TranslateOptions& options) {
  Diagnoser diag(submission);
  Translated out;
  PassContext ctx{submission, policy, options, diag, out.notes};

  std::vector<isa::Insn>& insns = decoded.insns;
  const isa::Structure& structure = decoded.structure;
  if (submission.insns.empty()) return diag.whole("the program has no instructions");
  if (structure.layout.size() != insns.size() + 1 ||
      structure.layout.back() != submission.insns.size())
    return diag.whole("the decoded program (" + std::to_string(insns.size()) +
                      " insns) is not this submission's (" +
                      std::to_string(submission.insns.size()) +
                      " slots): pass the Report of preverify() for this submission");

  if (options.stats && options.stats_cpus == 0)  // the host's mistake, not the guest's
    return diag.whole("statistics need the stats map's row count (TranslateOptions::stats_cpus)");
  if (auto s = check_map_refs(insns, structure, ctx); !s) return s.error();
  if (auto s = check_helper_allowlist(insns, structure, ctx); !s) return s.error();
  auto lowered = lower_for_flavor(insns, structure, ctx);
  if (!lowered) return lowered.error();
  auto debug = remap_debug_info(submission.func_info, submission.line_info, structure.layout,
                                lowered->map, ctx);
  if (!debug) return debug.error();

  out.insns = std::move(lowered->insns);
  out.prog_type = prog_type_of(options.flavor);
  out.expected_attach_type = expected_attach_type_of(options.flavor);
  out.func_info = std::move(debug->func_info);
  out.line_info = std::move(debug->line_info);
  out.index_map = std::move(lowered->map);
  out.defers = ctx.defers;
  return out;
}

}  // namespace

Result<Translated> translate(const Submission& submission, isa::Decoded decoded, const Policy& policy,
                             const TranslateOptions& options) {
  auto out = run_passes(submission, std::move(decoded), policy, options);
  if (!out) return std::move(out.error()).at_stage(Stage::Translate);
  return out;
}

}  // namespace xo::translator
