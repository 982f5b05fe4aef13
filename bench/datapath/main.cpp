// xo_datapath: the data path benchmark of issue 5 (see docs/PERFORMANCE.md).
//
//   xo_datapath [--json FILE] [--seconds S] [--rounds N] [--stats on|off]
//               [--gen-cpus 0[,1]] [--rx-cpu N] [--cost-repeat N]
//               [--cost-rounds N] [--cost-copies N] [--no-cost] [--nice N] [--verbose]
//               [--case2-gen port-pass|veth-tx] [--bridge-nf on|off]
//               [--examples-bin DIR] [--progs FILE]
//
// Runs as root. It first moves itself into a fresh network namespace, so
// all the veths, the bridge and the taps it creates are private to this run
// and disappear with the process; bpffs pins live under
// /sys/fs/bpf/xoffload/xodatapath-<pid>-* and are removed on exit (and, after
// a crash, by the next run).
#include <signal.h>
#include <sys/resource.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "bench/datapath/cost_table.hpp"
#include "bench/datapath/rate_cases.hpp"
#include "bench/datapath/report.hpp"
#include "bench/datapath/testbed.hpp"

namespace {

using namespace xo::bench;

struct Args {
  std::string json;
  RateOptions rate;
  CostOptions cost;
  bool run_cost = true;
  int nice = -20;
  TestbedOptions testbed;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "xo_datapath: %s\nusage: xo_datapath [--json FILE] [--seconds S] [--rounds N] [--stats on|off]\n"
               "       [--gen-cpus 0[,1]] [--rx-cpu N] [--cost-repeat N] [--cost-rounds N]\n"
               "       [--cost-copies N] [--no-cost]\n"
               "       [--nice N] [--verbose] [--case2-gen port-pass|veth-tx] [--bridge-nf on|off]\n"
               "       [--examples-bin DIR] [--progs FILE]\n",
               why);
  std::exit(2);
}

std::vector<int> parse_cpus(const std::string& s) {
  std::vector<int> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) out.push_back(std::atoi(item.c_str()));
  if (out.empty()) usage("--gen-cpus needs a list");
  return out;
}

Args parse(int argc, char** argv) {
  Args a;
  a.testbed.paths.examples_bin = XO_EXAMPLES_BIN;
  a.testbed.paths.progs = XO_DATAPATH_PROGS;
  a.testbed.paths.deferred = XO_DATAPATH_DEFERRED;
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value for " + k).c_str());
      return argv[++i];
    };
    if (k == "--json") a.json = val();
    else if (k == "--seconds") a.rate.seconds = std::atof(val().c_str());
    else if (k == "--rounds") a.rate.rounds = std::atoi(val().c_str());
    else if (k == "--stats") {
      std::string v = val();
      if (v != "on" && v != "off") usage("--stats takes on or off");
      a.testbed.stats = v == "on";
    } else if (k == "--gen-cpus") a.rate.gen_cpus = parse_cpus(val());
    else if (k == "--rx-cpu") a.testbed.rx_cpu = std::atoi(val().c_str());
    else if (k == "--cost-repeat") a.cost.repeat = static_cast<std::uint32_t>(std::atol(val().c_str()));
    else if (k == "--cost-rounds") a.cost.rounds = std::atoi(val().c_str());
    else if (k == "--cost-copies") a.cost.copies = std::atoi(val().c_str());
    else if (k == "--no-cost") a.run_cost = false;
    else if (k == "--bridge-nf") {
      std::string v = val();
      if (v != "on" && v != "off") usage("--bridge-nf takes on or off");
      a.testbed.bridge_nf = v == "on";
    } else if (k == "--case2-gen") {
      std::string v = val();
      if (v != "port-pass" && v != "veth-tx") usage("--case2-gen takes port-pass or veth-tx");
      a.testbed.case2_port_pass = v == "port-pass";
    }
    else if (k == "--nice") a.nice = std::atoi(val().c_str());
    else if (k == "--verbose") a.rate.verbose = true;
    else if (k == "--examples-bin") a.testbed.paths.examples_bin = val();
    else if (k == "--progs") a.testbed.paths.progs = val();
    else usage(("unknown argument " + k).c_str());
  }
  if (a.rate.seconds <= 0 || a.rate.rounds < 1 || a.cost.repeat < 1 || a.cost.rounds < 1 ||
      a.cost.copies < 1)
    usage("durations, rounds and repeats must be positive");
  a.cost.cpu = a.rate.gen_cpus.front();
  return a;
}

void on_signal(int) {}  // interrupts the test runs (EINTR); teardown runs normally

pid_t g_child = 0;
void forward_signal(int sig) {
  if (g_child > 0) kill(g_child, sig);
}

