// XskSocket: umem + fill ring, copy-mode bind, rx ring reads.
#include "guest/receivers/xsk_socket.hpp"

#include <linux/if_xdp.h>
#include <poll.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <xdp/xsk.h>

#include <chrono>
#include <cstdlib>
#include <cstring>

namespace xo::guest {
namespace {

constexpr std::uint32_t kFrames = 256;
constexpr std::uint32_t kFrameSize = XSK_UMEM__DEFAULT_FRAME_SIZE;

Error xsk_error(const std::string& what, int rc) {
  const int code = rc < 0 ? -rc : rc;
  return err(code, what + ": " + std::strerror(code));
}

}  // namespace

struct XskSocket::Rings {
  xsk_ring_prod fill{}, tx{};
  xsk_ring_cons comp{}, rx{};
};

void XskSocket::FreeArea::operator()(std::uint8_t* p) const { std::free(p); }

Result<std::unique_ptr<XskSocket>> XskSocket::open(const std::string& ifname, std::uint32_t queue) {
  std::unique_ptr<XskSocket> self(new XskSocket);
  self->queue_ = queue;
  self->rings_ = std::make_unique<Rings>();
  void* mem = nullptr;
  if (posix_memalign(&mem, std::size_t(getpagesize()), std::size_t(kFrames) * kFrameSize) != 0)
    return err(ENOMEM, "AF_XDP umem: out of memory");
  self->area_.reset(static_cast<std::uint8_t*>(mem));
  Rings& r = *self->rings_;
  if (int rc = xsk_umem__create(&self->umem_, mem, std::uint64_t(kFrames) * kFrameSize, &r.fill, &r.comp, nullptr))
    return xsk_error("xsk_umem__create", rc);
  xsk_socket_config cfg{};
  cfg.rx_size = XSK_RING_CONS__DEFAULT_NUM_DESCS;
  cfg.tx_size = XSK_RING_PROD__DEFAULT_NUM_DESCS;
  cfg.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD;  // the offload's program redirects to us
  cfg.bind_flags = XDP_COPY;
  if (int rc = xsk_socket__create(&self->xsk_, ifname.c_str(), queue, self->umem_, &r.rx, &r.tx, &cfg))
    return xsk_error("AF_XDP socket on " + ifname + " queue " + std::to_string(queue), rc);
  std::uint32_t idx = 0;
  const std::uint32_t n = xsk_ring_prod__reserve(&r.fill, XSK_RING_PROD__DEFAULT_NUM_DESCS, &idx);
  for (std::uint32_t i = 0; i < n; ++i) *xsk_ring_prod__fill_addr(&r.fill, idx + i) = std::uint64_t(i) * kFrameSize;
  xsk_ring_prod__submit(&r.fill, n);
  return self;
}

XskSocket::~XskSocket() {
  if (xsk_) xsk_socket__delete(xsk_);
  if (umem_) xsk_umem__delete(umem_);
}

int XskSocket::fd() const { return xsk_socket__fd(xsk_); }

Status XskSocket::bind_to_map(int xskmap_fd) {
  const std::uint32_t key = queue_;
  const int value = fd();
  if (bpf_map_update_elem(xskmap_fd, &key, &value, 0) != 0)
    return err(errno, std::string("XSKMAP update: ") + std::strerror(errno));
  return Ok{};
}

std::vector<std::vector<std::uint8_t>> XskSocket::receive(int timeout_ms, std::size_t max) {
  std::vector<std::vector<std::uint8_t>> out;
  Rings& r = *rings_;
  const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < end && (max == 0 || out.size() < max)) {
    pollfd p{fd(), POLLIN, 0};
    ::poll(&p, 1, 20);
    std::uint32_t idx = 0;
    const std::uint32_t n = xsk_ring_cons__peek(&r.rx, 64, &idx);
    for (std::uint32_t i = 0; i < n; ++i) {
      const xdp_desc* desc = xsk_ring_cons__rx_desc(&r.rx, idx + i);
      const auto* at = static_cast<const std::uint8_t*>(xsk_umem__get_data(area_.get(), desc->addr));
      out.emplace_back(at, at + desc->len);
      std::uint32_t fidx = 0;
      if (xsk_ring_prod__reserve(&r.fill, 1, &fidx) == 1) {
        *xsk_ring_prod__fill_addr(&r.fill, fidx) = xsk_umem__extract_addr(desc->addr);
        xsk_ring_prod__submit(&r.fill, 1);
      }
    }
    if (n) xsk_ring_cons__release(&r.rx, n);
  }
  return out;
}

}  // namespace xo::guest
