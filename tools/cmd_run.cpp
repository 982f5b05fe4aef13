// xoffload run: BPF_PROG_TEST_RUN of the translated program exactly as the
// host would run it. The program is loaded through xo_host (BTF, maps,
// preverify, translation, kernel verifier) into a throwaway session with
// per-action statistics on but attached nowhere; the stats map tells which
// XDP action the guest program chose, the return value is the host verdict.
// The session (pins, maps, program) is gone when the command exits.

#include <cctype>
#include <ostream>

#include "host/core/offload.hpp"
#include "tools/cli.hpp"
#include "tools/commands.hpp"
#include "tools/input.hpp"
#include "tools/json.hpp"
#include "tools/sessions.hpp"
#include "tools/map_dump.hpp"

namespace xo::cli {

namespace {

// Hex digits, with optional spaces, ':' or '-' between bytes.
Result<std::vector<std::uint8_t>> parse_hex(std::string_view s) {
  std::vector<std::uint8_t> out;
  int high = -1;
  for (char c : s) {
    if (c == ' ' || c == ':' || c == '-' || c == '\n' || c == '\t') continue;
    int v = std::isdigit(static_cast<unsigned char>(c)) ? c - '0'
            : (c >= 'a' && c <= 'f')                    ? c - 'a' + 10
            : (c >= 'A' && c <= 'F')                    ? c - 'A' + 10
                                                        : -1;
    if (v < 0) return err(std::string("--packet-hex: '") + c + "' is not a hex digit");
    if (high < 0) {
      high = v;
    } else {
      out.push_back(static_cast<std::uint8_t>(high << 4 | v));
      high = -1;
    }
  }
  if (high >= 0) return err("--packet-hex: odd number of hex digits");
  return out;
}

Result<std::vector<std::uint8_t>> packet_option(const Args& args) {
  auto file = args.get("--packet");
  auto hexs = args.get("--packet-hex");
  if (file.has_value() == hexs.has_value()) return err("give exactly one of --packet FILE or --packet-hex HEX");
  if (file) return read_file(*file);
  return parse_hex(*hexs);
}

struct RunOutput {
  std::string prog;
  Flavor flavor;
  host::TestRunResult result;
  std::uint32_t repeat;
  std::vector<MapContents> maps;
  std::vector<std::string> notes;
};

void print_json(const RunOutput& r, std::ostream& out) {
  JsonWriter j;
  j.begin_object();
  j.field("prog", r.prog);
  j.field("flavor", flavor_name(r.flavor));
  j.field("guest_action", r.result.guest_action);
  j.field("host_verdict", r.result.host_verdict);
  j.field("host_retval", r.result.host_retval);
  j.field("packet", hex(r.result.packet));
  j.field("ns_per_run", r.result.ns_per_run);
  j.field("repeat", r.repeat);
  j.key("maps");
  j.begin_object();
  for (const MapContents& m : r.maps) {
    j.key(m.name);
    write_map_entries(j, m);
  }
  j.end_object();
  j.key("notes");
  j.begin_array();
  for (const auto& n : r.notes) j.value(n);
  j.end_array();
  j.end_object();
  out << j.str() << '\n';
}

void print_text(const RunOutput& r, std::ostream& out) {
  out << "prog '" << r.prog << "' (" << flavor_name(r.flavor) << " flavor), " << r.repeat
      << (r.repeat == 1 ? " run\n" : " runs\n");
  out << "guest_action: " << r.result.guest_action << '\n';
  out << "host_verdict: " << r.result.host_verdict << " (" << r.result.host_retval << ")\n";
  out << "ns_per_run:   " << r.result.ns_per_run << '\n';
  out << "packet:       " << hex(r.result.packet) << '\n';
  out << "maps:\n";
  for (const MapContents& m : r.maps) out << format_map_text(m);
  for (const auto& n : r.notes) out << "note: " << n << '\n';
}

int run(const Args& args, std::ostream& out, std::ostream& err) {
  auto repeat = u32_option(args, "--repeat", 1);
  if (!repeat) {
    err << "run: " << repeat.error().message << '\n';
    return kExitUsage;
  }
  auto packet = packet_option(args);
  if (!packet) {
    err << "run: " << packet.error().message << '\n';
    return kExitUsage;
  }
  auto input = read_pipeline_input(args, "run", err);
  if (auto* code = std::get_if<int>(&input)) return *code;
  auto& in = std::get<PipelineInput>(input);

  host::OffloadOptions o;
  o.session = throwaway_session("run", o.pin_root);
  o.tap = args.get("--tap").value_or("lo");
  o.flavor = in.flavor;
  o.stats = true;    // the guest action comes from the per-action counters
  o.attach = false;  // a test run needs no hook
  DefaultPolicy policy;
  host::LoadReport report;
  auto off = host::Offload::load(o, in.sub, policy, &report);
  if (!off) {
    err << off.error().message << '\n';
    if (!report.verifier_log.empty()) err << report.verifier_log << '\n';
    return kExitFailure;
  }
  auto result = off->test_run(*packet, *repeat);
  if (!result) {
    err << "run: " << result.error().message << '\n';
    return kExitFailure;
  }
  RunOutput r{in.sub.name, in.flavor, std::move(*result), *repeat, {}, std::move(report.notes)};
  DumpOptions dump;
  dump.include_zero_array_entries = args.flag("--all-entries");
  for (const host::HostMap& m : off->maps().all()) {
    auto contents = read_map(m.fd.get(), m.def.name, dump);
    if (!contents) {
      err << "run: " << contents.error().message << '\n';
      return kExitFailure;
    }
    r.maps.push_back(std::move(*contents));
  }
  if (args.flag("--json"))
    print_json(r, out);
  else
    print_text(r, out);
  return kExitOk;
}

}  // namespace

const Command& run_command() {
  static const Command cmd{
      "run",
      "Test-run the translated program on a packet (BPF_PROG_TEST_RUN), as the host runs it.",
      "FILE.o [--flavor tc|chain] (--packet FILE | --packet-hex HEX) [--repeat N] [--json]",
      "Loads the program through the host library (BTF, maps, pre-verifier,\n"
      "translation, kernel verifier) into a throwaway session attached nowhere\n"
      "(pins under /sys/fs/bpf/xoffload/run-<pid>/ while it runs; needs root\n"
      "and a mounted bpffs), runs it, and prints: guest_action (the XDP action\n"
      "the guest program chose, from the per-action statistics), host_verdict\n"
      "(the host program's return value), packet (hex, after the run),\n"
      "ns_per_run (the kernel's measurement) and maps (name -> entries, hex\n"
      "key/value, typed by BTF where the map has types; per-CPU maps give\n"
      "per_cpu values and their sum; all-zero array entries are left out\n"
      "unless --all-entries).",
      input_options({{"--packet", "FILE", "the input packet (an Ethernet frame), raw bytes"},
                     {"--packet-hex", "HEX", "the input packet as hex (spaces or ':' allowed)"},
                     {"--repeat", "N", "run N times (the kernel's average ns; maps count N)"},
                     {"--tap", "DEV", "redirect target for TX (tc) / PASS (chain); default lo"},
                     {"--all-entries", "", "include all-zero array entries in maps"}}),
      run};
  return cmd;
}

}  // namespace xo::cli
