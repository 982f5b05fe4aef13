#include "host/core/host_maps.hpp"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "host/core/kernel_log.hpp"
#include "host/core/names.hpp"

namespace xo::host {

namespace {

// Flags a guest may set; everything else (NUMA placement, ...) either names
// host resources or changes semantics we do not model. BPF_F_INNER_MAP only
// relaxes the max_entries match of an inner map template.
constexpr std::uint32_t kAllowedFlags = BPF_F_NO_PREALLOC | BPF_F_NO_COMMON_LRU | BPF_F_RDONLY_PROG |
                                        BPF_F_WRONLY_PROG | BPF_F_MMAPABLE | BPF_F_INNER_MAP;

// LPM_TRIE keys: struct { u32 prefixlen; u8 data[N]; }, 1 <= N <= 256
// (the kernel's LPM_DATA_SIZE_MIN/MAX).
constexpr std::uint32_t kLpmPrefixLen = 4, kLpmDataMax = 256;
// BLOOM_FILTER's map_extra: the number of hash functions in the low 4 bits.
constexpr std::uint64_t kBloomHashMask = 0xf;

std::size_t possible_cpus() {
  int n = libbpf_num_possible_cpus();
  return n > 0 ? static_cast<std::size_t>(n) : 1;
}

std::string map_label(const MapDef& d) {
  return "map '" + d.name + "' (handle " + std::to_string(d.handle) + ")";
}

// What a type needs beyond the common size checks; the kernel would refuse
// each of these too, but with EINVAL and no word about which field.
Status validate_type_shape(const MapDef& d) {
  const bool keyless = map_type_is_keyless(d.type);
  if (keyless && d.key_size != 0)
    return err(map_label(d) + ": " + map_type_name(d.type) + " maps have no keys (key_size 0), not key_size " +
               std::to_string(d.key_size));
  if (d.map_extra != 0 && d.type != MapType::BloomFilter)
    return err(map_label(d) + ": map_extra is only meaningful for bloom_filter maps");
  if (d.type == MapType::BloomFilter && (d.map_extra & ~kBloomHashMask))
    return err(map_label(d) + ": bloom_filter map_extra " + std::to_string(d.map_extra) +
               " is not a hash count (0..15)");
  if (map_type_holds_maps(d.type) != (d.inner_map != 0))
    return err(map_label(d) + (d.inner_map ? ": only array_of_maps/hash_of_maps maps take an inner map template"
                                           : ": a map of maps needs an inner map template"));
  if (map_type_holds_objects(d.type) && d.value_size != 4)
    return err(map_label(d) + ": " + map_type_name(d.type) + " values are 4-byte handles, not " +
               std::to_string(d.value_size) + " bytes");
  if (d.type == MapType::LpmTrie) {
    if (!(d.flags & BPF_F_NO_PREALLOC))
      return err(map_label(d) + ": lpm_trie maps need BPF_F_NO_PREALLOC (the kernel allocates their nodes)");
    if (d.key_size <= kLpmPrefixLen || d.key_size > kLpmPrefixLen + kLpmDataMax)
      return err(map_label(d) + ": lpm_trie keys are a 4-byte prefix length and 1.." + std::to_string(kLpmDataMax) +
                 " data bytes, not key_size " + std::to_string(d.key_size));
  }
  return Ok{};
}

Status validate(const MapDef& d, const MapQuota& q) {
  if (!offload_map_type(static_cast<std::uint32_t>(d.type)))
    return err(map_label(d) + ": map type " + map_type_name(d.type) +
               " is not allowed for offloaded programs");
  if (auto s = validate_type_shape(d); !s) return s;
  if ((d.key_size == 0 && !map_type_is_keyless(d.type)) || d.key_size > q.max_key_size)
    return err(map_label(d) + ": key_size " + std::to_string(d.key_size) + " outside 1.." +
               std::to_string(q.max_key_size));
  if (d.value_size == 0 || d.value_size > q.max_value_size)
    return err(map_label(d) + ": value_size " + std::to_string(d.value_size) + " outside 1.." +
               std::to_string(q.max_value_size));
  if (d.max_entries == 0)
    return err(map_label(d) + ": max_entries 0; a map its loader sizes before load needs a size (--map-size " +
               d.name + "=N)");
  if (d.max_entries > q.max_entries)
    return err(map_label(d) + ": max_entries " + std::to_string(d.max_entries) + " outside 1.." +
               std::to_string(q.max_entries));
  if (d.flags & ~kAllowedFlags)
    return err(map_label(d) + ": map flags 0x" + [&] {
      char b[16];
      std::snprintf(b, sizeof b, "%x", d.flags & ~kAllowedFlags);
      return std::string(b);
    }() + " are not allowed");
  if (!d.initial_value.empty()) {
    if (d.type != MapType::Array || d.max_entries != 1)
      return err(map_label(d) + ": initial contents need a single-entry ARRAY (global data)");
    if (d.initial_value.size() > d.value_size)
      return err(map_label(d) + ": initial contents of " + std::to_string(d.initial_value.size()) +
                 " bytes exceed value_size " + std::to_string(d.value_size));
  }
  if (d.frozen && d.type != MapType::Array)
    return err(map_label(d) + ": only ARRAY maps (.rodata) can be frozen");
  if (d.key_size != 4 && (d.type == MapType::Array || d.type == MapType::PercpuArray ||
                          d.type == MapType::ProgArray || d.type == MapType::ArrayOfMaps))
    return err(map_label(d) + ": array maps need key_size 4, not " + std::to_string(d.key_size));
  return Ok{};
}

std::size_t footprint(const MapDef& d) {
  std::size_t v = map_type_is_percpu(d.type) ? ((d.value_size + 7u) & ~7u) * possible_cpus() : d.value_size;
  // An LPM trie holds up to one intermediate node per element as well.
  const std::size_t nodes = d.type == MapType::LpmTrie ? 2 : 1;
  return std::size_t(d.max_entries) * nodes * (d.key_size + v);
}

int create_one(const MapDef& d, const std::string& name, int btf_fd, bool with_btf, int inner_fd) {
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = d.flags);
  opts.map_extra = d.map_extra;
  if (inner_fd >= 0) opts.inner_map_fd = static_cast<std::uint32_t>(inner_fd);
  if (with_btf) {
    opts.btf_fd = static_cast<std::uint32_t>(btf_fd);
    opts.btf_key_type_id = d.btf_key_type_id;
    opts.btf_value_type_id = d.btf_value_type_id;
  }
  return bpf_map_create(static_cast<bpf_map_type>(d.type), name.c_str(), d.key_size, d.value_size,
                        d.max_entries, &opts);
}

}  // namespace

