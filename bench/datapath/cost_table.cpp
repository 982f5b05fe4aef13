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
#include "translator/isa/codec.hpp"

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

// The program as the kernel runs it (after verification: dead code removed,
// helpers inlined), map references reduced to "a map": two loads of the same
// code compare equal. nullopt when the kernel will not say.
std::optional<std::vector<bpf_insn>> xlated_code(int prog_fd) {
  bpf_prog_info info{};
  std::uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0 || info.xlated_prog_len == 0) return std::nullopt;
  std::vector<bpf_insn> insns(info.xlated_prog_len / sizeof(bpf_insn));
  const std::uint32_t bytes = info.xlated_prog_len;
  info = {};
  info.xlated_prog_len = bytes;
  info.xlated_prog_insns = reinterpret_cast<std::uintptr_t>(insns.data());
  len = sizeof info;
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0) return std::nullopt;
  static_assert(sizeof(bpf_insn) == sizeof(isa::RawInsn));
  std::vector<isa::RawInsn> raw(insns.size());
  std::memcpy(raw.data(), insns.data(), insns.size() * sizeof(bpf_insn));
  // The map's id: any map compares equal.
  (void)isa::rebind_map_refs(raw, [](std::size_t, std::int32_t) -> Result<std::int32_t> { return 0; });
  std::memcpy(insns.data(), raw.data(), insns.size() * sizeof(bpf_insn));
  return insns;
}

bool same_xlated_code(int a, int b) {
  auto x = xlated_code(a), y = xlated_code(b);
  return x && y && x->size() == y->size() &&
         std::memcmp(x->data(), y->data(), x->size() * sizeof(bpf_insn)) == 0;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

Result<host::Offload> load(const Testbed& tb, int which, Flavor flavor, bool stats, int copy) {
  host::OffloadOptions o;
  o.session = tb.session + "-cost-" + std::string(flavor_name(flavor)) + "-xdp" + std::to_string(which + 1) +
              (stats ? "-stats" : "") + "-" + std::to_string(copy);
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
  // Every program is loaded o.copies times. Where the JIT places an image
  // moves a 25 ns program by a few ns (the same bytecode loaded twice
  // measured 25 and 29 ns), so one copy per side would compare placements,
  // not programs; the median over copies and rounds compares programs.
  std::vector<BpfObject> natives;  // the XDP objects as they are, and the hand-written tc versions
  auto load_native = [&](const std::string& path, bool tc, int which) -> Result<int> {
    auto obj = BpfObject::open(path);
    if (!obj) return obj.error();
    if (tc && which == 1)
      if (auto s = obj->set_rodata_u32("tap_ifindex", static_cast<std::uint32_t>(tb.t2->ifindex())); !s)
        return s.error();
    if (auto s = obj->load(); !s) return s.error();
    natives.push_back(std::move(*obj));
    const int fd = natives.back().prog_fd(tc ? "xdp" + std::to_string(which + 1) + "_tc" : "xdp_prog1");
    if (fd < 0) return err("native program in " + path + " not found");
    return fd;
  };
  struct Entry {
    CostRow row;
    std::vector<int> fd[3];  // native, translated, translated with stats: one per copy
    std::vector<double> ns[3];
  };
  std::vector<Entry> entries;
  std::vector<host::Offload> keep;  // the translated programs live until the end
  for (Flavor f : {Flavor::Tc, Flavor::Chain}) {
    for (int i = 0; i < 2; ++i) {
      Entry e;
      e.row.prog = "xdp" + std::to_string(i + 1);
      e.row.hook = std::string(flavor_name(f));
      for (int c = 0; c < o.copies; ++c) {
        auto native = load_native(f == Flavor::Tc ? tb.options.paths.native_tc(i + 1) : tb.options.paths.xdp_obj(i + 1),
                                  f == Flavor::Tc, i);
        if (!native) return native.error();
        e.fd[0].push_back(*native);
        for (int stats = 0; stats < 2; ++stats) {
          auto off = load(tb, i, f, stats == 1, c);
          if (!off) return off.error();
          keep.push_back(std::move(*off));
          e.fd[1 + stats].push_back(keep.back().prog_fd());
        }
      }
      entries.push_back(std::move(e));
    }
  }

  const auto frame = make_frame(Proto::Udp);
  // Warm-up, then round-robin rounds.
  for (auto& e : entries)
    for (auto& fds : e.fd)
      for (int fd : fds)
        if (auto ns = ns_per_packet(fd, frame, std::min<std::uint32_t>(o.repeat, 100000), e.row.prog); !ns)
          return ns.error();
  for (int r = 0; r < o.rounds; ++r)
    for (auto& e : entries)
      for (int c = 0; c < o.copies; ++c)
        for (int k = 0; k < 3; ++k) {
          auto ns = ns_per_packet(e.fd[k][c], frame, o.repeat, e.row.prog + " " + e.row.hook);
          if (!ns) return ns.error();
          e.ns[k].push_back(*ns);
        }
  std::vector<CostRow> rows;
  for (auto& e : entries) {
    e.row.native_ns = median(e.ns[0]);
    e.row.translated_ns = median(e.ns[1]);
    e.row.translated_stats_ns = median(e.ns[2]);
    e.row.same_code = same_xlated_code(e.fd[0].front(), e.fd[1].front());
    rows.push_back(e.row);
  }
  return rows;
}

}  // namespace xo::bench
