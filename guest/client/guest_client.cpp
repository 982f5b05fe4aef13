// GuestClient: connect, offload sequence, map/program operations.
#include "guest/client/guest_client.hpp"

#include <net/if.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <random>
#include <thread>

#include "guest/builder/elf_builder.hpp"
#include "translator/isa/codec.hpp"

namespace xo::guest {
namespace {

using transport::Channel;
using transport::Client;

bool is_socket(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

Result<Channel> open_channel(const std::string& where) {
  if (where.empty()) {
    if (exists(kDefaultPortLink)) return Channel::open_port(kDefaultPortLink);
    return Channel::open_virtio_port();
  }
  if (is_socket(where)) return Channel::connect_unix(where);
  return Channel::open_port(where);
}

// The host answers EAGAIN when the session's request rate is exceeded
// (token bucket): wait and retry, up to about 3 s, instead of failing a
// counter read in the middle of a report.
template <typename Call>
auto with_rate_retry(Client& client, Call call) -> decltype(call()) {
  for (int attempt = 0;; ++attempt) {
    auto r = call();  // call() paces itself
    if (r.ok() || client.last_status() != transport::status::kEAGAIN || attempt >= 60) return r;
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(5 * (attempt + 1), 50)));
  }
}

Error prefixed(const std::string& what, const Error& e) { return Error{what + ": " + e.message, e.pc}; }

}  // namespace

// ---- names -----------------------------------------------------------------

Result<std::uint8_t> parse_flavor(const std::string& name) {
  if (name == "tc") return transport::kFlavorTc;
  if (name == "chain") return transport::kFlavorChain;
  if (name == "devmap") return transport::kFlavorDevmap;
  if (name == "tun") return transport::kFlavorTun;
  if (name == "any" || name.empty()) return transport::kFlavorAny;
  return err("unknown flavor '" + name + "' (tc, chain, devmap, tun or any)");
}

std::string flavor_name(std::uint8_t flavor) {
  switch (flavor) {
    case transport::kFlavorTc: return "tc";
    case transport::kFlavorChain: return "chain";
    case transport::kFlavorDevmap: return "devmap";
    case transport::kFlavorTun: return "tun";
    case transport::kFlavorAny: return "any";
  }
  return "flavor " + std::to_string(flavor);
}

std::string flavor_set_name(std::uint8_t bits) {
  std::string out;
  for (std::uint8_t f = 0; f < 8; ++f)
    if (bits & (1u << f)) out += (out.empty() ? "" : ",") + flavor_name(f);
  return out.empty() ? "none" : out;
}

std::uint64_t value_as_u64(std::span<const std::uint8_t> value) {
  std::uint64_t v = 0;
  const std::size_t n = std::min<std::size_t>(value.size(), 8);
  for (std::size_t i = 0; i < n; ++i) v |= std::uint64_t(value[i]) << (8 * i);
  return v;
}

Result<std::uint64_t> sum_percpu_u64(std::span<const std::uint8_t> value, std::uint32_t value_size) {
  if (value_size == 0) return err("per-CPU value size 0");
  const std::size_t stride = (std::size_t(value_size) + 7) / 8 * 8;
  if (value.empty() || value.size() % stride != 0)
    return err("per-CPU value of " + std::to_string(value.size()) + " bytes is not a multiple of " +
               std::to_string(stride) + " (value_size " + std::to_string(value_size) + ")");
  std::uint64_t sum = 0;
  for (std::size_t off = 0; off < value.size(); off += stride)
    sum += value_as_u64(value.subspan(off, std::min<std::size_t>(value_size, 8)));
  return sum;
}

const OffloadedMap* OffloadedProgram::find_map(const std::string& map_name) const {
  for (const auto& m : maps)
    if (m.name == map_name) return &m;
  return nullptr;
}

Result<std::uint32_t> guest_ifindex(const std::string& ifname) {
  const unsigned idx = ::if_nametoindex(ifname.c_str());
  if (idx == 0) return err("interface '" + ifname + "': " + std::strerror(errno));
  return std::uint32_t(idx);
}

