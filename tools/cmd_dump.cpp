// xoffload dump: guest and host code side by side. Per guest instruction:
// its slot, LLVM's text, the source line (line_info + BTF strings, through
// verifier-front's source map) and the host instructions it became
// (Translated::index_map.new_to_old); code the translator added is labelled:
// the shared return epilogue sits where the main program's last exit was.
#include <iomanip>
#include <map>
#include <optional>
#include <ostream>
#include <sstream>

#include "tools/cli.hpp"
#include "tools/commands.hpp"
#include "tools/input.hpp"
#include "tools/json.hpp"
#include "tools/listing.hpp"
#include "core/source_map.hpp"
#include "translator/isa/codec.hpp"

namespace xo::cli {

namespace {

bool is_exit(const Submission& sub, std::size_t slot) {
  auto insn = isa::decode_one(sub.insns, slot);
  return insn && std::holds_alternative<isa::Exit>(*insn);
}

struct Row {
  const ListedInsn* guest;
  std::optional<SourceLine> source;  // only where a line_info entry starts
  std::vector<const ListedInsn*> host;
  std::string role;  // translated | rewritten | epilogue | removed
  std::vector<const ListedInsn*> ir;  // the IR tier's code for it (--tier ir|auto)
};

struct Dump {
  std::vector<ListedInsn> guest, host, ir;
  std::vector<Row> rows;
  std::vector<const ListedInsn*> appended;     // host code acting for no guest insn
  std::vector<const ListedInsn*> ir_appended;  // the same, in the IR tier's program
  bool has_ir = false;
};

// A program's listing, grouped by the guest slot each insn stands for.
std::map<std::size_t, std::vector<const ListedInsn*>> by_guest_slot(const std::vector<ListedInsn>& listing,
                                                                   const translator::Translated& tr,
                                                                   std::vector<const ListedInsn*>& appended) {
  std::map<std::size_t, std::vector<const ListedInsn*>> by;
  for (const ListedInsn& h : listing) {
    const auto& n2o = tr.index_map.new_to_old;
    if (h.slot < n2o.size() && n2o[h.slot])
      by[*n2o[h.slot]].push_back(&h);
    else
      appended.push_back(&h);
  }
  return by;
}

Dump build_dump(const Submission& sub, const translator::Translated& tr, const translator::Translated* ir) {
  Dump d;
  d.guest = list_insns(sub.insns, sub, false);
  d.host = list_insns(tr.encode_symbolic(), sub, true);
  auto by_guest = by_guest_slot(d.host, tr, d.appended);
  std::map<std::size_t, std::vector<const ListedInsn*>> ir_by_guest;
  if (ir) {
    d.has_ir = true;
    d.ir = list_insns(ir->encode_symbolic(), sub, true);
    ir_by_guest = by_guest_slot(d.ir, *ir, d.ir_appended);
  }
  auto& by_guest_slot = by_guest;
  BtfStrings strings(sub.btf);
  std::size_t next_line = 0;  // line_info is sorted by insn_off
  for (const ListedInsn& g : d.guest) {
    Row r{&g, std::nullopt, by_guest_slot[g.slot], "", ir_by_guest[g.slot]};
    while (next_line < sub.line_info.size() && sub.line_info[next_line].insn_off < g.slot) ++next_line;
    if (next_line < sub.line_info.size() && sub.line_info[next_line].insn_off == g.slot)
      r.source = source_line(sub, strings, g.slot);
    if (r.host.empty())
      r.role = "removed";
    else if (r.host.size() == 1)
      r.role = "translated";
    else if (is_exit(sub, g.slot))
      r.role = "epilogue";
    else
      r.role = "rewritten";
    d.rows.push_back(std::move(r));
  }
  return d;
}

std::string insn_text(const ListedInsn& i) {
  std::ostringstream s;
  s << std::setw(4) << i.slot << ": " << i.text;
  if (!i.comment.empty()) s << "  ; " << i.comment;
  return s.str();
}

void print_text(const Submission& sub, Flavor flavor, const Dump& d, std::ostream& out) {
  constexpr std::size_t kColumn = 44;
  auto pad = [](std::string t) {
    if (t.size() < kColumn) t += std::string(kColumn - t.size(), ' ');
    return t;
  };
  out << "prog '" << sub.name << "' (" << flavor_name(flavor) << " flavor)\n";
  out << pad("guest") << "| " << (d.has_ir ? pad("host: direct tier") + "| host: IR tier" : "host") << '\n';
  std::string last_location;
  for (const Row& r : d.rows) {
    if (r.source) {
      std::string loc = format_location(*r.source);
      if (loc != last_location) out << "; " << loc << (r.source->text.empty() ? "" : "  " + r.source->text) << '\n';
      last_location = loc;
    }
    const std::size_t lines = std::max<std::size_t>({1, r.host.size(), d.has_ir ? r.ir.size() : 0});
    for (std::size_t k = 0; k < lines; ++k) {
      std::string mid;
      if (r.host.empty())
        mid = k == 0 ? "(removed)" : "";
      else if (k < r.host.size())
        mid = insn_text(*r.host[k]);
      if (k == 0 && r.role == "epilogue") mid += "   [epilogue: every exit of the program ends here]";
      else if (k == 0 && r.role == "rewritten") mid += "   [rewritten: " + std::to_string(r.host.size()) + " host insns]";
      out << (k == 0 ? pad(insn_text(*r.guest)) : std::string(kColumn, ' ')) << "| ";
      if (d.has_ir) {
        out << pad(mid) << "| ";
        if (k < r.ir.size()) out << insn_text(*r.ir[k]);
        else if (k == 0 && r.ir.empty()) out << "(none)";
      } else {
        out << mid;
      }
      out << '\n';
    }
  }
  if (!d.appended.empty() || !d.ir_appended.empty()) {
    out << "; inserted by the translator (no guest instruction)\n";
    const std::size_t lines = std::max(d.appended.size(), d.ir_appended.size());
    for (std::size_t k = 0; k < lines; ++k) {
      const std::string mid = k < d.appended.size() ? insn_text(*d.appended[k]) : "";
      out << std::string(kColumn, ' ') << "| " << (d.has_ir ? pad(mid) + "| " : mid);
      if (d.has_ir && k < d.ir_appended.size()) out << insn_text(*d.ir_appended[k]);
      out << '\n';
    }
  }
}

void insn_json(JsonWriter& j, const ListedInsn& i) {
  j.field("index", static_cast<std::uint64_t>(i.slot));
  j.field("text", i.text);
  j.field("raw", i.raw_hex);
  if (!i.comment.empty()) j.field("comment", i.comment);
}

void print_json(const Submission& sub, Flavor flavor, const translator::Translated& tr,
                const translator::Translated* ir, const Dump& d, std::ostream& out) {
  JsonWriter j;
  j.begin_object();
  j.field("prog", sub.name);
  j.field("flavor", flavor_name(flavor));
  j.field("prog_type", prog_type_name(tr.prog_type));
  j.key("guest");
  j.begin_array();
  for (const Row& r : d.rows) {
    j.begin_object();
    insn_json(j, *r.guest);
    j.key("source");
    if (r.source) {
      j.begin_object();
      j.field("file", r.source->file);
      j.field("line", r.source->line);
      j.field("column", r.source->column);
      j.field("location", format_location(*r.source));
      j.field("text", r.source->text);
      j.end_object();
    } else {
      j.null();
    }
    j.field("role", r.role);
    j.key("host");
    j.begin_array();
    for (const ListedInsn* h : r.host) j.value(static_cast<std::uint64_t>(h->slot));
    j.end_array();
    if (ir) {
      j.key("ir");
      j.begin_array();
      for (const ListedInsn* h : r.ir) j.value(static_cast<std::uint64_t>(h->slot));
      j.end_array();
    }
    j.end_object();
  }
  j.end_array();
  auto listing = [&](const char* key, const std::vector<ListedInsn>& insns, const translator::Translated& t) {
    j.key(key);
    j.begin_array();
    for (const ListedInsn& h : insns) {
      j.begin_object();
      insn_json(j, h);
      j.key("guest_index");
      const auto& n2o = t.index_map.new_to_old;
      if (h.slot < n2o.size() && n2o[h.slot])
        j.value(static_cast<std::uint64_t>(*n2o[h.slot]));
      else
        j.null();
      j.end_object();
    }
    j.end_array();
  };
  listing("host", d.host, tr);
  if (ir) listing("ir", d.ir, *ir);
  j.end_object();
  out << j.str() << '\n';
}

int run(const Args& args, std::ostream& out, std::ostream& err) {
  auto tier = tier_option(args);
  if (!tier) {
    err << "dump: " << tier.error().message << '\n';
    return kExitUsage;
  }
  auto input = read_pipeline_input(args, "dump", err);
  if (auto* code = std::get_if<int>(&input)) return *code;
  auto& in = std::get<PipelineInput>(input);
  auto result = translate_offline(in.sub, in.flavor, 1, args.flag("--stats"));
  if (!result) {
    err << result.error().message << '\n';
    return kExitFailure;
  }
  const auto& tr = result->translated;
  // --tier ir|auto: the IR tier's program in a third column; when it
  // refuses, the reason on stderr and the two columns.
  std::optional<host::Prepared> ir;
  if (*tier != translator::Tier::Direct) {
    auto r = translate_offline(in.sub, in.flavor, 1, args.flag("--stats"), translator::Tier::Ir);
    if (r)
      ir = std::move(*r);
    else
      err << "dump: " << r.error().message << '\n';
  }
  const translator::Translated* irp = ir ? &ir->translated : nullptr;
  Dump d = build_dump(in.sub, tr, irp);
  if (args.flag("--json"))
    print_json(in.sub, in.flavor, tr, irp, d, out);
  else
    print_text(in.sub, in.flavor, d, out);
  return kExitOk;
}

}  // namespace

const Command& dump_command() {
  static const Command cmd{
      "dump",
      "Guest and host code side by side, with source lines.",
      "FILE.o [--program NAME] [--flavor tc|chain] [--tier ir|direct|auto] [--stats] [--json]",
      "Left: each guest instruction (slot, LLVM text), under its source line\n"
      "from line_info. Right: the host instructions it became; map references\n"
      "are guest handles (see xoffload translate --help). The shared return\n"
      "epilogue is shown where the main program's last exit was.\n"
      "--tier ir (or auto): a third column, the LLVM IR tier's program, each\n"
      "insn under the guest insn its line info names (LLVM reorders code).",
      input_options({{"--stats", "", "include the per-action statistics code"},
                     {"--tier", "T", "direct (default); ir or auto add the IR tier's column"}}),
      run};
  return cmd;
}

}  // namespace xo::cli