bool HostMap::percpu() const {
  return map_type_is_percpu(def.type);
}

std::size_t HostMap::user_value_size() const {
  return percpu() ? ((def.value_size + 7u) & ~7u) * possible_cpus() : def.value_size;
}

Status check_map_defs(std::span<const MapDef> defs, const MapQuota& quota) {
  if (defs.size() > quota.max_maps)
    return err("maps: " + std::to_string(defs.size()) + " maps exceed the quota of " +
               std::to_string(quota.max_maps));
  std::set<std::uint32_t> handles;
  std::size_t total = 0;
  for (const auto& d : defs) {
    // A guest-side map (DEVMAP, XSKMAP, ...) has no host object: the
    // translator defers the helpers that name it (PROTOCOL.md 8).
    if (guest_side_map_type(d.type)) continue;
    if (auto s = validate(d, quota); !s) return s.error();
    if (d.inner_map) {
      // The template is created first: an earlier def, or (no such def
      // here) a map the caller's resolver knows.
      auto t = std::find_if(defs.begin(), defs.end(), [&](const MapDef& x) { return x.handle == d.inner_map; });
      if (t != defs.end() && !handles.count(d.inner_map))
        return err(map_label(d) + ": its inner map template (handle " + std::to_string(d.inner_map) +
                   ") must come before it");
      if (t != defs.end() && map_type_holds_objects(t->type))
        return err(map_label(d) + ": inner map template " + map_label(*t) + " is a " + map_type_name(t->type) +
                   "; maps of maps hold plain maps only");
    }
    if (!handles.insert(d.handle).second) return err(map_label(d) + ": duplicate handle");
    total += footprint(d);
    if (total > quota.max_total_bytes)
      return err(map_label(d) + ": total map memory " + std::to_string(total) +
                 " bytes exceeds the quota of " + std::to_string(quota.max_total_bytes));
  }
  return Ok{};
}

