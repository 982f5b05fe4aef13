// The guest-side maps of an offload (PROTOCOL.md 8: DEVMAP, DEVMAP_HASH,
// CPUMAP, XSKMAP, PERF_EVENT_ARRAY) live in this, the guest's, kernel: the
// host only records their shape. They are pinned in bpffs, so that guest
// user space finds and updates them as it would a natively loaded
// program's (libbpf's pin-by-name), and so that they outlive one offload:
//
//   <root>/<ifname>/<map name>        root: /sys/fs/bpf/xoffload-guest
//
// e.g. /sys/fs/bpf/xoffload-guest/eth0/xsks_map. The same pinned maps serve
// the trampoline, the native program when the offload is lost
// (NativeOptions::reuse_map_fds) and the next offload: an AF_XDP socket put
// into the XSKMAP, a devmap entry, a perf reader's ring stay where they
// are whichever of them runs. A pin that exists already is reused when its
// shape matches, and refused (EEXIST) when it does not.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "core/submission.hpp"
#include "core/unique_fd.hpp"

namespace xo::guest {

inline constexpr const char* kGuestPinRoot = "/sys/fs/bpf/xoffload-guest";

// "<root>/<ifname>"; root empty: kGuestPinRoot.
std::string guest_pin_dir(const std::string& root, const std::string& ifname);

struct PinnedMap {
  MapDef def;        // the submission's (def.handle: the builder's), max_entries as created
  std::string path;  // its pin
  UniqueFd fd;
};

// Opens or creates (and pins) every guest-side map (guest_side_map_type) of `s` under `dir`
// (created). A PERF_EVENT_ARRAY sized 0 gets one slot per possible CPU, as
// libbpf does. Errors carry the kernel's errno; maps created before a
// failing one stay pinned (unpin_guest_maps removes them).
Result<std::vector<PinnedMap>> open_guest_maps(const Submission& s, const std::string& dir);

// Removes the pins `names` under `dir`, then `dir` if it is empty. Missing pins are not an error (already removed).
Status unpin_guest_maps(const std::vector<std::string>& names, const std::string& dir);

}  // namespace xo::guest
