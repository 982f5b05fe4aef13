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
};

struct Dump {
  std::vector<ListedInsn> guest, host;
  std::vector<Row> rows;
  std::vector<const ListedInsn*> appended;  // host code acting for no guest insn
};

Dump build_dump(const Submission& sub, const translator::Translated& tr) {
  Dump d;
  d.guest = list_insns(sub.insns, sub, false);
  const std::vector<isa::RawInsn> host = tr.encode_symbolic();
  d.host = list_insns(host, sub, true);
  std::map<std::size_t, std::vector<const ListedInsn*>> by_guest_slot;
  for (const ListedInsn& h : d.host) {
    const auto& n2o = tr.index_map.new_to_old;
    if (h.slot < n2o.size() && n2o[h.slot])
      by_guest_slot[*n2o[h.slot]].push_back(&h);
    else
      d.appended.push_back(&h);
  }
  BtfStrings strings(sub.btf);
  std::size_t next_line = 0;  // line_info is sorted by insn_off
  for (const ListedInsn& g : d.guest) {
    Row r{&g, std::nullopt, by_guest_slot[g.slot], ""};
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
  constexpr std::size_t kGuestColumn = 44;
  out << "prog '" << sub.name << "' (" << flavor_name(flavor) << " flavor)\n";
  out << "guest" << std::string(kGuestColumn - 5, ' ') << "| host\n";
  std::string last_location;
  for (const Row& r : d.rows) {
    if (r.source) {
      std::string loc = format_location(*r.source);
      if (loc != last_location) out << "; " << loc << (r.source->text.empty() ? "" : "  " + r.source->text) << '\n';
      last_location = loc;
    }
    std::string left = insn_text(*r.guest);
    if (left.size() < kGuestColumn) left += std::string(kGuestColumn - left.size(), ' ');
    std::string blank(kGuestColumn, ' ');
    if (r.host.empty()) {
      out << left << "| (removed)\n";
      continue;
    }
    for (std::size_t k = 0; k < r.host.size(); ++k) {
      out << (k == 0 ? left : blank) << "| " << insn_text(*r.host[k]);
      if (k == 0 && r.role == "epilogue") out << "   [epilogue: every exit of the program ends here]";
      else if (k == 0 && r.role == "rewritten") out << "   [rewritten: " << r.host.size() << " host insns]";
      out << '\n';
    }
  }
  if (!d.appended.empty()) {
    out << "; inserted by the translator (no guest instruction)\n";
    for (const ListedInsn* h : d.appended) out << std::string(kGuestColumn, ' ') << "| " << insn_text(*h) << '\n';
  }
}

void insn_json(JsonWriter& j, const ListedInsn& i) {
  j.field("index", static_cast<std::uint64_t>(i.slot));
  j.field("text", i.text);
  j.field("raw", i.raw_hex);
  if (!i.comment.empty()) j.field("comment", i.comment);
}

void print_json(const Submission& sub, Flavor flavor, const translator::Translated& tr, const Dump& d,
                std::ostream& out) {
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
    j.end_object();
  }
  j.end_array();
  j.key("host");
  j.begin_array();
  for (const ListedInsn& h : d.host) {
    j.begin_object();
    insn_json(j, h);
    j.key("guest_index");
    const auto& n2o = tr.index_map.new_to_old;
    if (h.slot < n2o.size() && n2o[h.slot])
      j.value(static_cast<std::uint64_t>(*n2o[h.slot]));
    else
      j.null();
    j.end_object();
  }
  j.end_array();
  j.end_object();
  out << j.str() << '\n';
}

int run(const Args& args, std::ostream& out, std::ostream& err) {
  auto input = read_pipeline_input(args, "dump", err);
  if (auto* code = std::get_if<int>(&input)) return *code;
  auto& in = std::get<PipelineInput>(input);
  auto result = translate_offline(in.sub, in.flavor, 1, args.flag("--stats"));
  if (!result) {
    err << result.error().message << '\n';
    return kExitFailure;
  }
  const auto& tr = result->translated;
  Dump d = build_dump(in.sub, tr);
  if (args.flag("--json"))
    print_json(in.sub, in.flavor, tr, d, out);
  else
    print_text(in.sub, in.flavor, d, out);
  return kExitOk;
}

}  // namespace

const Command& dump_command() {
  static const Command cmd{
      "dump",
      "Guest and host code side by side, with source lines.",
      "FILE.o [--program NAME] [--flavor tc|chain] [--stats] [--json]",
      "Left: each guest instruction (slot, LLVM text), under its source line\n"
      "from line_info. Right: the host instructions it became; map references\n"
      "are guest handles (see xoffload translate --help). The shared return\n"
      "epilogue is shown where the main program's last exit was.",
      input_options({{"--stats", "", "include the per-action statistics code"}}),
      run};
  return cmd;
}

}  // namespace xo::cli
