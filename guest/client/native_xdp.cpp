// NativeXdp: libbpf open -> size maps -> load -> bpf_xdp_attach, and the
// samples' careful detach.
#include "guest/client/native_xdp.hpp"

#include <linux/if_link.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>
#include <cstring>

namespace xo::guest {
namespace {

Error libbpf_error(const std::string& what, int rc) {
  const int code = rc < 0 ? -rc : (errno ? errno : EINVAL);
  return err(code, what + ": " + std::strerror(code));
}

// Hardware offload: the program and its maps are created for the device
// (prog_ifindex, map_ifindex); the kernel then hands them to its driver.
Status bind_to_device(bpf_object* obj, bpf_program* prog, std::uint32_t ifindex, bool plain_percpu_maps) {
  bpf_program__set_ifindex(prog, ifindex);
  bpf_map* m = nullptr;
  bpf_object__for_each_map(m, obj) {
    const std::string name = bpf_map__name(m);
    const auto type = bpf_map__type(m);
    if (plain_percpu_maps && (type == BPF_MAP_TYPE_PERCPU_ARRAY || type == BPF_MAP_TYPE_PERCPU_HASH))
      if (int rc = bpf_map__set_type(m, type == BPF_MAP_TYPE_PERCPU_ARRAY ? BPF_MAP_TYPE_ARRAY : BPF_MAP_TYPE_HASH); rc)
        return libbpf_error("map '" + name + "' type", rc);
    bpf_map__set_ifindex(m, ifindex);
  }
  return Ok{};
}

}  // namespace

Result<std::unique_ptr<NativeXdp>> NativeXdp::attach(const std::string& object, std::uint32_t ifindex,
                                                     const NativeOptions& options) {
  std::unique_ptr<NativeXdp> self(new NativeXdp);
  self->obj_ = bpf_object__open_file(object.c_str(), nullptr);
  if (const long e = libbpf_get_error(self->obj_); !self->obj_ || e) {
    self->obj_ = nullptr;
    return libbpf_error("cannot open " + object, int(e));
  }
  bpf_program* prog = nullptr;
  for (bpf_program* p = bpf_object__next_program(self->obj_, nullptr); p;
       p = bpf_object__next_program(self->obj_, p)) {
    const bool chosen = options.program ? *options.program == bpf_program__name(p) : prog == nullptr;
    bpf_program__set_autoload(p, chosen);  // load only the one we attach, as libxdp does
    if (chosen) prog = p;
  }
  if (!prog)
    return err(ENOENT, object + " has no program" + (options.program ? " '" + *options.program + "'" : ""));
  for (const auto& [name, entries] : options.map_sizes) {
    bpf_map* m = bpf_object__find_map_by_name(self->obj_, name.c_str());
    if (!m) return err(ENOENT, object + " has no map '" + name + "'");
    if (int rc = bpf_map__set_max_entries(m, entries); rc) return libbpf_error("map '" + name + "' size", rc);
  }
  if (options.xdp_flags & XDP_FLAGS_HW_MODE)
    if (auto st = bind_to_device(self->obj_, prog, ifindex, options.plain_percpu_maps); !st) return st.error();
  for (const auto& [name, fd] : options.reuse_map_fds) {
    bpf_map* m = bpf_object__find_map_by_name(self->obj_, name.c_str());
    if (!m) return err(ENOENT, object + " has no map '" + name + "'");
    if (int rc = bpf_map__reuse_fd(m, fd); rc) return libbpf_error("map '" + name + "' reuse", rc);
  }
  if (int rc = bpf_object__load(self->obj_); rc) return libbpf_error("loading " + object, rc);
  auto attached = XdpAttachment::attach(ifindex, bpf_program__fd(prog), options.xdp_flags);
  if (!attached) return attached.error();
  self->attachment_ = std::move(*attached);
  self->prog_name_ = bpf_program__name(prog);
  return self;
}

std::string NativeXdp::detach() { return attachment_.detach(); }

NativeXdp::~NativeXdp() {
  detach();
  if (obj_) bpf_object__close(obj_);
}

Result<int> NativeXdp::map_fd(const std::string& name) const {
  const bpf_map* m = bpf_object__find_map_by_name(obj_, name.c_str());
  if (!m) return err(ENOENT, "no map '" + name + "'");
  return bpf_map__fd(m);
}

}  // namespace xo::guest
