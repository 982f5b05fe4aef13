// Reading guest programs and the offline pipeline shared by the commands.
#include "tools/input.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "guest/builder/elf_builder.hpp"
#include "host/core/isa_probe.hpp"
#include "host/core/kfunc_ids.hpp"
#include "host/core/stats_map.hpp"
#include "translator/ir/ir.hpp"
#include "translator/isa/raw.hpp"

namespace xo::cli {

std::vector<OptionSpec> input_options(std::vector<OptionSpec> extra) {
  std::vector<OptionSpec> o = {
      {"--raw", "", "FILE is raw bytecode (8-byte little-endian slots): no maps, no BTF"},
      {"--program", "NAME", "the program (function or section name) of a multi-program object"},
      {"--map-size", "NAME=N", "max_entries of map NAME before load (repeatable; for maps sized by their loader)"},
      {"--flavor", "F", "host flavor: tc (default) or chain"},
      {"--guest-ifindex", "N", "what ctx->ingress_ifindex reads as (the guest's ifindex; default 0)"},
      {"--json", "", "machine-readable output"},
  };
  o.insert(o.end(), extra.begin(), extra.end());
  return o;
}

Result<std::uint32_t> u32_option(const Args& args, std::string_view name, std::uint32_t fallback) {
  auto v = args.unsigned_value(name, fallback, 0, UINT32_MAX);
  if (!v) return v.error();
  return static_cast<std::uint32_t>(*v);
}

Result<Flavor> flavor_option(const Args& args) {
  std::string f = args.get("--flavor").value_or("tc");
  auto flavor = parse_flavor(f);
  // tun needs the patched host tun (kernel-patches/); loading it elsewhere
  // fails at the attach with the kernel's EOPNOTSUPP, naming the patch.
  if (!flavor || (*flavor != Flavor::Tc && *flavor != Flavor::Chain && *flavor != Flavor::Tun))
    return err("--flavor: '" + f + "' is not a flavor this host runs (tc, chain or tun)");
  return *flavor;
}

namespace {

// "prog.bin" -> "prog": a raw program has no function name of its own.
std::string name_from_path(const std::string& path) {
  std::string stem = std::filesystem::path(path).stem().string();
  std::string name;
  for (char c : stem)
    if (name.size() < 15) name += (std::isalnum(static_cast<unsigned char>(c)) || c == '_') ? c : '_';
  return name.empty() ? "raw" : name;
}

Result<Submission> read_raw(const std::string& path) {
  auto bytes = read_file(path);
  if (!bytes) return bytes.error();
  if (bytes->empty() || bytes->size() % sizeof(isa::RawInsn) != 0)
    return err(path + ": size " + std::to_string(bytes->size()) +
               " is not a positive multiple of 8 (raw bytecode is 8-byte slots)");
  Submission s;
  s.name = name_from_path(path);
  s.license = "GPL";
  s.insns = isa::raw_from_bytes(*bytes);
  return s;
}

}  // namespace

Result<Submission> read_submission(const Args& args, std::vector<std::string>* notes) {
  if (args.positional.size() != 1) return err("expected exactly one FILE");
  const std::string& path = args.positional[0];
  auto ifindex = u32_option(args, "--guest-ifindex", 0);
  if (!ifindex) return ifindex.error();
  Result<Submission> sub = Submission{};
  if (args.flag("--raw")) {
    if (args.get("--program")) return err("--program does not apply to --raw input");
    if (args.get("--map-size")) return err("--map-size does not apply to --raw input (no maps)");
    sub = read_raw(path);
  } else {
    guest::BuildOptions o;
    o.program = args.get("--program");
    for (const std::string& value : args.all("--map-size")) {
      for (std::size_t start = 0; start <= value.size();) {
        std::size_t comma = std::min(value.find(',', start), value.size());
        if (auto st = guest::parse_map_size(std::string_view(value).substr(start, comma - start), o.map_sizes); !st)
          return err("--map-size: " + st.error().message);
        start = comma + 1;
      }
    }
    auto built = guest::build_program_from_file(path, o);
    if (!built) return err(built.error().message);  // one line, the instruction in it already
    if (notes) *notes = std::move(built->notes);
    sub = std::move(built->submission);
  }
  if (!sub) return sub.error();
  sub->guest_ifindex = *ifindex;
  return sub;
}

std::variant<PipelineInput, int> read_pipeline_input(const Args& args, std::string_view cmd, std::ostream& err) {
  auto flavor = flavor_option(args);
  if (!flavor) {
    err << cmd << ": " << flavor.error().message << '\n';
    return kExitUsage;
  }
  std::vector<std::string> notes;
  auto sub = read_submission(args, &notes);
  if (!sub) {
    err << cmd << ": " << sub.error().message << '\n';
    return args.positional.size() == 1 ? kExitFailure : kExitUsage;
  }
  return PipelineInput{*flavor, std::move(*sub), std::move(notes)};
}

Result<translator::Tier> tier_option(const Args& args) {
  const std::string t = args.get("--tier").value_or("direct");
  auto tier = translator::parse_tier(t);
  if (!tier) return err("--tier: '" + t + "' is not a tier (ir, direct or auto)");
  return *tier;
}

Result<host::Prepared> translate_offline(const Submission& sub, Flavor flavor, std::uint32_t tap_ifindex,
                                         bool stats, translator::Tier tier) {
  DefaultPolicy policy;
  host::PipelineOptions o;
  o.tier = tier;
  if (tier != translator::Tier::Direct) o.reemit = ir::reemitter(ir::IrOptions{host::host_bpf_cpu()});
  o.flavor = flavor;
  o.tap_ifindex = tap_ifindex;
  o.stats = stats;
  o.kfunc_id = host::vmlinux_kfunc_id;  // kfuncs as this host would resolve them
  // Deferred helpers as a version 2 session has them; the listing shows a
  // placeholder cookie (a real one is drawn per load).
  o.defer = true;
  if (may_defer(sub)) o.cookie = 0x0123456789abcdefull;
  if (stats) {  // as the host's stats map would have: one row per possible CPU
    auto rows = host::stats_rows_here();
    if (!rows) return rows.error();
    o.stats_cpus = *rows;
  }
  return host::prepare(sub, policy, o);
}

std::string_view prog_type_name(std::uint32_t prog_type) {
  switch (prog_type) {
    case 3: return "BPF_PROG_TYPE_SCHED_CLS";
    case 6: return "BPF_PROG_TYPE_XDP";
    default: return "BPF_PROG_TYPE_UNKNOWN";
  }
}

}  // namespace xo::cli
