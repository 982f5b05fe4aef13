// Request-rate limit per session: a token bucket refilled at `rate` tokens
// per second up to `burst`. Every frame a guest sends costs one token,
// whether it decodes or not; with none left the request is answered EAGAIN
// at once, without touching the kernel.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace xo::session {

using Clock = std::chrono::steady_clock;

class TokenBucket {
 public:
  TokenBucket(std::uint32_t rate, std::uint32_t burst, Clock::time_point now)
      : rate_(rate), burst_(burst), tokens_(burst), last_(now) {}

  bool take(Clock::time_point now) {
    if (now > last_) {
      double dt = std::chrono::duration<double>(now - last_).count();
      tokens_ = std::min<double>(burst_, tokens_ + dt * rate_);
      last_ = now;
    }
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

 private:
  double rate_, burst_, tokens_;
  Clock::time_point last_;
};

}  // namespace xo::session