Result<std::vector<isa::RawInsn>> rewrite_map_handles(
    std::span<const isa::RawInsn> insns,
    const std::vector<std::pair<std::uint32_t, std::uint32_t>>& host_handles) {
  std::vector<isa::RawInsn> out(insns.begin(), insns.end());
  auto rebound = isa::rebind_map_refs(out, [&](std::size_t pc, std::int32_t handle) -> Result<std::int32_t> {
    auto it = std::find_if(host_handles.begin(), host_handles.end(),
                           [&](const auto& p) { return p.first == std::uint32_t(handle); });
    if (it == host_handles.end())
      return err_at(pc, "map reference to handle " + std::to_string(handle) +
                            ", which the submission does not define");
    return std::int32_t(it->second);
  });
  if (!rebound) return rebound.error();
  return out;
}

// ---- connection ---------------------------------------------------------------

Result<GuestClient> GuestClient::connect(const std::string& where, int timeout_ms) {
  auto channel = open_channel(where);
  if (!channel) return channel.error();
  // Replies to requests of an earlier process that died mid-call may still be
  // queued on a virtio port (it outlives processes); drop them. If what is
  // left is the tail of a frame the stream is out of sync: reopen once.
  auto stale = channel->read_available();
  if (!stale || channel->broken()) {
    channel = open_channel(where);
    if (!channel) return channel.error();
    // A virtio port with no host process behind it reads as EOF (POLLHUP):
    // say so now instead of timing out on the first request.
    auto again = channel->read_available();
    if (!again || channel->broken())
      return err((where.empty() ? std::string(kDefaultPortLink) : where) +
                 ": the host side is not connected (is xoffloadd serving this VM?)" +
                 (again ? std::string() : ": " + again.error().message));
  }
  return GuestClient(Client(std::move(*channel), timeout_ms));
}

Result<transport::CapsReply> GuestClient::caps() {
  caps_asked_ = true;
  auto c = client_.caps();
  if (c && c->quotas.requests_per_sec > 0)
    pacer_.configure(c->quotas.requests_per_sec, std::max<std::uint32_t>(1, c->quotas.request_burst));
  return c;
}

void GuestClient::pace() {
  if (!caps_asked_) (void)caps();  // a host that cannot answer CAPS: no pacing
  pacer_.acquire();
}

// ---- offload ------------------------------------------------------------------

Result<transport::MapCreateRequest> map_create_request(
    const MapDef& def, std::uint32_t btf_handle, const std::vector<std::pair<std::uint32_t, std::uint32_t>>& host_handles) {
  transport::MapCreateRequest req;
  req.type = def.type;
  req.key_size = def.key_size;
  req.value_size = def.value_size;
  req.max_entries = def.max_entries;
  req.map_flags = def.flags;
  req.name = def.name;
  if (btf_handle != 0 && (def.btf_key_type_id != 0 || def.btf_value_type_id != 0)) {
    req.btf_handle = btf_handle;
    req.btf_key_type_id = def.btf_key_type_id;
    req.btf_value_type_id = def.btf_value_type_id;
  }
  req.frozen = def.frozen;
  req.initial_value = def.initial_value;
  req.map_extra = def.map_extra;
  if (def.inner_map) {
    auto it = std::find_if(host_handles.begin(), host_handles.end(),
                           [&](const auto& p) { return p.first == def.inner_map; });
    if (it == host_handles.end())
      return err("map '" + def.name + "': its inner map template (handle " + std::to_string(def.inner_map) +
                 ") was not created before it");
    req.inner_map = it->second;
  }
  return req;
}

transport::ProgLoadRequest prog_load_request(const Submission& s, std::uint32_t guest_ifindex, std::uint8_t flavor,
                                             std::uint32_t btf_handle, std::vector<isa::RawInsn> insns,
                                             std::uint64_t cookie) {
  transport::ProgLoadRequest req;
  req.cookie = cookie;
  req.name = s.name;
  req.license = s.license;
  req.guest_ifindex = guest_ifindex;
  req.flavor = flavor;
  req.btf_handle = btf_handle;
  req.insns = std::move(insns);
  if (btf_handle != 0) {
    req.func_info = s.func_info;
    req.line_info = s.line_info;
  }
  return req;
}

