// xo-xsk-count: an AF_XDP receiver for the guest (copy mode, libxdp's xsk
// API). It puts its socket into an offload's pinned XSKMAP and counts the
// frames that reach it, whether the trampoline redirected them (offloaded)
// or the native program did.
//
//   xo-xsk-count --iface eth0 --map /sys/fs/bpf/xoffload-guest/eth0/xsks_map
//                [--queue 0] [--count N] [--duration S] [--udp-port P] [--ready FILE]
//
// Prints "xsk: F frames, B bytes, U udp:P, O other" when N frames arrived or
// S seconds passed. --ready FILE is created once the socket is in the map,
// so a script can start the traffic then.
#include <arpa/inet.h>

#include <bpf/bpf.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "core/args.hpp"
#include "guest/receivers/xsk_socket.hpp"

namespace {

const xo::args::Spec kSpec{
    "--iface IF --map PATH [--queue Q] [--count N] [--duration S] [--udp-port P] [--ready FILE]",
    "Count the frames an AF_XDP socket (copy mode) receives through a pinned XSKMAP.",
    "",
    {{"--iface", "IF", "the NIC"},
     {"--map", "PATH", "the pinned XSKMAP (e.g. /sys/fs/bpf/xoffload-guest/eth0/xsks_map)"},
     {"--queue", "Q", "the NIC queue, and the XSKMAP key (default 0)"},
     {"--count", "N", "stop after N frames (default: run for --duration)"},
     {"--duration", "S", "stop after S seconds (default 10)"},
     {"--udp-port", "P", "also count IPv4 UDP frames to port P apart from the rest"},
     {"--ready", "FILE", "create FILE once the socket is in the map"}}};

// IPv4/UDP destination port of an Ethernet frame, or -1.
int udp_dst_port(const std::vector<std::uint8_t>& f) {
  if (f.size() < 14 + 20 + 8 || f[12] != 0x08 || f[13] != 0x00 || f[23] != 17) return -1;
  const std::size_t l4 = 14 + std::size_t(f[14] & 0x0f) * 4;
  if (f.size() < l4 + 4) return -1;
  return (f[l4 + 2] << 8) | f[l4 + 3];
}

int fail(const std::string& what) {
  std::fprintf(stderr, "xo-xsk-count: %s\n", what.c_str());
  return xo::args::kExitFailure;
}

}  // namespace

int main(int argc, char** argv) {
  auto args = xo::args::parse(kSpec, argc, argv);
  if (!args) return std::fprintf(stderr, "xo-xsk-count: %s\n", args.error().message.c_str()), xo::args::kExitUsage;
  if (args->help) return std::fputs(xo::args::help_text(kSpec, "xo-xsk-count").c_str(), stdout), 0;
  if (args->version) return std::fputs(xo::args::version_text("xo-xsk-count").c_str(), stdout), 0;
  auto iface = args->get("--iface");
  auto map = args->get("--map");
  auto queue = args->unsigned_value("--queue", 0, 0, 1023);
  auto count = args->unsigned_value("--count", 0);
  auto duration = args->seconds("--duration", 10);
  auto port = args->unsigned_value("--udp-port", 0, 0, 65535);
  if (!iface || !map) return std::fprintf(stderr, "xo-xsk-count: --iface and --map are required\n"), xo::args::kExitUsage;
  for (const xo::Error* e : {queue ? nullptr : &queue.error(), count ? nullptr : &count.error(),
                             duration ? nullptr : &duration.error(), port ? nullptr : &port.error()})
    if (e) return std::fprintf(stderr, "xo-xsk-count: %s\n", e->message.c_str()), xo::args::kExitUsage;

  const int map_fd = bpf_obj_get(map->c_str());
  if (map_fd < 0) return fail("opening " + *map + ": " + std::strerror(-map_fd));
  auto xsk = xo::guest::XskSocket::open(*iface, std::uint32_t(*queue));
  if (!xsk) return fail(xsk.error().message);
  if (auto st = (*xsk)->bind_to_map(map_fd); !st) return fail(st.error().message);
  if (auto r = args->get("--ready"))
    if (FILE* f = std::fopen(r->c_str(), "w")) std::fclose(f);
  std::printf("xsk: ready on %s queue %llu\n", iface->c_str(), (unsigned long long)*queue);
  std::fflush(stdout);

  auto frames = (*xsk)->receive(int(*duration * 1000), std::size_t(*count));
  std::uint64_t bytes = 0, udp = 0;
  for (const auto& f : frames) {
    bytes += f.size();
    if (args->flag("--udp-port") && udp_dst_port(f) == int(*port)) ++udp;
  }
  std::printf("xsk: %zu frames, %llu bytes, %llu udp:%llu, %llu other\n", frames.size(), (unsigned long long)bytes,
              (unsigned long long)udp, (unsigned long long)*port, (unsigned long long)(frames.size() - udp));
  return 0;
}
