#include "host/core/load_caps.hpp"

#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <utility>

#include "host/core/kernel_log.hpp"

namespace xo::host {

namespace {

// Older headers may not know CAP_PERFMON (Linux 5.8); the number is ABI.
constexpr int kCapSysAdmin = 21;
constexpr int kCapPerfmon = 38;

struct Caps {
  __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};  // pid 0: this thread
  __user_cap_data_struct data[2]{};
};

bool get(Caps& c) { return syscall(SYS_capget, &c.header, c.data) == 0; }
bool set(Caps& c) { return syscall(SYS_capset, &c.header, c.data) == 0; }

void clear(Caps& c, int cap) { c.data[cap / 32].effective &= ~(1u << (cap % 32)); }

}  // namespace

Result<GuestLoadCaps> GuestLoadCaps::enter() {
  Caps c;
  if (!get(c)) return err(errno, "capget: " + errno_name(errno));
  const std::uint32_t eff0 = c.data[0].effective, eff1 = c.data[1].effective;
  clear(c, kCapSysAdmin);
  clear(c, kCapPerfmon);
  // Lowering the effective set needs no privilege; it can only fail when
  // the kernel rejects the header, and then the load must not happen.
  if (!set(c)) return err(errno, "capset (dropping CAP_SYS_ADMIN/CAP_PERFMON for a guest load): " + errno_name(errno));
  return GuestLoadCaps(eff0, eff1);
}

GuestLoadCaps::GuestLoadCaps(GuestLoadCaps&& o) noexcept
    : saved_{o.saved_[0], o.saved_[1]}, active_(std::exchange(o.active_, false)) {}

GuestLoadCaps::~GuestLoadCaps() {
  if (!active_) return;
  Caps c;
  if (!get(c)) return;
  // Raising back within the permitted set is always allowed.
  c.data[0].effective = saved_[0];
  c.data[1].effective = saved_[1];
  (void)set(c);
}

Status keep_only_capabilities(std::uint64_t keep) {
  const int last = [] {
    // CAP_LAST_CAP of the running kernel, not of our headers.
    int n = 40;
    while (n < 63 && prctl(PR_CAPBSET_READ, n + 1, 0, 0, 0) >= 0) ++n;
    return n;
  }();
  for (int cap = 0; cap <= last; ++cap) {
    if (keep & (1ull << cap)) continue;
    if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 1) continue;
    if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0) {
      if (errno == EPERM) break;  // no CAP_SETPCAP: nothing can be raised through exec either
      return err(errno, "dropping capability " + std::to_string(cap) + " from the bounding set: " +
                            errno_name(errno));
    }
  }
  Caps c;
  if (!get(c)) return err(errno, "capget: " + errno_name(errno));
  for (int w = 0; w < 2; ++w) {
    const auto mask = std::uint32_t(keep >> (32 * w));
    c.data[w].permitted &= mask;
    c.data[w].effective &= mask;
    c.data[w].inheritable &= mask;
  }
  if (!set(c)) return err(errno, "capset (keeping only the daemon's capabilities): " + errno_name(errno));
  return Ok{};
}

std::uint64_t thread_effective_caps() {
  Caps c;
  if (!get(c)) return 0;
  return std::uint64_t(c.data[0].effective) | (std::uint64_t(c.data[1].effective) << 32);
}

}  // namespace xo::host
