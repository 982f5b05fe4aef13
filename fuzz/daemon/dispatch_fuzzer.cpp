// libFuzzer target: arbitrary bytes from a guest into a daemon Session
// (kernel-free backend, tiny quotas), through the daemon's own framing
// (Connection over a socketpair). Properties, each a __builtin_trap():
//  - every complete frame gets exactly one reply, which decodes, echoes the
//    request id, and is that request's reply type or ERROR;
//  - the session never holds more objects or charged kernel bytes than its
//    quotas allow;
//  - RESET / teardown leaves no live object in the backend.
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

#include "fuzz/daemon/fake_backend.hpp"
#include "host/session/connection.hpp"
#include "host/session/log.hpp"
#include "host/session/session.hpp"
#include "transport/codec.hpp"

using namespace xo;
using namespace xo::session;
namespace ts = xo::transport;

namespace {

SessionConfig fuzz_config() {
  SessionConfig c;
  c.name = "fuzz";
  c.tap = "fuzz0";
  c.socket = "/nonexistent";
  c.quotas.max_maps = 4;
  c.quotas.max_map_bytes = 1u << 20;
  c.quotas.max_progs = 2;
  c.quotas.max_insns = 4096;
  c.quotas.max_btf_bytes = 64u << 10;
  c.quotas.requests_per_sec = 1;
  c.quotas.request_burst = 48;
  c.deny_helpers = {7};
  c.quotas.max_ns_per_packet = 500;
  return c;
}

void check_reply(const ts::Frame& req, const std::vector<std::uint8_t>& bytes) {
  auto reply = ts::decode_frame(bytes);
  if (!reply) __builtin_trap();
  if (reply->request_id != req.header.request_id) __builtin_trap();
  const auto type = std::uint16_t(ts::type_of(reply->message));
  const bool matches = ts::is_request(req.header.type) && type == (req.header.type | ts::kReplyBit);
  if (!matches && type != std::uint16_t(ts::MsgType::ErrorReply)) __builtin_trap();
  if (!ts::reply_status(reply->message)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > (64u << 10)) return 0;
  set_log_quiet(true);
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0) return 0;
  int bufsize = 256 << 10;
  setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &bufsize, sizeof bufsize);
  setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &bufsize, sizeof bufsize);
  ssize_t w = size ? write(sv[0], data, size) : 0;
  close(sv[0]);
  if (w != ssize_t(size)) {
    close(sv[1]);
    return 0;
  }
  fake::Live live;
  {
    const auto now = Clock::now();
    Connection conn{UniqueFd(sv[1])};
    Session session(fuzz_config(), std::make_unique<fake::Backend>(live), now);
    while (conn.read_some(64u << 10) && !conn.closing()) {
      if (conn.pending().empty()) break;
      while (!conn.pending().empty()) {
        auto frame = std::move(conn.pending().front());
        conn.pending().pop_front();
        check_reply(frame, session.handle_frame(frame).value());
        const auto& q = session.config().quotas;
        if (live.maps > int(q.max_maps) || live.progs > int(q.max_progs)) __builtin_trap();
        if (std::size_t(live.btfs + live.maps + live.progs) != session.object_count()) __builtin_trap();
        if (session.charged_bytes() > q.max_map_bytes) __builtin_trap();
        // The watchdog (the fake's programs always take 1 us a packet,
        // over the budget) detaches; it never frees anything.
        const std::size_t before = session.object_count();
        (void)session.check_runtime();
        if (session.object_count() != before) __builtin_trap();
      }
    }
    // EOF: frames cut before it are still answered (as the server does).
    while (!conn.pending().empty()) {
      check_reply(conn.pending().front(), session.handle_frame(conn.pending().front()).value());
      conn.pending().pop_front();
    }
    // A framing error is answered (one ERROR reply queued, after the replies
    // to the frames before it) before closing.
    conn.queue_close_reply();
    if (conn.closing() && conn.queued_bytes() == 0) __builtin_trap();
    session.reset("fuzz end");
    if (live.btfs || live.maps || live.progs || live.attached) __builtin_trap();
  }
  if (live.btfs || live.maps || live.progs) __builtin_trap();
  return 0;
}
