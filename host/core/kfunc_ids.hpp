// The host kernel's kfunc ids, by name, from its vmlinux BTF: what
// translator::TranslateOptions::kfunc_id needs to turn a guest's kfunc
// names into calls the host kernel resolves (off 0 = vmlinux).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace xo::host {

// The id of BTF_KIND_FUNC `name` in /sys/kernel/btf/vmlinux; nullopt when the
// host kernel has no BTF or no such function. The BTF is loaded once per
// process (libbpf's btf__load_vmlinux_btf) and kept.
std::optional<std::int32_t> vmlinux_kfunc_id(const std::string& name);

}  // namespace xo::host
