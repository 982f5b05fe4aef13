// Framer: header first, checked; then exactly payload_len bytes.
#include "transport/framing.hpp"

#include <algorithm>

namespace xo::transport {

Result<std::vector<Frame>> Framer::feed(std::span<const std::uint8_t> bytes) {
  if (error_) return *error_;
  std::vector<Frame> frames;
  for (;;) {
    if (!header_) {
      const std::size_t n = std::min(kHeaderSize - buf_.size(), bytes.size());
      buf_.insert(buf_.end(), bytes.begin(), bytes.begin() + n);
      bytes = bytes.subspan(n);
      if (buf_.size() < kHeaderSize) break;
      FrameHeader h = parse_header(buf_);
      if (Status s = check_framing(h); !s) {
        error_ = s.error();
        buf_.clear();
        // Frames completed before the bad header are still good; the error
        // is reported by error() now and by every later feed().
        if (!frames.empty()) return frames;
        return *error_;
      }
      header_ = h;
      // No reserve(payload_len): memory follows the bytes that actually
      // arrive, so a header that promises 16 MiB and stalls costs nothing.
      buf_.clear();
    }
    const std::size_t n = std::min(std::size_t(header_->payload_len) - buf_.size(), bytes.size());
    buf_.insert(buf_.end(), bytes.begin(), bytes.begin() + n);
    bytes = bytes.subspan(n);
    if (buf_.size() < header_->payload_len) break;  // needs more bytes
    frames.push_back(Frame{*header_, std::move(buf_)});
    buf_ = {};
    header_.reset();
    if (bytes.empty()) break;
  }
  return frames;
}

}  // namespace xo::transport
