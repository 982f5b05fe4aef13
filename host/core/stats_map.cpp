#include "host/core/stats_map.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <unistd.h>

#include <cerrno>
#include <memory>
#include <vector>

#include "host/core/kernel_log.hpp"

namespace xo::host {
namespace {

Error failure(const std::string& what, int code) {
  return Error{"stats map: " + what, std::nullopt, code, Stage::HostObjects};
}

struct BtfDeleter {
  void operator()(btf* b) const { btf__free(b); }
};

// BTF for the stats map, so that `bpftool map dump` labels every counter:
//   key   __u32
//   value struct xo_action_stats { struct xo_cpu_actions cpu[rows]; }
//   struct xo_cpu_actions { __u64 aborted, drop, pass, tx, redirect, unknown; }  (kStatsRowBytes)
// Returns the loaded BTF's fd and the key and value type ids.
struct StatsBtf {
  UniqueFd fd;
  std::uint32_t key_type = 0, value_type = 0;
};
Result<StatsBtf> stats_btf(std::uint32_t rows) {
  static constexpr const char* kSlotNames[translator::kStatsSlots] = {"aborted",  "drop",    "pass",
                                                                      "tx",       "redirect", "unknown",
                                                                      "sample_lost"};
  std::unique_ptr<btf, BtfDeleter> b(btf__new_empty());
  if (!b) return failure("BTF: out of memory", ENOMEM);
  const int u32 = btf__add_int(b.get(), "__u32", 4, 0);
  const int u64 = btf__add_int(b.get(), "__u64", 8, 0);
  const int row = btf__add_struct(b.get(), "xo_cpu_actions", translator::kStatsRowBytes);
  for (std::uint32_t slot = 0; slot < translator::kStatsSlots; ++slot)
    if (btf__add_field(b.get(), kSlotNames[slot], u64, slot * 64, 0) < 0) return failure("BTF: field", EINVAL);
  const int arr = btf__add_array(b.get(), u32, row, rows);
  const int value = btf__add_struct(b.get(), "xo_action_stats", rows * translator::kStatsRowBytes);
  if (u32 < 0 || u64 < 0 || row < 0 || arr < 0 || value < 0 || btf__add_field(b.get(), "cpu", arr, 0, 0) < 0)
    return failure("BTF: cannot build the types", EINVAL);
  if (btf__load_into_kernel(b.get()) != 0) return failure("BTF load (" + errno_name(errno) + ")", errno);
  StatsBtf out;
  out.fd = UniqueFd(::dup(btf__fd(b.get())));
  if (!out.fd) return failure("BTF: dup (" + errno_name(errno) + ")", errno);
  out.key_type = std::uint32_t(u32);
  out.value_type = std::uint32_t(value);
  return out;
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
  // Typed by BTF when the kernel takes it; a map without labels still counts.
  auto typed = stats_btf(*rows);
  bpf_map_create_opts opts{};
  opts.sz = sizeof opts;
  if (typed) {
    opts.btf_fd = std::uint32_t(typed->fd.get());
    opts.btf_key_type_id = typed->key_type;
    opts.btf_value_type_id = typed->value_type;
  }
  UniqueFd fd(bpf_map_create(BPF_MAP_TYPE_ARRAY, kernel_name.c_str(), 4, *rows * translator::kStatsRowBytes, 1,
                             typed ? &opts : nullptr));
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
