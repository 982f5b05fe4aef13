#include "host/core/attach_chain.hpp"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cerrno>

#include "host/core/kernel_log.hpp"
#include "host/core/names.hpp"

namespace xo::host {

Result<ChainSlot> ChainSlot::create(std::string_view session, std::string_view tap_name,
                                    SessionPins& pins) {
  ChainSlot c;
  c.leaf_ = leaf_for(tap_name);
  if (auto s = validate_pin_leaf(c.leaf_); !s) return s.error();
  std::string name = kernel_object_name(session, "chain");
  int fd = bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, name.c_str(), 4, 4, 1, nullptr);
  if (fd < 0) return err("chain: cannot create prog array: " + errno_name(errno));
  c.map_.reset(fd);
  bpf_map_info info{};
  std::uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) c.map_id_ = info.id;
  if (auto s = pins.pin(fd, c.leaf_); !s) return s.error();
  return c;
}

Result<ChainSlot> ChainSlot::adopt(std::string_view tap_name, SessionPins& pins, std::uint32_t prog_id) {
  ChainSlot c;
  c.leaf_ = leaf_for(tap_name);
  const std::string path = pins.path(c.leaf_);
  int fd = bpf_obj_get(path.c_str());
  if (fd < 0) return err(errno, "chain: cannot open " + path + ": " + errno_name(errno));
  c.map_.reset(fd);
  bpf_map_info info{};
  std::uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0 || info.type != BPF_MAP_TYPE_PROG_ARRAY)
    return err(EINVAL, "chain: " + path + " is not a prog array");
  c.map_id_ = info.id;
  // A prog array lookup from user space gives the program's id.
  std::uint32_t key = 0, id = 0;
  c.occupied_ = bpf_map_lookup_elem(fd, &key, &id) == 0 && id == prog_id && prog_id != 0;
  return c;
}

ChainSlot& ChainSlot::operator=(ChainSlot&& o) noexcept {
  if (this != &o) {
    (void)clear();
    map_ = std::move(o.map_);
    map_id_ = o.map_id_;
    leaf_ = std::move(o.leaf_);
    occupied_ = std::exchange(o.occupied_, false);
  }
  return *this;
}

ChainSlot::~ChainSlot() { (void)clear(); }

Status ChainSlot::set(int prog_fd) {
  std::uint32_t key = 0;
  std::uint32_t value = static_cast<std::uint32_t>(prog_fd);
  if (bpf_map_update_elem(map_.get(), &key, &value, BPF_ANY) != 0)
    return err("chain: cannot put the program in slot 0 (" + errno_name(errno) +
               "; a chain program must be XDP with expected_attach_type BPF_XDP, like the host ingress program)");
  occupied_ = true;
  return Ok{};
}

Status ChainSlot::clear() {
  if (!occupied_ || !map_) return Ok{};
  occupied_ = false;
  std::uint32_t key = 0;
  if (bpf_map_delete_elem(map_.get(), &key) != 0 && errno != ENOENT)
    return err("chain: cannot empty slot 0: " + errno_name(errno));
  return Ok{};
}

}  // namespace xo::host
