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

#include "translator/isa/unique_fd.hpp"
#include "translator/isa/result.hpp"

namespace xo::host {

struct BtfQuota {
  std::size_t max_bytes = 4u << 20;  // kernel hard limit is BTF_MAX_SIZE (16 MiB)
};

struct LoadedBtf {
  UniqueFd fd;
  std::uint32_t id = 0;  // kernel BTF object id (bpftool btf show)
};

// Errors: empty or oversized blob; the kernel's refusal, as
// "BTF rejected by the kernel (EINVAL): <kernel log tail>".
Result<LoadedBtf> load_btf(std::span<const std::uint8_t> blob, const BtfQuota& quota = {});

// The string section of a BTF blob, bounds-checked, for turning line_info
// offsets into file names and source lines. Parsing never trusts the header.
class BtfStrings {
 public:
  static Result<BtfStrings> parse(std::span<const std::uint8_t> blob);
  // nullopt when `off` is outside the section or the string is unterminated.
  std::optional<std::string_view> at(std::uint32_t off) const;
  bool empty() const { return strings_.empty(); }

 private:
  std::vector<char> strings_;
};

}  // namespace xo::host
