// Session state across a daemon crash: the snapshot of the handle tables,
// and the session rebuilt from it by adopting the pinned objects.
//
// Adoption order: maps, then programs (both pinned, so alive), then the BTF
// objects an adopted map or program holds (BTF cannot be pinned: anything
// else may be freed already, or its id reused), then the attachment of the
// program that was attached. The backend then removes every pin nothing
// claimed, links first.
#include <net/if.h>

#include <algorithm>

#include "host/session/log.hpp"
#include "host/session/session.hpp"

namespace xo::session {

SessionSnapshot Session::snapshot() const {
  SessionSnapshot s;
  s.session = config_.name;
  s.tap = config_.tap;
  s.tap_ifindex = static_cast<std::int32_t>(if_nametoindex(config_.tap.c_str()));
  s.next_handle = next_handle_;
  s.attached = attached_;
  s.btf_bytes = btf_bytes_;
  for (const auto& [h, b] : btfs_) s.btfs.push_back(SnapshotBtf{h, b.object->kernel_id(), b.blob});
  for (const auto& [h, m] : maps_) s.maps.push_back(SnapshotMap{m.btf, m.def});
  for (const auto& [h, p] : progs_)
    s.progs.push_back(SnapshotProg{h, p.object->kernel_id(), p.name, std::uint8_t(p.flavor), p.insns,
                                   std::vector<std::uint32_t>(p.maps.begin(), p.maps.end()), p.btf});
  return s;
}

void Session::set_state_file(std::string path) {
  state_file_ = std::move(path);
  saved_ = {0, 0, 0};
  save_state();
}

void Session::save_state() {
  if (state_file_.empty()) return;
  const auto now = std::make_tuple(next_handle_, attached_, object_count());
  if (now == saved_) return;
  saved_ = now;
  if (object_count() == 0) {
    remove_snapshot(state_file_);
    return;
  }
  if (auto st = write_snapshot(state_file_, snapshot()); !st)
    log(int(LogLevel::Warn), "state snapshot not written (a crash now would lose this session): " + st.error().message);
}

std::unique_ptr<Session> Session::restore(SessionConfig config, std::unique_ptr<SessionBackend> backend,
                                          const SessionSnapshot& snap, Clock::time_point now, std::string* summary) {
  auto s = std::make_unique<Session>(std::move(config), std::move(backend), now);
  SessionBackend& be = *s->backend_;
  std::vector<std::string> lost;
  for (const auto& m : snap.maps) {
    if (guest_side_map_type(m.def.type)) {  // no kernel object: its shape is all there is
      s->maps_.emplace(m.def.handle, MapEntry{m.def, 0, m.btf, nullptr});
      continue;
    }
    auto o = be.adopt_map(m.def);
    if (auto* f = std::get_if<Failure>(&o)) {
      lost.push_back("map " + std::to_string(m.def.handle) + " (" + f->message + ")");
      continue;
    }
    auto& obj = std::get<0>(o);
    const std::uint64_t bytes = obj->kernel_bytes();
    s->kernel_bytes_ += bytes;
    s->maps_.emplace(m.def.handle, MapEntry{m.def, bytes, m.btf, std::move(obj)});
  }
  for (const auto& p : snap.progs) {
    auto o = be.adopt_prog(p.handle, p.name, p.kernel_id);
    if (auto* f = std::get_if<Failure>(&o)) {
      lost.push_back("program " + std::to_string(p.handle) + " (" + f->message + ")");
      continue;
    }
    auto& obj = std::get<0>(o);
    obj->map_handles = std::set<std::uint32_t>(p.maps.begin(), p.maps.end());
    const std::uint64_t bytes = obj->kernel_bytes();
    s->kernel_bytes_ += bytes;
    s->progs_.emplace(p.handle, ProgEntry{p.name, Flavor(p.flavor), p.insns, obj->map_handles, p.btf, std::move(obj),
                                          bytes, std::nullopt});
  }
  for (const auto& b : snap.btfs) {
    const bool held = std::any_of(s->maps_.begin(), s->maps_.end(), [&](const auto& m) { return m.second.btf == b.handle; }) ||
                      std::any_of(s->progs_.begin(), s->progs_.end(), [&](const auto& p) { return p.second.btf == b.handle; });
    if (!held) {
      lost.push_back("BTF " + std::to_string(b.handle) + " (no adopted map or program holds it)");
      continue;
    }
    auto o = be.adopt_btf(b.kernel_id, b.blob);
    if (auto* f = std::get_if<Failure>(&o)) {
      lost.push_back("BTF " + std::to_string(b.handle) + " (" + f->message + ")");
      continue;
    }
    auto& obj = std::get<0>(o);
    const std::uint64_t bytes = obj->kernel_bytes();
    s->kernel_bytes_ += bytes;
    s->btf_bytes_ += b.blob.size();
    s->btfs_.emplace(b.handle, BtfEntry{std::move(obj), b.blob, bytes});
  }
  std::string attach = "nothing attached";
  if (ProgEntry* p = snap.attached ? s->find_prog(snap.attached) : nullptr) {
    if (auto f = be.adopt_attachment(*p->object, p->flavor)) {
      lost.push_back("the attachment of program " + std::to_string(snap.attached) + " (" + f->message + ")");
      attach = "program " + std::to_string(snap.attached) + " no longer attached";
    } else {
      s->attached_ = snap.attached;
      p->watched = p->object->run_stats();
      attach = "program " + std::to_string(snap.attached) + " still on " + be.attach_point(p->flavor);
    }
  }
  be.finish_adoption();
  s->next_handle_ = std::max(snap.next_handle, std::uint32_t(1));
  if (summary) {
    *summary = "adopted " + std::to_string(s->progs_.size()) + " programs, " + std::to_string(s->maps_.size()) +
               " maps, " + std::to_string(s->btfs_.size()) + " BTF objects; " + attach;
    for (const auto& l : lost) *summary += "; lost " + l;
  }
  return s;
}

}  // namespace xo::session
