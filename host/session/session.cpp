// Session: frame -> reply, handle tables, teardown. Handlers: dispatch.cpp.
#include "host/session/session.hpp"

#include <limits>

#include "host/session/log.hpp"

namespace xo::session {

namespace ts = xo::transport;

std::uint64_t charged_map_bytes(const MapDef& def, unsigned possible_cpus) {
  using u128 = unsigned __int128;
  auto round8 = [](std::uint32_t v) { return (u128(v) + 7) & ~u128(7); };
  const u128 cpus = possible_cpus ? possible_cpus : 1;
  const u128 key = round8(def.key_size), value = round8(def.value_size);
  constexpr u128 kNode = 16, kPtr = 8;  // hlist_nulls_node; a pointer (bucket, per-CPU slot)
  u128 per_entry = 0;
  switch (def.type) {
    case MapType::Array: per_entry = value; break;
    case MapType::PercpuArray: per_entry = value * cpus + kPtr; break;
    case MapType::Hash:
    case MapType::LruHash: per_entry = kNode + key + value + kPtr; break;
    case MapType::PercpuHash:
    case MapType::LruPercpuHash: per_entry = kNode + key + kPtr + value * cpus + kPtr; break;
    // Slots hold kernel pointers to the stored object.
    case MapType::ProgArray:
    case MapType::ArrayOfMaps: per_entry = kPtr; break;
    case MapType::HashOfMaps: per_entry = kNode + key + kPtr + kPtr; break;
    case MapType::Queue:
    case MapType::Stack: per_entry = def.value_size; break;
    // At least one bit per element and hash function (the kernel sizes the
    // bitset at ~1.4 times that, rounded up to a power of two).
    case MapType::BloomFilter: {
      const std::uint64_t hashes = (def.map_extra & 0xf) ? (def.map_extra & 0xf) : 5;
      return std::uint64_t(def.max_entries) * hashes / 8;  // < 2^36: no overflow
    }
    // Not a lower bound but what the session charges (the kernel's figure
    // follows the element count, so it cannot be read at creation): a leaf
    // and an intermediate node per element, each a node header, the key's
    // data and the value in an allocation class of the next power of two.
    case MapType::LpmTrie: {
      u128 node = kLpmNodeBytes + (def.key_size > 4 ? def.key_size - 4 : 0) + def.value_size;
      u128 cls = 16;
      while (cls < node) cls *= 2;
      per_entry = 2 * cls;
      break;
    }
    default: per_entry = u128(def.key_size) + def.value_size; break;  // refused at creation anyway
  }
  const u128 bytes = per_entry * def.max_entries;
  constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
  return bytes > kMax ? kMax : std::uint64_t(bytes);
}

Session::Session(SessionConfig config, std::unique_ptr<SessionBackend> backend, Clock::time_point now,
                 std::shared_ptr<LoadPool> pool)
    : config_(std::move(config)),
      label_(config_.name + "/" + config_.tap),
      policy_(std::make_shared<const SessionPolicy>(config_.deny_helpers, config_.flavors,
                                                    config_.quotas.max_loop_iterations)),
      backend_(std::move(backend)),
      pool_(std::move(pool)),
      bucket_(config_.quotas.requests_per_sec, config_.quotas.request_burst, now),
      cpu_bucket_(config_.quotas.verify_cpu_ms_per_sec, config_.quotas.verify_cpu_burst_ms, now) {
  identity_.session = config_.name;
  identity_.tap = config_.tap;
  identity_.host_paths = backend_->host_paths();
  identity_.host_paths.push_back(config_.socket);
}

Session::~Session() {
  cancel_load();
  free_everything();
  if (!state_file_.empty()) remove_snapshot(state_file_);
}

void Session::cancel_load() {
  // The worker drops a job not yet started, and frees a running one's
  // result when it ends; the guest's PROG_LOAD is answered ECANCELED.
  if (inflight_ && !inflight_->cancelled) {
    inflight_->job->cancelled.store(true);
    inflight_->cancelled = true;
  }
}

void Session::log(int level, const std::string& line) const { log_line(LogLevel(level), label_, line); }

std::uint32_t Session::new_handle() {
  // 0 means "none" on the wire; the counter wrapping needs 4G requests, far
  // beyond any rate quota, but still never hands out 0 or a live handle.
  for (;;) {
    std::uint32_t h = next_handle_++;
    if (h == 0) continue;
    if (!btfs_.count(h) && !maps_.count(h) && !progs_.count(h)) return h;
  }
}

Session::MapEntry* Session::find_map(std::uint32_t handle) {
  auto it = maps_.find(handle);
  return it == maps_.end() ? nullptr : &it->second;
}

Session::ProgEntry* Session::find_prog(std::uint32_t handle) {
  auto it = progs_.find(handle);
  return it == progs_.end() ? nullptr : &it->second;
}

const Session::MapEntry* Session::holder_of(std::uint32_t handle, std::uint32_t* holder_handle) const {
  for (const auto& [h, m] : maps_)
    for (const auto& [key, stored] : m.stored)
      if (stored == handle) {
        *holder_handle = h;
        return &m;
      }
  return nullptr;
}

std::uint32_t Session::attached_kernel_id() const {
  auto it = progs_.find(attached_);
  return attached_ && it != progs_.end() ? it->second.object->kernel_id() : 0;
}

void Session::detach_if_attached(std::uint32_t prog_handle) {
  if (attached_ != 0 && attached_ == prog_handle) {
    backend_->detach();
    attached_ = 0;
  }
}

void Session::free_everything() {
  if (attached_) backend_->detach();
  attached_ = 0;
  progs_.clear();
  maps_.clear();
  btfs_.clear();
  kernel_bytes_ = 0;
  btf_bytes_ = 0;
}

std::optional<std::string> Session::over_memory_quota(std::uint64_t bytes) const {
  const std::uint64_t quota = config_.quotas.max_map_bytes;
  if (bytes <= quota && kernel_bytes_ + bytes <= quota) return std::nullopt;
  return "the kernel charges " + std::to_string(bytes) + " bytes for it, which would bring the session to " +
         std::to_string(kernel_bytes_ + bytes) + " bytes of kernel memory, quota " + std::to_string(quota);
}

void Session::reset(const std::string& why) {
  cancel_load();
  if (object_count() > 0)
    log(int(LogLevel::Info), why + ": freeing " + std::to_string(progs_.size()) + " programs, " +
                                 std::to_string(maps_.size()) + " maps, " + std::to_string(btfs_.size()) +
                                 " BTF objects");
  free_everything();
  save_state();
}

std::vector<ts::Event> Session::tap_lost() {
  std::vector<ts::Event> events;
  for (auto& [handle, p] : progs_) {
    ts::Message e = ts::Event{ts::EventKind::OffloadLost, handle,
                              "the host NIC feeding this VM is gone: program '" + p.name +
                                  "' no longer runs on the host; run it locally"};
    scrub_for_guest(e, identity_);
    events.push_back(std::get<ts::Event>(std::move(e)));
  }
  reset("tap '" + config_.tap + "' disappeared");
  return events;
}

std::vector<ts::Event> Session::check_runtime() {
  const std::uint64_t budget = config_.quotas.max_ns_per_packet;
  ProgEntry* p = attached_ ? find_prog(attached_) : nullptr;
  if (!p || budget == 0) return {};
  auto now = p->object->run_stats();
  if (!now) return {};
  if (!p->watched || now->run_cnt < p->watched->run_cnt) {
    p->watched = now;
    return {};
  }
  const std::uint64_t runs = now->run_cnt - p->watched->run_cnt;
  const std::uint64_t ns = now->run_time_ns - p->watched->run_time_ns;
  if (runs == 0 || (runs < kWatchdogMinRuns && ns < kWatchdogMinRuns * budget)) return {};
  p->watched = now;
  const std::uint64_t per_packet = ns / runs;
  if (per_packet <= budget) return {};
  const std::uint32_t handle = attached_;
  detach_if_attached(handle);
  save_state();
  log(int(LogLevel::Warn), "runtime watchdog: program " + std::to_string(handle) + " '" + p->name + "' took " +
                               std::to_string(per_packet) + " ns per packet over " + std::to_string(runs) +
                               " runs, budget " + std::to_string(budget) + " ns: detached from " +
                               backend_->attach_point(p->flavor));
  ts::Message e = ts::Event{ts::EventKind::Detached, handle,
                            "program '" + p->name + "' took " + std::to_string(per_packet) + " ns per packet over " +
                                std::to_string(runs) + " packets, over this session's budget of " +
                                std::to_string(budget) + " ns: detached from the host; run it locally"};
  scrub_for_guest(e, identity_);
  return {std::get<ts::Event>(std::move(e))};
}

ts::Message Session::dispatch(const ts::Message& m) {
  return std::visit(
      [this](const auto& msg) -> ts::Message {
        using T = std::decay_t<decltype(msg)>;
        if constexpr (requires { this->on(msg); }) {
          return this->on(msg);
        } else {
          // A reply or an event sent to the host: well-formed, but not a request.
          return ts::ErrorReply{ts::ReplyStatus{
              ts::status::kEINVAL, ts::type_name(T::kType) + " is not a request a guest may send"}};
        }
      },
      m);
}

std::optional<std::vector<std::uint8_t>> Session::handle_frame(const ts::Frame& frame) {
  const auto& h = frame.header;
  ts::Message reply;
  if (!bucket_.take(Clock::now())) {
    reply = ts::failure_reply(h.type, {ts::status::kEAGAIN,
                                       "request rate over " + std::to_string(config_.quotas.requests_per_sec) +
                                           "/s (burst " + std::to_string(config_.quotas.request_burst) +
                                           "); retry later"});
    log(int(LogLevel::Debug), ts::type_name(h.type) + ": rate limited (EAGAIN)");
  } else if (auto decoded = ts::decode(frame); !decoded) {
    reply = ts::decode_failure_reply(h, decoded.error());
    log(int(LogLevel::Warn), "bad frame " + ts::type_name(h.type) + " (request " + std::to_string(h.request_id) +
                                 "): " + ts::status_name(ts::decode_failure_status(h)) + ": " +
                                 decoded.error().message);
  } else {
    started_load_ = false;
    reply = dispatch(*decoded);
    if (started_load_) {
      started_load_ = false;
      inflight_->header = h;
      if (pool_) return std::nullopt;
      run_load_job(*inflight_->job);  // no pool: here and now
      return poll_load();
    }
  }
  save_state();
  return encode_reply(h, std::move(reply));
}

std::optional<std::vector<std::uint8_t>> Session::poll_load() {
  if (!inflight_) return std::nullopt;
  InFlight& f = *inflight_;
  const bool ended = f.job->done.load(std::memory_order_acquire);
  if (!ended && !f.cancelled) return std::nullopt;
  ts::Message reply;
  if (ended) {
    // Charged whatever became of the result: the CPU was spent.
    verifier_cpu_ns_ += f.job->cpu_ns;
    kernel_verifications_ += f.job->load->kernel_verifications();
    cpu_bucket_.spend(double(f.job->cpu_ns) / 1e6, Clock::now());
  }
  if (f.cancelled) {
    reply = ts::failure_reply(f.header.type, {ts::status::kECANCELED,
                                              "PROG_LOAD '" + f.name +
                                                  "': the session was reset while it was being verified"});
  } else {
    reply = finish_prog_load(f);
  }
  const ts::FrameHeader h = f.header;
  inflight_.reset();  // a cancelled job still running is freed by its worker
  save_state();
  return encode_reply(h, std::move(reply));
}

std::vector<std::uint8_t> Session::wait_load() {
  if (!inflight_) return {};
  if (!inflight_->cancelled && pool_) pool_->wait(*inflight_->job);
  auto r = poll_load();
  return r ? std::move(*r) : std::vector<std::uint8_t>{};
}

std::vector<std::uint8_t> Session::encode_reply(const ts::FrameHeader& h, ts::Message reply) {
  // The one place replies leave the session: nothing host-side gets out.
  scrub_for_guest(reply, identity_);
  // A reply speaks its request's version: a version 1 guest never sees a
  // version 2 frame. A request in a version this end does not speak gets
  // its ERROR in version 1, which every peer decodes.
  const std::uint16_t version =
      h.version >= ts::kMinProtocolVersion && h.version <= ts::kProtocolVersion ? h.version : ts::kMinProtocolVersion;
  auto bytes = ts::encode(h.request_id, reply, version);
  if (!bytes) {
    // Only a reply over its bound gets here (e.g. a per-CPU value larger
    // than a frame may carry); the guest still gets an answer.
    auto fallback = ts::encode(h.request_id, ts::failure_reply(h.type, {ts::status::kE2BIG,
                                                                          "reply too large: " +
                                                                              bytes.error().message}), version);
    return fallback ? std::move(*fallback) : std::vector<std::uint8_t>{};
  }
  return std::move(*bytes);
}

}  // namespace xo::session
