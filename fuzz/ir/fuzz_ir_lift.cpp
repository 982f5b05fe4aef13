// libFuzzer target for the LLVM IR tier (translator/ir): a guest Submission
// (fuzz/verifier/fuzz_input.hpp's layout, the verifier fuzzer's seeds) goes
// through preverify and the direct tier exactly as the daemon runs them, and
// every program they accept is lifted, optimised and re-emitted.
//
// Properties (a violation traps, which libFuzzer reports as a crash):
//  * reemit() never crashes, and never reaches LLVM's fatal error paths; a
//    refusal is an Error with one line naming the program, at Stage::Translate;
//  * an emitted program decodes, has one valid CFG, keeps the direct
//    program's prog type, uses only helpers and (kind, handle) map refs the
//    direct program uses, and encodes with the session's fds;
//  * its index map sends every emitted slot to a guest slot or nowhere, its
//    line_info starts at 0, is strictly increasing and inside the program.
#include <cstddef>
#include <cstdint>
#include <set>
#include <span>
#include <variant>

#include "fuzz/verifier/fuzz_input.hpp"
#include "translator/ir/ir.hpp"
#include "translator/isa/cfg.hpp"
#include "translator/isa/codec.hpp"
#include "translator/passes/passes.hpp"
#include "verifier-front/preverify.hpp"

namespace {

void require(bool ok) {
  if (!ok) __builtin_trap();
}

void check_refusal(const xo::Error& e, const xo::Submission& sub) {
  require(!e.message.empty());
  require(e.message.find('\n') == std::string::npos);
  require(e.message.rfind("prog '" + sub.name + "'", 0) == 0);
  require(e.stage == xo::Stage::Translate);
}

void check_emitted(const xo::translator::Translated& ir, const xo::translator::Translated& direct,
                   const xo::Submission& sub) {
  using namespace xo::isa;
  require(ir.prog_type == direct.prog_type);
  require(ir.expected_attach_type == direct.expected_attach_type);
  std::set<std::int32_t> helpers;
  std::set<std::pair<int, std::int32_t>> maps;
  for (const Insn& insn : direct.insns) {
    if (auto* c = std::get_if<Call>(&insn)) helpers.insert(c->helper);
    if (auto* m = std::get_if<LoadMapFd>(&insn)) maps.insert({1, m->fd});
    if (auto* v = std::get_if<LoadMapValue>(&insn)) maps.insert({2, v->fd});
  }
  for (const Insn& insn : ir.insns) {
    if (auto* c = std::get_if<Call>(&insn)) require(helpers.count(c->helper));
    if (auto* m = std::get_if<LoadMapFd>(&insn)) require(maps.count({1, m->fd}));
    if (auto* v = std::get_if<LoadMapValue>(&insn)) require(maps.count({2, v->fd}));
    require(!std::holds_alternative<CallLocal>(insn) && !std::holds_alternative<CallKfunc>(insn));
  }
  auto structure = analyze(ir.insns);
  require(structure.ok());
  const std::size_t slots = structure->layout.back();
  require(ir.index_map.new_to_old.size() == slots);
  for (const auto& old : ir.index_map.new_to_old)
    if (old) require(*old < sub.insns.size());
  for (std::size_t i = 0; i < ir.line_info.size(); ++i) {
    require(ir.line_info[i].insn_off < slots);
    require(index_at_slot(structure->layout, ir.line_info[i].insn_off).has_value());
    if (i > 0) require(ir.line_info[i - 1].insn_off < ir.line_info[i].insn_off);
  }
  if (!ir.line_info.empty()) require(ir.line_info.front().insn_off == 0);
  auto bytes = ir.encode(sub, [&sub](std::uint32_t h) -> std::optional<int> {
    if (h == xo::translator::kStatsMapHandle) return 99;
    for (std::size_t i = 0; i < sub.maps.size(); ++i)
      if (sub.maps[i].handle == h) return 100 + int(i);
    return std::nullopt;
  });
  require(bytes.ok());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > 64 * 1024) return 0;  // LLVM's -O2 on long inputs only slows the search
  const xo::fuzz::FuzzCase c = xo::fuzz::parse_fuzz_input(std::span(data, size));
  const xo::Submission& sub = c.sub;
  const xo::DefaultPolicy policy;
  const xo::SubmissionMaps maps(sub);
  auto report = xo::preverify(sub, policy, maps, c.flavor);
  if (!report.ok()) return 0;
  xo::translator::TranslateOptions options;
  options.flavor = c.flavor;
  options.tap_ifindex = 9;
  options.stats = c.stats_map;
  options.stats_cpus = 2;
  options.guest_ifindex = sub.guest_ifindex;
  auto direct = xo::translator::translate(sub, std::move(report->decoded), policy, options);
  if (!direct.ok()) return 0;
  // Both CPU versions the host may probe, alternating on the input.
  xo::ir::IrOptions io;
  io.cpu = size % 2 ? "v4" : "v3";
  auto ir = xo::ir::reemit(sub, *direct, policy, io);
  if (!ir.ok()) {
    check_refusal(ir.error(), sub);
    return 0;
  }
  check_emitted(ir->program, *direct, sub);
  return 0;
}
