#include "host/core/btf_loader.hpp"

#include <bpf/bpf.h>
#include <linux/bpf.h>

#include <cerrno>
#include <cstring>

#include "host/core/kernel_log.hpp"

namespace xo::host {

namespace {

constexpr std::size_t kBtfLogBytes = 64 * 1024;

}  // namespace

Status check_btf_blob(std::span<const std::uint8_t> blob, const BtfQuota& quota) {
  if (blob.empty()) return err(EINVAL, "BTF: empty blob");
  if (blob.size() > quota.max_bytes)
    return err(EDQUOT, "BTF: blob of " + std::to_string(blob.size()) + " bytes exceeds the quota of " +
               std::to_string(quota.max_bytes) + " bytes");
  return Ok{};
}

Result<LoadedBtf> load_btf(std::span<const std::uint8_t> blob, const BtfQuota& quota) {
  if (auto s = check_btf_blob(blob, quota); !s) return s.error();

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
      return err(first_errno, "BTF rejected by the kernel (" + errno_name(first_errno) +
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

}  // namespace xo::host
