// PerfReader: perf_buffer__new / __poll.
#include "guest/receivers/perf_reader.hpp"

#include <bpf/libbpf.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

namespace xo::guest {

Result<std::unique_ptr<PerfReader>> PerfReader::open(int perf_map_fd, std::size_t pages_per_cpu) {
  std::unique_ptr<PerfReader> self(new PerfReader);
  self->pb_ = perf_buffer__new(perf_map_fd, pages_per_cpu, &PerfReader::on_sample, &PerfReader::on_lost,
                               self.get(), nullptr);
  if (!self->pb_) return err(errno, std::string("perf buffer: ") + std::strerror(errno));
  return self;
}

PerfReader::~PerfReader() {
  if (pb_) perf_buffer__free(pb_);
}

void PerfReader::on_sample(void* self, int, void* data, std::uint32_t size) {
  const auto* p = static_cast<const std::uint8_t*>(data);
  static_cast<PerfReader*>(self)->samples_.emplace_back(p, p + size);
}

void PerfReader::on_lost(void* self, int, unsigned long long n) { static_cast<PerfReader*>(self)->lost_ += n; }

std::vector<std::vector<std::uint8_t>> PerfReader::take(int timeout_ms, std::size_t max) {
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end && (max == 0 || samples_.size() < max)) perf_buffer__poll(pb_, 20);
  return std::exchange(samples_, {});
}

}  // namespace xo::guest
