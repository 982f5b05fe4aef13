#include "bench/datapath/bpf_objects.hpp"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

namespace xo::bench {

namespace {
std::string errtext(int e) { return strerror(e < 0 ? -e : e); }
}  // namespace

Result<BpfObject> BpfObject::open(const std::string& path) {
  BpfObject o;
  o.path_ = path;
  o.obj_ = bpf_object__open_file(path.c_str(), nullptr);
  if (!o.obj_) return err(path + ": open failed (" + errtext(errno) + ")");
  return o;
}

BpfObject::BpfObject(BpfObject&& o) noexcept
    : obj_(std::exchange(o.obj_, nullptr)), path_(std::move(o.path_)) {}

BpfObject::~BpfObject() {
  if (obj_) bpf_object__close(obj_);
}

Status BpfObject::set_rodata_u32(const std::string& var, std::uint32_t value) {
  const btf* b = bpf_object__btf(obj_);
  if (!b) return err(path_ + ": no BTF to find '" + var + "'");
  bpf_map* rodata = nullptr;
  bpf_map* m = nullptr;
  bpf_object__for_each_map(m, obj_) {
    std::string name = bpf_map__name(m);
    if (name.size() >= 7 && name.compare(name.size() - 7, 7, ".rodata") == 0) rodata = m;
  }
  if (!rodata) return err(path_ + ": no .rodata map");
  int sec = btf__find_by_name_kind(b, ".rodata", BTF_KIND_DATASEC);
  if (sec < 0) return err(path_ + ": no .rodata DATASEC");
  const btf_type* t = btf__type_by_id(b, static_cast<__u32>(sec));
  const btf_var_secinfo* vs = btf_var_secinfos(t);
  for (int i = 0; i < btf_vlen(t); ++i, ++vs) {
    const btf_type* v = btf__type_by_id(b, vs->type);
    if (var != btf__name_by_offset(b, v->name_off)) continue;
    if (vs->size != sizeof value) return err(path_ + ": '" + var + "' is not 4 bytes");
    size_t size = 0;
    auto* data = static_cast<const std::uint8_t*>(bpf_map__initial_value(rodata, &size));
    if (!data || vs->offset + sizeof value > size) return err(path_ + ": .rodata has no initial value");
    std::vector<std::uint8_t> copy(data, data + size);
    std::memcpy(copy.data() + vs->offset, &value, sizeof value);
    if (int e = bpf_map__set_initial_value(rodata, copy.data(), copy.size()); e)
      return err(path_ + ": set .rodata: " + errtext(e));
    return Ok{};
  }
  return err(path_ + ": no variable '" + var + "' in .rodata");
}

Status BpfObject::reuse_map(const std::string& map, int fd) {
  bpf_map* m = bpf_object__find_map_by_name(obj_, map.c_str());
  if (!m) return err(path_ + ": no map '" + map + "'");
  if (int e = bpf_map__reuse_fd(m, fd); e) return err(path_ + ": reuse map '" + map + "': " + errtext(e));
  return Ok{};
}

Status BpfObject::load() {
  if (int e = bpf_object__load(obj_); e) return err(path_ + ": load failed (" + errtext(e) + ")");
  return Ok{};
}

int BpfObject::prog_fd(const std::string& prog) const {
  bpf_program* p = bpf_object__find_program_by_name(obj_, prog.c_str());
  return p ? bpf_program__fd(p) : -1;
}

int BpfObject::map_fd(const std::string& map) const {
  bpf_map* m = bpf_object__find_map_by_name(obj_, map.c_str());
  return m ? bpf_map__fd(m) : -1;
}

Result<UniqueFd> attach_xdp(int prog_fd, int ifindex) {
  int fd = bpf_link_create(prog_fd, ifindex, BPF_XDP, nullptr);
  if (fd < 0) return err("XDP attach to ifindex " + std::to_string(ifindex) + ": " + errtext(errno));
  return UniqueFd(fd);
}

Result<std::uint64_t> percpu_sum(int map_fd, std::uint32_t key) {
  int cpus = libbpf_num_possible_cpus();
  if (cpus <= 0) return err("cannot count possible CPUs");
  std::vector<std::uint64_t> v(static_cast<std::size_t>(cpus));
  if (bpf_map_lookup_elem(map_fd, &key, v.data()) != 0) return err("percpu lookup: " + errtext(errno));
  std::uint64_t sum = 0;
  for (auto x : v) sum += x;
  return sum;
}

Result<std::uint64_t> percpu_sum_all(int map_fd, std::uint32_t entries) {
  std::uint64_t sum = 0;
  for (std::uint32_t k = 0; k < entries; ++k) {
    auto s = percpu_sum(map_fd, k);
    if (!s) return s.error();
    sum += *s;
  }
  return sum;
}

}  // namespace xo::bench
