#include "host/core/kernel_memory.hpp"

#include <bpf/bpf.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

namespace xo::host {

std::optional<std::uint64_t> fd_memlock(int fd) {
  if (fd < 0) return std::nullopt;
  std::ifstream in("/proc/self/fdinfo/" + std::to_string(fd));
  std::string line;
  while (std::getline(in, line)) {
    std::uint64_t v = 0;
    if (std::sscanf(line.c_str(), "memlock: %lu", &v) == 1) return v;
  }
  return std::nullopt;
}

std::optional<std::uint64_t> prog_kernel_bytes(int prog_fd) {
  auto mem = fd_memlock(prog_fd);
  if (!mem) return std::nullopt;
  bpf_prog_info info{};
  std::uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(prog_fd, &info, &len) != 0) return std::nullopt;
  return *mem + info.jited_prog_len;
}

std::uint64_t btf_kernel_bytes(std::span<const std::uint8_t> blob) {
  constexpr std::uint64_t kPerType = 32, kMinTypeSize = 12, kFixed = 4096;
  std::uint32_t type_len = 0;
  if (blob.size() >= 16) std::memcpy(&type_len, blob.data() + 12, 4);  // btf_header.type_len (host order)
  // Charged after the kernel accepted the blob, so type_len is validated
  // (the type section lies inside the blob); min() only keeps a bogus
  // header from mattering when called earlier.
  const std::uint64_t types = std::min<std::uint64_t>(type_len, blob.size()) / kMinTypeSize + 1;
  return blob.size() + kPerType * types + kFixed;
}

}  // namespace xo::host
