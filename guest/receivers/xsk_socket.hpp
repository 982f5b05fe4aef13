// An AF_XDP socket in copy mode on one queue of a guest NIC, through
// libxdp's xsk API, without libxdp's own XDP program: the program that
// redirects into it is the offloaded one, carried out by the trampoline
// (or the native fallback), through the offload's pinned XSKMAP.
//
//   auto xsk = XskSocket::open("eth0", 0);
//   xsk->bind_to_map(xskmap_fd);          // xskmap[queue] = this socket
//   auto frames = xsk->receive(1000);     // frames redirected to it
//
// RAII: the socket, then the umem and its memory, are freed on destruction
// (the kernel drops the XSKMAP entry with the socket).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/result.hpp"

struct xsk_socket;
struct xsk_umem;

namespace xo::guest {

class XskSocket {
 public:
  static Result<std::unique_ptr<XskSocket>> open(const std::string& ifname, std::uint32_t queue);
  ~XskSocket();
  XskSocket(const XskSocket&) = delete;
  XskSocket& operator=(const XskSocket&) = delete;

  int fd() const;
  std::uint32_t queue() const { return queue_; }
  // Puts this socket into `xskmap_fd` at key queue().
  Status bind_to_map(int xskmap_fd);
  // Frames received within timeout_ms (their buffers go back to the fill
  // ring). Stops early once `max` frames arrived (0: no limit).
  std::vector<std::vector<std::uint8_t>> receive(int timeout_ms, std::size_t max = 0);

 private:
  XskSocket() = default;
  struct Rings;
  struct FreeArea {
    void operator()(std::uint8_t* p) const;
  };
  std::unique_ptr<std::uint8_t, FreeArea> area_;
  std::unique_ptr<Rings> rings_;
  xsk_umem* umem_ = nullptr;
  xsk_socket* xsk_ = nullptr;
  std::uint32_t queue_ = 0;
};

}  // namespace xo::guest
