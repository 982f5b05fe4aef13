// Client: request ids, reply matching, out-of-band events.
#include "transport/client.hpp"

#include <sys/random.h>

#include <chrono>
#include <random>

namespace xo::transport {
namespace {

using Clock = std::chrono::steady_clock;

int ms_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return left.count() < 0 ? 0 : int(left.count());
}

std::vector<std::uint8_t> to_vec(std::span<const std::uint8_t> s) { return {s.begin(), s.end()}; }

// A random first request id. getrandom() without GRND_NONBLOCK only blocks
// before the kernel's pool is initialised (early boot); should it fail,
// fall back to std::random_device, which is still per-process.
std::uint32_t random_id_seed() {
  std::uint32_t v = 0;
  if (::getrandom(&v, sizeof v, 0) == ssize_t(sizeof v)) return v;
  return std::random_device{}();
}

}  // namespace

Error reply_error(MsgType request, const ReplyStatus& st) {
  std::string text = type_name(request) + ": " + status_name(st.code) + " (" +
                     std::to_string(st.code) + ")";
  if (!st.message.empty()) text += ": " + st.message;
  return err(std::move(text));
}

Client::Client(Channel channel, int timeout_ms)
    : channel_(std::move(channel)), timeout_ms_(timeout_ms), last_id_(random_id_seed()) {}

std::uint32_t Client::next_id() {
  if (++last_id_ == 0) ++last_id_;  // 0 is reserved for events
  return last_id_;
}

Result<std::optional<Message>> Client::route(const Frame& frame, std::uint32_t id) {
  auto message = decode(frame);
  if (!message) return err(channel_.peer() + ": " + message.error().message);
  if (auto* ev = std::get_if<Event>(&*message)) {
    events_.push_back(std::move(*ev));
    return std::optional<Message>{};
  }
  if (frame.header.request_id != id) return std::optional<Message>{};  // stale reply
  return std::optional<Message>{std::move(*message)};
}

Result<Message> Client::call(const Message& request) {
  const MsgType type = type_of(request);
  if (!is_request(std::uint16_t(type)))
    return err(type_name(type) + " is not a request");
  const std::uint32_t id = next_id();
  last_status_ = status::kEIO;  // until a reply says otherwise
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms_);
  if (Status s = channel_.send(id, request, timeout_ms_); !s) return s.error();
  for (;;) {
    auto frame = channel_.recv_frame(ms_left(deadline));
    if (!frame) return err(type_name(type) + ": " + frame.error().message);
    auto routed = route(*frame, id);
    if (!routed) return routed.error();
    if (!*routed) continue;
    Message reply = std::move(**routed);
    const MsgType got = type_of(reply);
    if (got != reply_type(type) && got != MsgType::ErrorReply)
      return err(channel_.peer() + ": " + type_name(type) + ": unexpected reply " +
                 type_name(got));
    last_status_ = reply_status(reply)->code;
    return reply;
  }
}

// The rest of the session speaks the version the host chose; a host that
// only knows version 1 chooses it, and nothing of version 2 is sent.
Result<CapsReply> Client::caps() {
  auto r = call_ok<CapsReply>(CapsRequest{});
  if (!r) return r;
  if (r->version < kMinProtocolVersion || r->version > kProtocolVersion)
    return err(channel_.peer() + ": CAPS: the host chose protocol version " + std::to_string(r->version) +
               ", this end speaks " + std::to_string(kMinProtocolVersion) + ".." + std::to_string(kProtocolVersion));
  channel_.set_version(r->version);
  return r;
}

Result<std::uint32_t> Client::btf_load(std::span<const std::uint8_t> btf) {
  auto r = call(BtfLoadRequest{to_vec(btf)});
  if (!r) return r.error();
  if (auto* e = std::get_if<ErrorReply>(&*r)) return reply_error(MsgType::BtfLoad, e->status);
  const auto& reply = std::get<BtfLoadReply>(*r);
  if (!reply.status.ok()) {
    Error e = reply_error(MsgType::BtfLoad, reply.status);
    if (!reply.log.empty()) e.message += "\n" + reply.log;
    return e;
  }
  return reply.btf_handle;
}

Status Client::btf_free(std::uint32_t btf) {
  auto r = call_ok<BtfFreeReply>(BtfFreeRequest{btf});
  if (!r) return r.error();
  return Ok{};
}

