// reemit(): the steps ir.hpp lists, in order, and the mapping of the emitted
// program's line info and index map back to the guest through the direct
// tier's.
#include <algorithm>
#include <chrono>
#include <sstream>

#include "core/diagnostics.hpp"
#include "llvm/IR/DiagnosticInfo.h"
#include "llvm/IR/DiagnosticPrinter.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "translator/ir/ir.hpp"
#include "translator/ir/tier_internal.hpp"
#include "translator/isa/cfg.hpp"

namespace xo::ir {
namespace {

// LLVM reports backend errors (stack limit, unsupported ops) as diagnostics;
// without a handler an error diagnostic exits the process.
struct Diagnostics {
  std::string first_error;
  static void handle(const llvm::DiagnosticInfo* di, void* self) {
    if (di->getSeverity() != llvm::DS_Error) return;
    auto* d = static_cast<Diagnostics*>(self);
    if (!d->first_error.empty()) return;
    llvm::raw_string_ostream os(d->first_error);
    llvm::DiagnosticPrinterRawOStream printer(os);
    di->print(printer);
  }
};

std::vector<std::size_t> declared_entries(const translator::Translated& tr) {
  std::vector<std::size_t> v;
  for (const FuncInfo& f : tr.func_info) v.push_back(f.insn_off);
  return v;
}

// Per emitted slot, the direct slot its code came from (nullopt before the
// first line record).
std::vector<std::optional<std::size_t>> direct_slots(const Emitted& e) {
  std::vector<std::optional<std::size_t>> out(e.text.size());
  std::size_t k = 0;
  std::optional<std::size_t> cur;
  for (std::size_t n = 0; n < out.size(); ++n) {
    while (k < e.lines.size() && e.lines[k].slot <= n) {
      if (e.lines[k].line > 0) cur = e.lines[k].line - 1;
      ++k;
    }
    out[n] = cur;
  }
  return out;
}

Result<IrResult> run(const Submission& sub, const translator::Translated& direct, const Policy& policy,
                     const IrOptions& options) {
  auto structure = isa::analyze(direct.insns, declared_entries(direct));
  if (!structure) return err(EINVAL, "direct program: " + structure.error().describe());
  auto nargs_of = [&policy](std::int32_t helper) { return translator::helper_nargs(policy, helper); };
  auto frames = analyze_frames(direct.insns, *structure, nargs_of);
  if (!frames) return frames.error();
  const Capabilities caps = capabilities_of(direct.insns);

  llvm::LLVMContext ctx;
  Diagnostics diags;
  ctx.setDiagnosticHandlerCallBack(&Diagnostics::handle, &diags);
  auto tm = bpf_target_machine(options.cpu);
  if (!tm) return tm.error();

  auto module = lift(ctx, DirectProgram{direct, *structure, *frames}, policy, sub.name);
  if (!module) return module.error();
  llvm::Module& m = **module;
  m.setDataLayout((*tm)->createDataLayout());
  m.setTargetTriple("bpfel");
  if (auto s = check_calls(m, caps); !s) return Error{"lifted IR: " + s.error().message, std::nullopt, s.error().code};
  if (auto s = optimize(m, **tm); !s) return s.error();
  if (!diags.first_error.empty()) return err(EINVAL, "LLVM: " + diags.first_error);
  if (auto s = check_calls(m, caps); !s)
    return Error{"optimised IR: " + s.error().message, std::nullopt, s.error().code};
  IrResult out;
  if (options.keep_ir_text) {
    llvm::raw_string_ostream os(out.ir_text);
    m.print(os, nullptr);
  }
  auto emitted = emit_object(m, **tm);
  // LLVM 19's BPF backend reports the frame over 512 bytes only as an
  // "unsupported" diagnostic whose text is the one thing that tells it from
  // other unsupported constructs (and the object it still writes need not
  // show the offsets), so this is the one place a status comes from text:
  // LLVM's, not ours.
  if (diags.first_error.find("stack limit") != std::string::npos)
    return err(E2BIG, "the optimised program needs more than the 512-byte BPF stack (LLVM's frame: the guest's "
                      "stack it cannot promote, plus its own spills)");
  if (!diags.first_error.empty()) return err(EINVAL, "LLVM: " + diags.first_error);
  if (!emitted) return emitted.error();
  auto insns = guard(emitted->text, caps);
  if (!insns) return insns.error();

  translator::Translated& tr = out.program;
  tr.insns = std::move(*insns);
  tr.prog_type = direct.prog_type;
  tr.expected_attach_type = direct.expected_attach_type;

  // Index map: emitted slot -> direct slot -> guest slot.
  const auto from = direct_slots(*emitted);
  const std::size_t total = emitted->text.size();
  tr.index_map.new_to_old.resize(total);
  for (std::size_t n = 0; n < total; ++n)
    if (from[n] && *from[n] < direct.index_map.new_to_old.size())
      tr.index_map.new_to_old[n] = direct.index_map.new_to_old[*from[n]];
  const std::size_t guest_slots = direct.index_map.old_to_new.empty() ? 0 : direct.index_map.old_to_new.size() - 1;
  std::vector<std::optional<std::size_t>> o2n(guest_slots + 1);
  for (std::size_t n = 0; n < total; ++n)
    if (auto g = tr.index_map.new_to_old[n]; g && *g < guest_slots && !o2n[*g]) o2n[*g] = n;
  o2n[guest_slots] = total;
  tr.index_map.old_to_new.assign(guest_slots + 1, total);
  for (std::size_t g = guest_slots + 1; g-- > 0;)
    tr.index_map.old_to_new[g] = o2n[g] ? *o2n[g] : (g + 1 <= guest_slots ? tr.index_map.old_to_new[g + 1] : total);

  // Line info: each emitted line record takes the direct program's source
  // line for its direct slot (offsets into the guest's BTF, as before).
  if (!direct.line_info.empty()) {
    auto source_of = [&](std::size_t d) {
      const LineInfo* best = &direct.line_info.front();
      for (const LineInfo& l : direct.line_info)
        if (l.insn_off <= d) best = &l;
      return *best;
    };
    for (const Emitted::Line& rec : emitted->lines) {
      if (rec.line == 0 || rec.slot >= total) continue;
      LineInfo l = source_of(rec.line - 1);
      l.insn_off = std::uint32_t(rec.slot);
      if (!tr.line_info.empty() && tr.line_info.back().insn_off == l.insn_off) continue;
      if (!tr.line_info.empty() && tr.line_info.back().file_name_off == l.file_name_off &&
          tr.line_info.back().line_off == l.line_off && tr.line_info.back().line_col == l.line_col)
        continue;
      tr.line_info.push_back(l);
    }
    if (tr.line_info.empty() || tr.line_info.front().insn_off != 0) {
      LineInfo first = direct.line_info.front();
      first.insn_off = 0;
      tr.line_info.insert(tr.line_info.begin(), first);
    }
  }
  if (!direct.func_info.empty()) tr.func_info.push_back(FuncInfo{0, direct.func_info.front().type_id});
  return out;
}

}  // namespace

Result<IrResult> reemit(const Submission& sub, const translator::Translated& direct, const Policy& policy,
                        const IrOptions& options) {
  const auto t0 = std::chrono::steady_clock::now();
  auto out = run(sub, direct, policy, options);
  Diagnoser diag(sub);
  if (!out) return diag.whole("IR tier: " + out.error().message, out.error().code).at_stage(Stage::Translate);
  const auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
  const std::size_t direct_slots = direct.index_map.new_to_old.size();
  std::ostringstream note;
  note << diag.label() << ": IR tier (LLVM 19 -O2, BPF cpu " << options.cpu << "): " << direct_slots
       << " direct slots -> " << out->program.index_map.new_to_old.size() << " slots in " << us << " us";
  out->program.notes.push_back(note.str());
  return out;
}

translator::Reemit reemitter(IrOptions options) {
  return [options](const Submission& sub, const translator::Translated& direct,
                   const Policy& policy) -> Result<translator::Translated> {
    auto r = reemit(sub, direct, policy, options);
    if (!r) return r.error();
    return std::move(r->program);
  };
}

}  // namespace xo::ir
