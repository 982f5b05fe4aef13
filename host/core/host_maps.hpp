// Host maps created from a guest's MapDefs. The guest names maps by handle;
// only this table knows the host fds, and it never hands them out across
// the guest boundary (the translator patches them into ld_imm64 on the host).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/unique_fd.hpp"
#include "core/result.hpp"
#include "core/submission.hpp"

namespace xo::host {

struct MapQuota {
  std::size_t max_maps = 64;
  std::size_t max_total_bytes = 64u << 20;  // sum over maps of entries * (key + value * cpus)
  std::uint32_t max_key_size = 512;
  std::uint32_t max_value_size = 64u << 10;
  std::uint32_t max_entries = 1u << 20;
};

struct HostMap {
  MapDef def;
  UniqueFd fd;
  std::string kernel_name;  // what bpftool map show prints
  std::uint32_t id = 0;     // kernel map id
  bool btf_typed = false;   // created with BTF key/value types

  bool percpu() const;
  // Size of one value as user space sees it: value_size, or for per-CPU
  // maps round_up(value_size, 8) * possible CPUs.
  std::size_t user_value_size() const;
};

class HostMaps {
 public:
  HostMaps() = default;
  HostMaps(HostMaps&&) = default;
  HostMaps& operator=(HostMaps&&) = default;

  const HostMap* find(std::uint32_t handle) const;
  const std::vector<HostMap>& all() const { return maps_; }
  // Warnings (e.g. "created without BTF types"): one line each.
  const std::vector<std::string>& notes() const { return notes_; }

  // Guest-facing element access by handle. Key and value sizes must match
  // the map exactly (per-CPU values: user_value_size()).
  Result<std::vector<std::uint8_t>> lookup(std::uint32_t handle, std::span<const std::uint8_t> key) const;
  Status update(std::uint32_t handle, std::span<const std::uint8_t> key,
                std::span<const std::uint8_t> value, std::uint64_t flags) const;
  Status remove(std::uint32_t handle, std::span<const std::uint8_t> key) const;
  // key empty = first key; nullopt = no more keys.
  Result<std::optional<std::vector<std::uint8_t>>> next_key(std::uint32_t handle,
                                                            std::span<const std::uint8_t> key) const;

 private:
  friend Result<HostMaps> create_host_maps(std::string_view, std::span<const MapDef>, int,
                                           const MapQuota&, const std::function<std::optional<int>(std::uint32_t)>&);
  friend Result<HostMaps> adopt_host_map(const MapDef&, UniqueFd);
  std::vector<HostMap> maps_;
  std::vector<std::string> notes_;
};

// The checks create_host_maps makes before the first kernel object exists:
// every MapDef (types, flags, sizes, quota, unique handles). No kernel.
Status check_map_defs(std::span<const MapDef> defs, const MapQuota& quota = {});

// The host fd of a map the caller already holds, by guest handle.
using MapFdOf = std::function<std::optional<int>(std::uint32_t handle)>;

// check_map_defs before creating anything; then creates the maps, names them
// kernel_object_name(session, def.name), typed by BTF when `btf_fd` >= 0 and
// the def carries type ids, fills global data and freezes .rodata. A map of
// maps is created from its inner map template (def.inner_map): a def
// earlier in `defs`, else one `existing` resolves. On any error nothing
// created so far survives.
Result<HostMaps> create_host_maps(std::string_view session, std::span<const MapDef> defs, int btf_fd,
                                  const MapQuota& quota = {}, const MapFdOf& existing = {});

// Takes over a map a previous owner created from `def` (a restarted daemon
// opening its pin): the kernel's type and sizes must match the definition
// (EINVAL otherwise, e.g. a pin replaced by someone else's map).
Result<HostMaps> adopt_host_map(const MapDef& def, UniqueFd fd);

}  // namespace xo::host