// With sched_autogroup (on here), CFS first shares the CPU between
// sessions, and nice only orders threads inside one: a nice -20 thread in a
// session next to eight busy build sessions still gets about 1/9 of a core.
// So the benchmark runs in a session of its own (a forked child calls
// setsid()) and gives that session's autogroup the nice value. The parent
// only waits and forwards SIGINT/SIGTERM. Returns in the child; exits in the
// parent.
void run_in_own_session(int nice) {
  if (std::getenv("XO_DATAPATH_NO_FORK")) return;  // debugging: stay in the caller's session
  std::fflush(nullptr);
  pid_t child = fork();
  if (child < 0) {
    std::fprintf(stderr, "xo_datapath: warning: fork failed; running in the caller's session\n");
    return;
  }
  if (child > 0) {
    g_child = child;
    struct sigaction sa {};
    sa.sa_handler = forward_signal;
    sigaction(SIGINT, &sa, nullptr);
    sigaction(SIGTERM, &sa, nullptr);
    int status = 0;
    while (waitpid(child, &status, 0) < 0)
      if (errno != EINTR) std::exit(1);
    std::exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
  }
  setsid();
  std::ofstream ag("/proc/self/autogroup");
  if (ag) ag << nice << "\n";  // absent without CONFIG_SCHED_AUTOGROUP: nothing to do
}

bool bpffs_mounted() {
  struct statfs fs {};
  return statfs("/sys/fs/bpf", &fs) == 0 && fs.f_type == 0xcafe4a11;  // BPF_FS_MAGIC
}

std::string config_json(const Args& a) {
  std::string cpus;
  for (int c : a.rate.gen_cpus) cpus += (cpus.empty() ? "" : ",") + std::to_string(c);
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "{\"seconds\": %.3f, \"rounds\": %d, \"nice\": %d, \"stats\": %s, \"gen_cpus\": [%s], \"rx_cpu\": %d, \"case2_gen\": \"%s\", \"bridge_nf\": %s, "
                "\"frame_bytes\": 64, \"batch_size\": 64, \"cost_repeat\": %u, \"cost_rounds\": %d, \"cost_copies\": %d}",
                a.rate.seconds, a.rate.rounds, a.nice, a.testbed.stats ? "true" : "false", cpus.c_str(),
                a.testbed.rx_cpu, a.testbed.case2_port_pass ? "port-pass" : "veth-tx",
                a.testbed.bridge_nf ? "true" : "false", a.cost.repeat, a.cost.rounds, a.cost.copies);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  Args args = parse(argc, argv);
  run_in_own_session(args.nice);
  if (!bpffs_mounted() && mount("bpf", "/sys/fs/bpf", "bpf", 0, nullptr) != 0) {
    std::fprintf(stderr, "xo_datapath: /sys/fs/bpf is not a bpffs and cannot be mounted\n");
    return 1;
  }
  mkdir("/sys/fs/bpf/xoffload", 0700);
  remove_stale_sessions();
  // The machine is shared: a high CFS weight (default nice -20, for this
  // session's autogroup and every thread) keeps builds next door from
  // deciding the figures, without starving anyone outright the way a
  // real-time class would.
  if (setpriority(PRIO_PROCESS, 0, args.nice) != 0)
    std::fprintf(stderr, "xo_datapath: warning: cannot set nice %d\n", args.nice);
  if (auto s = enter_private_netns(); !s) {
    std::fprintf(stderr, "xo_datapath: %s\n", s.error().message.c_str());
    return 1;
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);

  auto tb = Testbed::create(args.testbed);
  if (!tb) {
    std::fprintf(stderr, "xo_datapath: setup: %s\n", tb.error().message.c_str());
    return 1;
  }
  auto rates = run_rate_cases(**tb, args.rate);
  if (!rates) {
    std::fprintf(stderr, "xo_datapath: %s\n", rates.error().message.c_str());
    return 1;
  }
  std::vector<CostRow> cost;
  if (args.run_cost) {
    auto c = run_cost_table(**tb, args.cost);
    if (!c) {
      std::fprintf(stderr, "xo_datapath: cost table: %s\n", c.error().message.c_str());
      return 1;
    }
    cost = std::move(*c);
  }
  std::printf("## Packet rates (64-byte frames, UDP/TCP/ICMP mix; %.1f s x %d rounds, median; stats %s)\n\n%s",
              args.rate.seconds, args.rate.rounds, args.testbed.stats ? "on" : "off",
              rate_table_markdown(*rates).c_str());
  std::printf("\n## Deferred actions (issue 13)\n\n%s", deferred_table_markdown(*rates).c_str());
  if (!cost.empty())
    std::printf("\n## Per-packet cost (BPF_PROG_TEST_RUN, repeat %u, %d copies x %d rounds, median)\n\n%s",
                args.cost.repeat, args.cost.copies, args.cost.rounds, cost_table_markdown(cost).c_str());
  if (!args.json.empty()) {
    std::ofstream f(args.json);
    f << to_json(*rates, cost, config_json(args));
    if (!f) {
      std::fprintf(stderr, "xo_datapath: cannot write %s\n", args.json.c_str());
      return 1;
    }
  }
  return 0;
}
