#include "host/core/kernel_census.hpp"

#include <bpf/bpf.h>
#include <unistd.h>

#include <cerrno>
#include <thread>

namespace xo::host {

namespace {

std::size_t count(int (*next)(__u32, __u32*)) {
  std::size_t n = 0;
  for (__u32 id = 0; next(id, &id) == 0;) ++n;
  return n;
}

}  // namespace

KernelCensus take_kernel_census() {
  return {count(bpf_prog_get_next_id), count(bpf_map_get_next_id), count(bpf_btf_get_next_id)};
}

std::string KernelCensus::describe() const {
  return std::to_string(progs) + " progs, " + std::to_string(maps) + " maps, " +
         std::to_string(btfs) + " btf";
}

bool kernel_object_exists(KernelObjectRef ref) {
  int fd = -1;
  switch (ref.kind) {
    case ObjectKind::Prog: fd = bpf_prog_get_fd_by_id(ref.id); break;
    case ObjectKind::Map: fd = bpf_map_get_fd_by_id(ref.id); break;
    case ObjectKind::Btf: fd = bpf_btf_get_fd_by_id(ref.id); break;
  }
  if (fd >= 0) {
    ::close(fd);
    return true;
  }
  return errno != ENOENT;  // EPERM etc.: cannot tell, assume alive
}

std::vector<KernelObjectRef> still_alive(std::span<const KernelObjectRef> refs,
                                         std::chrono::milliseconds wait) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    std::vector<KernelObjectRef> alive;
    for (auto r : refs)
      if (kernel_object_exists(r)) alive.push_back(r);
    if (alive.empty() || std::chrono::steady_clock::now() >= deadline) return alive;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::string describe(KernelObjectRef ref) {
  const char* k = ref.kind == ObjectKind::Prog ? "prog" : ref.kind == ObjectKind::Map ? "map" : "btf";
  return std::string(k) + " id " + std::to_string(ref.id);
}

}  // namespace xo::host
