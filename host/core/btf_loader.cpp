#include "host/core/btf_loader.hpp"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>

#include "host/core/kernel_log.hpp"

namespace xo::host {

namespace {

constexpr std::uint16_t kBtfMagic = 0xeB9F;
constexpr std::size_t kBtfLogBytes = 64 * 1024;

struct BtfHeader {  // struct btf_header, little-endian on the hosts we target
  std::uint16_t magic;
  std::uint8_t version;
  std::uint8_t flags;
  std::uint32_t hdr_len;
  std::uint32_t type_off;
  std::uint32_t type_len;
  std::uint32_t str_off;
  std::uint32_t str_len;
};

}  // namespace

Result<LoadedBtf> load_btf(std::span<const std::uint8_t> blob, const BtfQuota& quota) {
  if (blob.empty()) return err("BTF: empty blob");
  if (blob.size() > quota.max_bytes)
    return err("BTF: blob of " + std::to_string(blob.size()) + " bytes exceeds the quota of " +
               std::to_string(quota.max_bytes) + " bytes");

  // First without a log (cheap); on refusal, again with one to explain it.
  int fd = bpf_btf_load(blob.data(), blob.size(), nullptr);
  if (fd < 0) {
    int first_errno = errno;
    std::string log(kBtfLogBytes, '\0');
    LIBBPF_OPTS(bpf_btf_load_opts, opts, .log_buf = log.data(), .log_level = 1,
                .log_size = static_cast<std::uint32_t>(log.size()));
    fd = bpf_btf_load(blob.data(), blob.size(), &opts);
    if (fd < 0) {
      log.resize(std::strlen(log.c_str()));
      return err("BTF rejected by the kernel (" + errno_name(first_errno) +
                 "): " + log_tail(log, 2));
    }
  }
  LoadedBtf out;
  out.fd.reset(fd);
  bpf_btf_info info{};
  std::uint32_t len = sizeof(info);
  if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0) out.id = info.id;
  return out;
}

Result<BtfStrings> BtfStrings::parse(std::span<const std::uint8_t> blob) {
  BtfHeader h{};
  if (blob.size() < sizeof(h)) return err("BTF: blob shorter than its header");
  std::memcpy(&h, blob.data(), sizeof(h));
  if (h.magic != kBtfMagic) return err("BTF: bad magic");
  // 64-bit arithmetic: the header's fields are guest-chosen.
  std::uint64_t start = std::uint64_t(h.hdr_len) + h.str_off;
  std::uint64_t end = start + h.str_len;
  if (h.hdr_len < sizeof(h) || end > blob.size())
    return err("BTF: string section [" + std::to_string(start) + ", " + std::to_string(end) +
               ") outside the blob of " + std::to_string(blob.size()) + " bytes");
  BtfStrings s;
  s.strings_.assign(blob.begin() + start, blob.begin() + end);
  return s;
}

std::optional<std::string_view> BtfStrings::at(std::uint32_t off) const {
  if (off >= strings_.size()) return std::nullopt;
  const char* begin = strings_.data() + off;
  const void* nul = std::memchr(begin, '\0', strings_.size() - off);
  if (!nul) return std::nullopt;
  return std::string_view(begin, static_cast<const char*>(nul) - begin);
}

}  // namespace xo::host
