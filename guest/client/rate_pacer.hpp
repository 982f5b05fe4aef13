// Client-side pacing to the request rate the host advertises in CAPS
// (requests_per_sec sustained, request_burst deep). The host enforces the
// same token bucket and answers EAGAIN above it; pacing here means a guest
// that reads a 256-entry counter map every second never gets there, and the
// host's log is not flooded with rate-limit lines.
#pragma once

#include <algorithm>
#include <chrono>
#include <thread>

namespace xo::guest {

class RatePacer {
 public:
  using Clock = std::chrono::steady_clock;
  RatePacer() = default;  // unlimited until configure()
  void configure(double per_sec, double burst) {
    rate_ = per_sec;
    // Keep a margin under the host's bucket: its clock and ours differ.
    burst_ = std::max(1.0, burst * 0.9);
    // Start empty: an earlier process on the same port (the session outlives
    // it) may have drained the host's bucket, and we cannot see its level.
    tokens_ = 0;
    last_ = Clock::now();
  }
  bool limited() const { return rate_ > 0; }
  // Blocks until one request may be sent.
  void acquire() {
    if (rate_ <= 0) return;
    refill();
    if (tokens_ < 1) {
      std::this_thread::sleep_for(std::chrono::duration<double>((1 - tokens_) / rate_));
      refill();
    }
    tokens_ = std::max(0.0, tokens_ - 1);
  }

 private:
  void refill() {
    const auto now = Clock::now();
    tokens_ = std::min(burst_, tokens_ + std::chrono::duration<double>(now - last_).count() * rate_ * 0.95);
    last_ = now;
  }
  double rate_ = 0, burst_ = 0, tokens_ = 0;
  Clock::time_point last_{};
};

}  // namespace xo::guest
