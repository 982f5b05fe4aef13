// The IR tier against the direct tier and the native program (issue 14),
// in one run (scripts/bench ir; docs/PERFORMANCE.md "IR tier"):
//
//  1. coverage over the corpus (tests/corpus, fetched and built into
//     /var/cache/xoffload-corpus): every target program (native load ok,
//     no guest-side objects) offloaded by the direct tier, in chain and
//     tc, then through --tier ir (lifts? kernel accepts?) and --tier auto
//     (must load whatever the direct tier loads): acceptance, the IR/direct
//     host-slot ratio (median, best), prepare time vs kernel load time;
//  2. ns per packet (BPF_PROG_TEST_RUN, repeat, the kernel's own per-run
//     time), Google Benchmark: native XDP vs chain-direct vs chain-IR, for
//     xdp1, xdp2 and the first corpus programs both tiers load.
//
// Needs root. Prints the coverage tables (markdown) before the benchmarks.
#include <benchmark/benchmark.h>
#include <bpf/bpf.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "guest/builder/elf_builder.hpp"
#include "host/core/isa_probe.hpp"
#include "host/core/offload.hpp"
#include "tests/corpus/manifest.hpp"
#include "tests/corpus/native.hpp"
#include "tests/corpus/offload_run.hpp"
#include "tests/host/netdev.hpp"
#include "tests/translator/kernel_harness.hpp"
#include "translator/ir/ir.hpp"

namespace {

using xo::Flavor;
using xo::translator::Tier;

struct Load {
  bool ok = false;
  std::string why;  // stage: message, when refused
  xo::Stage stage = xo::Stage::Unspecified;
  Tier tier = Tier::Direct;
  std::size_t slots = 0;
  std::uint64_t prepare_ns = 0, kernel_ns = 0;
  std::unique_ptr<xo::host::Offload> offload;  // kept for the ns/packet runs
};

std::string g_tap;
std::string g_pin_root;
int g_session = 0;

Load offload(const xo::Submission& sub, Flavor flavor, Tier tier, bool keep = false) {
  xo::host::OffloadOptions o;
  o.session = "ir" + std::to_string(g_session++);
  o.tap = g_tap;
  o.flavor = flavor;
  o.attach = false;
  o.stats = false;  // the program as the guest wrote it, against the native one
  o.pin_root = g_pin_root;
  o.tier = tier;
  if (tier != Tier::Direct) o.reemit = xo::ir::reemitter(xo::ir::IrOptions{xo::host::host_bpf_cpu()});
  xo::DefaultPolicy policy;
  xo::host::LoadReport report;
  auto off = xo::host::Offload::load(o, sub, policy, &report);
  Load l;
  l.prepare_ns = report.prepare_ns;
  l.kernel_ns = report.kernel_ns;
  if (!off) {
    l.why = std::string(xo::stage_name(off.error().stage)) + ": " + off.error().message;
    l.stage = off.error().stage;
    return l;
  }
  l.ok = true;
  l.tier = report.tier;
  l.slots = report.host_slots;
  if (keep) l.offload = std::make_unique<xo::host::Offload>(std::move(*off));
  return l;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

struct Candidate {
  int priority = 0;  // real tools first, the verifier's unit tests last
  std::string name;
  std::string object, program;
  xo::Submission sub;
};

// A 64-byte IPv4/UDP frame: what xdp1/xdp2 count and what most parsers walk.
std::vector<std::uint8_t> frame() {
  std::vector<std::uint8_t> f(64, 0);
  const std::uint8_t head[] = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00, 0x45, 0, 0, 50, 0, 0, 0x40, 0,
                               64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, 0x30, 0x39, 0x00, 0x35, 0, 30};
  std::copy(std::begin(head), std::end(head), f.begin());
  return f;
}

// ns per packet, as the kernel times BPF_PROG_TEST_RUN's repeat loop (one
// call: 10000 runs of the frame); 0 on failure.
double ns_per_run(int fd, const std::vector<std::uint8_t>& pkt) {
  std::vector<std::uint8_t> out(pkt.size() + 512);
  LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = pkt.data(), .data_out = out.data(),
              .data_size_in = std::uint32_t(pkt.size()), .data_size_out = std::uint32_t(out.size()),
              .repeat = 10000);
  if (bpf_prog_test_run_opts(fd, &o) != 0) return 0;
  return o.duration;
}

