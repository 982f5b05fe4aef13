// Message <-> frame bytes. Hand-written and bounds-checked: decode() reads
// untrusted bytes from a guest and never throws, aborts or allocates more
// than a length it has already checked against both the remaining bytes and
// the field's maximum. Layouts: transport/PROTOCOL.md.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "core/result.hpp"
#include "transport/messages.hpp"

namespace xo::transport {

// The fixed 20-byte header that starts every frame (all little-endian).
struct FrameHeader {
  std::uint32_t magic = kMagic;
  std::uint16_t version = kMinProtocolVersion;
  std::uint16_t type = 0;
  std::uint32_t request_id = 0;
  std::uint32_t flags = 0;  // reserved, must be zero (versions 1 and 2)
  std::uint32_t payload_len = 0;
  bool operator==(const FrameHeader&) const = default;
};

struct Frame {
  FrameHeader header;
  std::vector<std::uint8_t> payload;
  bool operator==(const Frame&) const = default;
};

// A decoded frame: the request id pairs a reply with its request.
struct Envelope {
  std::uint32_t request_id = 0;
  Message message;
  bool operator==(const Envelope&) const = default;
};

// Header bytes <-> struct; no validation. `bytes` must hold kHeaderSize bytes.
FrameHeader parse_header(std::span<const std::uint8_t> bytes);
void write_header(const FrameHeader& h, std::vector<std::uint8_t>& out);

// The checks that keep a byte stream in sync and bounded: magic and the
// payload length (global and per-type bound). A failure here means the
// stream cannot be trusted any more and the connection should be closed.
Status check_framing(const FrameHeader& h);

// The whole frame (header + payload) for one message, encoded in protocol
// `version` (kMinProtocolVersion..kProtocolVersion; the header carries it).
// Fails only when the message itself breaks a bound (a name too long or with
// a NUL byte, a blob or array over its maximum) or carries a field its
// version cannot (a PROG_LOAD cookie in version 1); diagnostic text (reply
// messages, logs, event text) is truncated to its bound instead.
// Version 1 is the default: every peer decodes it.
Result<std::vector<std::uint8_t>> encode(std::uint32_t request_id, const Message& message,
                                         std::uint16_t version = kMinProtocolVersion);

// Payload of a frame whose header passed check_framing(): checks version,
// reserved flags, the type, and the payload structure (in the layout of the
// header's version).
Result<Message> decode(const Frame& frame);
// One complete frame in a buffer (exactly header + payload).
Result<Envelope> decode_frame(std::span<const std::uint8_t> bytes);

// The status a peer should answer (in an ErrorReply) when decode() of a
// frame with this header failed: EPROTO for a version it does not speak,
// ENOSYS for an unknown type, E2BIG for an oversize payload, else EINVAL.
std::int32_t decode_failure_status(const FrameHeader& h);
// The ErrorReply a peer sends for such a frame (echo the frame's request_id).
inline Message decode_failure_reply(const FrameHeader& h, const Error& e) {
  return ErrorReply{ReplyStatus{decode_failure_status(h), e.message}};
}

}  // namespace xo::transport