Result<std::uint32_t> Client::map_create(const MapCreateRequest& request) {
  auto r = call_ok<MapCreateReply>(request);
  if (!r) return r.error();
  return r->map_handle;
}

Result<std::optional<std::vector<std::uint8_t>>> Client::map_lookup(
    std::uint32_t map, std::span<const std::uint8_t> key) {
  auto r = call_ok<MapLookupReply>(MapLookupRequest{map, to_vec(key)});
  if (!r) {
    if (last_status_ == status::kENOENT) return std::optional<std::vector<std::uint8_t>>{};
    return r.error();
  }
  return std::optional<std::vector<std::uint8_t>>{std::move(r->value)};
}

Status Client::map_update(std::uint32_t map, std::span<const std::uint8_t> key,
                          std::span<const std::uint8_t> value, std::uint64_t flags) {
  auto r = call_ok<MapUpdateReply>(MapUpdateRequest{map, flags, to_vec(key), to_vec(value)});
  if (!r) return r.error();
  return Ok{};
}

Status Client::map_delete(std::uint32_t map, std::span<const std::uint8_t> key) {
  auto r = call_ok<MapDeleteReply>(MapDeleteRequest{map, to_vec(key)});
  if (!r) return r.error();
  return Ok{};
}

Result<std::optional<std::vector<std::uint8_t>>> Client::map_get_next_key(
    std::uint32_t map, std::span<const std::uint8_t> key) {
  auto r = call_ok<MapGetNextKeyReply>(MapGetNextKeyRequest{map, to_vec(key)});
  if (!r) {
    if (last_status_ == status::kENOENT) return std::optional<std::vector<std::uint8_t>>{};
    return r.error();
  }
  return std::optional<std::vector<std::uint8_t>>{std::move(r->next_key)};
}

Status Client::map_free(std::uint32_t map) {
  auto r = call_ok<MapFreeReply>(MapFreeRequest{map});
  if (!r) return r.error();
  return Ok{};
}

Result<ProgLoadReply> Client::prog_load(const ProgLoadRequest& request) {
  auto r = call(request);
  if (!r) return r.error();
  if (auto* e = std::get_if<ErrorReply>(&*r)) return reply_error(MsgType::ProgLoad, e->status);
  auto& reply = std::get<ProgLoadReply>(*r);
  if (!reply.status.ok()) {
    Error e = reply_error(MsgType::ProgLoad, reply.status);
    if (!reply.log.empty()) e.message += "\n" + reply.log;
    return e;
  }
  return std::move(reply);
}

Status Client::prog_attach(std::uint32_t prog) {
  auto r = call_ok<ProgAttachReply>(ProgAttachRequest{prog});
  if (!r) return r.error();
  return Ok{};
}

Status Client::prog_detach(std::uint32_t prog) {
  auto r = call_ok<ProgDetachReply>(ProgDetachRequest{prog});
  if (!r) return r.error();
  return Ok{};
}

Status Client::prog_unload(std::uint32_t prog) {
  auto r = call_ok<ProgUnloadReply>(ProgUnloadRequest{prog});
  if (!r) return r.error();
  return Ok{};
}

Result<std::vector<ActionCounter>> Client::stats(std::uint32_t prog) {
  auto r = call_ok<StatsReply>(StatsRequest{prog});
  if (!r) return r.error();
  return std::move(r->counters);
}

Status Client::reset() {
  auto r = call_ok<ResetReply>(ResetRequest{});
  if (!r) return r.error();
  return Ok{};
}

Result<std::vector<Event>> Client::take_events() {
  auto frames = channel_.read_available();
  if (!frames) return frames.error();
  for (const Frame& f : *frames) {
    // Id 0 never matches a request: replies arriving here are stale.
    auto routed = route(f, 0);
    if (!routed) return routed.error();
  }
  std::vector<Event> out(std::make_move_iterator(events_.begin()),
                         std::make_move_iterator(events_.end()));
  events_.clear();
  return out;
}

Result<Event> Client::wait_event(int timeout_ms) {
  const auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (events_.empty()) {
    auto frame = channel_.recv_frame(ms_left(deadline));
    if (!frame) return frame.error();
    auto routed = route(*frame, 0);
    if (!routed) return routed.error();
  }
  Event e = std::move(events_.front());
  events_.pop_front();
  return e;
}

}  // namespace xo::transport
