// Byte-stream channels that carry frames: a unix stream socket (the host
// daemon's side, also what QEMU's `-chardev socket` gives the host) or a
// virtio-serial character device (the guest's /dev/vportNpM).
//
// A Channel owns its fd (RAII) and always runs it O_NONBLOCK. It offers two
// styles over the same state:
//  - blocking calls with a timeout: send(), recv(), recv_frame();
//  - poll-loop calls for the daemon: read_available(), queue(), flush(),
//    wants_write(), with fd() registered in the caller's poll set.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "core/unique_fd.hpp"
#include "transport/codec.hpp"
#include "transport/framing.hpp"

namespace xo::transport {

// The virtio-serial port name the host gives the xoffload channel
// (`-device virtserialport,name=org.xoffload.0`).
inline constexpr std::string_view kVirtioPortName = "org.xoffload.0";

class Channel {
 public:
  // Connects to a listening unix stream socket (the daemon, or a QEMU
  // chardev socket in server mode).
  static Result<Channel> connect_unix(const std::string& path);
  // Opens a character device O_RDWR (a virtio-serial port).
  static Result<Channel> open_port(const std::string& device_path);
  // Finds the virtio-serial port whose sysfs `name` is `port_name` and opens it.
  static Result<Channel> open_virtio_port(std::string_view port_name = kVirtioPortName,
                                          const std::string& sysfs_root = "/sys/class/virtio-ports",
                                          const std::string& dev_root = "/dev");
  // Two connected ends (socketpair): in-process peers and tests.
  static Result<std::pair<Channel, Channel>> pair();

  // Takes ownership of a connected stream fd; `peer` names it in diagnostics.
  Channel(UniqueFd fd, std::string peer);
  Channel(Channel&&) = default;
  Channel& operator=(Channel&&) = default;

  int fd() const { return fd_.get(); }
  const std::string& peer() const { return peer_; }
  // True after EOF, a framing error, an I/O error or a timed-out partial write.
  bool broken() const { return broken_; }
  // The protocol version send()/queue() encode frames in: 1 until the peers
  // agree on another (Client::caps() sets what CAPS chose).
  std::uint16_t version() const { return version_; }
  void set_version(std::uint16_t v) { version_ = v; }

  // ---- blocking, with timeouts (timeout_ms < 0: wait forever) ----
  Status send(std::uint32_t request_id, const Message& message, int timeout_ms = -1);
  // The next complete frame; undecodable payloads are still returned here.
  Result<Frame> recv_frame(int timeout_ms = -1);
  // recv_frame() + decode().
  Result<Envelope> recv(int timeout_ms = -1);

  // ---- non-blocking, for poll loops ----
  // Reads whatever is available now (until EAGAIN) and returns the complete
  // frames, including ones buffered earlier. Frames that arrived before EOF
  // or a framing/I-O error are returned first; the error comes on the next
  // call, and from then on the channel is broken and should be dropped.
  // At most about `max_bytes` are read per call, so one flooding peer cannot
  // hold a poll loop; poll is level-triggered and reports the rest again.
  Result<std::vector<Frame>> read_available(std::size_t max_bytes = kDefaultReadBudget);
  static constexpr std::size_t kDefaultReadBudget = 1u << 20;
  // Encodes and appends to the outgoing buffer; nothing is written yet.
  Status queue(std::uint32_t request_id, const Message& message);
  Status queue_bytes(std::span<const std::uint8_t> frame_bytes);
  // Writes as much of the outgoing buffer as the fd takes now.
  Status flush();
  bool wants_write() const { return out_pos_ < out_.size(); }
  // Bytes queued but not yet written: a poll loop stops reading requests
  // from a peer that does not read its replies (backpressure).
  std::size_t pending_output() const { return out_.size() - out_pos_; }

 private:
  Status read_once(bool& would_block, std::size_t* bytes_read = nullptr);
  Status fail(std::string message);
  Status wait_for(short events, int timeout_ms, const char* what);

  UniqueFd fd_;
  std::string peer_;
  bool is_socket_ = false;
  bool broken_ = false;
  std::uint16_t version_ = kMinProtocolVersion;
  std::optional<Error> error_;  // why it broke
  Framer framer_;
  std::deque<Frame> pending_;
  std::vector<std::uint8_t> out_;
  std::size_t out_pos_ = 0;
};

// A listening unix stream socket. listen() replaces a stale socket file at
// `path`; the file is removed again when the listener is destroyed.
class UnixListener {
 public:
  static Result<UnixListener> listen(const std::string& path, int backlog = 16);
  UnixListener(UnixListener&& o) noexcept;
  UnixListener& operator=(UnixListener&& o) noexcept;
  ~UnixListener();

  int fd() const { return fd_.get(); }
  const std::string& path() const { return path_; }
  // Waits up to timeout_ms (< 0: forever) for one connection.
  Result<Channel> accept(int timeout_ms = -1);

 private:
  UnixListener(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
  UniqueFd fd_;
  std::string path_;
};

// "/dev/vport0p1" for the port whose <sysfs_root>/<dev>/name equals port_name.
Result<std::string> find_virtio_port(std::string_view port_name = kVirtioPortName,
                                     const std::string& sysfs_root = "/sys/class/virtio-ports",
                                     const std::string& dev_root = "/dev");

}  // namespace xo::transport