std::uint64_t random_cookie() {
  std::uint64_t v = 0;
  while (v == 0)
    if (::getrandom(&v, sizeof v, 0) != ssize_t(sizeof v)) v = (std::uint64_t(std::random_device{}()) << 32) | std::random_device{}();
  return v;
}

Result<std::uint32_t> GuestClient::create_maps(const Submission& s, std::uint32_t btf, const GuestSide& side,
                                               OffloadedProgram& out) {
  std::vector<std::pair<std::uint32_t, std::uint32_t>> host_handles;
  for (const MapDef& def : s.maps) {
    // A guest-side map: the host records the shape it has here.
    const PinnedMap* here = side.map(def.handle);
    auto req = map_create_request(here ? here->def : def, btf, host_handles);
    if (!req) return req.error();
    pace();
    auto handle = client_.map_create(*req);
    if (!handle) return prefixed("map '" + def.name + "'", handle.error());
    host_handles.emplace_back(def.handle, *handle);
    out.maps.push_back(OffloadedMap{def.name, *handle, def.type, def.key_size, def.value_size,
                                    here ? here->def.max_entries : def.max_entries});
  }
  return std::uint32_t(out.maps.size());
}

Result<OffloadedProgram> GuestClient::offload(const Submission& s, const OffloadOptions& o) {
  std::uint32_t ifindex = o.ifindex;
  if (!o.ifname.empty()) {
    auto idx = guest_ifindex(o.ifname);
    if (!idx) return idx.error();
    ifindex = *idx;
  }
  OffloadedProgram prog;
  prog.name = s.name;
  const std::string what = "offload '" + s.name + "'";
  if (!caps_asked_)
    if (auto c = caps(); !c) return prefixed(what, c.error());
  // A program that may defer (redirects, AF_XDP, perf samples) needs a host
  // that speaks version 2 and a cookie for its trampoline.
  const bool defers = may_defer(s) || o.cookie != 0;
  if (defers && client_.version() < transport::kDeferVersion)
    return err(what + ": it redirects or emits perf samples to objects of the guest, and the host speaks protocol "
               "version " + std::to_string(client_.version()) + " only (version " +
               std::to_string(transport::kDeferVersion) + " defers them to the guest): run it natively");
  prog.cookie = defers ? (o.cookie ? o.cookie : random_cookie()) : 0;

  // Frees what was created so far, BTF included.
  // Guest-side pins stay: a native fallback or the next try uses them.
  auto fail = [&](Error e) -> Result<OffloadedProgram> {
    (void)unload(prog, /*unpin=*/false);
    return prefixed(what, e);
  };

  if (!s.btf.empty()) {
    pace();
    auto btf = client_.btf_load(s.btf);
    if (!btf) return prefixed(what, btf.error());
    prog.btf = *btf;
  }
  // Guest-side maps live here, pinned per NIC (guest_maps.hpp).
  GuestSide side;
  if (o.install_guest_side &&
      std::any_of(s.maps.begin(), s.maps.end(), [](const MapDef& m) { return guest_side_map_type(m.type); })) {
    if (o.ifname.empty())
      return fail(err(EINVAL, "its guest-side maps are pinned per NIC: name the NIC (ifname), not only its ifindex"));
    auto prepared = GuestSide::prepare(s, guest_pin_dir(o.pin_root, o.ifname));
    if (!prepared) return fail(prepared.error());
    side = std::move(*prepared);
    prog.guest_pin_dir = side.pin_dir();
  }
  if (auto maps = create_maps(s, prog.btf, side, prog); !maps) return fail(maps.error());

  std::vector<std::pair<std::uint32_t, std::uint32_t>> handles;
  for (std::size_t i = 0; i < s.maps.size(); ++i) handles.emplace_back(s.maps[i].handle, prog.maps[i].handle);
  auto insns = rewrite_map_handles(s.insns, handles);
  if (!insns) return fail(insns.error());

  pace();
  auto loaded = client_.prog_load(prog_load_request(s, ifindex, o.flavor, prog.btf, std::move(*insns), prog.cookie));
  if (!loaded) return fail(loaded.error());
  prog.prog = loaded->prog_handle;
  prog.flavor = loaded->flavor;
  prog.log = loaded->log;

  // The trampoline goes on the NIC before the host attaches, so the first
  // descriptor the host sends finds it.
  if (prog.cookie != 0 && o.install_guest_side) {
    if (ifindex == 0) return fail(err(EINVAL, "it defers to the guest: name the guest NIC for its trampoline"));
    if (Status st = side.install(prog.cookie, handles, ifindex, o.xdp_flags); !st)
      return fail(st.error().prefixed("trampoline: "));
    const XdpAttachment& a = side.trampoline()->attachment();
    prog.trampoline_ifindex = a.ifindex();
    prog.trampoline_id = a.prog_id();
    prog.trampoline_mode = a.mode();
  }
  guest_sides_[prog.prog] = std::move(side);

  if (o.attach)
    if (Status st = attach(prog); !st) return fail(st.error());
  return prog;
}

