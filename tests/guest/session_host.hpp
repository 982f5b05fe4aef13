// The real host side for guest client tests: the session library
// (host/session: Session + the kernel backend) on a real tap in the test's
// network namespace, pinning under its own bpffs directory. Only the door is
// the test's: it serves either one in-process socketpair end, or successive
// connections on a unix socket to ONE session, as a virtio-serial port does
// (QEMU's chardev stays connected while guest processes come and go, so the
// guest's state file keeps naming live handles).
//
// It records the request types it was sent, and reads the host's state
// from the session and the kernel (through the session's pins), never from
// a model of its own.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/result.hpp"
#include "core/unique_fd.hpp"
#include "host/session/config.hpp"
#include "host/session/connection.hpp"
#include "host/session/session.hpp"
#include "tests/host/netdev.hpp"
#include "transport/messages.hpp"

namespace xo::guest::test {

using Bytes = std::vector<std::uint8_t>;

class SessionHost {
 public:
  // Listens on `socket_path` and serves until destroyed.
  explicit SessionHost(std::string socket_path, session::SessionQuotas quotas = {});
  // Serves one in-process stream (a socketpair end) until it closes.
  explicit SessionHost(UniqueFd stream, session::SessionQuotas quotas = {});
  ~SessionHost();
  SessionHost(const SessionHost&) = delete;
  SessionHost& operator=(const SessionHost&) = delete;

  std::vector<std::uint16_t> request_types() const;
  std::size_t programs() const;
  std::size_t maps() const;
  std::size_t btfs() const;
  std::uint32_t attached_prog_id() const;
  const std::string& tap() const { return tap_.name(); }
  int tap_ifindex() const { return tap_.ifindex(); }
  // Frames the host sent toward the guest within timeout_ms, read from the
  // tap's fd as QEMU would (the wire into the VM).
  std::vector<Bytes> frames_to_guest(int timeout_ms) { return tap_.read_frames(timeout_ms); }

  // Writes `value` into every CPU's slot of the per-CPU map the guest named
  // `map_name`, straight into the kernel map through the session's pin.
  Status set_percpu_u64(const std::string& map_name, std::uint32_t key, std::uint64_t value);
  // max_entries of the kernel map the guest named `map_name`; 0 when the
  // session has no such map.
  std::uint32_t map_max_entries(const std::string& map_name) const;
  // Sends an EVENT to the connected guest.
  void send_event(const transport::Event& event);
  // Closes the guest's connection and keeps the session, as when a daemon
  // restarts and adopts the session: the guest sees its channel fail, and a
  // new connection finds its old handles.
  void drop_connection();

 private:
  SessionHost(session::SessionQuotas quotas);
  void serve();
  void serve_connection_once();
  std::string map_pin(const std::string& map_name) const;

  xo::test::Tap tap_;
  std::string pin_root_;
  session::SessionConfig config_;
  std::string socket_path_;
  UniqueFd listener_;
  UniqueFd stop_;  // eventfd
  mutable std::mutex mu_;
  std::unique_ptr<session::Session> session_;
  std::unique_ptr<session::Connection> conn_;
  std::vector<std::uint16_t> types_;
  std::thread thread_;
};

}  // namespace xo::guest::test
