#include "host/session/connection.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace xo::session {

namespace ts = xo::transport;

bool Connection::read_some(std::size_t budget) {
  if (closing_) return true;  // ignore whatever follows a framing error
  std::uint8_t buf[64 * 1024];
  while (budget > 0) {
    ssize_t n = ::read(fd_.get(), buf, std::min(sizeof buf, budget));
    if (n > 0) {
      receive(std::span<const std::uint8_t>(buf, std::size_t(n)));
      budget -= std::size_t(n);
      if (closing_) return true;
      continue;
    }
    if (n == 0) return false;
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
    return false;
  }
  return true;
}

void Connection::receive(std::span<const std::uint8_t> bytes) {
  if (closing_) return;  // ignore whatever follows a framing error
  in_.insert(in_.end(), bytes.begin(), bytes.end());
  cut_frames();
}

std::size_t Connection::take(std::span<std::uint8_t> out) {
  const std::size_t n = std::min(out.size(), queued_bytes());
  std::copy_n(out_.begin() + long(out_pos_), n, out.begin());
  out_pos_ += n;
  if (out_pos_ == out_.size()) {
    out_.clear();
    out_pos_ = 0;
  }
  return n;
}

void Connection::cut_frames() {
  std::size_t pos = 0;
  while (in_.size() - pos >= ts::kHeaderSize) {
    auto header = ts::parse_header(std::span(in_).subspan(pos, ts::kHeaderSize));
    if (auto s = ts::check_framing(header); !s) {
      // Out of sync for good: answer this request, then hang up.
      const std::int32_t code = header.magic != ts::kMagic ? ts::status::kEPROTO : ts::status::kE2BIG;
      auto reply = ts::encode(header.request_id, ts::ErrorReply{ts::ReplyStatus{code, s.error().message}});
      if (reply) close_reply_ = std::move(*reply);
      closing_ = true;
      close_reason_ = "framing error: " + s.error().message;
      in_.clear();
      return;
    }
    const std::size_t total = ts::kHeaderSize + header.payload_len;
    if (in_.size() - pos < total) break;
    ts::Frame f;
    f.header = header;
    f.payload.assign(in_.begin() + long(pos + ts::kHeaderSize), in_.begin() + long(pos + total));
    pending_.push_back(std::move(f));
    pos += total;
  }
  in_.erase(in_.begin(), in_.begin() + long(pos));
}

void Connection::queue_close_reply() {
  if (close_reply_.empty()) return;
  queue(std::move(close_reply_));
  close_reply_.clear();
}

void Connection::queue(std::vector<std::uint8_t> bytes) {
  if (out_pos_ == out_.size()) {
    out_.clear();
    out_pos_ = 0;
  }
  out_.insert(out_.end(), bytes.begin(), bytes.end());
}

bool Connection::flush() {
  while (out_pos_ < out_.size()) {
    ssize_t n = ::send(fd_.get(), out_.data() + out_pos_, out_.size() - out_pos_, MSG_NOSIGNAL);
    if (n > 0) {
      out_pos_ += std::size_t(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    return false;
  }
  out_.clear();
  out_pos_ = 0;
  return true;
}

}  // namespace xo::session
