// GuestSide: pinned guest-side maps + the trampoline bound to them.
#include "guest/client/guest_side.hpp"

#include <algorithm>

namespace xo::guest {

Result<GuestSide> GuestSide::prepare(const Submission& s, const std::string& pin_dir) {
  GuestSide g;
  g.pin_dir_ = pin_dir;
  auto maps = open_guest_maps(s, pin_dir);
  if (!maps) return maps.error();
  g.maps_ = std::move(*maps);
  return g;
}

const PinnedMap* GuestSide::map(std::uint32_t builder_handle) const {
  for (const PinnedMap& m : maps_)
    if (m.def.handle == builder_handle) return &m;
  return nullptr;
}

Status GuestSide::install(std::uint64_t cookie, const std::vector<std::pair<std::uint32_t, std::uint32_t>>& handles,
                          std::uint32_t ifindex, std::uint32_t xdp_flags) {
  TrampolineBinding binding;
  binding.cookie = cookie;
  for (const PinnedMap& m : maps_) {
    auto it = std::find_if(handles.begin(), handles.end(), [&](const auto& p) { return p.first == m.def.handle; });
    if (it == handles.end()) return err(EINVAL, "guest map '" + m.def.name + "' has no host handle");
    BoundMap b{it->second, m.fd.get()};
    (m.def.type == MapType::PerfEventArray ? binding.perf_maps : binding.redirect_maps).push_back(b);
  }
  auto t = Trampoline::load(binding);
  if (!t) return t.error();
  if (Status st = t->attach(ifindex, xdp_flags); !st) return st;
  trampoline_.emplace(std::move(*t));
  return Ok{};
}

std::string GuestSide::remove() {
  if (!trampoline_) return {};
  std::string found = trampoline_->attachment().detach();
  trampoline_.reset();
  return found;
}

}  // namespace xo::guest