Result<OffloadedProgram> GuestClient::offload_file(const std::string& elf_path,
                                                   const OffloadOptions& o) {
  auto built = build_program_from_file(elf_path, BuildOptions{o.program, o.map_sizes});
  if (!built) return built.error();  // already "<path>: ..."
  auto prog = offload(built->submission, o);
  if (prog) prog->notes = std::move(built->notes);
  return prog;
}

// ---- maps ---------------------------------------------------------------------

Result<std::optional<std::vector<std::uint8_t>>> GuestClient::map_lookup(
    std::uint32_t map, std::span<const std::uint8_t> key) {
  return with_rate_retry(client_, [&] { pace(); return client_.map_lookup(map, key); });
}

Status GuestClient::map_update(std::uint32_t map, std::span<const std::uint8_t> key,
                               std::span<const std::uint8_t> value, std::uint64_t flags) {
  return with_rate_retry(client_, [&] { pace(); return client_.map_update(map, key, value, flags); });
}

Status GuestClient::map_delete(std::uint32_t map, std::span<const std::uint8_t> key) {
  return with_rate_retry(client_, [&] { pace(); return client_.map_delete(map, key); });
}

Result<std::optional<std::vector<std::uint8_t>>> GuestClient::map_get_next_key(
    std::uint32_t map, std::span<const std::uint8_t> key) {
  return with_rate_retry(client_, [&] { pace(); return client_.map_get_next_key(map, key); });
}

Result<const OffloadedMap*> GuestClient::map_named(const OffloadedProgram& prog,
                                                   const std::string& name) const {
  if (const OffloadedMap* m = prog.find_map(name)) return m;
  std::string names;
  for (const auto& m : prog.maps) names += (names.empty() ? "" : ", ") + m.name;
  return err("program '" + prog.name + "' has no map '" + name + "' (maps: " +
             (names.empty() ? "none" : names) + ")");
}

Result<std::optional<std::vector<std::uint8_t>>> GuestClient::map_lookup(
    const OffloadedProgram& prog, const std::string& map, std::span<const std::uint8_t> key) {
  auto m = map_named(prog, map);
  if (!m) return m.error();
  return map_lookup((*m)->handle, key);
}

Status GuestClient::map_update(const OffloadedProgram& prog, const std::string& map,
                               std::span<const std::uint8_t> key,
                               std::span<const std::uint8_t> value, std::uint64_t flags) {
  auto m = map_named(prog, map);
  if (!m) return m.error();
  return map_update((*m)->handle, key, value, flags);
}

Status GuestClient::map_delete(const OffloadedProgram& prog, const std::string& map,
                               std::span<const std::uint8_t> key) {
  auto m = map_named(prog, map);
  if (!m) return m.error();
  return map_delete((*m)->handle, key);
}