// Native, direct and IR interleaved in every iteration, so that the noise
// of a shared machine falls on all three alike; the counters are the
// per-packet means and the two ratios.
void run_ns(benchmark::State& state, int native, int direct, int ir) {
  const auto pkt = frame();
  double n = 0, d = 0, i = 0;
  std::size_t k = 0;
  for (auto _ : state) {
    n += ns_per_run(native, pkt);
    d += ns_per_run(direct, pkt);
    i += ns_per_run(ir, pkt);
    ++k;
  }
  if (!k || n == 0 || d == 0 || i == 0) {
    state.SkipWithError("test run failed");
    return;
  }
  state.counters["native_ns"] = n / double(k);
  state.counters["direct_ns"] = d / double(k);
  state.counters["ir_ns"] = i / double(k);
  state.counters["ir_vs_native"] = i / n;
  state.counters["ir_vs_direct"] = i / d;
}

struct Keep {  // what the benchmarks run, alive until exit
  std::vector<std::unique_ptr<xo::test::HostMaps>> maps;
  std::vector<xo::test::Loaded> native;
  std::vector<std::unique_ptr<xo::host::Offload>> offloads;
};
Keep g_keep;

void register_ns(const Candidate& c) {
  auto maps = std::make_unique<xo::test::HostMaps>(c.sub.maps);
  if (!maps->error().empty()) return;
  xo::test::Loaded native = xo::test::load_program(BPF_PROG_TYPE_XDP, c.sub.name,
                                                   xo::test::with_host_fds(c.sub.insns, *maps), c.sub, {}, {}, -1);
  if (!native.prog.valid()) return;
  Load d = offload(c.sub, Flavor::Chain, Tier::Direct, true);
  Load i = offload(c.sub, Flavor::Chain, Tier::Ir, true);
  if (!d.ok || !i.ok || i.tier != Tier::Ir) return;
  const int nfd = native.prog.get(), dfd = d.offload->prog_fd(), ifd = i.offload->prog_fd();
  // 60 x 10000 runs of each: the kernel's timer, not the wall clock, is the figure.
  benchmark::RegisterBenchmark(c.name.c_str(), [nfd, dfd, ifd](benchmark::State& s) { run_ns(s, nfd, dfd, ifd); })
      ->Iterations(60);
  std::printf("| %s | %zu | %zu | %.2f |\n", c.name.c_str(), d.slots, i.slots, double(i.slots) / double(d.slots));
  g_keep.maps.push_back(std::move(maps));
  g_keep.native.push_back(std::move(native));
  g_keep.offloads.push_back(std::move(d.offload));
  g_keep.offloads.push_back(std::move(i.offload));
}

// Every plain-data map's keys and values (not prog arrays, map-in-map:
// their values are kernel objects).
std::string dump_maps(const xo::host::HostMaps& maps) {
  std::string out;
  for (const auto& m : maps.all()) {
    if (xo::map_type_holds_objects(m.def.type) || xo::map_type_is_keyless(m.def.type)) continue;
    std::vector<std::uint8_t> key(m.def.key_size), next(m.def.key_size), value(m.user_value_size());
    void* prev = nullptr;
    for (int guard = 0; guard < 4096 && bpf_map_get_next_key(m.fd.get(), prev, next.data()) == 0; ++guard) {
      key = next;
      prev = key.data();
      if (bpf_map_lookup_elem(m.fd.get(), key.data(), value.data()) != 0) continue;
      out.append(reinterpret_cast<const char*>(key.data()), key.size());
      out.append(reinterpret_cast<const char*>(value.data()), value.size());
    }
    out += '|';
  }
  return out;
}

// The same frames through the direct and the IR tier's programs (each with
// its own fresh maps): verdict, output frame and maps must agree.
bool same_semantics(const xo::host::Offload& d, const xo::host::Offload& i, std::string* why) {
  std::vector<std::vector<std::uint8_t>> frames;
  for (std::uint8_t proto : {17, 6, 1}) {
    auto f = frame();
    f[23] = proto;
    frames.push_back(f);
  }
  auto v6 = frame();
  v6[12] = 0x86, v6[13] = 0xdd, v6[14] = 0x60;
  frames.push_back(v6);
  auto runt = frame();
  runt.resize(14);
  frames.push_back(runt);
  for (std::size_t n = 0; n < frames.size(); ++n) {
    auto a = d.test_run(frames[n]);
    auto b = i.test_run(frames[n]);
    if (!a || !b) {
      if (bool(a) != bool(b)) {
        *why = "frame " + std::to_string(n) + ": test run " + (a ? b.error().message : a.error().message);
        return false;
      }
      continue;
    }
    if (a->host_retval != b->host_retval || a->packet != b->packet) {
      *why = "frame " + std::to_string(n) + ": verdict " + std::to_string(a->host_retval) + " vs " +
             std::to_string(b->host_retval) + (a->packet != b->packet ? ", frames differ" : "");
      return false;
    }
  }
  if (dump_maps(d.maps()) != dump_maps(i.maps())) {
    *why = "maps differ";
    return false;
  }
  return true;
}

