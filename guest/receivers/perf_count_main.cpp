// xo-perf-count: a perf reader for the guest. It reads an offload's pinned
// PERF_EVENT_ARRAY (libbpf perf_buffer) and counts the samples, whether the
// trampoline emitted them (offloaded) or the native program did.
//
//   xo-perf-count --map /sys/fs/bpf/xoffload-guest/eth0/events
//                 [--count N] [--duration S] [--dump] [--ready FILE]
//
// Prints "perf: N samples, B bytes, L lost" (and with --dump one
// "sample: <hex>" line each) when N samples arrived or S seconds passed.
#include <bpf/bpf.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "core/args.hpp"
#include "guest/receivers/perf_reader.hpp"

namespace {

const xo::args::Spec kSpec{
    "--map PATH [--count N] [--duration S] [--dump] [--ready FILE]",
    "Count the samples of a pinned PERF_EVENT_ARRAY.",
    "",
    {{"--map", "PATH", "the pinned PERF_EVENT_ARRAY (e.g. /sys/fs/bpf/xoffload-guest/eth0/events)"},
     {"--count", "N", "stop after N samples (default: run for --duration)"},
     {"--duration", "S", "stop after S seconds (default 10)"},
     {"--dump", "", "print every sample in hex"},
     {"--ready", "FILE", "create FILE once the rings are open"}}};

int fail(const std::string& what) {
  std::fprintf(stderr, "xo-perf-count: %s\n", what.c_str());
  return xo::args::kExitFailure;
}

}  // namespace

int main(int argc, char** argv) {
  auto args = xo::args::parse(kSpec, argc, argv);
  if (!args) return std::fprintf(stderr, "xo-perf-count: %s\n", args.error().message.c_str()), xo::args::kExitUsage;
  if (args->help) return std::fputs(xo::args::help_text(kSpec, "xo-perf-count").c_str(), stdout), 0;
  if (args->version) return std::fputs(xo::args::version_text("xo-perf-count").c_str(), stdout), 0;
  auto map = args->get("--map");
  auto count = args->unsigned_value("--count", 0);
  auto duration = args->seconds("--duration", 10);
  if (!map) return std::fprintf(stderr, "xo-perf-count: --map is required\n"), xo::args::kExitUsage;
  if (!count) return std::fprintf(stderr, "xo-perf-count: %s\n", count.error().message.c_str()), xo::args::kExitUsage;
  if (!duration) return std::fprintf(stderr, "xo-perf-count: %s\n", duration.error().message.c_str()), xo::args::kExitUsage;

  const int map_fd = bpf_obj_get(map->c_str());
  if (map_fd < 0) return fail("opening " + *map + ": " + std::strerror(-map_fd));
  auto reader = xo::guest::PerfReader::open(map_fd);
  if (!reader) return fail(reader.error().message);
  if (auto r = args->get("--ready"))
    if (FILE* f = std::fopen(r->c_str(), "w")) std::fclose(f);
  std::printf("perf: ready\n");
  std::fflush(stdout);

  auto samples = (*reader)->take(int(*duration * 1000), std::size_t(*count));
  std::uint64_t bytes = 0;
  for (const auto& s : samples) {
    bytes += s.size();
    if (!args->flag("--dump")) continue;
    std::printf("sample:");
    for (std::uint8_t b : s) std::printf(" %02x", b);
    std::printf("\n");
  }
  std::printf("perf: %zu samples, %llu bytes, %llu lost\n", samples.size(), (unsigned long long)bytes,
              (unsigned long long)(*reader)->lost());
  return 0;
}
