// Loading a guest's BTF blob into the host kernel. The kernel validates it;
// when it refuses, its own message is what the guest gets back.
// The blob is hostile: its size is bounded before anything is copied.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/unique_fd.hpp"
#include "core/result.hpp"

namespace xo::host {

struct BtfQuota {
  std::size_t max_bytes = 4u << 20;  // kernel hard limit is BTF_MAX_SIZE (16 MiB)
};

struct LoadedBtf {
  UniqueFd fd;
  std::uint32_t id = 0;  // kernel BTF object id (bpftool btf show)
};

// The part of load_btf that needs no kernel: empty or oversized blob.
Status check_btf_blob(std::span<const std::uint8_t> blob, const BtfQuota& quota = {});

// Errors: check_btf_blob's; the kernel's refusal, as
// "BTF rejected by the kernel (EINVAL): <kernel log tail>".
Result<LoadedBtf> load_btf(std::span<const std::uint8_t> blob, const BtfQuota& quota = {});

}  // namespace xo::host
