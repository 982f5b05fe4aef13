#include "host/core/load_caps.hpp"

#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
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

std::uint64_t thread_effective_caps() {
  Caps c;
  if (!get(c)) return 0;
  return std::uint64_t(c.data[0].effective) | (std::uint64_t(c.data[1].effective) << 32);
}

}  // namespace xo::host
