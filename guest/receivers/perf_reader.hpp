// A reader of a PERF_EVENT_ARRAY's rings (libbpf perf_buffer): what guest
// user space does with the samples an offloaded program emits, whether the
// trampoline or the native program emitted them.
//
//   auto r = PerfReader::open(perf_map_fd);
//   auto samples = r->take(1000);   // raw sample bytes, padded by perf
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "core/result.hpp"

struct perf_buffer;

namespace xo::guest {

class PerfReader {
 public:
  static Result<std::unique_ptr<PerfReader>> open(int perf_map_fd, std::size_t pages_per_cpu = 8);
  ~PerfReader();
  PerfReader(const PerfReader&) = delete;
  PerfReader& operator=(const PerfReader&) = delete;

  // Samples that arrived within timeout_ms (stops early at `max`, 0: no
  // limit). A raw sample is the program's bytes padded so that 4 + size is
  // a multiple of 8.
  std::vector<std::vector<std::uint8_t>> take(int timeout_ms, std::size_t max = 0);
  std::uint64_t lost() const { return lost_; }

 private:
  PerfReader() = default;
  static void on_sample(void* self, int cpu, void* data, std::uint32_t size);
  static void on_lost(void* self, int cpu, unsigned long long n);
  perf_buffer* pb_ = nullptr;
  std::vector<std::vector<std::uint8_t>> samples_;
  std::uint64_t lost_ = 0;
};

}  // namespace xo::guest
