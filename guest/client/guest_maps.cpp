// Guest-side maps: bpf_map_create + bpf_obj_pin, or bpf_obj_get of a pin
// whose shape matches.
#include "guest/client/guest_maps.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>

namespace xo::guest {
namespace {

Error sys_error(int code, const std::string& what) { return err(code, what + ": " + std::strerror(code)); }

// mkdir -p for the pin directory (bpffs allows plain directories).
Status make_dirs(const std::string& dir) {
  for (std::size_t at = 1; at <= dir.size(); ++at) {
    if (at != dir.size() && dir[at] != '/') continue;
    const std::string part = dir.substr(0, at);
    if (::mkdir(part.c_str(), 0755) != 0 && errno != EEXIST) return sys_error(errno, "mkdir " + part);
  }
  return Ok{};
}

Result<UniqueFd> create_pinned(const MapDef& def, const std::string& path) {
  std::uint32_t entries = def.max_entries;
  if (def.type == MapType::PerfEventArray && entries == 0) {
    const int cpus = libbpf_num_possible_cpus();
    if (cpus <= 0) return sys_error(cpus < 0 ? -cpus : EINVAL, "possible CPUs");
    entries = std::uint32_t(cpus);
  }
  LIBBPF_OPTS(bpf_map_create_opts, opts, .map_flags = def.flags);
  const int fd = bpf_map_create(bpf_map_type(def.type), def.name.c_str(), def.key_size, def.value_size, entries, &opts);
  if (fd < 0) return sys_error(-fd, "creating guest map '" + def.name + "'");
  UniqueFd owned(fd);
  if (int rc = bpf_obj_pin(fd, path.c_str()); rc < 0) return sys_error(-rc, "pinning guest map at " + path);
  return owned;
}

// The pin at `path`, if its shape is the def's.
Result<UniqueFd> open_pinned(const MapDef& def, const std::string& path) {
  const int fd = bpf_obj_get(path.c_str());
  if (fd < 0) return sys_error(-fd, "opening " + path);
  UniqueFd owned(fd);
  bpf_map_info info{};
  __u32 len = sizeof info;
  if (int rc = bpf_obj_get_info_by_fd(fd, &info, &len); rc < 0) return sys_error(-rc, path);
  const bool same = info.type == std::uint32_t(def.type) && info.key_size == def.key_size &&
                    info.value_size == def.value_size &&
                    (info.max_entries == def.max_entries ||
                     (def.type == MapType::PerfEventArray && def.max_entries == 0));
  if (!same)
    return err(EEXIST, path + " is pinned already with another shape (type " + std::to_string(info.type) +
                           ", key " + std::to_string(info.key_size) + ", value " + std::to_string(info.value_size) +
                           ", max_entries " + std::to_string(info.max_entries) + "): unpin it first");
  return owned;
}

}  // namespace

std::string guest_pin_dir(const std::string& root, const std::string& ifname) {
  return (root.empty() ? std::string(kGuestPinRoot) : root) + "/" + ifname;
}

Result<std::vector<PinnedMap>> open_guest_maps(const Submission& s, const std::string& dir) {
  std::vector<PinnedMap> out;
  for (const MapDef& def : s.maps) {
    if (!guest_side_map_type(def.type)) continue;
    if (out.empty())
      if (Status st = make_dirs(dir); !st) return st.error();
    const std::string path = dir + "/" + def.name;
    struct stat st {};
    auto fd = ::stat(path.c_str(), &st) == 0 ? open_pinned(def, path) : create_pinned(def, path);
    if (!fd) return fd.error();
    // The shape as created (a PERF_EVENT_ARRAY sized 0 has its CPU count now).
    MapDef shape = def;
    bpf_map_info info{};
    __u32 len = sizeof info;
    if (int rc = bpf_obj_get_info_by_fd(fd->get(), &info, &len); rc < 0) return sys_error(-rc, path);
    shape.max_entries = info.max_entries;
    out.push_back(PinnedMap{std::move(shape), path, std::move(*fd)});
  }
  return out;
}

Status unpin_guest_maps(const std::vector<std::string>& names, const std::string& dir) {
  for (const std::string& n : names) {
    const std::string path = dir + "/" + n;
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) return sys_error(errno, "unpinning " + path);
  }
  ::rmdir(dir.c_str());  // only when empty; another tool's pins keep it
  return Ok{};
}

}  // namespace xo::guest
