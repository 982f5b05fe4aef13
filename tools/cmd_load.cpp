// xoffload load: offload a guest program onto a tap and leave it there.
// The program goes through xo_host exactly as a VM's would (BTF, maps,
// preverify, translate, kernel verifier, pins, attach); then the command
// exits with everything still attached (host::Offload::persist): the pins
// under /sys/fs/bpf/xoffload/<session>/ keep the maps and program alive, and
// the tc filter (or the pinned chain prog array) keeps the program running.
// `xoffload unload` finds it again through those pins.
#include <cstdio>
#include <ostream>

#include "host/core/offload.hpp"
#include "tools/cli.hpp"
#include "tools/commands.hpp"
#include "tools/input.hpp"
#include "tools/json.hpp"

namespace xo::cli {

namespace {

void print_json(const host::OffloadStatus& s, const std::vector<std::string>& notes, std::ostream& out) {
  JsonWriter j;
  j.begin_object();
  j.field("session", s.session);
  j.field("tap", s.tap);
  j.field("tap_ifindex", s.tap_ifindex);
  j.field("flavor", s.flavor);
  j.key("prog");
  j.begin_object();
  j.field("name", s.prog_name);
  j.field("kernel_name", s.prog_kernel_name);
  j.field("id", s.prog_id);
  j.end_object();
  j.field("btf_id", s.btf_id);
  j.field("attach", s.attach);
  j.field("pin_dir", s.pin_dir);
  j.key("pins");
  j.begin_array();
  for (const auto& p : s.pins) j.value(s.pin_dir + "/" + p);
  j.end_array();
  j.key("maps");
  j.begin_array();
  for (const auto& m : s.maps) {
    j.begin_object();
    j.field("name", m.name);
    j.field("kernel_name", m.kernel_name);
    j.field("type", m.type);
    j.field("id", m.id);
    j.field("pin", m.pin);
    j.field("btf_typed", m.btf_typed);
    j.end_object();
  }
  j.end_array();
  if (s.stats_map_id) j.field("stats_map_id", s.stats_map_id);
  if (s.chain_map_id) j.field("chain_map_id", s.chain_map_id);
  if (s.cookie) j.field("cookie", s.cookie);
  j.key("notes");
  j.begin_array();
  for (const auto& n : notes) j.value(n);
  j.end_array();
  j.end_object();
  out << j.str() << '\n';
}

void print_text(const host::OffloadStatus& s, const std::vector<std::string>& notes, std::ostream& out) {
  out << "loaded prog '" << s.prog_name << "' as " << s.prog_kernel_name << " (prog id " << s.prog_id
      << ", btf id " << s.btf_id << "), " << s.flavor << " flavor, tap " << s.tap << " (ifindex "
      << s.tap_ifindex << ")\n";
  out << "attach: " << s.attach << '\n';
  out << "pins in " << s.pin_dir << "/:\n";
  for (const auto& p : s.pins) out << "  " << p << '\n';
  for (const auto& m : s.maps)
    out << "map '" << m.name << "': " << m.kernel_name << " (map id " << m.id << ", " << m.type
        << (m.btf_typed ? ", BTF-typed" : "") << ")\n";
  if (s.stats_map_id) out << "stats: map id " << s.stats_map_id << " (" << s.pin_dir << "/stats)\n";
  if (s.cookie) {
    char hex[24];
    std::snprintf(hex, sizeof hex, "0x%016llx", static_cast<unsigned long long>(s.cookie));
    out << "cookie: " << hex << " (the guest's trampoline must carry it: transport/PROTOCOL.md 8)\n";
  }
  for (const auto& n : notes) out << "note: " << n << '\n';
  out << "left attached; remove with: xoffload unload --session " << s.session << '\n';
}

int run(const Args& args, std::ostream& out, std::ostream& err) {
  auto flavor = flavor_option(args);
  if (!flavor) {
    err << "load: " << flavor.error().message << '\n';
    return kExitUsage;
  }
  auto tap = args.get("--tap");
  if (!tap) {
    err << "load: missing --tap DEV (the host tap that feeds the VM's NIC)\n";
    return kExitUsage;
  }
  std::vector<std::string> builder_notes;
  auto sub = read_submission(args, &builder_notes);
  if (!sub) {
    err << "load: " << sub.error().message << '\n';
    return args.positional.size() == 1 ? kExitFailure : kExitUsage;
  }
  host::OffloadOptions o;
  o.session = args.get("--session").value_or(*tap);
  o.tap = *tap;
  o.flavor = *flavor;
  o.stats = args.flag("--stats");
  o.attach = true;
  o.pin_root = args.get("--pin-root").value_or(std::string(host::kDefaultPinRoot));
  DefaultPolicy policy;
  host::LoadReport report;
  report.notes = std::move(builder_notes);
  auto off = host::Offload::load(o, *sub, policy, &report);
  if (!off) {
    err << off.error().message << '\n';
    if (!report.verifier_log.empty()) err << report.verifier_log << '\n';
    return kExitFailure;
  }
  host::OffloadStatus status = off->status();
  // This command's whole point is to leave the offload in place: hand it to
  // its pins and attachment. If that is refused (a pin is missing), `off`
  // tears everything down on return, as for any failed load.
  if (auto kept = off->persist(); !kept) {
    err << "load: " << kept.error().message << '\n';
    return kExitFailure;
  }
  if (args.flag("--json"))
    print_json(status, report.notes, out);
  else
    print_text(status, report.notes, out);
  return kExitOk;
}

}  // namespace

const Command& load_command() {
  static const Command cmd{
      "load",
      "Offload a guest program onto a tap and leave it attached (pinned in bpffs).",
      "FILE.o --tap DEV [--flavor tc|chain] [--session NAME] [--guest-ifindex N] [--stats] [--json]",
      "Loads like the host does for a VM (BTF, maps, pre-verifier, translation,\n"
      "kernel verifier), pins everything under /sys/fs/bpf/xoffload/<session>/\n"
      "(session defaults to the tap name), attaches (tc: clsact egress filter on\n"
      "the tap; chain: slot 0 of the pinned prog array chain_<tap>, for the\n"
      "host's ingress XDP program to tail-call) and exits, leaving it running.\n"
      "Prints the prog id, map ids and pin paths. Undo with xoffload unload.",
      input_options({{"--tap", "DEV", "the host tap that feeds the VM's NIC"},
                     {"--session", "NAME", "session name (pin directory); default: the tap name"},
                     {"--stats", "", "count XDP actions in a per-CPU stats map (pinned as 'stats')"},
                     {"--pin-root", "DIR", "bpffs directory for sessions (default /sys/fs/bpf/xoffload)"}}),
      run};
  return cmd;
}

}  // namespace xo::cli
