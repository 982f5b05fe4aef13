// xdp1 / xdp2 loader: the Linux samples/bpf/xdp1_user.c, plus -O/--offload.
//
//   xdp1 [-S|-N|-H|-F] [-O|--offload] [--port PATH] [--flavor F] [--map-size NAME=N]
//        [-n N|--duration S] [--retry S] IFACE
//   xdp1 --help | --version
//
// Loads <prog>_kern.o (prog = basename of argv[0], "xdp1" or "xdp2", as the
// Linux sample does; found next to the binary or in the cwd) and prints,
// every second, "proto N: <count> pkt/s" for each IP protocol whose counter
// in the rxcnt map grew.
//  - without -O: libbpf loads it in this kernel and attaches it to IFACE
//    (native XDP by default, generic with -S); counters from the local
//    per-CPU map;
//  - with -H: the kernel's standard hardware offload (XDP_FLAGS_HW_MODE,
//    the program and maps bound to IFACE's offload device): on a virtio-net
//    NIC that offers it (the patched driver and QEMU, kernel-patches/ and
//    qemu-patches/) the host runs it; counters are read with the ordinary
//    map syscalls, which the driver forwards. Linux offloads only ARRAY and
//    HASH maps, so rxcnt is loaded as a plain ARRAY there;
//  - with -O: the xoffload guest client offloads it to the host over
//    /dev/xoffload0 (or --port), where it runs on the tap that feeds IFACE;
//    counters are the host map's, read with MAP_LOOKUP (per-CPU slots summed).
//    When the host stops running it (its tap went away, the daemon or the
//    channel died), the program is attached natively on IFACE at once and the
//    host is tried again every --retry seconds (guest/client/kept_offload.hpp);
//    the run never ends because the offload was lost.
// On exit (SIGINT, SIGTERM, -n/--duration) it prints the totals, one line
// "total proto N: <packets>" per protocol seen, and detaches.
// --map-size NAME=N sets a map's max_entries before load in both modes
// (bpf_map__set_max_entries natively, the builder's map sizes offloaded).
//
// examples/xdp2/xdp2_user.cpp is this file with XO_SAMPLE_NAME "xdp2".
#include <libgen.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <signal.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <array>
#include <bit>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/args.hpp"
#include "guest/builder/elf_builder.hpp"
#include "guest/client/guest_client.hpp"
#include "guest/client/kept_offload.hpp"
#include "guest/client/native_xdp.hpp"

#ifndef XO_SAMPLE_NAME
#define XO_SAMPLE_NAME "xdp1"
#endif

namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

constexpr std::uint32_t kProtos = 256;  // rxcnt max_entries: one slot per IP protocol
using Counts = std::array<std::uint64_t, kProtos>;

struct Options {
  std::string prog_name = XO_SAMPLE_NAME;
  std::string iface, object, port;
  std::uint32_t xdp_flags = XDP_FLAGS_UPDATE_IF_NOEXIST;
  bool offload = false;
  std::uint8_t flavor = xo::transport::kFlavorAny;
  int interval = 1;
  long count = -1;       // reports, -1: until stopped
  double duration = -1;  // seconds, < 0: until stopped
  double retry = 5;      // seconds between offload retries while native
  std::map<std::string, std::uint32_t, std::less<>> map_sizes;  // --map-size, before load
};

// The command line, through the one parser (core/args.hpp): the sample's
// getopt conventions (-S -N -F, bundled as -SF; options before or after
// IFACE) plus --offload and friends. Usage errors exit 2.
const xo::args::Spec kSpec{
    "[OPTS] IFACE",
    "The Linux XDP sample " XO_SAMPLE_NAME ": per-protocol packet counts, in this kernel or offloaded to the host.",
    "Prints \"proto N: <count> pkt/s\" every interval for each IP protocol seen, and\n"
    "\"total proto N: <packets>\" on exit (SIGINT, SIGTERM, --count, --duration).",
    {{"-S", "", "use skb-mode"},
     {"-N", "", "enforce native mode"},
     {"-H", "", "hardware offload (XDP_FLAGS_HW_MODE) through the NIC's driver"},
     {"-F", "", "force loading prog"},
     {"--offload", "", "offload to the host (xoffload) and read the host's counters", "-O"},
     {"--port", "PATH", "xoffload channel (default /dev/xoffload0)"},
     {"--flavor", "F", "host flavor for --offload: tc, chain, devmap, any (default)"},
     {"--map-size", "NAME=N", "max_entries of map NAME before load (repeatable)"},
     {"--object", "F", "BPF object (default " XO_SAMPLE_NAME "_kern.o next to the binary or in cwd)", "-o"},
     {"--count", "N", "stop after N reports", "-n"},
     {"--duration", "S", "stop after S seconds"},
     {"--interval", "S", "seconds between reports (default 1)", "-i"},
     {"--retry", "S", "with --offload: when the host stops running it, run it natively and try the host again every S seconds (default 5)"}}};

