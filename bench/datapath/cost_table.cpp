#include "bench/datapath/cost_table.hpp"

#include <bpf/bpf.h>
#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <optional>

#include "bench/datapath/frames.hpp"
#include "host/core/offload.hpp"

namespace xo::bench {

namespace {

double thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) * 1e9 + double(ts.tv_nsec);
}

Result<double> ns_per_packet(int prog_fd, const std::vector<std::uint8_t>& frame, std::uint32_t repeat,
                             const std::string& label) {
  std::vector<std::uint8_t> out(frame.size() + 256);
  bpf_test_run_opts opts{};
  opts.sz = sizeof opts;
  opts.data_in = frame.data();
  opts.data_size_in = static_cast<__u32>(frame.size());
  opts.data_out = out.data();
  opts.data_size_out = static_cast<__u32>(out.size());
  opts.repeat = static_cast<int>(repeat);
  double t0 = thread_cpu_ns();
  if (bpf_prog_test_run_opts(prog_fd, &opts) != 0)
    return err(label + ": test run failed (" + strerror(errno) + ")");
  return (thread_cpu_ns() - t0) / double(repeat);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

Result<host::Offload> load(const Testbed& tb, int which, Flavor flavor, bool stats) {
  host::OffloadOptions o;
  o.session = tb.session + "-cost-" + std::string(flavor_name(flavor)) + "-xdp" + std::to_string(which + 1) +
              (stats ? "-stats" : "");
  o.tap = tb.t2->name();
  o.flavor = flavor;
  o.stats = stats;
  o.attach = false;
  DefaultPolicy policy;
  auto off = host::Offload::load(o, tb.submission[which], policy);
  if (!off) return err("offload " + o.session + ": " + off.error().describe());
  return off;
}

}  // namespace

Result<std::vector<CostRow>> run_cost_table(const Testbed& tb, const CostOptions& o) {
  if (o.cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(o.cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  }
  // Natives: the XDP objects as they are, and the hand-written tc versions.
  std::optional<BpfObject> native_xdp[2], native_tc[2];
  for (int i = 0; i < 2; ++i) {
    auto x = BpfObject::open(tb.options.paths.xdp_obj(i + 1));
    if (!x) return x.error();
    native_xdp[i].emplace(std::move(*x));
    if (auto s = native_xdp[i]->load(); !s) return s.error();
    auto t = BpfObject::open(tb.options.paths.native_tc(i + 1));
    if (!t) return t.error();
    native_tc[i].emplace(std::move(*t));
    if (i == 1)
      if (auto s = native_tc[i]->set_rodata_u32("tap_ifindex", static_cast<std::uint32_t>(tb.t2->ifindex())); !s)
        return s.error();
    if (auto s = native_tc[i]->load(); !s) return s.error();
  }

  struct Entry {
    CostRow row;
    int fd[3];  // native, translated, translated with stats
    std::vector<double> ns[3];
  };
  std::vector<Entry> entries;
  std::vector<host::Offload> keep;  // the translated programs live until the end
  for (Flavor f : {Flavor::Tc, Flavor::Chain}) {
    for (int i = 0; i < 2; ++i) {
      Entry e;
      e.row.prog = "xdp" + std::to_string(i + 1);
      e.row.hook = std::string(flavor_name(f));
      e.fd[0] = f == Flavor::Tc ? native_tc[i]->prog_fd("xdp" + std::to_string(i + 1) + "_tc")
                                : native_xdp[i]->prog_fd("xdp_prog1");
      for (int stats = 0; stats < 2; ++stats) {
        auto off = load(tb, i, f, stats == 1);
        if (!off) return off.error();
        keep.push_back(std::move(*off));
        e.fd[1 + stats] = keep.back().prog_fd();
      }
      if (e.fd[0] < 0) return err("native program for " + e.row.prog + " " + e.row.hook + " not found");
      entries.push_back(std::move(e));
    }
  }

  const auto frame = make_frame(Proto::Udp);
  // Warm-up, then round-robin rounds.
  for (auto& e : entries)
    for (int k = 0; k < 3; ++k)
      if (auto ns = ns_per_packet(e.fd[k], frame, std::min<std::uint32_t>(o.repeat, 100000), e.row.prog); !ns)
        return ns.error();
  for (int r = 0; r < o.rounds; ++r)
    for (auto& e : entries)
      for (int k = 0; k < 3; ++k) {
        auto ns = ns_per_packet(e.fd[k], frame, o.repeat, e.row.prog + " " + e.row.hook);
        if (!ns) return ns.error();
        e.ns[k].push_back(*ns);
      }
  std::vector<CostRow> rows;
  for (auto& e : entries) {
    e.row.native_ns = median(e.ns[0]);
    e.row.translated_ns = median(e.ns[1]);
    e.row.translated_stats_ns = median(e.ns[2]);
    rows.push_back(e.row);
  }
  return rows;
}

}  // namespace xo::bench
