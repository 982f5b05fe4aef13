// Test-only network fixtures: every test binary runs in its own fresh
// network namespace (main.cpp), and each device here is owned by one RAII
// object that deletes it. Names are unique per process and counter.
#pragma once

#include <cerrno>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/unique_fd.hpp"

namespace xo::test {

// "<prefix><pid % 100000>_<n>", at most 15 chars.
std::string unique_ifname(const char* prefix);

// A tap opened through /dev/net/tun and kept open: the fd plays the VM, so
// the carrier is up and frames that reach the guest can be read back.
class Tap {
 public:
  Tap();
  ~Tap() = default;  // closing the (non-persistent) tap's fd deletes it
  const std::string& name() const { return name_; }
  int ifindex() const { return ifindex_; }
  int fd() const { return fd_.get(); }
  // Frames delivered to the "guest" within timeout_ms.
  std::vector<std::vector<std::uint8_t>> read_frames(int timeout_ms);

 private:
  std::string name_;
  int ifindex_ = 0;
  UniqueFd fd_;
};

// A veth pair in the test's netns, deleted on destruction.
class Veth {
 public:
  Veth();
  ~Veth();
  const std::string& name() const { return a_; }
  const std::string& peer() const { return b_; }
  int ifindex() const;
  int peer_ifindex() const;

 private:
  std::string a_, b_;
};

void set_up(const std::string& ifname);

// AF_PACKET socket bound to one device: send raw frames into its Tx path,
// capture everything that crosses it.
class PacketSocket {
 public:
  explicit PacketSocket(int ifindex);
  // 0 when the frame was handed to the device, else the errno. A frame that
  // tc drops at egress (TC_ACT_SHOT) reports ENOBUFS: it did enter the Tx path.
  int send(const std::vector<std::uint8_t>& frame);
  // send() that counts a tc egress drop as sent.
  bool send_ok(const std::vector<std::uint8_t>& frame) {
    int e = send(frame);
    return e == 0 || e == ENOBUFS;
  }
  // Frames received (not our own outgoing ones) within timeout_ms.
  std::vector<std::vector<std::uint8_t>> receive(int timeout_ms, bool include_outgoing = false);

 private:
  int ifindex_;
  UniqueFd fd_;
};

// Frames for tests: Ethernet + IPv4 + payload of the given IP protocol.
std::vector<std::uint8_t> ipv4_frame(std::uint8_t proto, const std::uint8_t dst_mac[6],
                                     const std::uint8_t src_mac[6], std::size_t payload = 32);

// What runs on `dev`'s egress, one line each, empty when nothing does:
// "tcx link <link id> id <prog id>" per tcx program (BPF_PROG_QUERY; link 0
// = attached without a link), then `tc filter show dev <dev> egress` (the
// cls_bpf fallback). The tap's real attachment, whichever kind it is.
std::string egress_hook(const std::string& dev);

// A shell command's exit code (-1 when it did not exit normally) and its
// stdout with stderr merged. The one runner every test binary uses.
struct CommandResult {
  int code = -1;
  std::string out;
};
CommandResult run_command(const std::string& cmd);

// The same, as output with the exit code in *status.
std::string run(const std::string& cmd, int* status = nullptr);

}  // namespace xo::test
