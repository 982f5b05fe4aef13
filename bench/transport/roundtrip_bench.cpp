// Map lookup latency: a direct bpf(BPF_MAP_LOOKUP_ELEM) syscall against the
// same lookup carried as MAP_LOOKUP over the transport (Client -> unix
// socket -> server thread doing the syscall -> reply). Iterations of the
// methods are interleaved so machine noise hits them alike; p50/p99 in ns.
//
//   bench_transport_roundtrip [iterations]     (needs root for the BPF map)
#include <bpf/bpf.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "transport/client.hpp"

using namespace xo::transport;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::uint32_t kValueSize = 16;
constexpr std::uint32_t kEntries = 256;

struct Percentiles {
  double p50, p99, mean;
};

Percentiles summarize(std::vector<double> ns) {
  std::sort(ns.begin(), ns.end());
  double sum = 0;
  for (double x : ns) sum += x;
  return {ns[ns.size() / 2], ns[ns.size() * 99 / 100], sum / double(ns.size())};
}

// Serves MAP_LOOKUP with a real syscall on `map_fd` until the peer leaves.
void serve(Channel ch, int map_fd) {
  std::vector<std::uint8_t> value(kValueSize);
  for (;;) {
    auto e = ch.recv(-1);
    if (!e) return;
    auto* req = std::get_if<MapLookupRequest>(&e->message);
    MapLookupReply reply;
    if (!req || req->key.size() != 4) {
      reply.status = {status::kEINVAL, "bad request"};
    } else if (bpf_map_lookup_elem(map_fd, req->key.data(), value.data()) != 0) {
      reply.status = {-errno, std::strerror(errno)};
    } else {
      reply.value = value;
    }
    if (!ch.send(e->request_id, reply, -1)) return;
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::atoi(argv[1]) : 20000;
  const int map_fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "xo_bench_rt", 4, kValueSize, kEntries,
                                    nullptr);
  if (map_fd < 0) {
    std::fprintf(stderr, "bpf_map_create: %s (needs root)\n", std::strerror(errno));
    return 1;
  }

  const std::string path = "/tmp/xo-bench-transport-" + std::to_string(::getpid()) + ".sock";
  auto listener = UnixListener::listen(path);
  if (!listener) {
    std::fprintf(stderr, "%s\n", listener.error().message.c_str());
    return 1;
  }
  std::thread server;
  {
    auto conn = Channel::connect_unix(path);
    auto accepted = listener->accept(5000);
    if (!conn || !accepted) {
      std::fprintf(stderr, "connect/accept failed\n");
      return 1;
    }
    server = std::thread(serve, std::move(*accepted), map_fd);
    Client client(std::move(*conn), 5000);

    std::vector<double> direct, transported;
    direct.reserve(iterations);
    transported.reserve(iterations);
    std::vector<std::uint8_t> value(kValueSize);
    for (int i = -1000; i < iterations; ++i) {  // first 1000: warm-up
      const std::uint32_t k = std::uint32_t(i & (kEntries - 1));
      std::uint8_t key[4];
      std::memcpy(key, &k, 4);

      auto t0 = Clock::now();
      if (bpf_map_lookup_elem(map_fd, key, value.data()) != 0) return 1;
      auto t1 = Clock::now();
      auto r = client.map_lookup(1, key);
      auto t2 = Clock::now();
      if (!r || !r->has_value()) {
        std::fprintf(stderr, "lookup: %s\n", r ? "missing" : r.error().message.c_str());
        return 1;
      }
      if (i < 0) continue;
      direct.push_back(std::chrono::duration<double, std::nano>(t1 - t0).count());
      transported.push_back(std::chrono::duration<double, std::nano>(t2 - t1).count());
    }
    const Percentiles d = summarize(direct), t = summarize(transported);
    std::printf("map lookup, %d iterations (interleaved), ns:\n", iterations);
    std::printf("  %-34s p50 %8.0f  p99 %8.0f  mean %8.0f\n", "direct bpf syscall", d.p50, d.p99,
                d.mean);
    std::printf("  %-34s p50 %8.0f  p99 %8.0f  mean %8.0f\n", "MAP_LOOKUP over unix socket", t.p50,
                t.p99, t.mean);
    std::printf("  ratio transport/direct: p50 %.1fx  p99 %.1fx\n", t.p50 / d.p50, t.p99 / d.p99);
  }  // client closes: the server thread sees EOF
  server.join();
  ::close(map_fd);
  return 0;
}
