// Incremental framer: turns a byte stream (socket, virtio-serial port) into
// frames. The header is checked (magic, payload bound for its type) as soon
// as its 20 bytes are in, before any payload is waited for or buffered, so
// an oversize length costs nothing. After a framing error the stream is out
// of sync for good: the framer stays failed and the peer should be dropped.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "core/result.hpp"
#include "transport/codec.hpp"

namespace xo::transport {

class Framer {
 public:
  // Appends bytes and returns every frame they complete (possibly none).
  // Payloads are not decoded: a frame of unknown type or version is still
  // delivered, so the receiver can answer it (decode_failure_status()).
  Result<std::vector<Frame>> feed(std::span<const std::uint8_t> bytes);

  // Frames that arrived in the same feed() before a framing error are still
  // returned; check failed()/error() after each feed().
  bool failed() const { return error_.has_value(); }
  const std::optional<Error>& error() const { return error_; }
  // Bytes of a frame received so far but not yet complete.
  std::size_t buffered() const { return buf_.size(); }
  // Whether a partial frame is pending (an EOF now would truncate it).
  bool mid_frame() const { return header_.has_value() || !buf_.empty(); }

 private:
  std::vector<std::uint8_t> buf_;            // current frame: header, then payload
  std::optional<FrameHeader> header_;        // set once the header passed checks
  std::optional<Error> error_;
};

}  // namespace xo::transport
