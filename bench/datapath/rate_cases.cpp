#include "bench/datapath/rate_cases.hpp"

#include <bpf/bpf.h>

#include <algorithm>
#include <chrono>
#include <thread>
#include <cstdio>
#include <functional>
#include <optional>

#include "bench/datapath/frames.hpp"
#include "bench/datapath/generator.hpp"
#include "host/core/attach_tc.hpp"

namespace xo::bench {

namespace {

// What a measurement reads before and after the generator runs.
struct Counters {
  std::uint64_t received = 0, echoed = 0, sink = 0, rxcnt = 0;
};

enum class Figure { GeneratorRate, GuestReceived, GuestEchoed, GuestProgram, Sink };

struct Plan {
  std::string label;
  int prog_fd;
  int ingress_ifindex;
  const ChildNetns* netns;
  TapReceiver* receiver;
  TapReceiver::Mode mode;
  int rxcnt_fd;  // -1: none
  Figure figure;
  std::function<Status()> before;  // attach (tc) for the duration
  std::function<void()> after;
};

Result<Counters> read_counters(const Testbed& tb, const Plan& p) {
  Counters c;
  c.received = p.receiver->received();
  c.echoed = p.receiver->echoed();
  auto s = percpu_sum(tb.sink_map(), 0);
  if (!s) return s.error();
  c.sink = *s;
  if (p.rxcnt_fd >= 0) {
    auto r = percpu_sum_all(p.rxcnt_fd, 256);
    if (!r) return r.error();
    c.rxcnt = *r;
  }
  return c;
}

Result<Sample> measure(Testbed& tb, const Plan& p, const RateOptions& o) {
  p.receiver->set_mode(p.mode);
  if (p.before)
    if (auto s = p.before(); !s) return s.error();
  // Let the receiver drain what the previous measurement left in the tap
  // ring, so it is not counted here.
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  GeneratorSpec spec;
  spec.prog_fd = p.prog_fd;
  spec.ingress_ifindex = p.ingress_ifindex;
  spec.netns = p.netns;
  spec.frames = frame_mix();
  spec.seconds = o.seconds;
  spec.cpus = o.gen_cpus;
  std::optional<Result<Counters>> c0, c1;
  auto run = run_generator(
      spec, [&] { c0.emplace(read_counters(tb, p)); }, [&] { c1.emplace(read_counters(tb, p)); });
  if (p.after) p.after();
  if (!run) return err(p.label + ": " + run.error().message);
  if (!*c0) return c0->error();
  if (!*c1) return c1->error();
  const Counters& a = **c0;
  const Counters& b = **c1;
  const double us = run->seconds * 1e6;
  Sample s;
  s.offered_mpps = run->mpps();
  s.guest_rx_mpps = double(b.received - a.received) / us;
  switch (p.figure) {
    case Figure::GeneratorRate: s.value_mpps = s.offered_mpps; break;
    case Figure::GuestReceived: s.value_mpps = s.guest_rx_mpps; break;
    case Figure::GuestEchoed: s.value_mpps = double(b.echoed - a.echoed) / us; break;
    case Figure::GuestProgram: s.value_mpps = double(b.rxcnt - a.rxcnt) / us; break;
    case Figure::Sink: s.value_mpps = double(b.sink - a.sink) / us; break;
  }
  if (o.verbose)
    std::fprintf(stderr, "  %-26s %7.3f Mpps  (offered %7.3f, guest rx %6.3f)\n", p.label.c_str(), s.value_mpps,
                 s.offered_mpps, s.guest_rx_mpps);
  return s;
}

Sample median(std::vector<Sample> v) {
  auto med = [&](auto field) {
    std::vector<double> x;
    for (const auto& s : v) x.push_back(s.*field);
    std::sort(x.begin(), x.end());
    return x.size() % 2 ? x[x.size() / 2] : (x[x.size() / 2 - 1] + x[x.size() / 2]) / 2;
  };
  Sample m{med(&Sample::value_mpps), med(&Sample::offered_mpps), med(&Sample::guest_rx_mpps)};
  m.min_mpps = m.max_mpps = v.front().value_mpps;
  for (const auto& s : v) {
    m.min_mpps = std::min(m.min_mpps, s.value_mpps);
    m.max_mpps = std::max(m.max_mpps, s.value_mpps);
  }
  return m;
}

std::vector<Plan> make_plans(Testbed& tb) {
  using Mode = TapReceiver::Mode;
  std::vector<Plan> plans;
  const int c1a = tb.c1.ifindex();
  const int plain = tb.ingress_plain->prog_fd("xo_chain_ingress");
  // 0: the ceiling
  plans.push_back({"generator (drop)", tb.progs->prog_fd("gen_drop"), c1a, nullptr, tb.rx1.get(), Mode::Drop, -1,
                   Figure::GeneratorRate, {}, {}});
  for (int i = 0; i < 2; ++i) {
    const std::string name = "xdp" + std::to_string(i + 1);
    const Mode mode = i == 0 ? Mode::Drop : Mode::Echo;
    // case 1: 1 + 2i no offload, 2 + 2i offload
    plans.push_back({"case1 " + name + " no offload", plain, c1a, nullptr, tb.rx1.get(), mode, -1,
                     i == 0 ? Figure::GuestReceived : Figure::GuestEchoed, {}, {}});
    plans.push_back({"case1 " + name + " offload", tb.ingress_offload[i]->prog_fd("xo_chain_ingress"), c1a, nullptr,
                     tb.rx1.get(), mode, tb.chain.rxcnt_fd(i), i == 0 ? Figure::GuestProgram : Figure::Sink, {},
                     {}});
  }
  for (int i = 0; i < 2; ++i) {
    const std::string name = "xdp" + std::to_string(i + 1);
    const Mode mode = i == 0 ? Mode::Drop : Mode::Echo;
    const bool pass = tb.options.case2_port_pass;
    const int gen = tb.progs->prog_fd(pass ? "gen_pass" : "gen_tx");
    const int ingress = pass ? tb.v.ifindex() : tb.g_ifindex;
    const ChildNetns* ns = pass ? nullptr : &*tb.g;
    // case 2: 5 + 2i no offload, 6 + 2i offload
    plans.push_back({"case2 " + name + " no offload", gen, ingress, ns, tb.rx2.get(), mode, -1,
                     i == 0 ? Figure::GuestReceived : Figure::GuestEchoed, {}, {}});
    auto attachment = std::make_shared<std::optional<host::TcAttachment>>();
    host::Offload* off = &*tb.tc.prog[i];
    plans.push_back({"case2 " + name + " offload", gen, ingress, ns, tb.rx2.get(), mode,
                     tb.tc.rxcnt_fd(i), i == 0 ? Figure::GuestProgram : Figure::Sink,
                     [attachment, off]() -> Status {
                       auto a = host::TcAttachment::attach(off->tap_ifindex(), off->prog_fd());
                       if (!a) return a.error();
                       attachment->emplace(std::move(*a));
                       return Ok{};
                     },
                     [attachment] { attachment->reset(); }});
  }
  // References, 9 + 2c + i: native programs at the same hooks.
  for (int i = 0; i < 2; ++i)
    plans.push_back({"case1 xdp" + std::to_string(i + 1) + " native", tb.ingress_native[i]->prog_fd("xo_chain_ingress"),
                     c1a, nullptr, tb.rx1.get(), i == 0 ? Mode::Drop : Mode::Echo,
                     tb.native_xdp[i]->map_fd("rxcnt"), i == 0 ? Figure::GuestProgram : Figure::Sink, {}, {}});
  for (int i = 0; i < 2; ++i) {
    const bool pass = tb.options.case2_port_pass;
    const int gen = tb.progs->prog_fd(pass ? "gen_pass" : "gen_tx");
    const int ingress = pass ? tb.v.ifindex() : tb.g_ifindex;
    const ChildNetns* ns = pass ? nullptr : &*tb.g;
    auto attachment = std::make_shared<std::optional<host::TcAttachment>>();
    const int tap = tb.t2->ifindex();
    const int prog = tb.native_tc[i]->prog_fd("xdp" + std::to_string(i + 1) + "_tc");
    plans.push_back({"case2 xdp" + std::to_string(i + 1) + " native", gen, ingress, ns, tb.rx2.get(),
                     i == 0 ? Mode::Drop : Mode::Echo, tb.native_tc[i]->map_fd("rxcnt"),
                     i == 0 ? Figure::GuestProgram : Figure::Sink,
                     [attachment, tap, prog]() -> Status {
                       auto a = host::TcAttachment::attach(tap, prog);
                       if (!a) return a.error();
                       attachment->emplace(std::move(*a));
                       return Ok{};
                     },
                     [attachment] { attachment->reset(); }});
  }
  // Deferred actions (issue 13), 13..16: xdp_half without offload (every
  // frame reaches the guest, which would drop half) and offloaded (its own
  // counter: frames it ran on); xdp_redirect_all and xdp_pass_all offloaded
  // (frames the guest reads: every one, with or without a descriptor).
  plans.push_back({"case1 half no offload", plain, c1a, nullptr, tb.rx1.get(), Mode::Drop, -1,
                   Figure::GuestReceived, {}, {}});
  plans.push_back({"case1 half offload", tb.ingress_deferred[0]->prog_fd("xo_chain_ingress"), c1a, nullptr,
                   tb.rx1.get(), Mode::Drop, tb.deferred_rxcnt_fd(), Figure::GuestProgram, {}, {}});
  plans.push_back({"case1 redirect-all offload", tb.ingress_deferred[1]->prog_fd("xo_chain_ingress"), c1a,
                   nullptr, tb.rx1.get(), Mode::Drop, -1, Figure::GuestReceived, {}, {}});
  plans.push_back({"case1 pass-all offload", tb.ingress_deferred[2]->prog_fd("xo_chain_ingress"), c1a, nullptr,
                   tb.rx1.get(), Mode::Drop, -1, Figure::GuestReceived, {}, {}});
  return plans;
}

// The kernel's own run time of a program (BPF_ENABLE_STATS): ns per run.
double ns_per_run(int prog_fd) {
  bpf_prog_info info{};
  std::uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0 || info.run_cnt == 0) return 0;
  return double(info.run_time_ns) / double(info.run_cnt);
}

}  // namespace

