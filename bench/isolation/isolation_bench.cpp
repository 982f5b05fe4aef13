// Isolation under a verifier flood (issue 10, break 3): one xoffloadd, two
// sessions on two taps. The flooder's guest sends heavy PROG_LOADs without
// pause (tests/daemon/harness.hpp heavy_program: each drives the kernel
// verifier to its 1M-insn limit, seconds of CPU; its verifier CPU budget is
// off, so nothing but the threading keeps it from the others) while the
// victim's guest times MAP_LOOKUP round trips on its own map. The quiet
// case is the same lookup with no flood. Per-iteration times are taken by
// hand; p50/p99/max are counters; `heavy_loads` counts the flooder's
// verifications that ended during the run; `serving_cpu_s` and
// `verifier_cpu_s` the CPU the daemon's serving thread and its load
// worker used meanwhile (the worker runs at nice +10, so on a busy host one
// heavy load can take longer than the run).
//
//   scripts/bench isolation [google-benchmark options]
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "tests/daemon/harness.hpp"
#include "tests/host/netdev.hpp"

namespace {

namespace ts = xo::transport;
using xo::dtest::Daemon;
using Clock = std::chrono::steady_clock;

struct Env {
  std::unique_ptr<xo::test::Tap> flood_tap, victim_tap;
  std::unique_ptr<Daemon> daemon;
  std::unique_ptr<ts::Client> victim;
  std::uint32_t map = 0;
};

Env& env() {
  static Env* e = [] {
    auto* e = new Env;
    e->flood_tap = std::make_unique<xo::test::Tap>();
    e->victim_tap = std::make_unique<xo::test::Tap>();
    const std::string rate = "requests_per_sec = 100000000\nrequest_burst = 100000000\n";
    e->daemon = std::make_unique<Daemon>(
        std::vector<xo::dtest::SessionSpec>{
            {xo::dtest::unique_name("flood"), e->flood_tap->name(), "", rate + "verify_cpu_ms_per_sec = 0\n"},
            {xo::dtest::unique_name("victim"), e->victim_tap->name(), "", rate}},
        "warn");
    auto c = xo::dtest::connect_guest(e->daemon->session(1).socket);
    if (!c) throw std::runtime_error(c.error().message);
    e->victim = std::make_unique<ts::Client>(std::move(*c));
    ts::MapCreateRequest r;
    r.type = xo::MapType::Array;
    r.key_size = 4;
    r.value_size = 8;
    r.max_entries = 16;
    r.name = "lat";
    auto h = e->victim->map_create(r);
    if (!h) throw std::runtime_error(h.error().message);
    e->map = *h;
    return e;
  }();
  return *e;
}

// The flooder: its own guest, one heavy PROG_LOAD after another (the
// session verifies one at a time; more in flight would only queue). One
// run per benchmark (fixed iterations): the session takes one guest, and
// a reconnect racing the previous hang-up would be turned away.
class Flood {
 public:
  Flood() {
    auto c = xo::dtest::connect_guest(env().daemon->session(0).socket);
    if (!c) throw std::runtime_error(c.error().message);
    client_ = std::make_unique<ts::Client>(std::move(*c));
    client_->set_timeout(600'000);
    thread_ = std::thread([this] {
      while (!stop_) {
        auto r = client_->call(xo::dtest::prog_load_request(xo::dtest::heavy_program(), "heavy"));
        if (!r) return;
        ++loads_;
      }
    });
    // Until the first verification is surely running: one quick round trip
    // of the victim would not prove it, so wait a little for the flooder.
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  ~Flood() {
    stop_ = true;
    thread_.join();
  }
  std::uint64_t loads() const { return loads_; }

 private:
  std::unique_ptr<ts::Client> client_;
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> loads_{0};
  std::thread thread_;
};

// CPU seconds (utime + stime) from a /proc .../stat file.
double cpu_s(const std::string& path) {
  std::ifstream in(path);
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (stat.rfind(')') == std::string::npos) return 0;
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string f;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i)
    if (i >= 14) ticks += std::stod(f);
  return ticks / double(::sysconf(_SC_CLK_TCK));
}

// The daemon's CPU: all threads, and its load workers (every thread but
// the main one, which serves the sessions).
struct DaemonCpu {
  double all = 0, workers = 0;
};
DaemonCpu daemon_cpu() {
  const std::string pid = std::to_string(env().daemon->pid());
  DaemonCpu c;
  c.all = cpu_s("/proc/" + pid + "/stat");
  c.workers = c.all - cpu_s("/proc/" + pid + "/task/" + pid + "/stat");
  return c;
}

void lookups(benchmark::State& state) {
  Env& e = env();
  const DaemonCpu cpu0 = daemon_cpu();
  std::vector<std::uint8_t> key{3, 0, 0, 0};
  std::vector<double> ns;
  ns.reserve(1 << 20);
  for (auto _ : state) {
    auto t0 = Clock::now();
    auto r = e.victim->map_lookup(e.map, key);
    double d = std::chrono::duration<double, std::nano>(Clock::now() - t0).count();
    if (!r || !r->has_value()) state.SkipWithError("lookup failed");
    ns.push_back(d);
    state.SetIterationTime(d / 1e9);
  }
  const DaemonCpu cpu1 = daemon_cpu();
  state.counters["serving_cpu_s"] = (cpu1.all - cpu1.workers) - (cpu0.all - cpu0.workers);
  state.counters["verifier_cpu_s"] = cpu1.workers - cpu0.workers;
  if (ns.empty()) return;
  std::sort(ns.begin(), ns.end());
  auto pct = [&](double p) { return ns[std::min(ns.size() - 1, std::size_t(p * double(ns.size())))]; };
  state.counters["p50_us"] = pct(0.50) / 1e3;
  state.counters["p99_us"] = pct(0.99) / 1e3;
  state.counters["max_us"] = ns.back() / 1e3;
}

void BM_VictimMapLookup_Quiet(benchmark::State& state) { lookups(state); }

void BM_VictimMapLookup_UnderVerifierFlood(benchmark::State& state) {
  Flood flood;
  lookups(state);
  state.counters["heavy_loads"] = double(flood.loads());
}

BENCHMARK(BM_VictimMapLookup_Quiet)->UseManualTime()->Unit(benchmark::kMicrosecond)->Iterations(100000);
BENCHMARK(BM_VictimMapLookup_UnderVerifierFlood)->UseManualTime()->Unit(benchmark::kMicrosecond)->Iterations(1000000);

}  // namespace

BENCHMARK_MAIN();
