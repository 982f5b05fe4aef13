// xoffloadd round trips against the direct kernel path, measured side by side
// in one run on the same objects:
//  - map lookup: guest -> unix socket -> xoffloadd -> bpf syscall -> reply,
//    against bpf_map_lookup_elem on the very same map (opened from its pin);
//  - offload latency for xdp1: a built Submission to "attached on the tap"
//    (BTF_LOAD, MAP_CREATE, PROG_LOAD with preverify + translate + kernel
//    verifier, PROG_ATTACH), against a plain libbpf load of the same object
//    (bpf_object__open_file + load + attach to the same tap; an XDP program
//    cannot sit on tc, so libbpf attaches it as generic XDP).
// Per-iteration times are taken by hand; p50/p99 are reported as counters.
#include <benchmark/benchmark.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>

#include "guest/builder/elf_builder.hpp"
#include "tests/daemon/harness.hpp"
#include "tests/host/netdev.hpp"

namespace {

namespace ts = xo::transport;
using xo::dtest::Daemon;
using Clock = std::chrono::steady_clock;

struct Env {
  std::unique_ptr<xo::test::Tap> tap;
  std::unique_ptr<Daemon> daemon;
  std::unique_ptr<ts::Client> client;
  std::uint32_t map = 0;
  int direct_fd = -1;
  xo::Submission xdp1;
  std::string session;
  ~Env() {
    if (direct_fd >= 0) ::close(direct_fd);
  }
};

Env* g_env = nullptr;

Env& env() {
  static Env* e = [] {
    auto* e = g_env = new Env;
    e->tap = std::make_unique<xo::test::Tap>();
    e->session = xo::dtest::unique_name("bench");
    e->daemon = std::make_unique<Daemon>(
        std::vector<xo::dtest::SessionSpec>{{e->session, e->tap->name(), "",
                                             "requests_per_sec = 100000000\nrequest_burst = 100000000\n"
                                             "max_maps = 64\nmax_progs = 8\n"}},
        "warn");
    auto c = xo::dtest::connect_guest(e->daemon->session(0).socket);
    if (!c) throw std::runtime_error(c.error().message);
    e->client = std::make_unique<ts::Client>(std::move(*c));
    ts::MapCreateRequest r;
    r.type = xo::MapType::Array;
    r.key_size = 4;
    r.value_size = 8;
    r.max_entries = 16;
    r.name = "lat";
    auto h = e->client->map_create(r);
    if (!h) throw std::runtime_error(h.error().message);
    e->map = *h;
    std::string pin = "/sys/fs/bpf/xoffload/" + e->session + "/map" + std::to_string(*h) + "_lat";
    e->direct_fd = bpf_obj_get(pin.c_str());
    if (e->direct_fd < 0) throw std::runtime_error("bpf_obj_get " + pin);
    auto sub = xo::dtest::xdp1_submission();
    if (!sub) throw std::runtime_error(sub.error().message);
    e->xdp1 = std::move(*sub);
    return e;
  }();
  return *e;
}

void report(benchmark::State& state, std::vector<double>& ns) {
  if (ns.empty()) return;
  std::sort(ns.begin(), ns.end());
  auto pct = [&](double p) { return ns[std::min(ns.size() - 1, std::size_t(p * double(ns.size())))]; };
  state.counters["p50_us"] = pct(0.50) / 1e3;
  state.counters["p99_us"] = pct(0.99) / 1e3;
  state.counters["max_us"] = ns.back() / 1e3;
}

template <typename F>
void timed(benchmark::State& state, std::vector<double>& ns, F&& f) {
  auto t0 = Clock::now();
  f();
  double d = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
  ns.push_back(d);
  state.SetIterationTime(d / 1e9);
}

void BM_MapLookup_Daemon(benchmark::State& state) {
  Env& e = env();
  std::vector<std::uint8_t> key{3, 0, 0, 0};
  std::vector<double> ns;
  ns.reserve(1 << 20);
  for (auto _ : state)
    timed(state, ns, [&] {
      auto r = e.client->map_lookup(e.map, key);
      if (!r || !r->has_value()) state.SkipWithError("lookup failed");
      benchmark::DoNotOptimize(r);
    });
  report(state, ns);
}

void BM_MapLookup_Syscall(benchmark::State& state) {
  Env& e = env();
  std::uint32_t key = 3;
  std::uint64_t value = 0;
  std::vector<double> ns;
  ns.reserve(1 << 22);
  for (auto _ : state)
    timed(state, ns, [&] {
      if (bpf_map_lookup_elem(e.direct_fd, &key, &value) != 0) state.SkipWithError("lookup failed");
      benchmark::DoNotOptimize(value);
    });
  report(state, ns);
}

void BM_Offload_Daemon(benchmark::State& state) {
  Env& e = env();
  std::vector<double> ns;
  for (auto _ : state) {
    xo::dtest::Offloaded off;
    timed(state, ns, [&] {
      auto r = xo::dtest::offload(*e.client, e.xdp1, ts::kFlavorTc, true);
      if (!r) state.SkipWithError(r.error().message.c_str());
      else off = *r;
    });
    // Untimed: back to the same starting point (the lookup map stays).
    (void)e.client->prog_unload(off.prog);
    for (auto& [name, h] : off.maps) (void)e.client->map_free(h);
  }
  report(state, ns);
}

void BM_Offload_Libbpf(benchmark::State& state) {
  Env& e = env();
  const std::string path = std::string(XO_EXAMPLES_BIN) + "/xdp1/xdp1_kern.o";
  libbpf_set_print([](libbpf_print_level, const char*, va_list) { return 0; });
  std::vector<double> ns;
  for (auto _ : state) {
    bpf_object* obj = nullptr;
    timed(state, ns, [&] {
      obj = bpf_object__open_file(path.c_str(), nullptr);
      if (!obj || bpf_object__load(obj) != 0) {
        state.SkipWithError("libbpf open/load failed");
        return;
      }
      bpf_program* prog = bpf_object__find_program_by_name(obj, "xdp_prog1");
      if (bpf_xdp_attach(e.tap->ifindex(), bpf_program__fd(prog), XDP_FLAGS_SKB_MODE, nullptr) != 0)
        state.SkipWithError("bpf_xdp_attach failed");
    });
    bpf_xdp_detach(e.tap->ifindex(), XDP_FLAGS_SKB_MODE, nullptr);
    bpf_object__close(obj);
  }
  report(state, ns);
}

// The same without the attach: where libbpf's time goes (feature probes,
// BTF sanitising, relocation) versus rtnetlink.
void BM_Offload_LibbpfLoadOnly(benchmark::State& state) {
  const std::string path = std::string(XO_EXAMPLES_BIN) + "/xdp1/xdp1_kern.o";
  libbpf_set_print([](libbpf_print_level, const char*, va_list) { return 0; });
  std::vector<double> ns;
  for (auto _ : state) {
    bpf_object* obj = nullptr;
    timed(state, ns, [&] {
      obj = bpf_object__open_file(path.c_str(), nullptr);
      if (!obj || bpf_object__load(obj) != 0) state.SkipWithError("libbpf open/load failed");
    });
    bpf_object__close(obj);
  }
  report(state, ns);
}

void BM_BuildSubmission_Guest(benchmark::State& state) {
  const std::string path = std::string(XO_EXAMPLES_BIN) + "/xdp1/xdp1_kern.o";
  std::vector<double> ns;
  for (auto _ : state)
    timed(state, ns, [&] {
      auto s = xo::guest::build_submission_from_file(path, "xdp_prog1");
      if (!s) state.SkipWithError(s.error().message.c_str());
      benchmark::DoNotOptimize(s);
    });
  report(state, ns);
}

BENCHMARK(BM_MapLookup_Daemon)->UseManualTime()->Unit(benchmark::kMicrosecond)->MinTime(2.0);
BENCHMARK(BM_MapLookup_Syscall)->UseManualTime()->Unit(benchmark::kMicrosecond)->MinTime(2.0);
BENCHMARK(BM_Offload_Daemon)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(50);
BENCHMARK(BM_Offload_Libbpf)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(50);
BENCHMARK(BM_Offload_LibbpfLoadOnly)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(50);
BENCHMARK(BM_BuildSubmission_Guest)->UseManualTime()->Unit(benchmark::kMillisecond)->Iterations(50);

}  // namespace

int main(int argc, char** argv) {
  // Our own netns: the bench tap and its filters vanish with the process.
  if (unshare(CLONE_NEWNET) != 0) {
    std::perror("bench_transport needs root (unshare CLONE_NEWNET)");
    return 1;
  }
  xo::test::set_up("lo");
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  delete g_env;  // stops xoffloadd (SIGTERM), frees the tap
  return 0;
}
