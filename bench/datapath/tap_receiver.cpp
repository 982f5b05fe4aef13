#include "bench/datapath/tap_receiver.hpp"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace xo::bench {

namespace {
// struct virtio_net_hdr_mrg_rxbuf: what QEMU sets with TUNSETVNETHDRSZ when
// the guest negotiated mergeable rx buffers (the default).
constexpr int kVnetHdrSize = 12;
}  // namespace

Result<Tap> Tap::create(const std::string& name) {
  if (name.empty() || name.size() >= IFNAMSIZ) return err("tap name '" + name + "' invalid");
  Tap tap;
  tap.name_ = name;
  tap.fd_.reset(open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC));
  if (!tap.fd_) return err("open /dev/net/tun: " + std::string(strerror(errno)));
  ifreq ifr{};
  std::memcpy(ifr.ifr_name, name.c_str(), name.size());
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
  if (ioctl(tap.fd_.get(), TUNSETIFF, &ifr) != 0)
    return err("tap " + name + ": TUNSETIFF: " + strerror(errno));
  int hdr = kVnetHdrSize;
  if (ioctl(tap.fd_.get(), TUNSETVNETHDRSZ, &hdr) != 0)
    return err("tap " + name + ": TUNSETVNETHDRSZ: " + strerror(errno));
  if (auto s = set_up(name); !s) return s.error();
  return tap;
}

int Tap::ifindex() const { return static_cast<int>(if_nametoindex(name_.c_str())); }

TapReceiver::TapReceiver(const Tap& tap, int cpu) : fd_(tap.fd()) {
  thread_ = std::thread([this, cpu] { run(cpu); });
}

TapReceiver::~TapReceiver() {
  stop_.store(true);
  thread_.join();
}

void TapReceiver::run(int cpu) {
  if (cpu >= 0) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  }
  alignas(64) unsigned char buf[kVnetHdrSize + 2048];
  std::uint64_t received = 0, echoed = 0;
  pollfd p{fd_, POLLIN, 0};
  while (!stop_.load(std::memory_order_relaxed)) {
    if (poll(&p, 1, 20) <= 0) continue;
    for (;;) {
      ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) break;  // EAGAIN: ring empty, back to poll
      ++received;
      if (mode_.load(std::memory_order_relaxed) == Mode::Echo && n >= kVnetHdrSize + 12) {
        unsigned char* eth = buf + kVnetHdrSize;
        unsigned char tmp[6];
        std::memcpy(tmp, eth, 6);
        std::memmove(eth, eth + 6, 6);
        std::memcpy(eth + 6, tmp, 6);
        if (write(fd_, buf, static_cast<size_t>(n)) == n) ++echoed;
      }
      received_.store(received, std::memory_order_relaxed);
      echoed_.store(echoed, std::memory_order_relaxed);
    }
  }
}

}  // namespace xo::bench
