// The guest half of an offload that defers work to the guest (PROTOCOL.md
// 8): the object's guest-side maps, created and pinned in this kernel
// (guest_maps.hpp), and the trampoline bound to them and to the program's
// cookie, attached natively on the guest NIC (trampoline.hpp).
//
// GuestClient::offload() drives it:
//   prepare(submission)          before MAP_CREATE: maps here, their shapes for the host
//   install(cookie, handles)     after PROG_LOAD, before PROG_ATTACH: the trampoline is
//                                on the NIC before the host sends its first descriptor
//   ~GuestSide / remove()        after PROG_DETACH: the trampoline goes (if still ours)
// The pins stay until unpin(): the native fallback and the next offload use
// the same maps.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "core/submission.hpp"
#include "guest/client/guest_maps.hpp"
#include "guest/client/trampoline.hpp"

namespace xo::guest {

class GuestSide {
 public:
  GuestSide() = default;
  // Opens or creates the guest-side maps of `s` under `pin_dir`. No
  // guest-side maps: an empty GuestSide (and `pin_dir` is not created).
  static Result<GuestSide> prepare(const Submission& s, const std::string& pin_dir);

  bool has_maps() const { return !maps_.empty(); }
  const std::string& pin_dir() const { return pin_dir_; }
  // The map as created here (a PERF_EVENT_ARRAY sized 0 has its CPU count),
  // nullptr when the builder handle is not a guest-side map.
  const PinnedMap* map(std::uint32_t builder_handle) const;
  const std::vector<PinnedMap>& maps() const { return maps_; }

  // Builds the trampoline for `cookie`, binding each guest-side map to its
  // host handle (`handles`: builder handle -> host handle), and attaches it
  // on `ifindex` with XDP_FLAGS_* `xdp_flags`, replacing what runs there
  // (a native fallback) unless the flags say XDP_FLAGS_UPDATE_IF_NOEXIST.
  Status install(std::uint64_t cookie, const std::vector<std::pair<std::uint32_t, std::uint32_t>>& handles,
                 std::uint32_t ifindex, std::uint32_t xdp_flags);
  const std::optional<Trampoline>& trampoline() const { return trampoline_; }
  // Detaches the trampoline (if it is still the NIC's program) and closes it.
  // Returns what was found instead when the detach was skipped.
  std::string remove();
  // Leaves the trampoline attached for a later process (the CLI exits).
  void release() {
    if (trampoline_) trampoline_->attachment().release();
  }

 private:
  std::string pin_dir_;
  std::vector<PinnedMap> maps_;
  std::optional<Trampoline> trampoline_;
};

}  // namespace xo::guest
