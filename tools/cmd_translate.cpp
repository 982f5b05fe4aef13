// xoffload translate: the host program a guest program becomes, without
// loading it: preverify + translate for the flavor, with placeholder map fds
// (real fds exist only inside the host process that created the maps at load
// time; a placeholder is 0x7f000000 + guest handle so it reads back).
#include <filesystem>
#include <ostream>

#include "tools/cli.hpp"
#include "tools/commands.hpp"
#include "tools/input.hpp"
#include "tools/json.hpp"
#include "tools/listing.hpp"
#include "core/source_map.hpp"

namespace xo::cli {

namespace {

// "xdp1_kern.c:42" for a host line_info entry (offsets into the guest BTF).
std::string line_location(const BtfStrings& strings, const LineInfo& l) {
  std::string file;
  if (auto f = strings.at(l.file_name_off)) file = std::filesystem::path(std::string(*f)).filename();
  return format_location(SourceLine{file, l.line_col >> 10, l.line_col & 0x3ff, ""});
}

std::size_t listing_slots(const std::vector<ListedInsn>& listing) {
  return listing.empty() ? 0 : listing.back().slot + listing.back().width;
}

void print_text(const Submission& sub, Flavor flavor, const host::Prepared& t,
                const std::vector<ListedInsn>& listing, std::ostream& out) {
  const auto& tr = t.translated;
  out << "prog '" << sub.name << "': " << flavor_name(flavor) << " flavor, " << translator::tier_name(t.tier)
      << " tier, "
      << prog_type_name(tr.prog_type) << ", " << sub.insns.size() << " guest slots -> "
      << listing_slots(listing) << " host slots\n";
  if (!sub.maps.empty()) {
    out << "maps (referenced by guest handle; the host writes its fds only at load time):\n";
    for (const MapDef& m : sub.maps)
      out << "  handle " << m.handle << " '" << m.name << "' " << map_type_name(m.type) << " key "
          << m.key_size << " value " << m.value_size << " max_entries " << m.max_entries << '\n';
  }
  for (const auto& n : t.notes) out << "note: " << n << '\n';
  out << "host program:\n";
  for (const ListedInsn& i : listing) {
    out << "  " << i.slot << ": " << i.text;
    if (!i.comment.empty()) out << "  ; " << i.comment;
    out << '\n';
  }
}

void print_json(const Submission& sub, Flavor flavor, const host::Prepared& t,
                const std::vector<ListedInsn>& listing, std::ostream& out) {
  const auto& tr = t.translated;
  BtfStrings strings(sub.btf);
  JsonWriter j;
  j.begin_object();
  j.field("prog", sub.name);
  j.field("flavor", flavor_name(flavor));
  j.field("tier", translator::tier_name(t.tier));
  j.field("prog_type", tr.prog_type);
  j.field("prog_type_name", prog_type_name(tr.prog_type));
  j.field("expected_attach_type", tr.expected_attach_type);
  j.field("guest_slots", static_cast<std::uint64_t>(sub.insns.size()));
  j.field("host_slots", static_cast<std::uint64_t>(listing_slots(listing)));
  j.key("maps");
  j.begin_array();
  for (const MapDef& m : sub.maps) {
    j.begin_object();
    j.field("handle", m.handle);
    j.field("name", m.name);
    j.field("type", map_type_name(m.type));
    j.field("key_size", m.key_size);
    j.field("value_size", m.value_size);
    j.field("max_entries", m.max_entries);
    j.end_object();
  }
  j.end_array();
  j.key("insns");
  j.begin_array();
  for (const ListedInsn& i : listing) {
    j.begin_object();
    j.field("index", static_cast<std::uint64_t>(i.slot));
    j.field("text", i.text);
    j.field("raw", i.raw_hex);
    if (!i.comment.empty()) j.field("comment", i.comment);
    j.end_object();
  }
  j.end_array();
  j.key("func_info");
  j.begin_array();
  for (const FuncInfo& f : tr.func_info) {
    j.begin_object();
    j.field("insn_off", f.insn_off);
    j.field("type_id", f.type_id);
    j.end_object();
  }
  j.end_array();
  j.key("line_info");
  j.begin_array();
  for (const LineInfo& l : tr.line_info) {
    j.begin_object();
    j.field("insn_off", l.insn_off);
    j.field("file_name_off", l.file_name_off);
    j.field("line_off", l.line_off);
    j.field("line", l.line_col >> 10);
    j.field("column", l.line_col & 0x3ff);
    j.field("source", line_location(strings, l));
    j.end_object();
  }
  j.end_array();
  j.key("index_map");
  j.begin_object();
  j.key("old_to_new");
  j.begin_array();
  for (std::size_t n : tr.index_map.old_to_new) j.value(static_cast<std::uint64_t>(n));
  j.end_array();
  j.key("new_to_old");
  j.begin_array();
  for (const auto& o : tr.index_map.new_to_old) {
    if (o)
      j.value(static_cast<std::uint64_t>(*o));
    else
      j.null();
  }
  j.end_array();
  j.end_object();
  j.key("notes");
  j.begin_array();
  for (const std::string& n : t.notes) j.value(n);
  j.end_array();
  j.end_object();
  out << j.str() << '\n';
}

int run(const Args& args, std::ostream& out, std::ostream& err) {
  auto tap = u32_option(args, "--tap-ifindex", 1);
  if (!tap) {
    err << "translate: " << tap.error().message << '\n';
    return kExitUsage;
  }
  auto tier = tier_option(args);
  if (!tier) {
    err << "translate: " << tier.error().message << '\n';
    return kExitUsage;
  }
  auto input = read_pipeline_input(args, "translate", err);
  if (auto* code = std::get_if<int>(&input)) return *code;
  auto& in = std::get<PipelineInput>(input);
  auto result = translate_offline(in.sub, in.flavor, *tap, args.flag("--stats"), *tier);
  if (!result) {
    err << result.error().message << '\n';
    return kExitFailure;
  }
  auto& t = *result;
  const std::vector<isa::RawInsn> host = t.translated.encode_symbolic();
  if (auto o = args.get("-o")) {
    if (auto s = write_file(*o, isa::bytes_from_raw(host)); !s) {
      err << "translate: " << s.error().message << '\n';
      return kExitFailure;
    }
  }
  auto listing = list_insns(host, in.sub, true);
  if (args.flag("--json"))
    print_json(in.sub, in.flavor, t, listing, out);
  else
    print_text(in.sub, in.flavor, t, listing, out);
  return kExitOk;
}

}  // namespace

const Command& translate_command() {
  static const Command cmd{
      "translate",
      "Show the host program a guest program becomes (preverify + translate, no load).",
      "FILE.o [--program NAME] [--flavor tc|chain] [--tier ir|direct|auto] [--tap-ifindex N] [-o OUT.bin] [--json]",
      "Map references in the listing are the guest's map handles (the host\n"
      "stats map is handle 0): the host writes map fds only when it loads,\n"
      "since a map fd means something only inside the process that made it.\n"
      "--json: {prog, flavor, prog_type, insns:[{index,text,raw}], func_info,\n"
      "line_info, index_map:{old_to_new,new_to_old}, maps, notes, tier}.\n"
      "--tier ir: the LLVM IR tier's program (lifted from the direct tier's,\n"
      "optimised at -O2 for this host's BPF CPU, re-emitted); auto: the IR\n"
      "tier's when it is smaller, else the direct one, with a note saying why\n"
      "(loading also falls back when the kernel refuses it).",
      input_options({{"--tap-ifindex", "N", "redirect target (tc TX, chain PASS); default 1"},
                     {"--tier", "T", "translator tier: direct (default), ir or auto"},
                     {"--stats", "", "include the per-action statistics code"},
                     {"-o", "OUT.bin", "also write the host bytecode (map handles, not fds) to OUT.bin"}}),
      run};
  return cmd;
}

}  // namespace xo::cli
