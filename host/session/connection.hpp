// One guest connection in the daemon's poll loop: bounded input (frames are
// cut from the byte stream as they complete; the header is checked before
// any payload is buffered) and a bounded output queue.
//
// It does its own framing instead of using transport::Channel's reader so
// that a frame whose header breaks the framing rules (bad magic, a length
// over its bound) can still be answered: the header's request id is known,
// so the guest gets ERROR/E2BIG (or EPROTO) for that request before the
// connection is closed (the stream cannot be resynchronised). That reply
// comes after the replies to every valid request cut before it
// (queue_close_reply), so replies stay in request order.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <vector>

#include "transport/channel.hpp"
#include "transport/codec.hpp"

namespace xo::session {

class Connection {
 public:
  // `fd` may be empty for a connection fed through receive()/take().
  explicit Connection(xo::UniqueFd fd = {}) : fd_(std::move(fd)) {}

  int fd() const { return fd_.get(); }

  // Reads at most `budget` bytes now (non-blocking) and cuts complete frames
  // into pending(). Returns false when the peer is gone (EOF, error).
  // After a framing error closing() is set and the error reply is held
  // back until queue_close_reply().
  bool read_some(std::size_t budget);
  std::deque<transport::Frame>& pending() { return pending_; }
  // Bytes that arrived some other way (a VMM's chardev, the C API): cut
  // into pending() exactly like read_some's.
  void receive(std::span<const std::uint8_t> bytes);
  // Copies up to out.size() queued bytes into `out` (for a caller that
  // writes them itself); returns how many.
  std::size_t take(std::span<std::uint8_t> out);
  // Whether a partial frame was buffered when the peer went away.
  bool mid_frame() const { return !in_.empty(); }

  void queue(std::vector<std::uint8_t> bytes);
  // Writes what the socket takes now; false on a write error.
  bool flush();
  std::size_t queued_bytes() const { return out_.size() - out_pos_; }
  bool wants_write() const { return queued_bytes() > 0; }

  // Framing broke: answer what came before, then the bad frame, finish
  // writing, and drop the connection.
  bool closing() const { return closing_; }
  // Queues the framing error's reply. The owner calls it once every frame
  // cut before the bad one has its reply queued (pending() empty, no load in
  // flight); a no-op without a held reply.
  void queue_close_reply();
  const std::string& close_reason() const { return close_reason_; }

 private:
  void cut_frames();

  xo::UniqueFd fd_;
  std::vector<std::uint8_t> in_;
  std::deque<transport::Frame> pending_;
  std::vector<std::uint8_t> out_;
  std::size_t out_pos_ = 0;
  bool closing_ = false;
  std::string close_reason_;
  std::vector<std::uint8_t> close_reply_;
};

}  // namespace xo::session
