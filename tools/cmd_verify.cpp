// xoffload verify: would the host take this program? Runs what the host runs
// before the kernel sees anything: preverify, the translation for the flavor
// (which refuses what cannot be lowered), and the load's own checks that
// need no kernel (host::Offload::check: quotas, map definitions, pin names),
// the same function `xoffload load` runs. Prints OK and the notes, or the
// one-line rejection with the instruction and source line.

#include <ostream>

#include "host/core/kernel_log.hpp"
#include "host/core/offload.hpp"
#include "tools/cli.hpp"
#include "tools/commands.hpp"
#include "tools/input.hpp"
#include "tools/json.hpp"
#include "tools/sessions.hpp"

namespace xo::cli {

namespace {

// The host kernel's verdict: a full load (BTF, maps, program) in a throwaway
// session attached nowhere; gone again when this returns.
std::optional<Error> kernel_check(const Submission& sub, Flavor flavor, std::string& log) {
  host::OffloadOptions o;
  o.session = throwaway_session("verify", o.pin_root);
  o.tap = "lo";
  o.flavor = flavor;
  o.stats = true;
  o.attach = false;
  DefaultPolicy policy;
  host::LoadReport report;
  auto off = host::Offload::load(o, sub, policy, &report);
  if (off) return std::nullopt;
  log = report.verifier_log;
  return off.error();
}

// What `xoffload load` checks before creating anything, for a session with
// the load's defaults.
Status host_check(const Submission& sub, Flavor flavor) {
  host::OffloadOptions o;
  o.session = "verify";
  o.flavor = flavor;
  DefaultPolicy policy;
  return host::Offload::check(o, sub, policy);
}

int run(const Args& args, std::ostream& out, std::ostream& err) {
  auto input = read_pipeline_input(args, "verify", err);
  if (auto* code = std::get_if<int>(&input)) return *code;
  auto& in = std::get<PipelineInput>(input);
  bool json = args.flag("--json");
  auto result = translate_offline(in.sub, in.flavor, /*tap_ifindex=*/1, /*stats=*/true);
  if (result)
    if (auto checked = host_check(in.sub, in.flavor); !checked) result = checked.error();
  std::string kernel_log;
  if (result && args.flag("--kernel"))
    if (auto refused = kernel_check(in.sub, in.flavor, kernel_log)) result = std::move(*refused);

  if (!result) {
    const Error& e = result.error();
    if (json) {
      JsonWriter j;
      j.begin_object();
      j.field("ok", false);
      j.field("prog", in.sub.name);
      j.field("flavor", flavor_name(in.flavor));
      j.field("stage", stage_name(e.stage));
      j.field("errno", host::errno_name(e.code));
      j.field("error", e.message);
      if (!kernel_log.empty()) j.field("verifier_log", kernel_log);
      j.key("insn");
      if (e.pc)
        j.value(static_cast<std::uint64_t>(*e.pc));
      else
        j.null();
      j.end_object();
      out << j.str() << '\n';
    } else {
      err << e.message << '\n';
      if (args.flag("--log") && !kernel_log.empty()) err << kernel_log << '\n';
    }
    return kExitFailure;
  }

  std::vector<std::string> notes = in.notes;  // the builder's first, in pipeline order
  notes.insert(notes.end(), result->notes.begin(), result->notes.end());
  if (json) {
    JsonWriter j;
    j.begin_object();
    j.field("ok", true);
    j.field("prog", in.sub.name);
    j.field("flavor", flavor_name(in.flavor));
    j.field("guest_slots", static_cast<std::uint64_t>(in.sub.insns.size()));
    j.field("host_slots", static_cast<std::uint64_t>(result->translated.encode_symbolic().size()));
    j.field("kernel_checked", args.flag("--kernel"));
    j.key("notes");
    j.begin_array();
    for (const auto& n : notes) j.value(n);
    j.end_array();
    j.end_object();
    out << j.str() << '\n';
  } else {
    out << "OK: prog '" << in.sub.name << "' (" << in.sub.insns.size() << " slots, "
        << in.sub.maps.size() << " maps) passes preverify, " << flavor_name(in.flavor)
        << " translation and the host's load checks"
        << (args.flag("--kernel") ? " and the host kernel verifier\n" : "\n");
    for (const auto& n : notes) out << "note: " << n << '\n';
  }
  return kExitOk;
}

}  // namespace

const Command& verify_command() {
  static const Command cmd{
      "verify",
      "Check a guest program the way the host does before loading it.",
      "FILE.o [--program NAME] [--flavor tc|chain] [--json] | --raw FILE [--json]",
      "Runs the pre-verifier, the translation for the flavor and the checks\n"
      "`xoffload load` makes before creating anything (quotas, map definitions,\n"
      "pin names). No kernel is involved unless --kernel: then the host kernel\n"
      "verifier, which has the final word, checks the translated program too (a\n"
      "full load attached nowhere, in a throwaway session; needs root and\n"
      "bpffs), and a refusal names the guest instruction and source line it\n"
      "maps back to.\n"
      "Exit 0 and \"OK\" plus notes when accepted; exit 1 and the one-line\n"
      "rejection (instruction, source line, reason) on stderr otherwise.",
      input_options({{"--kernel", "", "also load into the host kernel (its verifier's verdict)"},
                     {"--log", "", "with --kernel: print the mapped verifier log on refusal"}}),
      run};
  return cmd;
}

}  // namespace xo::cli
