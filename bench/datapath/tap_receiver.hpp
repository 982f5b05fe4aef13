// The guest side, as QEMU (userspace virtio-net backend) sees it: a tap
// opened with IFF_TAP | IFF_NO_PI | IFF_VNET_HDR and a 12-byte vnet header
// (virtio_net_hdr_mrg_rxbuf), read one frame per read() like QEMU's
// tap_send(). A receiver thread counts what reaches the guest side:
//
//   Mode::Drop  read and count (the guest's xdp1 drops the frame)
//   Mode::Echo  read, swap the MACs, write the frame back to the tap (the
//               guest's xdp2 XDP_TXes it; QEMU hands it back to the host)
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>

#include "bench/datapath/netdev.hpp"

namespace xo::bench {

class Tap {
 public:
  // Creates tap `name` in the calling thread's netns and brings it up.
  static Result<Tap> create(const std::string& name);
  Tap(Tap&&) noexcept = default;
  Tap& operator=(Tap&&) noexcept = default;
  ~Tap() = default;  // closing the last queue fd deletes a non-persistent tap

  const std::string& name() const { return name_; }
  int fd() const { return fd_.get(); }
  int ifindex() const;

 private:
  Tap() = default;
  std::string name_;
  UniqueFd fd_;
};

class TapReceiver {
 public:
  enum class Mode { Drop, Echo };
  // Starts reading `tap` on a thread pinned to `cpu` (-1: not pinned).
  TapReceiver(const Tap& tap, int cpu);
  TapReceiver(const TapReceiver&) = delete;
  TapReceiver& operator=(const TapReceiver&) = delete;
  ~TapReceiver();

  void set_mode(Mode m) { mode_.store(m, std::memory_order_relaxed); }
  // Frames read from the tap / frames written back to it, since start.
  std::uint64_t received() const { return received_.load(std::memory_order_relaxed); }
  std::uint64_t echoed() const { return echoed_.load(std::memory_order_relaxed); }

 private:
  void run(int cpu);
  int fd_;
  std::atomic<Mode> mode_{Mode::Drop};
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> received_{0}, echoed_{0};
  std::thread thread_;
};

}  // namespace xo::bench