Result<HostMaps> create_host_maps(std::string_view session, std::span<const MapDef> defs, int btf_fd,
                                  const MapQuota& quota, const MapFdOf& existing) {
  // Check everything before the first kernel object exists.
  if (auto s = check_map_defs(defs, quota); !s) return s.error();

  HostMaps out;  // owns what exists so far: an early return closes it all
  for (const auto& d : defs) {
    if (guest_side_map_type(d.type)) continue;  // nothing on the host (check_map_defs)
    HostMap m;
    m.def = d;
    m.kernel_name = kernel_object_name(session, d.name);
    int inner_fd = -1;
    if (d.inner_map) {
      if (const HostMap* t = out.find(d.inner_map)) {
        inner_fd = t->fd.get();
      } else if (auto fd = existing ? existing(d.inner_map) : std::nullopt) {
        inner_fd = *fd;
      } else {
        return err(EBADF, map_label(d) + ": inner map template handle " + std::to_string(d.inner_map) +
                              " is not a map of this session");
      }
    }
    bool want_btf = btf_fd >= 0 && (d.btf_key_type_id != 0 || d.btf_value_type_id != 0);
    int fd = create_one(d, m.kernel_name, btf_fd, want_btf, inner_fd);
    if (fd < 0 && want_btf) {
      int e = errno;
      fd = create_one(d, m.kernel_name, btf_fd, false, inner_fd);
      if (fd >= 0)
        out.notes_.push_back(map_label(d) + ": kernel refused its BTF key/value types (" +
                             errno_name(e) + "); created untyped, bpftool map dump shows hex");
    } else {
      m.btf_typed = want_btf;
    }
    if (fd < 0) {
      const int e = errno;
      return err(e, map_label(d) + ": map create failed (" + errno_name(e) + ")");
    }
    m.fd.reset(fd);
    bpf_map_info info{};
    std::uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) m.id = info.id;

    if (!d.initial_value.empty()) {
      std::vector<std::uint8_t> value(d.value_size, 0);
      std::copy(d.initial_value.begin(), d.initial_value.end(), value.begin());
      std::uint32_t key = 0;
      if (bpf_map_update_elem(fd, &key, value.data(), BPF_ANY) != 0)
        return err(map_label(d) + ": cannot set initial contents (" + errno_name(errno) + ")");
    }
    if (d.frozen && bpf_map_freeze(fd) != 0)
      return err(map_label(d) + ": cannot freeze (" + errno_name(errno) + ")");
    out.maps_.push_back(std::move(m));
  }
  return out;
}

const HostMap* HostMaps::find(std::uint32_t handle) const {
  for (const auto& m : maps_)
    if (m.def.handle == handle) return &m;
  return nullptr;
}

namespace {

Result<const HostMap*> checked(const HostMaps& maps, std::uint32_t handle,
                               std::span<const std::uint8_t> key, bool key_may_be_empty) {
  const HostMap* m = maps.find(handle);
  if (!m) return err("map handle " + std::to_string(handle) + " does not exist");
  if (!(key_may_be_empty && key.empty()) && key.size() != m->def.key_size)
    return err(map_label(m->def) + ": key of " + std::to_string(key.size()) + " bytes, map has " +
               std::to_string(m->def.key_size));
  return m;
}

}  // namespace

