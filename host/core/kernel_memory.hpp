// What a kernel object costs in kernel memory, as the kernel itself counts
// it: the "memlock:" line of /proc/self/fdinfo/<fd>, which for maps is the
// map's own mem_usage (per-CPU values x possible CPUs, hash buckets and
// preallocated elements, LRU lists) and for programs the pages of the
// program image. Quotas charge these figures, not a guess from the shape.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace xo::host {

// The kernel's memlock figure for a map or program fd; nullopt when the
// fd has none (or /proc is not mounted).
std::optional<std::uint64_t> fd_memlock(int fd);

// A program: its memlock (the bpf_prog with its instructions) plus its JIT
// image (bpf_prog_info.jited_prog_len), which memlock does not include.
std::optional<std::uint64_t> prog_kernel_bytes(int prog_fd);

// BTF objects have no memlock figure. An upper bound of what the kernel
// keeps for a blob: the blob itself, per type the kernel's type pointer and
// resolved id/size arrays (<= 32 bytes each, with reallocation slack; a type
// takes >= 12 bytes of the type section, btf_header.type_len) and the
// struct btf.
std::uint64_t btf_kernel_bytes(std::span<const std::uint8_t> blob);

}  // namespace xo::host
