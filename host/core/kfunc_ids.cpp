#include "host/core/kfunc_ids.hpp"

#include <bpf/btf.h>
#include <linux/btf.h>

#include <memory>

namespace xo::host {

std::optional<std::int32_t> vmlinux_kfunc_id(const std::string& name) {
  // Loaded once, on first use (thread-safe static init); never changes while
  // the kernel runs. nullptr when the host has no vmlinux BTF.
  static const std::unique_ptr<btf, void (*)(btf*)> vmlinux(btf__load_vmlinux_btf(), &btf__free);
  if (!vmlinux) return std::nullopt;
  const int id = btf__find_by_name_kind(vmlinux.get(), name.c_str(), BTF_KIND_FUNC);
  if (id <= 0) return std::nullopt;
  return id;
}

}  // namespace xo::host
