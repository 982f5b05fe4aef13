// remap_debug_info: func_info and line_info follow their instructions.
//
//   guest                                  host (after lowering inserted 2 slots at 5)
//   func_info  {0, main} {20, parse}       {0, main} {22, parse}
//   line_info  {0, l12} {5, l14} {21, l30} {0, l12} {5, l14} {23, l30}
//
// Each entry moves to where its instruction now starts (IndexMap.old_to_new).
// The appended return epilogue lies inside the main function and inherits the
// line of the exit it replaced. The kernel wants func_info sorted with the
// first at 0, line_info strictly increasing with the first at 0, and a line at
// every function start; an entry that would break this is dropped, with a note.
#include <string>

#include "core/diagnostics.hpp"
#include "translator/passes/passes.hpp"

namespace xo::translator {
namespace {

Status check_offsets(std::span<const std::size_t> layout, std::uint32_t off, const char* what,
                     std::size_t n, PassContext& ctx) {
  if (!isa::index_at_slot(layout, off))
    return ctx.diag.whole(std::string(what) + "[" + std::to_string(n) + "].insn_off " +
                          std::to_string(off) + " is not the start of an instruction");
  return Ok{};
}

}  // namespace

Result<DebugInfo> remap_debug_info(std::span<const FuncInfo> func_info,
                                   std::span<const LineInfo> line_info,
                                   std::span<const std::size_t> guest_layout,
                                   const isa::IndexMap& map, PassContext& ctx) {
  // Check: every offset names an instruction the map knows about.
  const std::size_t total = guest_layout.empty() ? 0 : guest_layout.back();
  for (std::size_t n = 0; n < func_info.size(); ++n) {
    if (func_info[n].insn_off >= total || func_info[n].insn_off >= map.old_to_new.size())
      return ctx.diag.whole("func_info[" + std::to_string(n) + "].insn_off " +
                            std::to_string(func_info[n].insn_off) + " is outside the program");
    if (auto s = check_offsets(guest_layout, func_info[n].insn_off, "func_info", n, ctx); !s)
      return s.error();
  }
  for (std::size_t n = 0; n < line_info.size(); ++n) {
    if (line_info[n].insn_off >= total || line_info[n].insn_off >= map.old_to_new.size())
      return ctx.diag.whole("line_info[" + std::to_string(n) + "].insn_off " +
                            std::to_string(line_info[n].insn_off) + " is outside the program");
    if (auto s = check_offsets(guest_layout, line_info[n].insn_off, "line_info", n, ctx); !s)
      return s.error();
  }

  // Rewrite.
  DebugInfo out;
  for (const auto& f : func_info) {
    FuncInfo g = f;
    g.insn_off = static_cast<std::uint32_t>(map.old_to_new[f.insn_off]);
    if (!out.func_info.empty() && g.insn_off <= out.func_info.back().insn_off)
      return ctx.diag.whole("func_info is not sorted by instruction offset");
    out.func_info.push_back(g);
  }
  for (const auto& l : line_info) {
    LineInfo g = l;
    g.insn_off = static_cast<std::uint32_t>(map.old_to_new[l.insn_off]);
    if (!out.line_info.empty() && g.insn_off <= out.line_info.back().insn_off) {
      ctx.notes.push_back("line_info entry for guest insn " + std::to_string(l.insn_off) +
                          " dropped: it shares host insn " + std::to_string(g.insn_off) +
                          " with the previous entry");
      continue;
    }
    out.line_info.push_back(g);
  }
  return out;
}

}  // namespace xo::translator
