#include "bench/datapath/generator.hpp"

#include <bpf/bpf.h>
#include <linux/bpf.h>
#include <pthread.h>

#include <atomic>
#include <barrier>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

namespace xo::bench {

namespace {

using Clock = std::chrono::steady_clock;

// Frames per test run: start small (short runs stay short), double while a
// call takes under ~20 ms so the per-call page pool setup stays negligible.
constexpr std::uint32_t kFirstChunk = 1u << 13;
constexpr std::uint32_t kMaxChunk = 1u << 21;

void pin_to(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

}  // namespace

Result<GeneratorRun> run_generator(const GeneratorSpec& spec, const std::function<void()>& on_start,
                                   const std::function<void()>& on_stop) {
  if (spec.frames.empty() || spec.cpus.empty()) return err("generator: no frames or no threads");
  const std::size_t n = spec.cpus.size();
  std::barrier start_line(static_cast<std::ptrdiff_t>(n + 1));
  std::atomic<std::uint64_t> frames{0};
  std::mutex error_lock;
  std::string error;
  Clock::time_point deadline;  // written before the barrier, read after it

  auto worker = [&](int cpu) {
    pin_to(cpu);
    std::string setup_error;
    if (spec.netns)
      if (auto s = spec.netns->enter(); !s) setup_error = s.error().message;
    start_line.arrive_and_wait();
    if (!setup_error.empty()) {
      std::lock_guard g(error_lock);
      error = setup_error;
      return;
    }
    std::uint32_t chunk = kFirstChunk;
    std::size_t call = 0;
    while (Clock::now() < deadline) {
      const auto& frame = spec.frames[call++ % spec.frames.size()];
      xdp_md ctx{};
      ctx.data_end = static_cast<__u32>(frame.size());
      ctx.ingress_ifindex = static_cast<__u32>(spec.ingress_ifindex);
      bpf_test_run_opts opts{};
      opts.sz = sizeof opts;
      opts.data_in = frame.data();
      opts.data_size_in = static_cast<__u32>(frame.size());
      opts.ctx_in = &ctx;
      opts.ctx_size_in = sizeof ctx;
      opts.repeat = static_cast<int>(chunk);
      opts.flags = BPF_F_TEST_XDP_LIVE_FRAMES;
      opts.batch_size = spec.batch_size;
      auto t0 = Clock::now();
      if (bpf_prog_test_run_opts(spec.prog_fd, &opts) != 0) {
        int e = errno;
        if (e == EINTR) break;  // a signal: stop, keep what ran
        std::lock_guard g(error_lock);
        error = "live-frame test run (ifindex " + std::to_string(spec.ingress_ifindex) +
                "): " + strerror(e);
        return;
      }
      frames.fetch_add(chunk, std::memory_order_relaxed);
      if (Clock::now() - t0 < std::chrono::milliseconds(20) && chunk < kMaxChunk) chunk *= 2;
    }
  };

  std::vector<std::thread> threads;
  for (int cpu : spec.cpus) threads.emplace_back(worker, cpu);
  if (on_start) on_start();
  auto t0 = Clock::now();
  deadline = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(spec.seconds));
  start_line.arrive_and_wait();
  for (auto& t : threads) t.join();
  auto t1 = Clock::now();
  if (on_stop) on_stop();
  if (!error.empty()) return err(error);
  return GeneratorRun{frames.load(), std::chrono::duration<double>(t1 - t0).count()};
}

}  // namespace xo::bench
