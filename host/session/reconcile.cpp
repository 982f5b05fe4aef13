#include "host/session/reconcile.hpp"

#include <dirent.h>
#include <net/if.h>
#include <sys/stat.h>

#include <algorithm>
#include <set>

#include "host/core/pins.hpp"
#include "host/session/log.hpp"
#include "host/session/snapshot.hpp"

namespace xo::session {

namespace {

std::vector<std::string> entries(const std::string& dir, bool dirs) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    struct stat st {};
    if (::stat((dir + "/" + n).c_str(), &st) != 0) continue;
    if (dirs && S_ISDIR(st.st_mode)) out.push_back(n);
    if (!dirs && S_ISREG(st.st_mode) && n.size() > 5 && n.ends_with(".json")) out.push_back(n.substr(0, n.size() - 5));
  }
  ::closedir(d);
  return out;
}

void remove_session(const std::string& name, const DaemonConfig& config, const std::string& why, Reconciled& r) {
  if (auto s = host::remove_stale_session(name, config.pin_root); !s)
    log_line(LogLevel::Warn, name, "restart: cannot remove its pins: " + s.error().message);
  remove_snapshot(snapshot_path(config.state_dir, name));
  log_line(LogLevel::Info, name, "restart: removed what a previous daemon left (" + why + ")");
  r.removed.push_back(name);
}

}  // namespace

Reconciled reconcile(const DaemonConfig& config, const BackendFactory& adopting_backend, Clock::time_point now,
                     const std::vector<std::string>& only) {
  Reconciled r;
  auto wanted = [&](const std::string& n) { return only.empty() || std::count(only.begin(), only.end(), n); };
  const auto dirs = entries(config.pin_root, true);
  const auto snaps = entries(config.state_dir, false);
  const std::set<std::string> dir_set(dirs.begin(), dirs.end()), snap_set(snaps.begin(), snaps.end());

  for (const auto& name : dirs) {
    if (!wanted(name)) continue;
    auto c = std::find_if(config.sessions.begin(), config.sessions.end(), [&](const auto& s) { return s.name == name; });
    const bool ours = snap_set.count(name) > 0;
    if (c == config.sessions.end()) {
      if (ours) {
        remove_session(name, config, "no longer configured", r);
      } else {
        log_line(LogLevel::Info, name, "restart: " + config.pin_root + "/" + name +
                                           " has no snapshot of this daemon: left alone (xoffload unload removes it)");
        r.foreign.push_back(name);
      }
      continue;
    }
    const std::string path = snapshot_path(config.state_dir, name);
    auto snap = read_snapshot(path);
    if (!snap) {
      remove_session(name, config, snap.error().message, r);
      continue;
    }
    const int ifindex = static_cast<int>(if_nametoindex(c->tap.c_str()));
    if (snap->tap != c->tap || ifindex == 0 || ifindex != snap->tap_ifindex) {
      remove_session(name, config,
                     ifindex == 0 ? "tap '" + c->tap + "' is gone"
                                  : "tap '" + c->tap + "' is not the device the session ran on",
                     r);
      continue;
    }
    std::string summary;
    auto session = Session::restore(*c, adopting_backend(*c), *snap, now, &summary);
    session->set_state_file(path);
    log_line(LogLevel::Info, session->label(), "restart: " + summary);
    r.adopted.emplace(name, std::move(session));
  }
  for (const auto& name : snaps)
    if (!dir_set.count(name) && wanted(name)) remove_snapshot(snapshot_path(config.state_dir, name));
  return r;
}

}  // namespace xo::session
