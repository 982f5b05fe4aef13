#include "host/core/stats_map.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <vector>

#include "host/core/kernel_log.hpp"

namespace xo::host {
namespace {

Error failure(const std::string& what, int code) {
  return Error{"stats map: " + what, std::nullopt, code, Stage::HostObjects};
}

}  // namespace

Result<std::uint32_t> stats_rows_here() {
  const int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return failure("cannot count possible CPUs", EIO);
  return static_cast<std::uint32_t>(cpus);
}

Result<UniqueFd> create_stats_map(const std::string& kernel_name) {
  auto rows = stats_rows_here();
  if (!rows) return rows.error();
  UniqueFd fd(bpf_map_create(BPF_MAP_TYPE_ARRAY, kernel_name.c_str(), 4, *rows * translator::kStatsRowBytes, 1,
                             nullptr));
  if (!fd) return failure("create failed (" + errno_name(errno) + ")", errno);
  return fd;
}

Result<std::uint32_t> stats_map_cpus(int fd) {
  bpf_map_info info{};
  std::uint32_t len = sizeof info;
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0) return failure(errno_name(errno), errno);
  if (info.type != BPF_MAP_TYPE_ARRAY || info.max_entries != 1 || info.key_size != 4 ||
      info.value_size == 0 || info.value_size % translator::kStatsRowBytes)
    return failure("not one value of per-CPU rows (passes.hpp)", EINVAL);
  return info.value_size / translator::kStatsRowBytes;
}

Result<ActionTotals> read_stats_map(int fd) {
  auto cpus = stats_map_cpus(fd);
  if (!cpus) return cpus.error();
  constexpr std::size_t row_words = translator::kStatsRowBytes / 8;
  std::vector<std::uint64_t> value(*cpus * row_words);
  std::uint32_t key = 0;
  if (bpf_map_lookup_elem(fd, &key, value.data()) != 0) return failure("lookup: " + errno_name(errno), errno);
  ActionTotals out{};
  for (std::size_t row = 0; row < *cpus; ++row)
    for (std::size_t slot = 0; slot < translator::kStatsSlots; ++slot) out[slot] += value[row * row_words + slot];
  return out;
}

}  // namespace xo::host