Result<std::vector<std::uint8_t>> HostMaps::lookup(std::uint32_t handle,
                                                   std::span<const std::uint8_t> key) const {
  auto m = checked(*this, handle, key, false);
  if (!m) return m.error();
  std::vector<std::uint8_t> value((*m)->user_value_size());
  if (bpf_map_lookup_elem((*m)->fd.get(), key.data(), value.data()) != 0)
    return err(map_label((*m)->def) + ": lookup: " + errno_name(errno));
  return value;
}

Status HostMaps::update(std::uint32_t handle, std::span<const std::uint8_t> key,
                        std::span<const std::uint8_t> value, std::uint64_t flags) const {
  auto m = checked(*this, handle, key, false);
  if (!m) return m.error();
  if (value.size() != (*m)->user_value_size())
    return err(map_label((*m)->def) + ": value of " + std::to_string(value.size()) +
               " bytes, map takes " + std::to_string((*m)->user_value_size()));
  if (flags > BPF_EXIST)  // BPF_F_LOCK needs a spin lock in the value: not offered
    return err(map_label((*m)->def) + ": update flags " + std::to_string(flags) + " not allowed");
  if (bpf_map_update_elem((*m)->fd.get(), key.data(), value.data(), flags) != 0)
    return err(map_label((*m)->def) + ": update: " + errno_name(errno));
  return Ok{};
}

Status HostMaps::remove(std::uint32_t handle, std::span<const std::uint8_t> key) const {
  auto m = checked(*this, handle, key, false);
  if (!m) return m.error();
  if (bpf_map_delete_elem((*m)->fd.get(), key.data()) != 0)
    return err(map_label((*m)->def) + ": delete: " + errno_name(errno));
  return Ok{};
}

Result<std::optional<std::vector<std::uint8_t>>> HostMaps::next_key(
    std::uint32_t handle, std::span<const std::uint8_t> key) const {
  auto m = checked(*this, handle, key, true);
  if (!m) return m.error();
  std::vector<std::uint8_t> next((*m)->def.key_size);
  if (bpf_map_get_next_key((*m)->fd.get(), key.empty() ? nullptr : key.data(), next.data()) != 0) {
    if (errno == ENOENT) return std::optional<std::vector<std::uint8_t>>{};
    return err(map_label((*m)->def) + ": get_next_key: " + errno_name(errno));
  }
  return std::optional<std::vector<std::uint8_t>>(std::move(next));
}

Result<HostMaps> adopt_host_map(const MapDef& def, UniqueFd fd) {
  bpf_map_info info{};
  std::uint32_t len = sizeof info;
  if (!fd || bpf_obj_get_info_by_fd(fd.get(), &info, &len) != 0)
    return err(errno ? errno : EBADF, "map '" + def.name + "': cannot read the pinned map's info");
  // The kernel may round nothing we chose; a mismatch is not our map.
  if (info.key_size != def.key_size || info.value_size != def.value_size || info.max_entries != def.max_entries)
    return err(EINVAL, "map '" + def.name + "': the pinned map is " + std::to_string(info.key_size) + "/" +
                           std::to_string(info.value_size) + "/" + std::to_string(info.max_entries) +
                           ", its definition " + std::to_string(def.key_size) + "/" + std::to_string(def.value_size) +
                           "/" + std::to_string(def.max_entries));
  HostMaps out;
  HostMap m;
  m.def = def;
  m.fd = std::move(fd);
  m.kernel_name = info.name;
  m.id = info.id;
  m.btf_typed = info.btf_value_type_id != 0;
  out.maps_.push_back(std::move(m));
  return out;
}

}  // namespace xo::host