// Options from the parsed command line; a usage error as an Error.
xo::Result<Options> options_from(const xo::args::Args& args, Options o) {
  if (args.positional.size() != 1)
    return xo::err(args.positional.empty() ? "IFACE missing" : "one IFACE expected, got " +
                                                                   std::to_string(args.positional.size()));
  o.iface = args.positional[0];
  if (args.flag("-S")) o.xdp_flags |= XDP_FLAGS_SKB_MODE;
  if (args.flag("-N")) o.xdp_flags |= XDP_FLAGS_DRV_MODE;  // default mode is native
  if (args.flag("-H")) o.xdp_flags |= XDP_FLAGS_HW_MODE;
  if (args.flag("-F")) o.xdp_flags &= ~XDP_FLAGS_UPDATE_IF_NOEXIST;
  o.offload = args.flag("--offload");
  if (std::popcount(o.xdp_flags & XDP_FLAGS_MODES) > 1) return xo::err("-S, -N and -H choose one mode: give one");
  if (o.offload && (o.xdp_flags & XDP_FLAGS_HW_MODE))
    return xo::err("-H offloads through the NIC's driver, --offload through xoffload's channel: give one");
  o.port = args.get("--port").value_or("");
  if (auto f = args.get("--flavor")) {
    auto flavor = xo::guest::parse_flavor(*f);
    if (!flavor) return flavor.error();
    o.flavor = *flavor;
  }
  for (const std::string& v : args.all("--map-size"))
    if (auto st = xo::guest::parse_map_size(v, o.map_sizes); !st) return xo::err("--map-size: " + st.error().message);
  o.object = args.get("--object").value_or("");
  auto count = args.unsigned_value("--count", 0, 0, 1'000'000'000);
  if (!count) return count.error();
  if (args.flag("--count")) o.count = long(*count);
  auto duration = args.seconds("--duration", -1);
  if (!duration) return duration.error();
  o.duration = *duration;
  auto interval = args.unsigned_value("--interval", 1, 1, 3600);
  if (!interval) return interval.error();
  o.interval = int(*interval);
  auto retry = args.seconds("--retry", 5);
  if (!retry) return retry.error();
  if (*retry <= 0) return xo::err("--retry: must be more than 0 seconds");
  o.retry = *retry;
  return o;
}

std::string find_object(const std::string& prog_name) {
  const std::string file = prog_name + "_kern.o";
  char exe[4096];
  const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
  if (n > 0) {
    exe[n] = 0;
    std::string path = std::string(::dirname(exe)) + "/" + file;
    if (::access(path.c_str(), R_OK) == 0) return path;
  }
  return file;  // cwd
}

// ---- counter sources ------------------------------------------------------

// Reads rxcnt: totals per protocol, summed over CPUs.
class CounterSource {
 public:
  virtual ~CounterSource() = default;
  virtual xo::Result<Counts> read() = 0;
  // Between reports: an error stops the loop (the program no longer runs).
  virtual xo::Status check() { return xo::Ok{}; }
};

class LocalCounters : public CounterSource {
 public:
  explicit LocalCounters(int map_fd) : fd_(map_fd), ncpus_(libbpf_num_possible_cpus()) {}
  xo::Result<Counts> read() override {
    Counts out{};
    if (ncpus_ <= 0) return xo::err("cannot get the number of possible CPUs");
    std::vector<std::uint64_t> values(ncpus_);
    std::uint32_t key = UINT32_MAX;
    while (bpf_map_get_next_key(fd_, &key, &key) == 0) {
      if (bpf_map_lookup_elem(fd_, &key, values.data()) != 0)
        return xo::err("rxcnt lookup of key " + std::to_string(key) + ": " + std::strerror(errno));
      std::uint64_t sum = 0;
      for (auto v : values) sum += v;
      if (key < kProtos) out[key] = sum;
    }
    return out;
  }

 private:
  int fd_;
  int ncpus_;
};

// The offloaded program's counters: read from the host's map while the host
// runs it, from the native program's map while the guest does
// (KeptOffload). Each switch starts fresh maps, so the totals carry what
// was counted before the switch.
class KeptCounters : public CounterSource {
 public:
  explicit KeptCounters(xo::guest::KeptOffload& kept) : kept_(kept) {}
  xo::Status check() override {
    for (const std::string& line : kept_.poll()) std::printf("%s\n", line.c_str());
    return xo::Ok{};  // never ends the run: the program keeps running somewhere
  }
  xo::Result<Counts> read() override {
    auto now = read_source();
    if (!now && kept_.runs_on() == xo::guest::RunsOn::Host) now = last_;  // host_failed: the next check() falls back
    if (!now) return now;
    if (kept_.switches() != seen_switches_) {
      // A new source. Its maps are fresh (zero), except a host program
      // resumed after a gap, which goes on from where it was read last.
      for (std::uint32_t k = 0; k < kProtos; ++k) carried_[k] += last_[k] - base_[k];
      const bool resumed = kept_.runs_on() == xo::guest::RunsOn::Host && kept_.offloaded().prog == host_prog_;
      base_ = resumed ? host_last_ : Counts{};
      last_ = base_;
      seen_switches_ = kept_.switches();
    }
    last_ = *now;
    if (kept_.runs_on() == xo::guest::RunsOn::Host) {
      host_prog_ = kept_.offloaded().prog;
      host_last_ = *now;
    }
    Counts out{};
    for (std::uint32_t k = 0; k < kProtos; ++k) out[k] = carried_[k] + (last_[k] - base_[k]);
    return out;
  }

 private:
  xo::Result<Counts> read_source() {
    switch (kept_.runs_on()) {
      case xo::guest::RunsOn::Guest: {
        auto fd = kept_.native().map_fd("rxcnt");
        if (!fd) return fd.error();
        return LocalCounters(*fd).read();
      }
      case xo::guest::RunsOn::Host: {
        auto counts = read_host();
        if (!counts) kept_.host_failed(counts.error());
        return counts;
      }
      default:
        return last_;  // nothing runs it: nothing new is counted
    }
  }
  xo::Result<Counts> read_host() {
    auto& c = kept_.client();
    auto map = c.map_named(kept_.offloaded(), "rxcnt");
    if (!map) return map.error();
    Counts out{};
    const std::uint32_t n = std::min((*map)->max_entries, kProtos);
    for (std::uint32_t key = 0; key < n; ++key) {
      const std::uint8_t k[4] = {std::uint8_t(key), std::uint8_t(key >> 8), std::uint8_t(key >> 16),
                                 std::uint8_t(key >> 24)};
      auto v = c.map_lookup((*map)->handle, k);
      if (!v) return xo::err("rxcnt lookup of key " + std::to_string(key) + ": " + v.error().message);
      if (!*v) continue;
      auto sum = xo::guest::sum_percpu_u64(**v, (*map)->value_size);
      if (!sum) return xo::err("rxcnt key " + std::to_string(key) + ": " + sum.error().message);
      out[key] = *sum;
    }
    return out;
  }

  xo::guest::KeptOffload& kept_;
  std::uint64_t seen_switches_ = 0;
  Counts carried_{}, base_{}, last_{};
  std::uint32_t host_prog_ = 0;  // the host program last read, and what it read
  Counts host_last_{};
};

// ---- the report loop (samples/bpf/xdp1_user.c poll_stats) -----------------

bool sleep_interruptible(std::chrono::steady_clock::time_point until) {
  while (!g_stop && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  return !g_stop;
}

int poll_stats(CounterSource& src, const Options& o) {
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  const auto end = o.duration >= 0 ? start + std::chrono::milliseconds(long(o.duration * 1000))
                                   : Clock::time_point::max();
  Counts prev{};
  int rc = 0;
  auto prev_time = start;
  for (long reports = 0; !g_stop && (o.count < 0 || reports < o.count); ++reports) {
    const auto next = std::min(Clock::now() + std::chrono::seconds(o.interval), end);
    const bool full = next < end;
    if (!sleep_interruptible(next) && !full) break;
    if (auto st = src.check(); !st) {
      std::fprintf(stderr, "%s: %s\n", o.prog_name.c_str(), st.error().message.c_str());
      rc = 1;
      break;
    }
    auto now = src.read();
    if (!now) {
      std::fprintf(stderr, "%s: %s\n", o.prog_name.c_str(), now.error().message.c_str());
      rc = 1;
      break;
    }
    // Rates over the time that really passed: reading the host's map over
    // the agent takes a while (256 round trips), so a report interval is
    // longer than the sleep.
    const auto read_time = Clock::now();
    const double seconds = std::max(1e-3, std::chrono::duration<double>(read_time - prev_time).count());
    prev_time = read_time;
    for (std::uint32_t key = 0; key < kProtos; ++key)
      if ((*now)[key] > prev[key])
        std::printf("proto %u: %10llu pkt/s\n", key,
                    (unsigned long long)(double((*now)[key] - prev[key]) / seconds + 0.5));
    prev = *now;
    std::fflush(stdout);
    if (Clock::now() >= end) break;
  }
  // Totals, read once more so nothing counted since the last report is lost.
  auto last = src.read();
  if (last) prev = *last;
  for (std::uint32_t key = 0; key < kProtos; ++key)
    if (prev[key]) std::printf("total proto %u: %llu\n", key, (unsigned long long)prev[key]);
  std::fflush(stdout);
  return rc;
}

// ---- native: libbpf in this kernel -----------------------------------------

int run_native(const Options& o, int ifindex) {
  libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
  // -H: rxcnt's per-CPU slots become one on the device; LocalCounters sums
  // the slots either way.
  const bool hw = o.xdp_flags & XDP_FLAGS_HW_MODE;
  auto native = xo::guest::NativeXdp::attach(o.object, std::uint32_t(ifindex),
                                             {std::nullopt, o.map_sizes, o.xdp_flags, hw});
  if (!native) {
    std::fprintf(stderr, "%s: %s\n", o.prog_name.c_str(), native.error().message.c_str());
    return 1;
  }
  std::printf("%s: attached %s to %s (%s, prog id %u)\n", o.prog_name.c_str(), (*native)->prog_name().c_str(),
              o.iface.c_str(), hw ? "XDP hardware offload" : "native XDP", (*native)->prog_id());
  std::fflush(stdout);
  auto fd = (*native)->map_fd("rxcnt");
  if (!fd) {
    std::fprintf(stderr, "%s: %s has no rxcnt map\n", o.prog_name.c_str(), o.object.c_str());
    return 1;
  }
  LocalCounters counters(*fd);
  const int rc = poll_stats(counters, o);
  if (std::string d = (*native)->detach(); !d.empty()) std::printf("%s\n", d.c_str());
  return rc;
}

// ---- offload: the host runs it ----------------------------------------------

int run_offload(const Options& o) {
  libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
  xo::guest::KeepOptions ko;
  ko.object = o.object;
  ko.port = o.port;
  ko.offload.ifname = o.iface;
  ko.offload.flavor = o.flavor;
  ko.offload.map_sizes = o.map_sizes;
  ko.xdp_flags = o.xdp_flags;
  ko.retry = std::chrono::milliseconds(long(o.retry * 1000));
  auto kept = xo::guest::KeptOffload::start(ko);
  if (!kept) {
    std::fprintf(stderr, "%s: %s\n", o.prog_name.c_str(), kept.error().message.c_str());
    return 1;
  }
  const auto& prog = (*kept)->offloaded();
  std::printf("%s: offloaded %s to the host for %s (flavor %s, prog handle %u)\n",
              o.prog_name.c_str(), prog.name.c_str(), o.iface.c_str(),
              xo::guest::flavor_name(prog.flavor).c_str(), prog.prog);
  for (const std::string& n : prog.notes) std::printf("%s: note: %s\n", o.prog_name.c_str(), n.c_str());
  if (!prog.find_map("rxcnt")) {
    std::fprintf(stderr, "%s: %s has no rxcnt map\n", o.prog_name.c_str(), o.object.c_str());
    return 1;
  }
  std::fflush(stdout);
  KeptCounters counters(**kept);
  int rc = poll_stats(counters, o);
  if (auto st = (*kept)->stop(); !st) {
    std::fprintf(stderr, "%s: unload: %s\n", o.prog_name.c_str(), st.error().message.c_str());
    rc = 1;
  }
  return rc;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  {
    std::string self = argv[0];
    const auto slash = self.rfind('/');
    if (slash != std::string::npos) self = self.substr(slash + 1);
    if (self == "xdp1" || self == "xdp2") o.prog_name = self;  // the sample picks the object by name
  }
  auto args = xo::args::parse(kSpec, argc, argv);
  if (args && args->help) {
    std::fputs(xo::args::help_text(kSpec, o.prog_name).c_str(), stdout);
    return xo::args::kExitOk;
  }
  if (args && args->version) {
    std::fputs(xo::args::version_text(o.prog_name).c_str(), stdout);
    return xo::args::kExitOk;
  }
  auto parsed = args ? options_from(*args, o) : xo::Result<Options>(args.error());
  if (!parsed) {
    std::fprintf(stderr, "%s: %s\n%s", o.prog_name.c_str(), parsed.error().message.c_str(),
                 xo::args::help_text(kSpec, o.prog_name).c_str());
    return xo::args::kExitUsage;
  }
  o = std::move(*parsed);
  if (o.object.empty()) o.object = find_object(o.prog_name);
  const int ifindex = int(if_nametoindex(o.iface.c_str()));
  if (!ifindex) {
    std::perror("if_nametoindex");
    return 1;
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;  // no SA_RESTART: a blocked sleep or read returns
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  return o.offload ? run_offload(o) : run_native(o, ifindex);
}