Result<std::optional<std::vector<std::uint8_t>>> GuestClient::map_get_next_key(
    const OffloadedProgram& prog, const std::string& map, std::span<const std::uint8_t> key) {
  auto m = map_named(prog, map);
  if (!m) return m.error();
  return map_get_next_key((*m)->handle, key);
}

Result<std::vector<GuestClient::Entry>> GuestClient::dump_map(const OffloadedMap& map) {
  std::vector<Entry> out;
  std::vector<std::uint8_t> key;  // empty: first key
  // A hash map that changes under us could cycle; never walk more than it holds.
  for (std::uint64_t n = 0; n <= map.max_entries; ++n) {
    auto next = map_get_next_key(map.handle, key);
    if (!next) return prefixed("map '" + map.name + "'", next.error());
    if (!*next) return out;
    key = std::move(**next);
    auto value = map_lookup(map.handle, key);
    if (!value) return prefixed("map '" + map.name + "'", value.error());
    if (*value) out.push_back(Entry{key, std::move(**value)});  // deleted meanwhile: skip
  }
  return out;
}

// ---- programs -----------------------------------------------------------------

Result<std::vector<transport::ActionCounter>> GuestClient::stats(std::uint32_t prog) {
  return with_rate_retry(client_, [&] { pace(); return client_.stats(prog); });
}

Status GuestClient::attach(OffloadedProgram& prog) {
  pace();
  if (Status st = client_.prog_attach(prog.prog); !st) return st;
  prog.attached = true;
  return Ok{};
}

Status GuestClient::detach(OffloadedProgram& prog) {
  pace();
  if (Status st = client_.prog_detach(prog.prog); !st) return st;
  prog.attached = false;
  return Ok{};
}

void GuestClient::remove_trampoline(OffloadedProgram& prog) {
  // What detach() finds instead of ours (a native fallback replaced it, or
  // it is gone) means there is nothing of ours left to remove.
  if (auto it = guest_sides_.find(prog.prog); it != guest_sides_.end()) {
    (void)it->second.remove();
    guest_sides_.erase(it);
  } else if (prog.trampoline_id != 0) {
    (void)XdpAttachment::detach_if(prog.trampoline_ifindex, prog.trampoline_mode, prog.trampoline_id);
  }
  prog.trampoline_id = prog.trampoline_ifindex = prog.trampoline_mode = 0;
}

void GuestClient::keep_guest_side(const OffloadedProgram& prog) {
  if (auto it = guest_sides_.find(prog.prog); it != guest_sides_.end()) {
    it->second.release();
    guest_sides_.erase(it);
  }
}

Status GuestClient::unload(OffloadedProgram& prog, bool unpin) {
  std::optional<Error> first;
  auto keep = [&](Status st) {
    if (!st && !first) first = st.error();
  };
  if (prog.prog != 0) {
    if (prog.attached) keep(detach(prog));
    // The host sends no more descriptors: the trampoline can go.
    remove_trampoline(prog);
    pace();
    keep(client_.prog_unload(prog.prog));
    prog.prog = 0;
  }
  std::vector<std::string> guest_maps;
  for (const auto& m : prog.maps) {
    if (guest_side_map_type(m.type)) guest_maps.push_back(m.name);
    pace();
    keep(client_.map_free(m.handle));
  }
  prog.maps.clear();
  if (unpin && !prog.guest_pin_dir.empty()) {
    keep(unpin_guest_maps(guest_maps, prog.guest_pin_dir));
    prog.guest_pin_dir.clear();
  }
  // Last: the host refuses (EBUSY) while a map or the program still uses it.
  if (prog.btf != 0) {
    pace();
    Status st = client_.btf_free(prog.btf);
    // A host older than BTF_FREE answers ENOSYS: the BTF then goes with RESET
    // or the disconnect, as before.
    if (st || client_.last_status() == transport::status::kENOSYS) prog.btf = 0;
    if (client_.last_status() != transport::status::kENOSYS) keep(std::move(st));
  }
  if (first) return *first;
  return Ok{};
}

Status GuestClient::reset() {
  pace();
  return client_.reset();
}

}  // namespace xo::guest
