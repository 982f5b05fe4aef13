// chain flavor attachment: a per-tap, one-slot PROG_ARRAY pinned at
// /sys/fs/bpf/xoffload/<session>/chain_<tap>. The host admin's own ingress
// XDP program tail-calls slot 0 where it would have redirected into the tap
// (examples/chain/chain_ingress.bpf.c shows how). Filling or replacing the
// slot is one map update, so reload is atomic; detach empties the slot and
// the ingress program falls back to its redirect.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "host/core/pins.hpp"
#include "core/unique_fd.hpp"
#include "core/result.hpp"

namespace xo::host {

class ChainSlot {
 public:
  // Creates the prog array and pins it in `pins` as chain_<tap_name>.
  static Result<ChainSlot> create(std::string_view session, std::string_view tap_name,
                                  SessionPins& pins);

  // Takes over the pinned prog array chain_<tap_name> (already a leaf of
  // `pins`, adopted after a daemon restart); occupied when slot 0 runs
  // `prog_id`. ENOENT when there is no such pin.
  static Result<ChainSlot> adopt(std::string_view tap_name, SessionPins& pins, std::uint32_t prog_id);

  ChainSlot(ChainSlot&&) noexcept = default;
  ChainSlot& operator=(ChainSlot&&) noexcept;
  ChainSlot(const ChainSlot&) = delete;
  ChainSlot& operator=(const ChainSlot&) = delete;
  ~ChainSlot();

  Status set(int prog_fd);  // atomic insert/replace of slot 0
  Status clear();           // empty slot 0; idempotent
  // Leaves slot 0 as it is and closes our fd: the pinned prog array keeps
  // the program in the chain after this object is gone.
  void release() {
    occupied_ = false;
    map_.reset();
  }

  int map_fd() const { return map_.get(); }
  std::uint32_t map_id() const { return map_id_; }
  const std::string& pin_leaf() const { return leaf_; }
  bool occupied() const { return occupied_; }

  static std::string leaf_for(std::string_view tap_name) { return "chain_" + std::string(tap_name); }

 private:
  ChainSlot() = default;
  UniqueFd map_;
  std::uint32_t map_id_ = 0;
  std::string leaf_;
  bool occupied_ = false;
};

}  // namespace xo::host
