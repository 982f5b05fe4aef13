// Synchronous request/reply client over a Channel: the guest side of the
// protocol (guest/client builds on it; tests use it against the daemon).
//
// Each call sends one request with a fresh request id and waits for the
// reply with that id. Ids start at a random value per Client (getrandom):
// a virtio port outlives guest processes, and a reply still queued for an
// earlier process must not match one of ours by accident. EVENT frames that arrive meanwhile are queued for
// take_events(); replies to earlier, timed-out requests are discarded.
// Not thread-safe: one Client per thread, or a lock around it.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "transport/channel.hpp"
#include "transport/messages.hpp"

namespace xo::transport {

class Client {
 public:
  explicit Client(Channel channel, int timeout_ms = 10'000);

  // ---- generic ----
  // Sends `request` and returns the reply message (of the matching reply
  // type or an ErrorReply). Errors are transport failures only: timeout,
  // disconnect, an undecodable frame, a reply of the wrong type. A reply with
  // a non-zero status is a successful call here.
  Result<Message> call(const Message& request);
  // call() narrowed to the expected reply type; an ErrorReply or non-zero
  // status becomes an Error "<TYPE>: <STATUS>: <message>". The status code
  // of the last reply is available from last_status().
  template <typename Reply>
  Result<Reply> call_ok(const Message& request);

  // Status of the last call's reply; kEIO when no reply arrived.
  std::int32_t last_status() const { return last_status_; }

  // ---- typed operations (all fail with the host's status and message) ----
  // Also switches the channel to the version the host chose (version()).
  Result<CapsReply> caps();
  std::uint16_t version() const { return channel_.version(); }
  Result<std::uint32_t> btf_load(std::span<const std::uint8_t> btf);  // btf handle
  // Fails with EBUSY while a map or program of the session still uses it.
  Status btf_free(std::uint32_t btf);
  Result<std::uint32_t> map_create(const MapCreateRequest& request);  // map handle
  // nullopt when the key is absent (ENOENT). An unknown map handle (EBADF)
  // or any other status is an Error.
  Result<std::optional<std::vector<std::uint8_t>>> map_lookup(std::uint32_t map,
                                                             std::span<const std::uint8_t> key);
  Status map_update(std::uint32_t map, std::span<const std::uint8_t> key,
                    std::span<const std::uint8_t> value, std::uint64_t flags = 0);
  Status map_delete(std::uint32_t map, std::span<const std::uint8_t> key);
  // The key after `key` (empty: the first key); nullopt at the end (ENOENT).
  // An unknown map handle (EBADF) is an Error.
  Result<std::optional<std::vector<std::uint8_t>>> map_get_next_key(
      std::uint32_t map, std::span<const std::uint8_t> key);
  Status map_free(std::uint32_t map);
  // On failure the error message ends with the mapped verifier log.
  Result<ProgLoadReply> prog_load(const ProgLoadRequest& request);
  Status prog_attach(std::uint32_t prog);
  Status prog_detach(std::uint32_t prog);
  Status prog_unload(std::uint32_t prog);
  Result<std::vector<ActionCounter>> stats(std::uint32_t prog);
  Status reset();

  // ---- events ----
  // Reads whatever the host sent without blocking and returns all queued events.
  Result<std::vector<Event>> take_events();
  // Waits up to timeout_ms for one event (a queued one returns at once).
  Result<Event> wait_event(int timeout_ms);

  Channel& channel() { return channel_; }
  // The id the next request will carry (tests, logs).
  std::uint32_t peek_next_id() const { return last_id_ + 1 == 0 ? 1 : last_id_ + 1; }
  void set_timeout(int timeout_ms) { timeout_ms_ = timeout_ms; }

 private:
  std::uint32_t next_id();
  // Routes one received frame: an event is queued; returns the reply when
  // it answers `id`, nullopt otherwise.
  Result<std::optional<Message>> route(const Frame& frame, std::uint32_t id);

  Channel channel_;
  int timeout_ms_;
  std::uint32_t last_id_ = 0;  // random start, see the constructor
  std::int32_t last_status_ = status::kOk;
  std::deque<Event> events_;
};

// "<TYPE>: <STATUS> (<code>): <message>" for a failed reply.
Error reply_error(MsgType request, const ReplyStatus& status);

template <typename Reply>
Result<Reply> Client::call_ok(const Message& request) {
  const MsgType type = type_of(request);
  auto reply = call(request);
  if (!reply) return reply.error();
  if (auto* e = std::get_if<ErrorReply>(&*reply)) return reply_error(type, e->status);
  auto* r = std::get_if<Reply>(&*reply);
  if (!r)
    return err(channel_.peer() + ": " + type_name(type) + ": unexpected reply " +
               type_name(type_of(*reply)));
  if (!r->status.ok()) return reply_error(type, r->status);
  return std::move(*r);
}

}  // namespace xo::transport