Result<RateResults> run_rate_cases(Testbed& tb, const RateOptions& o) {
  // Run-time statistics while this fd is open: the deferred rows' programs
  // report their own cost per frame (descriptor against plain PASS).
  UniqueFd stats(bpf_enable_stats(BPF_STATS_RUN_TIME));
  std::vector<Plan> plans = make_plans(tb);
  // Warm-up: page pools, NAPI, FDB learning, caches; not measured.
  {
    RateOptions warm = o;
    warm.seconds = std::min(0.2, o.seconds);
    warm.verbose = false;
    for (const auto& p : plans)
      if (auto s = measure(tb, p, warm); !s) return s.error();
  }
  std::vector<std::vector<Sample>> samples(plans.size());
  for (int r = 0; r < o.rounds; ++r) {
    if (o.verbose) std::fprintf(stderr, "round %d/%d\n", r + 1, o.rounds);
    for (std::size_t k = 0; k < plans.size(); ++k) {
      auto s = measure(tb, plans[k], o);
      if (!s) return s.error();
      samples[k].push_back(*s);
    }
  }
  RateResults out;
  out.seconds = o.seconds;
  out.rounds = o.rounds;
  out.stats = tb.options.stats;
  out.generator = median(samples[0]);
  out.generator_mpps = out.generator.value_mpps;
  for (int c = 0; c < 2; ++c)
    for (int i = 0; i < 2; ++i) {
      Cell& cell = out.cell[c][i];
      cell.no_offload = median(samples[1 + 4 * c + 2 * i]);
      cell.offload = median(samples[2 + 4 * c + 2 * i]);
      cell.native = median(samples[9 + 2 * c + i]);
      cell.native_mpps = cell.native.value_mpps;
      cell.no_offload_mpps = cell.no_offload.value_mpps;
      cell.offload_mpps = cell.offload.value_mpps;
    }
  out.deferred.half_no_offload = median(samples[13]);
  out.deferred.half_offload = median(samples[14]);
  out.deferred.redirect_all = median(samples[15]);
  out.deferred.pass_all = median(samples[16]);
  // A tail-called program's runs are accounted to its caller: the ingress
  // program that tail-calls each (the same code around both).
  out.deferred.redirect_all_prog_ns = ns_per_run(tb.ingress_deferred[1]->prog_fd("xo_chain_ingress"));
  out.deferred.pass_all_prog_ns = ns_per_run(tb.ingress_deferred[2]->prog_fd("xo_chain_ingress"));
  return out;
}

}  // namespace xo::bench
