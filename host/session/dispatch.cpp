// One handler per request. Each validates everything the guest sent
// (handles, sizes, quotas, policy) before the backend touches the kernel,
// and answers with the request's reply type; failures carry a negative
// errno and one line saying what was wrong.
#include <algorithm>

#include "host/session/log.hpp"
#include "host/session/session.hpp"

namespace xo::session {

namespace ts = xo::transport;
namespace st = xo::transport::status;

namespace {

template <typename Reply>
Reply fail(std::int32_t code, std::string message) {
  Reply r;
  r.status = ts::ReplyStatus{code, std::move(message)};
  return r;
}

template <typename Reply>
Reply fail(const Failure& f) {
  return fail<Reply>(f.status, f.message);
}

std::string handle_text(const char* kind, std::uint32_t h) {
  return std::string(kind) + " handle " + std::to_string(h);
}

std::string no_such(const char* kind, std::uint32_t h) {
  return handle_text(kind, h) + " does not exist in this session";
}

bool name_ok(const std::string& s) { return s.find('\0') == std::string::npos; }

}  // namespace

ts::Message Session::on(const ts::CapsRequest& r) {
  ts::CapsReply reply;
  if (r.min_version > r.max_version || r.max_version < ts::kMinProtocolVersion ||
      r.min_version > ts::kProtocolVersion)
    return fail<ts::CapsReply>(st::kEPROTO, "guest speaks versions " + std::to_string(r.min_version) + ".." +
                                                std::to_string(r.max_version) + ", host speaks " +
                                                std::to_string(ts::kMinProtocolVersion) + ".." +
                                                std::to_string(ts::kProtocolVersion));
  reply.version = std::min<std::uint16_t>(r.max_version, ts::kProtocolVersion);
  version_ = reply.version;
  reply.isa_level = 4;
  reply.flavors = policy_->flavors();
  for (MapType t : kOffloadMapTypes) reply.map_types.push_back(std::uint32_t(t));
  // Version 2 only: the guest-side map types and the deferred helpers
  // (PROTOCOL.md 8.1); a version 1 guest sees the allowlist it always saw.
  if (defers_allowed())
    for (MapType t : kGuestSideMapTypes) reply.map_types.push_back(std::uint32_t(t));
  for (const auto& h : policy_->helpers())
    if (!h.deferred || defers_allowed())
      reply.helpers.push_back(ts::HelperCap{h.id, h.nargs, std::uint8_t(h.flavors & policy_->flavors())});
  reply.quotas = config_.quotas.wire();
  log(int(LogLevel::Debug), "CAPS: version " + std::to_string(reply.version));
  return reply;
}

ts::Message Session::on(const ts::BtfLoadRequest& r) {
  using R = ts::BtfLoadReply;
  if (r.btf.empty()) return fail<R>(st::kEINVAL, "BTF_LOAD: empty BTF blob");
  if (btf_bytes_ + r.btf.size() > config_.quotas.max_btf_bytes)
    return fail<R>(st::kEDQUOT, "BTF_LOAD: " + std::to_string(r.btf.size()) + " bytes would bring the session to " +
                                    std::to_string(btf_bytes_ + r.btf.size()) + " BTF bytes, quota " +
                                    std::to_string(config_.quotas.max_btf_bytes));
  auto loaded = backend_->load_btf(r.btf);
  if (auto* f = std::get_if<Failure>(&loaded)) {
    log(int(LogLevel::Info), "BTF_LOAD " + std::to_string(r.btf.size()) + " bytes refused: " + f->message);
    R reply = fail<R>(*f);
    reply.log = f->log;
    return reply;
  }
  auto& object = std::get<0>(loaded);
  const std::uint64_t kernel = object->kernel_bytes();
  if (auto over = over_memory_quota(kernel)) return fail<R>(st::kEDQUOT, "BTF_LOAD: " + *over);
  std::uint32_t h = new_handle();
  const std::uint32_t id = object->kernel_id();
  btf_bytes_ += r.btf.size();
  kernel_bytes_ += kernel;
  btfs_.emplace(h, BtfEntry{std::move(object), r.btf, kernel});
  log(int(LogLevel::Info), "BTF_LOAD " + std::to_string(r.btf.size()) + " bytes -> handle " + std::to_string(h) +
                               ", btf id " + std::to_string(id));
  R reply;
  reply.btf_handle = h;
  return reply;
}

ts::Message Session::on(const ts::MapCreateRequest& r) {
  using R = ts::MapCreateReply;
  const std::string what = "MAP_CREATE '" + r.name + "'";
  if (!name_ok(r.name)) return fail<R>(st::kEINVAL, what + ": name contains a NUL byte");
  if (maps_.size() >= config_.quotas.max_maps)
    return fail<R>(st::kEDQUOT, what + ": session already has " + std::to_string(maps_.size()) +
                                    " maps, quota " + std::to_string(config_.quotas.max_maps));
  if (guest_side_map_type(r.type)) return create_guest_side_map(r);
  MapDef def{0, r.type, r.key_size, r.value_size, r.max_entries, r.map_flags, r.name,
             r.btf_key_type_id, r.btf_value_type_id, r.initial_value, r.frozen, r.map_extra, r.inner_map};
  // A map of maps is shaped by one of the session's own maps (handles,
  // never host fds), which must be a plain one.
  const BackendMap* inner = nullptr;
  if (r.inner_map) {
    MapEntry* t = find_map(r.inner_map);
    if (!t) return fail<R>(st::kEBADF, what + ": inner map template: " + no_such("map", r.inner_map));
    if (map_type_holds_objects(t->def.type) || !t->object)  // guest-side maps have no host object
      return fail<R>(st::kEINVAL, what + ": inner map template " + std::to_string(r.inner_map) + " '" + t->def.name +
                                      "' is a " + map_type_name(t->def.type) + "; maps of maps hold plain maps only");
    inner = t->object.get();
  }
  // Cheap refusal first: the kernel would charge at least this much.
  const std::uint64_t floor = charged_map_bytes(def, backend_->possible_cpus());
  if (floor > config_.quotas.max_map_bytes || kernel_bytes_ + floor > config_.quotas.max_map_bytes)
    return fail<R>(st::kEDQUOT, what + ": at least " + std::to_string(floor) + " bytes of kernel memory (key " +
                                    std::to_string(r.key_size) + ", value " + std::to_string(r.value_size) + ", " +
                                    std::to_string(r.max_entries) + " entries) would bring the session to " +
                                    std::to_string(kernel_bytes_ + floor) + " bytes, quota " +
                                    std::to_string(config_.quotas.max_map_bytes));
  const BackendBtf* btf = nullptr;
  if (r.btf_handle) {
    auto it = btfs_.find(r.btf_handle);
    if (it == btfs_.end()) return fail<R>(st::kEBADF, what + ": " + no_such("BTF", r.btf_handle));
    btf = it->second.object.get();
  } else if (r.btf_key_type_id || r.btf_value_type_id) {
    return fail<R>(st::kEINVAL, what + ": BTF type ids without a BTF handle");
  }
  def.handle = new_handle();
  auto created = backend_->create_map(def, btf, inner);
  if (auto* f = std::get_if<Failure>(&created)) {
    log(int(LogLevel::Info), what + " refused: " + f->message);
    return fail<R>(*f);
  }
  auto& object = std::get<0>(created);
  // What the kernel really charged; over the quota, the map is freed here.
  const std::uint64_t bytes = object->kernel_bytes();
  if (auto over = over_memory_quota(bytes)) {
    log(int(LogLevel::Info), what + " refused after creation: " + *over);
    return fail<R>(st::kEDQUOT, what + ": " + *over);
  }
  log(int(LogLevel::Info), what + " " + std::to_string(bytes) + " bytes -> handle " + std::to_string(def.handle) +
                               ", map id " + std::to_string(object->kernel_id()));
  kernel_bytes_ += bytes;
  const std::uint32_t h = def.handle;
  def.initial_value.clear();
  maps_.emplace(h, MapEntry{std::move(def), bytes, r.btf_handle, std::move(object)});
  R reply;
  reply.map_handle = h;
  return reply;
}

// A guest-side map (PROTOCOL.md 8.1): no host kernel object, nothing
// charged against max_map_bytes, counted in max_maps. Its shape is what
// the guest's own map has: u32 keys, a 4-byte value (a DEVMAP's or
// CPUMAP's may be the 8-byte bpf_devmap_val / bpf_cpumap_val); max_entries
// may be 0 (perf arrays are sized by the guest's loader).
ts::Message Session::create_guest_side_map(const ts::MapCreateRequest& r) {
  using R = ts::MapCreateReply;
  const std::string what = "MAP_CREATE '" + r.name + "'";
  if (!defers_allowed())
    return fail<R>(st::kEINVAL, what + ": map type " + map_type_name(r.type) + " names objects of the guest; "
                                    "protocol version 2 (CAPS) defers their use to the guest");
  if (r.key_size != 4 || (r.value_size != 4 && r.value_size != 8))
    return fail<R>(st::kEINVAL, what + ": a " + map_type_name(r.type) + " has 4-byte keys and 4- or 8-byte values, not " +
                                    std::to_string(r.key_size) + "/" + std::to_string(r.value_size));
  if (r.btf_handle || r.btf_key_type_id || r.btf_value_type_id || r.frozen || !r.initial_value.empty() ||
      r.map_extra || r.inner_map)
    return fail<R>(st::kEINVAL, what + ": a guest-side " + map_type_name(r.type) +
                                    " takes no BTF, initial value, freezing, map_extra or inner map");
  MapDef def{0, r.type, r.key_size, r.value_size, r.max_entries, r.map_flags, r.name};
  def.handle = new_handle();
  const std::uint32_t h = def.handle;
  log(int(LogLevel::Info), what + " guest-side " + map_type_name(r.type) + " -> handle " + std::to_string(h));
  maps_.emplace(h, MapEntry{std::move(def), 0, 0, nullptr});
  R reply;
  reply.map_handle = h;
  return reply;
}

namespace {

// The guest's own map is the only copy of a guest-side map's entries.
template <typename R>
std::optional<R> guest_side(const MapDef& def, const char* op, std::uint32_t h) {
  if (!guest_side_map_type(def.type)) return std::nullopt;
  return fail<R>(st::kEOPNOTSUPP, std::string(op) + " map " + std::to_string(h) + " '" + def.name + "': a " +
                                  map_type_name(def.type) + " lives in the guest; use the guest's own map");
}

// Key must match exactly: the kernel reads key_size bytes from our buffer.
// Keyless maps (queue, stack, bloom filter) take an empty key, except a
// bloom filter's MAP_LOOKUP, whose key field carries the value to test.
template <typename R>
std::optional<R> bad_key(const MapDef& def, std::span<const std::uint8_t> key, const char* op, std::uint32_t h) {
  const bool bloom_test = def.type == MapType::BloomFilter && std::string_view(op) == "MAP_LOOKUP";
  const std::uint32_t want = bloom_test ? def.value_size : def.key_size;
  if (key.size() != want)
    return fail<R>(st::kEINVAL, std::string(op) + " map " + std::to_string(h) + " '" + def.name + "': key of " +
                                    std::to_string(key.size()) + " bytes, " +
                                    (bloom_test ? "a bloom filter tests a value of " : "map has ") +
                                    std::to_string(want));
  return std::nullopt;
}

std::size_t user_value_size(const MapDef& d, unsigned cpus) {
  return map_type_is_percpu(d.type) ? std::size_t((d.value_size + 7u) & ~7u) * (cpus ? cpus : 1) : d.value_size;
}

std::vector<std::uint8_t> le32(std::uint32_t v) {
  return {std::uint8_t(v), std::uint8_t(v >> 8), std::uint8_t(v >> 16), std::uint8_t(v >> 24)};
}

std::string op_status(const char* op, std::uint32_t h, const MapDef& d, std::int32_t code) {
  return std::string(op) + " map " + std::to_string(h) + " '" + d.name + "': " + ts::status_name(code);
}

}  // namespace

ts::Message Session::on(const ts::MapLookupRequest& r) {
  using R = ts::MapLookupReply;
  MapEntry* m = find_map(r.map);
  if (!m) return fail<R>(st::kEBADF, "MAP_LOOKUP: " + no_such("map", r.map));
  if (auto bad = guest_side<R>(m->def, "MAP_LOOKUP", r.map)) return *bad;
  if (auto bad = bad_key<R>(m->def, r.key, "MAP_LOOKUP", r.map)) return *bad;
  R reply;
  if (map_type_holds_objects(m->def.type)) {  // the guest's handle, never what the kernel stores
    auto it = m->stored.find(r.key);
    if (it == m->stored.end()) return fail<R>(st::kENOENT, op_status("MAP_LOOKUP", r.map, m->def, st::kENOENT));
    reply.value = le32(it->second);
    return reply;
  }
  reply.value.resize(user_value_size(m->def, backend_->possible_cpus()));
  if (std::int32_t rc = m->object->lookup(r.key, reply.value); rc != 0)
    return fail<R>(rc, op_status("MAP_LOOKUP", r.map, m->def, rc));
  return reply;
}

ts::Message Session::on(const ts::MapUpdateRequest& r) {
  using R = ts::MapUpdateReply;
  MapEntry* m = find_map(r.map);
  if (!m) return fail<R>(st::kEBADF, "MAP_UPDATE: " + no_such("map", r.map));
  if (auto bad = guest_side<R>(m->def, "MAP_UPDATE", r.map)) return *bad;
  if (auto bad = bad_key<R>(m->def, r.key, "MAP_UPDATE", r.map)) return *bad;
  const std::size_t vsize = user_value_size(m->def, backend_->possible_cpus());
  if (r.value.size() != vsize)
    return fail<R>(st::kEINVAL, "MAP_UPDATE map " + std::to_string(r.map) + " '" + m->def.name + "': value of " +
                                    std::to_string(r.value.size()) + " bytes, map takes " + std::to_string(vsize));
  if (r.flags > 2)  // BPF_ANY, BPF_NOEXIST, BPF_EXIST; no BPF_F_LOCK (no spin locks offered)
    return fail<R>(st::kEINVAL, "MAP_UPDATE: flags " + std::to_string(r.flags) + " not supported");
  if (map_type_holds_objects(m->def.type)) return update_object(*m, r);
  if (std::int32_t rc = m->object->update(r.key, r.value, r.flags); rc != 0)
    return fail<R>(rc, op_status("MAP_UPDATE", r.map, m->def, rc));
  return R{};
}

ts::Message Session::on(const ts::MapDeleteRequest& r) {
  using R = ts::MapDeleteReply;
  MapEntry* m = find_map(r.map);
  if (!m) return fail<R>(st::kEBADF, "MAP_DELETE: " + no_such("map", r.map));
  if (auto bad = guest_side<R>(m->def, "MAP_DELETE", r.map)) return *bad;
  if (auto bad = bad_key<R>(m->def, r.key, "MAP_DELETE", r.map)) return *bad;
  if (std::int32_t rc = m->object->remove(r.key); rc != 0)
    return fail<R>(rc, op_status("MAP_DELETE", r.map, m->def, rc));
  m->stored.erase(r.key);
  return R{};
}

// A prog array or a map of maps: the value is a le32 handle of the
// session's own program or map; the backend stores the host object. All
// programs of one prog array run in one flavor (the kernel ties a prog
// array to the first program type that uses it).
ts::Message Session::update_object(MapEntry& m, const ts::MapUpdateRequest& r) {
  using R = ts::MapUpdateReply;
  const std::string what = "MAP_UPDATE map " + std::to_string(r.map) + " '" + m.def.name + "'";
  std::uint32_t h = 0;
  for (int i = 3; i >= 0; --i) h = h << 8 | r.value[std::size_t(i)];
  const BackendMap* map = nullptr;
  const BackendProg* prog = nullptr;
  if (m.def.type == MapType::ProgArray) {
    ProgEntry* p = find_prog(h);
    if (!p) return fail<R>(st::kEBADF, what + ": " + no_such("program", h));
    auto other = [&](std::uint32_t ph) {
      const ProgEntry* q = find_prog(ph);
      return q && q->flavor != p->flavor ? q : nullptr;
    };
    for (const auto& [key, stored] : m.stored)
      if (const ProgEntry* q = other(stored))
        return fail<R>(st::kEINVAL, what + ": program " + std::to_string(h) + " '" + p->name + "' was loaded for " +
                                        std::string(flavor_name(p->flavor)) + ", the array holds " +
                                        std::string(flavor_name(q->flavor)) + " programs; tail calls stay in one flavor");
    for (const auto& [ph, q] : progs_)
      if (q.maps.count(r.map) && q.flavor != p->flavor)
        return fail<R>(st::kEINVAL, what + ": program " + std::to_string(h) + " '" + p->name + "' was loaded for " +
                                        std::string(flavor_name(p->flavor)) + ", program " + std::to_string(ph) +
                                        " '" + q.name + "' tail-calls through this array in " +
                                        std::string(flavor_name(q.flavor)));
    prog = p->object.get();
  } else {
    MapEntry* inner = find_map(h);
    if (!inner) return fail<R>(st::kEBADF, what + ": " + no_such("map", h));
    if (map_type_holds_objects(inner->def.type) || !inner->object)  // guest-side maps have no host object
      return fail<R>(st::kEINVAL, what + ": map " + std::to_string(h) + " '" + inner->def.name + "' is a " +
                                      map_type_name(inner->def.type) + "; maps of maps hold plain maps only");
    map = inner->object.get();
  }
  if (std::int32_t rc = m.object->update_object(r.key, map, prog, r.flags); rc != 0)
    return fail<R>(rc, op_status("MAP_UPDATE", r.map, m.def, rc));
  m.stored[r.key] = h;
  return R{};
}

ts::Message Session::on(const ts::MapGetNextKeyRequest& r) {
  using R = ts::MapGetNextKeyReply;
  MapEntry* m = find_map(r.map);
  if (!m) return fail<R>(st::kEBADF, "MAP_GET_NEXT_KEY: " + no_such("map", r.map));
  if (auto bad = guest_side<R>(m->def, "MAP_GET_NEXT_KEY", r.map)) return *bad;
  if (!r.key.empty())
    if (auto bad = bad_key<R>(m->def, r.key, "MAP_GET_NEXT_KEY", r.map)) return *bad;
  R reply;
  reply.next_key.resize(m->def.key_size);
  if (std::int32_t rc = m->object->next_key(r.key, reply.next_key); rc != 0)
    return fail<R>(rc, op_status("MAP_GET_NEXT_KEY", r.map, m->def, rc));
  return reply;
}

ts::Message Session::on(const ts::MapFreeRequest& r) {
  using R = ts::MapFreeReply;
  MapEntry* m = find_map(r.map);
  if (!m) return fail<R>(st::kEBADF, "MAP_FREE: " + no_such("map", r.map));
  // A loaded program keeps the kernel map alive; freeing the handle would
  // hide those bytes from the quota. So does a map of maps holding it.
  std::uint32_t holder = 0;
  if (const MapEntry* outer = holder_of(r.map, &holder))
    return fail<R>(st::kEBUSY, "MAP_FREE map " + std::to_string(r.map) + " '" + m->def.name + "': stored in map " +
                                   std::to_string(holder) + " '" + outer->def.name + "'; delete that entry first");
  for (const auto& [ph, p] : progs_)
    if (p.maps.count(r.map))
      return fail<R>(st::kEBUSY, "MAP_FREE map " + std::to_string(r.map) + " '" + m->def.name +
                                          "': still used by program " + std::to_string(ph) + " '" + p.name +
                                          "'; unload it first");
  log(int(LogLevel::Info), "MAP_FREE map " + std::to_string(r.map) + " '" + m->def.name + "'");
  kernel_bytes_ -= m->bytes;
  maps_.erase(r.map);
  return R{};
}

ts::Message Session::on(const ts::ProgLoadRequest& r) {
  using R = ts::ProgLoadReply;
  const std::string what = "PROG_LOAD '" + r.name + "'";
  if (!name_ok(r.name) || !name_ok(r.license)) return fail<R>(st::kEINVAL, what + ": name or license contains NUL");
  if (progs_.size() >= config_.quotas.max_progs)
    return fail<R>(st::kEDQUOT, what + ": session already has " + std::to_string(progs_.size()) +
                                    " programs, quota " + std::to_string(config_.quotas.max_progs));
  if (r.insns.empty()) return fail<R>(st::kEINVAL, what + ": no instructions");
  if (r.insns.size() > config_.quotas.max_insns)
    return fail<R>(st::kEDQUOT, what + ": " + std::to_string(r.insns.size()) + " instructions, quota " +
                                    std::to_string(config_.quotas.max_insns) + " per program");
  // The kernel keeps at least the instructions themselves.
  if (kernel_bytes_ + r.insns.size() * sizeof(isa::RawInsn) > config_.quotas.max_map_bytes)
    return fail<R>(st::kEDQUOT, what + ": the session's kernel memory (" + std::to_string(kernel_bytes_) +
                                    " bytes, quota " + std::to_string(config_.quotas.max_map_bytes) +
                                    ") has no room for " + std::to_string(r.insns.size()) + " instructions");
  Flavor flavor = config_.flavor;
  if (r.flavor != ts::kFlavorAny) {
    if (r.flavor > 3 || !(policy_->flavors() & flavor_bit(Flavor(r.flavor))))
      return fail<R>(st::kEPERM, what + ": flavor " + (r.flavor <= 3 ? std::string(flavor_name(Flavor(r.flavor)))
                                                                     : std::to_string(r.flavor)) +
                                     " is not offered to this session");
    flavor = Flavor(r.flavor);
  }
  const BtfEntry* btf = nullptr;
  if (r.btf_handle) {
    auto it = btfs_.find(r.btf_handle);
    if (it == btfs_.end()) return fail<R>(st::kEBADF, what + ": " + no_such("BTF", r.btf_handle));
    btf = &it->second;
  } else if (!r.func_info.empty() || !r.line_info.empty()) {
    return fail<R>(st::kEINVAL, what + ": func_info/line_info without a BTF handle");
  }
  Submission s;
  s.name = r.name;
  s.license = r.license;
  s.guest_ifindex = r.guest_ifindex;
  s.insns = r.insns;
  s.func_info = r.func_info;
  s.line_info = r.line_info;
  if (btf) s.btf = btf->blob;
  for (const auto& [h, m] : maps_) s.maps.push_back(m.def);

  // The verifier's CPU is charged after the fact (load_pool.hpp); a session
  // in debt waits for its budget to refill.
  if (config_.quotas.verify_cpu_ms_per_sec != 0 && !cpu_bucket_.positive(Clock::now())) {
    const double debt = -cpu_bucket_.tokens();
    const double wait_s = (debt + 1) / cpu_bucket_.rate();
    log(int(LogLevel::Info), what + " refused: verifier CPU budget spent (" +
                                 std::to_string(verifier_cpu_ns_ / 1'000'000) + " ms used)");
    return fail<R>(st::kEBUSY, what + ": this session's verifier CPU budget is spent (" +
                                   std::to_string(verifier_cpu_ns_ / 1'000'000) + " ms used, " +
                                   std::to_string(config_.quotas.verify_cpu_ms_per_sec) + " ms/s, burst " +
                                   std::to_string(config_.quotas.verify_cpu_burst_ms) + " ms); retry in " +
                                   std::to_string(std::uint64_t(wait_s) + 1) + " s");
  }

  ProgLoadInput in;
  in.handle = new_handle();
  in.submission = std::move(s);
  in.btf = btf ? btf->object.get() : nullptr;
  in.map_of = [this](std::uint32_t h) -> BackendMap* {
    MapEntry* m = find_map(h);
    return m ? m->object.get() : nullptr;
  };
  for (const auto& [h, m] : maps_) in.map_handles.push_back(h);
  in.flavor = flavor;
  in.policy = policy_;
  in.max_insns = config_.quotas.max_insns;
  in.defer = defers_allowed();
  in.cookie = r.cookie;
  const std::uint32_t handle = in.handle;
  auto begun = backend_->begin_load(std::move(in));
  if (auto* f = std::get_if<Failure>(&begun)) {
    log(int(LogLevel::Info), what + " " + std::to_string(r.insns.size()) + " insns refused (" +
                                 ts::status_name(f->status) + "): " + f->message);
    R reply = fail<R>(*f);
    reply.log = f->log;
    reply.flavor = std::uint8_t(flavor);
    return reply;
  }
  auto job = std::make_shared<LoadJob>(std::move(std::get<0>(begun)));
  inflight_ = std::make_unique<InFlight>();
  inflight_->job = job;
  inflight_->name = r.name;
  inflight_->flavor = flavor;
  inflight_->insns = r.insns.size();
  inflight_->handle = handle;
  inflight_->btf = r.btf_handle;
  log(int(LogLevel::Info), what + " " + std::to_string(r.insns.size()) + " insns: verifying" +
                               (pool_ ? " on a load worker" : ""));
  if (pool_) pool_->submit(std::move(job));
  started_load_ = true;
  return R{};  // the reply is finish_prog_load's
}

ts::Message Session::finish_prog_load(InFlight& f) {
  using R = ts::ProgLoadReply;
  const std::string what = "PROG_LOAD '" + f.name + "'";
  const std::string cost = std::to_string(f.job->load->kernel_verifications()) + " kernel verification(s), " +
                           std::to_string(f.job->cpu_ns / 1'000'000) + " ms of verifier CPU (session total " +
                           std::to_string(verifier_cpu_ns_ / 1'000'000) + " ms)";
  auto loaded = backend_->finish_load(*f.job->load);
  if (auto* fl = std::get_if<Failure>(&loaded)) {
    log(int(LogLevel::Info), what + " " + std::to_string(f.insns) + " insns refused (" +
                                 ts::status_name(fl->status) + ") after " + cost + ": " + fl->message);
    R reply = fail<R>(*fl);
    reply.log = fl->log;
    reply.flavor = std::uint8_t(f.flavor);
    return reply;
  }
  auto& object = std::get<0>(loaded);
  const std::uint64_t bytes = object->kernel_bytes();
  if (auto over = over_memory_quota(bytes)) {
    log(int(LogLevel::Info), what + " refused after loading: " + *over);
    R reply = fail<R>(st::kEDQUOT, what + ": " + *over);
    reply.flavor = std::uint8_t(f.flavor);
    return reply;
  }
  log(int(LogLevel::Info), what + " " + std::to_string(f.insns) + " insns -> " +
                               std::string(flavor_name(f.flavor)) + " prog id " +
                               std::to_string(object->kernel_id()) + ", handle " + std::to_string(f.handle) + ", " +
                               std::to_string(bytes) + " bytes of kernel memory, " + cost);
  std::set<std::uint32_t> uses = object->map_handles;
  kernel_bytes_ += bytes;
  progs_.emplace(f.handle, ProgEntry{f.name, f.flavor, f.insns, std::move(uses), f.btf, std::move(object), bytes,
                                     std::nullopt});
  R reply;
  reply.prog_handle = f.handle;
  reply.flavor = std::uint8_t(f.flavor);
  return reply;
}

ts::Message Session::on(const ts::ProgAttachRequest& r) {
  using R = ts::ProgAttachReply;
  ProgEntry* p = find_prog(r.prog);
  if (!p) return fail<R>(st::kEBADF, "PROG_ATTACH: " + no_such("program", r.prog));
  if (attached_ == r.prog) return R{};
  if (auto f = backend_->attach(*p->object, p->flavor)) {
    log(int(LogLevel::Info), "PROG_ATTACH '" + p->name + "' failed: " + f->message);
    return fail<R>(*f);
  }
  std::string replaced = attached_ ? " (replacing program " + std::to_string(attached_) + ")" : "";
  attached_ = r.prog;
  p->watched = p->object->run_stats();  // the watchdog counts from here
  log(int(LogLevel::Info), "PROG_ATTACH '" + p->name + "' prog id " + std::to_string(p->object->kernel_id()) +
                               " -> " + backend_->attach_point(p->flavor) + replaced);
  return R{};
}

ts::Message Session::on(const ts::ProgDetachRequest& r) {
  using R = ts::ProgDetachReply;
  ProgEntry* p = find_prog(r.prog);
  if (!p) return fail<R>(st::kEBADF, "PROG_DETACH: " + no_such("program", r.prog));
  if (attached_ != r.prog) return fail<R>(st::kENOENT, "PROG_DETACH: program " + std::to_string(r.prog) + " '" + p->name + "' is not attached");
  detach_if_attached(r.prog);
  log(int(LogLevel::Info), "PROG_DETACH '" + p->name + "' from " + backend_->attach_point(p->flavor));
  return R{};
}

ts::Message Session::on(const ts::ProgUnloadRequest& r) {
  using R = ts::ProgUnloadReply;
  ProgEntry* p = find_prog(r.prog);
  if (!p) return fail<R>(st::kEBADF, "PROG_UNLOAD: " + no_such("program", r.prog));
  // A prog array keeps the kernel program alive and running (tail calls).
  std::uint32_t holder = 0;
  if (const MapEntry* array = holder_of(r.prog, &holder))
    return fail<R>(st::kEBUSY, "PROG_UNLOAD program " + std::to_string(r.prog) + " '" + p->name +
                                   "': stored in prog array " + std::to_string(holder) + " '" + array->def.name +
                                   "'; delete that entry first");
  detach_if_attached(r.prog);
  log(int(LogLevel::Info), "PROG_UNLOAD '" + p->name + "' prog id " + std::to_string(p->object->kernel_id()));
  kernel_bytes_ -= p->bytes;
  progs_.erase(r.prog);
  return R{};
}

ts::Message Session::on(const ts::StatsRequest& r) {
  using R = ts::StatsReply;
  ProgEntry* p = find_prog(r.prog);
  if (!p) return fail<R>(st::kEBADF, "STATS: " + no_such("program", r.prog));
  auto counters = p->object->stats();
  if (auto* f = std::get_if<Failure>(&counters)) return fail<R>(*f);
  R reply;
  reply.counters = std::move(std::get<0>(counters));
  return reply;
}

ts::Message Session::on(const ts::BtfFreeRequest& r) {
  using R = ts::BtfFreeReply;
  auto it = btfs_.find(r.btf);
  if (it == btfs_.end()) return fail<R>(st::kEBADF, "BTF_FREE: " + no_such("BTF", r.btf));
  // The kernel would keep the BTF alive through the map's or program's own
  // reference anyway; refusing keeps btf_bytes_ honest and the order of
  // teardown the guest's business (free users first, like MAP_FREE).
  for (const auto& [mh, m] : maps_)
    if (m.btf == r.btf)
      return fail<R>(st::kEBUSY, "BTF_FREE BTF " + std::to_string(r.btf) + ": still used by map " +
                                     std::to_string(mh) + " '" + m.def.name + "'; free it first");
  for (const auto& [ph, p] : progs_)
    if (p.btf == r.btf)
      return fail<R>(st::kEBUSY, "BTF_FREE BTF " + std::to_string(r.btf) + ": still used by program " +
                                     std::to_string(ph) + " '" + p.name + "'; unload it first");
  log(int(LogLevel::Info), "BTF_FREE handle " + std::to_string(r.btf) + ", btf id " +
                               std::to_string(it->second.object->kernel_id()));
  btf_bytes_ -= it->second.blob.size();
  kernel_bytes_ -= it->second.bytes;
  btfs_.erase(it);
  return R{};
}

ts::Message Session::on(const ts::ResetRequest&) {
  reset("RESET from the guest");
  return ts::ResetReply{};
}

}  // namespace xo::session