struct Tally {
  std::size_t targets = 0, direct_ok = 0, ir_lifted = 0, ir_accepted = 0, auto_ok = 0, auto_ir = 0;
  std::size_t compared = 0, mismatches = 0;
  std::vector<std::string> mismatch_names;
  std::size_t smaller = 0;
  std::vector<double> ratio, prepare_direct_us, prepare_ir_us, kernel_us;
  std::vector<double> ratio_real, ratio_verifier_tests;  // by origin
  std::map<std::string, std::size_t> refusals;
};

void coverage(const std::string& manifest_path, std::vector<Candidate>& bench_candidates) {
  auto m = xo::corpus::read_manifest(manifest_path);
  if (!m) {
    std::printf("corpus: %s (run tests/corpus/fetch-and-build, or ctest -R '^corpus$')\n\n",
                m.error().message.c_str());
    return;
  }
  std::map<Flavor, Tally> tally;
  for (const auto& e : m->entries) {
    if (!e.compiled()) continue;
    const std::string path = m->dir + "/" + e.object;
    auto programs = xo::corpus::xdp_programs(path);
    if (!programs) continue;
    for (const auto& p : *programs) {
      auto native = xo::corpus::load_native(path, p.name);
      if (!native.outcome.ok || !native.guest_side.empty()) continue;
      std::vector<std::string> notes;
      auto sub = xo::corpus::build(path, p.name, native.sized_maps, &notes);
      if (!sub) continue;
      for (Flavor f : {Flavor::Chain, Flavor::Tc}) {
        Tally& t = tally[f];
        ++t.targets;
        Load d = offload(*sub, f, Tier::Direct, true);
        if (!d.ok) continue;
        ++t.direct_ok;
        Load i = offload(*sub, f, Tier::Ir, true);
        if (i.ok) {
          ++t.compared;
          std::string why;
          if (!same_semantics(*d.offload, *i.offload, &why)) {
            ++t.mismatches;
            t.mismatch_names.push_back(e.object + ":" + p.name + " (" + why + ")");
          }
        }
        d.offload.reset();
        i.offload.reset();
        const bool lifted = i.ok || i.stage == xo::Stage::KernelVerify;
        if (lifted) ++t.ir_lifted;
        if (i.ok) {
          ++t.ir_accepted;
          t.ratio.push_back(double(i.slots) / double(d.slots));
          if (i.slots < d.slots) ++t.smaller;
          t.prepare_direct_us.push_back(double(d.prepare_ns) / 1e3);
          t.prepare_ir_us.push_back(double(i.prepare_ns) / 1e3);
          t.kernel_us.push_back(double(i.kernel_ns) / 1e3);
          if (f == Flavor::Chain) {
            const int prio = e.origin == "xdp-tools" ? 0 : e.origin == "linux-samples" ? 1
                             : e.origin == "linux-selftests" ? 2 : 3;
            bench_candidates.push_back(
                {prio, std::filesystem::path(e.object).stem().string() + ":" + p.name, path, p.name, *sub});
          }
          (e.origin == "linux-verifier-tests" ? t.ratio_verifier_tests : t.ratio_real).push_back(double(i.slots) / double(d.slots));
        } else {
          std::string why = i.why.substr(0, 140);
          for (std::size_t at; (at = why.find("prog '")) != std::string::npos;) {
            const std::size_t end = why.find("': ", at);
            why.erase(at, end == std::string::npos ? why.size() - at : end + 3 - at);
          }
          ++t.refusals[why];
        }
        Load a = offload(*sub, f, Tier::Auto);
        if (a.ok) ++t.auto_ok;
        if (a.ok && a.tier == Tier::Ir) ++t.auto_ir;
      }
    }
  }
  std::printf("## IR tier over the corpus (%s)\n\n", manifest_path.c_str());
  std::printf("| flavor | target programs | direct tier offloads | IR tier lifts | kernel accepts IR | %% accepted "
              "(of direct) | IR smaller | median IR/direct slots | best | auto loads | auto uses IR |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (auto& [f, t] : tally) {
    const double best = t.ratio.empty() ? 0 : *std::min_element(t.ratio.begin(), t.ratio.end());
    std::printf("| %s | %zu | %zu | %zu | %zu | %.1f%% | %zu | %.3f | %.3f | %zu | %zu |\n",
                std::string(xo::flavor_name(f)).c_str(), t.targets, t.direct_ok, t.ir_lifted, t.ir_accepted,
                t.direct_ok ? 100.0 * double(t.ir_accepted) / double(t.direct_ok) : 0.0, t.smaller, median(t.ratio),
                best, t.auto_ok, t.auto_ir);
  }
  std::printf("\n| flavor | median IR/direct, tools/samples/selftests (n) | median, the verifier's unit tests (n) |\n|---|---|---|\n");
  for (auto& [f, t] : tally)
    std::printf("| %s | %.3f (%zu) | %.3f (%zu) |\n", std::string(xo::flavor_name(f)).c_str(), median(t.ratio_real),
                t.ratio_real.size(), median(t.ratio_verifier_tests), t.ratio_verifier_tests.size());
  for (auto& [f, t] : tally) {
    std::printf("\nSemantics, %s: %zu programs run through both tiers on 5 frames (verdict, output frame, maps): "
                "%zu mismatches\n",
                std::string(xo::flavor_name(f)).c_str(), t.compared, t.mismatches);
    for (const auto& n : t.mismatch_names) std::printf("- %s\n", n.c_str());
  }
  std::printf("\n| flavor | prepare, direct tier (median us) | prepare, IR tier incl. direct (median us) | kernel "
              "load of the IR program (median us) |\n|---|---|---|---|\n");
  for (auto& [f, t] : tally)
    std::printf("| %s | %.0f | %.0f | %.0f |\n", std::string(xo::flavor_name(f)).c_str(),
                median(t.prepare_direct_us), median(t.prepare_ir_us), median(t.kernel_us));
  for (auto& [f, t] : tally) {
    std::printf("\nIR tier refusals, %s:\n\n", std::string(xo::flavor_name(f)).c_str());
    std::vector<std::pair<std::size_t, std::string>> v;
    for (auto& [why, n] : t.refusals) v.push_back({n, why});
    std::sort(v.rbegin(), v.rend());
    for (auto& [n, why] : v) std::printf("- %zu x `%s`\n", n, why.c_str());
  }
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  // Per-CPU maps: both tiers' runs on the same CPU.
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(sched_getcpu(), &set);
  sched_setaffinity(0, sizeof set, &set);
  // scripts/bench ir sets it from tests/corpus/fetch-and-build (the cache
  // key changes with the packages, the compiler and the kernel).
  std::string manifest;
  if (const char* m = std::getenv("XO_CORPUS_MANIFEST")) manifest = m;
  if (manifest.empty() && !std::getenv("XO_IR_BENCH_NO_CORPUS")) {
    std::fprintf(stderr, "xo_ir_bench: set XO_CORPUS_MANIFEST (tests/corpus/fetch-and-build prints it), "
                         "or XO_IR_BENCH_NO_CORPUS=1 for xdp1/xdp2 only; scripts/bench ir does the first\n");
    return 2;
  }
  auto tap = xo::corpus::private_netns_with_tap();
  if (!tap) {
    std::fprintf(stderr, "xo_ir_bench: %s\n", tap.error().message.c_str());
    return 2;
  }
  g_pin_root = "/sys/fs/bpf/xoffload-irbench-" + std::to_string(getpid());
  g_tap = (*tap)->name();
  std::printf("host BPF CPU: %s\n\n", xo::host::host_bpf_cpu().c_str());

  std::vector<Candidate> candidates;
  for (const auto& [name, path] : {std::pair<std::string, std::string>{"xdp1", XO_XDP1_OBJ}, {"xdp2", XO_XDP2_OBJ}}) {
    auto sub = xo::guest::build_submission_from_file(path, std::nullopt);
    if (sub) candidates.push_back({0, name, path, "", *sub});
  }
  std::vector<Candidate> corpus;
  if (!std::getenv("XO_IR_BENCH_NO_CORPUS")) coverage(manifest, corpus);
  std::stable_sort(corpus.begin(), corpus.end(), [](const Candidate& a, const Candidate& b) { return a.priority < b.priority; });
  for (std::size_t k = 0; k < corpus.size() && k < 8; ++k) candidates.push_back(corpus[k]);
  std::printf("## Host slots, chain (the programs timed below)\n\n| program | direct | IR | IR/direct |\n|---|---|---|---|\n");
  for (const auto& c : candidates) register_ns(c);
  std::printf("\n");
  std::fflush(stdout);
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  std::error_code ec;
  std::filesystem::remove_all(g_pin_root, ec);
  return 0;
}
