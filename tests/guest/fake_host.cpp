// FakeHost: a small, real-state implementation of the device side.
#include "tests/guest/fake_host.hpp"

#include <algorithm>

#include "transport/codec.hpp"

namespace xo::guest::test {
namespace {

using namespace transport;

bool is_array(MapType t) { return t == MapType::Array || t == MapType::PercpuArray; }
bool percpu(MapType t) {
  return t == MapType::PercpuArray || t == MapType::PercpuHash || t == MapType::LruPercpuHash;
}
std::uint32_t key_u32(const Bytes& k) {
  std::uint32_t v = 0;
  for (std::size_t i = 0; i < std::min<std::size_t>(4, k.size()); ++i) v |= std::uint32_t(k[i]) << (8 * i);
  return v;
}
Bytes u32_key(std::uint32_t v) { return {Bytes::value_type(v), Bytes::value_type(v >> 8), Bytes::value_type(v >> 16), Bytes::value_type(v >> 24)}; }

ReplyStatus fail(std::int32_t code, std::string text) { return ReplyStatus{code, std::move(text)}; }

}  // namespace

FakeHost::FakeHost(std::string socket_path) : path_(std::move(socket_path)) {
  auto l = UnixListener::listen(path_);
  if (l) listener_.emplace(std::move(*l));
  thread_ = std::thread([this] { serve_listener(); });
}

FakeHost::FakeHost(Channel channel) {
  channel_.emplace(std::move(channel));
  thread_ = std::thread([this] { serve(*channel_); });
}

FakeHost::~FakeHost() {
  stop_ = true;
  thread_.join();
}

void FakeHost::serve_listener() {
  while (!stop_ && listener_) {
    auto ch = listener_->accept(100);
    if (!ch) continue;
    serve(*ch);
  }
}

void FakeHost::serve(Channel& ch) {
  while (!stop_) {
    auto frame = ch.recv_frame(100);
    if (!frame) {
      if (ch.broken()) return;
      continue;  // timeout: check stop_
    }
    auto msg = decode(*frame);
    if (!msg) {
      (void)ch.send(frame->header.request_id, decode_failure_reply(frame->header, msg.error()), 1000);
      continue;
    }
    auto reply = handle(*msg);
    std::vector<Event> events;
    {
      std::lock_guard lock(mu_);
      events.swap(events_);
    }
    for (auto& e : events) (void)ch.send(0, Message(std::move(e)), 1000);
    if (reply) (void)ch.send(frame->header.request_id, *reply, 1000);
  }
}

std::optional<Message> FakeHost::handle(const Message& m) {
  std::lock_guard lock(mu_);
  types_.push_back(std::uint16_t(type_of(m)));
  if (std::get_if<CapsRequest>(&m)) {
    CapsReply r;
    r.isa_level = 3;
    r.flavors = (1u << kFlavorTc) | (1u << kFlavorChain);
    r.map_types = {1, 2, 6};
    r.helpers = {{1, 2, 0x3}, {2, 4, 0x3}};
    r.quotas = Quotas{8, 1u << 20, 4, 4096, 1u << 20, 1000, 100};
    return r;
  }
  if (auto* b = std::get_if<BtfLoadRequest>(&m)) {
    if (b->btf.size() < 24) return BtfLoadReply{fail(status::kEINVAL, "BTF too short"), 0, ""};
    const std::uint32_t h = next_btf_++;
    btfs_.insert(h);
    return BtfLoadReply{{}, h, ""};
  }
  if (auto* c = std::get_if<MapCreateRequest>(&m)) {
    if (c->name == fail_map_create)
      return MapCreateReply{fail(status::kEDQUOT, "session map bytes quota exceeded"), 0};
    const std::uint32_t h = next_map_++;
    FakeMap fm{*c, {}};
    if (!c->initial_value.empty()) fm.entries[u32_key(0)] = c->initial_value;
    maps_[h] = std::move(fm);
    return MapCreateReply{{}, h};
  }
  if (auto* l = std::get_if<MapLookupRequest>(&m)) {
    auto it = maps_.find(l->map);
    if (it == maps_.end()) return MapLookupReply{fail(status::kEBADF, "no map handle"), {}};
    const auto& def = it->second.def;
    if (l->key.size() != def.key_size) return MapLookupReply{fail(status::kEINVAL, "key size"), {}};
    Bytes one;
    if (auto e = it->second.entries.find(l->key); e != it->second.entries.end()) one = e->second;
    else if (is_array(def.type) && key_u32(l->key) < def.max_entries) one.assign(def.value_size, 0);
    else return MapLookupReply{fail(status::kENOENT, "no such key"), {}};
    if (!percpu(def.type)) return MapLookupReply{{}, one};
    Bytes all;
    const std::size_t stride = (def.value_size + 7) / 8 * 8;
    for (int cpu = 0; cpu < kHostCpus; ++cpu) {
      Bytes slot = one;
      slot.resize(stride, 0);
      all.insert(all.end(), slot.begin(), slot.end());
    }
    return MapLookupReply{{}, all};
  }
  if (auto* u = std::get_if<MapUpdateRequest>(&m)) {
    auto it = maps_.find(u->map);
    if (it == maps_.end()) return MapUpdateReply{fail(status::kEBADF, "no map handle")};
    it->second.entries[u->key] = u->value;
    return MapUpdateReply{};
  }
  if (auto* d = std::get_if<MapDeleteRequest>(&m)) {
    auto it = maps_.find(d->map);
    if (it == maps_.end()) return MapDeleteReply{fail(status::kEBADF, "no map handle")};
    if (!it->second.entries.erase(d->key)) return MapDeleteReply{fail(status::kENOENT, "no such key")};
    return MapDeleteReply{};
  }
  if (auto* n = std::get_if<MapGetNextKeyRequest>(&m)) {
    auto it = maps_.find(n->map);
    if (it == maps_.end()) return MapGetNextKeyReply{fail(status::kEBADF, "no map handle"), {}};
    const auto& fm = it->second;
    if (is_array(fm.def.type)) {
      const std::uint32_t next = n->key.empty() ? 0 : key_u32(n->key) + 1;
      if (next >= fm.def.max_entries) return MapGetNextKeyReply{fail(status::kENOENT, "end"), {}};
      return MapGetNextKeyReply{{}, u32_key(next)};
    }
    auto e = n->key.empty() ? fm.entries.begin() : fm.entries.upper_bound(n->key);
    if (e == fm.entries.end()) return MapGetNextKeyReply{fail(status::kENOENT, "end"), {}};
    return MapGetNextKeyReply{{}, e->first};
  }
  if (auto* f = std::get_if<MapFreeRequest>(&m)) {
    if (!maps_.erase(f->map)) return MapFreeReply{fail(status::kEBADF, "no map handle")};
    return MapFreeReply{};
  }
  if (auto* p = std::get_if<ProgLoadRequest>(&m)) {
    if (!fail_prog_load_log.empty())
      return ProgLoadReply{fail(-13, "kernel verifier refused the program"), 0, kFlavorAny,
                           fail_prog_load_log};
    const std::uint32_t h = next_prog_++;
    progs_[h] = FakeProg{*p, false};
    return ProgLoadReply{{}, h, p->flavor == kFlavorAny ? kFlavorTc : p->flavor, ""};
  }
  if (auto* a = std::get_if<ProgAttachRequest>(&m)) {
    auto it = progs_.find(a->prog);
    if (it == progs_.end()) return ProgAttachReply{fail(status::kEBADF, "no prog handle")};
    it->second.attached = true;
    return ProgAttachReply{};
  }
  if (auto* d = std::get_if<ProgDetachRequest>(&m)) {
    auto it = progs_.find(d->prog);
    if (it == progs_.end()) return ProgDetachReply{fail(status::kEBADF, "no prog handle")};
    it->second.attached = false;
    return ProgDetachReply{};
  }
  if (auto* u = std::get_if<ProgUnloadRequest>(&m)) {
    if (!progs_.erase(u->prog)) return ProgUnloadReply{fail(status::kEBADF, "no prog handle")};
    return ProgUnloadReply{};
  }
  if (auto* s = std::get_if<StatsRequest>(&m)) {
    if (!progs_.count(s->prog)) return StatsReply{fail(status::kEBADF, "no prog handle"), {}};
    return StatsReply{{}, {{kActionDrop, 7, 700}, {kActionPass, 2, 0}}};
  }
  if (auto* b = std::get_if<BtfFreeRequest>(&m)) {
    if (!btfs_.count(b->btf)) return BtfFreeReply{fail(status::kEBADF, "no BTF handle")};
    for (const auto& [h, fm] : maps_)
      if (fm.def.btf_handle == b->btf) return BtfFreeReply{fail(status::kEBUSY, "used by a map")};
    for (const auto& [h, fp] : progs_)
      if (fp.req.btf_handle == b->btf) return BtfFreeReply{fail(status::kEBUSY, "used by a program")};
    btfs_.erase(b->btf);
    return BtfFreeReply{};
  }
  if (std::get_if<ResetRequest>(&m)) {
    maps_.clear();
    progs_.clear();
    btfs_.clear();
    return ResetReply{};
  }
  return ErrorReply{fail(status::kENOSYS, "not a request")};
}

std::vector<std::uint16_t> FakeHost::request_types() const {
  std::lock_guard lock(mu_);
  return types_;
}
std::map<std::uint32_t, FakeMap> FakeHost::maps() const {
  std::lock_guard lock(mu_);
  return maps_;
}
std::map<std::uint32_t, FakeProg> FakeHost::progs() const {
  std::lock_guard lock(mu_);
  return progs_;
}
std::size_t FakeHost::btf_objects() const {
  std::lock_guard lock(mu_);
  return btfs_.size();
}
void FakeHost::queue_event(Event event) {
  std::lock_guard lock(mu_);
  events_.push_back(std::move(event));
}
void FakeHost::set_value(std::uint32_t map, const Bytes& key, const Bytes& value) {
  std::lock_guard lock(mu_);
  maps_[map].entries[key] = value;
}

}  // namespace xo::guest::test
