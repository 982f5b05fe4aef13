// Request-rate limit per session: a token bucket refilled at `rate` tokens
// per second up to `burst`. Every frame a guest sends costs one token,
// whether it decodes or not; with none left the request is answered EAGAIN
// at once, without touching the kernel. The caller passes a fresh clock
// reading for every frame (Session::handle_frame reads it itself).
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
    refill(now);
    if (tokens_ < 1.0) return false;
    tokens_ -= 1.0;
    return true;
  }

  // For a cost known only afterwards (verifier CPU): spend() may leave the
  // bucket in debt, and positive() stays false until the refill repays it.
  bool positive(Clock::time_point now) {
    refill(now);
    return tokens_ > 0.0;
  }
  void spend(double amount, Clock::time_point now) {
    refill(now);
    tokens_ -= amount;
  }
  double tokens() const { return tokens_; }
  double rate() const { return rate_; }

 private:
  void refill(Clock::time_point now) {
    if (now > last_) {
      double dt = std::chrono::duration<double>(now - last_).count();
      tokens_ = std::min<double>(burst_, tokens_ + dt * rate_);
      last_ = now;
    }
  }

  double rate_, burst_, tokens_;
  Clock::time_point last_;
};

}  // namespace xo::session
