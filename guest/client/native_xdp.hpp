// An XDP object loaded and attached in this (the guest's) kernel by libbpf,
// as the Linux samples do: the native way to run a program, and what guest
// tools fall back to when the host stops running an offloaded one. With
// XDP_FLAGS_HW_MODE it is the kernel's hardware offload instead: the NIC's
// driver (the patched virtio_net, kernel-patches/) carries it to the host.
//
// RAII: the destructor detaches the program only if it is still the one on
// the interface (the samples' int_exit rule: never remove someone else's),
// then closes the object, which frees its maps.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "core/result.hpp"
#include "guest/client/xdp_attachment.hpp"

struct bpf_object;

namespace xo::guest {

struct NativeOptions {
  std::optional<std::string> program;  // which program of the object (nullopt: the first)
  std::map<std::string, std::uint32_t, std::less<>> map_sizes;  // max_entries before load
  std::uint32_t xdp_flags = 0;  // XDP_FLAGS_* for bpf_xdp_attach (mode, UPDATE_IF_NOEXIST)
  // With XDP_FLAGS_HW_MODE the program and every map are created on the
  // NIC's offload device (the standard hardware-offload API: prog_ifindex
  // and map_ifindex), which Linux allows for ARRAY and HASH maps only.
  // plain_percpu_maps loads PERCPU_ARRAY/PERCPU_HASH maps as ARRAY/HASH
  // there: same keys and values, one slot instead of one per CPU. Only for
  // readers that sum the per-CPU slots (a single slot sums the same).
  bool plain_percpu_maps = false;
  // Maps that already exist in this kernel, by name: the object uses these
  // (bpf_map__reuse_fd) instead of creating its own. The guest-side maps of
  // an offload (guest_maps.hpp), so that the native program and the
  // trampoline it replaces redirect through the same DEVMAP/XSKMAP and emit
  // into the same perf ring that guest user space holds.
  std::map<std::string, int, std::less<>> reuse_map_fds;
};

class NativeXdp {
 public:
  // Opens, sizes, loads and attaches `object` on `ifindex`. Errors carry
  // libbpf's errno.
  static Result<std::unique_ptr<NativeXdp>> attach(const std::string& object, std::uint32_t ifindex,
                                                   const NativeOptions& options);
  ~NativeXdp();
  NativeXdp(const NativeXdp&) = delete;
  NativeXdp& operator=(const NativeXdp&) = delete;

  // fd of the map named `name` in the object; an Error when there is none.
  Result<int> map_fd(const std::string& name) const;
  std::uint32_t prog_id() const { return attachment_.prog_id(); }
  const std::string& prog_name() const { return prog_name_; }
  // Detaches now (the destructor then only closes). A no-op the second time.
  // Returns what was found on the interface: the detach is skipped, with a
  // message, when another program replaced ours.
  std::string detach();

 private:
  NativeXdp() = default;
  bpf_object* obj_ = nullptr;
  std::string prog_name_;
  XdpAttachment attachment_;
};

}  // namespace xo::guest
