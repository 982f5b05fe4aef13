#include "host/daemon/server.hpp"
#include "host/daemon/socket_access.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <cerrno>
#include <cstring>

#include "host/session/log.hpp"
#include "host/session/reconcile.hpp"
#include "host/session/snapshot.hpp"

namespace xo::daemon {

using namespace xo::session;

namespace ts = xo::transport;

Result<std::unique_ptr<Server>> Server::create(DaemonConfig config, BackendFactory factory,
                                               std::map<std::string, std::unique_ptr<Session>> adopted) {
  if (auto v = validate_config(config); !v) return v.error();
  std::unique_ptr<Server> server(new Server(std::move(config), std::move(factory)));
  server->stop_fd_ = UniqueFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  server->reload_fd_ = UniqueFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!server->stop_fd_ || !server->reload_fd_) return err(std::string("eventfd: ") + std::strerror(errno));
  server->pool_ = std::make_shared<session::LoadPool>(server->config_.load_threads,
                                                       int(server->config_.load_nice));
  if (server->pool_->completion_fd() < 0) return err(std::string("eventfd: ") + std::strerror(errno));
  for (const auto& c : server->config_.sessions) {
    auto it = adopted.find(c.name);
    if (auto st = server->add_slot(c, it == adopted.end() ? nullptr : std::move(it->second)); !st) return st.error();
  }
  return server;
}

Status Server::add_slot(const SessionConfig& c, std::unique_ptr<Session> adopted) {
  auto l = ts::UnixListener::listen(c.socket);
  if (!l) return err("session '" + c.name + "': " + l.error().message);
  // QEMU (often another user) must be able to connect, and nobody else.
  if (auto st = apply_socket_access(c); !st) return st.error();
  remove_snapshot(peer_path(config_.state_dir, c.name));  // a crashed predecessor's: nobody is connected yet
  if (adopted) adopted->set_pool(pool_);  // restored before the pool existed
  slots_.push_back(std::make_unique<Slot>(Slot{c, std::move(*l), nullptr, std::move(adopted), {}}));
  log_line(LogLevel::Info, c.name + "/" + c.tap,
           "listening on " + c.socket + " (flavor " + std::string(flavor_name(c.flavor)) + ", max " +
               std::to_string(c.quotas.max_maps) + " maps / " + std::to_string(c.quotas.max_map_bytes) +
               " map bytes / " + std::to_string(c.quotas.max_progs) + " progs / " +
               std::to_string(c.quotas.max_insns) + " insns, " + std::to_string(c.quotas.requests_per_sec) +
               " req/s)" + (slots_.back()->session ? "; adopted from before a restart" : ""));
  return Ok{};
}

void Server::request_reload() {
  std::uint64_t one = 1;
  ssize_t n = ::write(reload_fd_.get(), &one, sizeof one);
  (void)n;
}

void Server::reload() {
  std::uint64_t v = 0;
  ssize_t n = ::read(reload_fd_.get(), &v, sizeof v);
  (void)n;
  if (!reload_) return;
  auto next = reload_();
  if (!next) {
    log_line(LogLevel::Error, "", "SIGHUP: configuration not reloaded: " + next.error().message);
    return;
  }
  if (auto val = validate_config(*next); !val) {
    log_line(LogLevel::Error, "", "SIGHUP: configuration not reloaded: " + val.error().message);
    return;
  }
  // The pin root and state dir hold what the running sessions own: they
  // change with a restart, not a reload.
  next->pin_root = config_.pin_root;
  next->state_dir = config_.state_dir;
  auto find = [](const std::vector<SessionConfig>& v, const std::string& name) {
    return std::find_if(v.begin(), v.end(), [&](const SessionConfig& c) { return c.name == name; });
  };
  // Removed (or moved to another tap or socket): torn down, socket removed.
  for (auto it = slots_.begin(); it != slots_.end();) {
    auto c = find(next->sessions, (*it)->config.name);
    if (c != next->sessions.end() && c->tap == (*it)->config.tap && c->socket == (*it)->config.socket) {
      (*it)->config = *c;  // quotas and policy: from the next connection on
      ++it;
      continue;
    }
    drop(**it, "removed from the configuration (SIGHUP)");
    log_line(LogLevel::Info, (*it)->config.name + "/" + (*it)->config.tap, "SIGHUP: session removed");
    it = slots_.erase(it);  // the listener goes with its socket file
  }
  std::vector<std::string> added;
  for (const auto& c : next->sessions)
    if (std::none_of(slots_.begin(), slots_.end(), [&](const auto& s) { return s->config.name == c.name; }))
      added.push_back(c.name);
  Reconciled r;
  if (adopt_ && !added.empty()) r = reconcile(*next, adopt_, Clock::now(), added);
  for (const auto& name : added) {
    auto it = r.adopted.find(name);
    if (auto st = add_slot(*find(next->sessions, name), it == r.adopted.end() ? nullptr : std::move(it->second)); !st)
      log_line(LogLevel::Error, name, "SIGHUP: session not added: " + st.error().message);
    else
      log_line(LogLevel::Info, name, "SIGHUP: session added");
  }
  config_ = std::move(*next);
}

Server::~Server() {
  for (auto& s : slots_) drop(*s, "daemon shutting down");
}

void Server::stop() {
  std::uint64_t one = 1;
  ssize_t n = ::write(stop_fd_.get(), &one, sizeof one);
  (void)n;
}

void Server::accept(Slot& s) {
  int fd = ::accept4(s.listener.fd(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (fd < 0) return;
  if (s.conn) {
    // One guest per NIC: a second client is turned away with a reason.
    UniqueFd extra(fd);
    auto bytes = ts::encode(0, ts::Event{ts::EventKind::Detached, 0,
                                         "session '" + s.config.name + "' already has a guest connected"});
    if (bytes) (void)::send(extra.get(), bytes->data(), bytes->size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    log_line(LogLevel::Warn, s.config.name + "/" + s.config.tap, "refused a second connection");
    return;
  }
  s.conn = std::make_unique<Connection>(UniqueFd(fd));
  const std::string who = record_peer(s);
  if (s.session) {
    // Adopted at start: the guest reconnecting after the crash finds its
    // handles (and its attached program) as it left them.
    log_line(LogLevel::Info, s.session->label(),
             "guest reconnected on " + s.config.socket + " (" + who + "): resuming " +
                 std::to_string(s.session->object_count()) + " objects adopted at start");
    return;
  }
  s.session = std::make_unique<Session>(s.config, factory_(s.config), Clock::now(), pool_);
  s.session->set_state_file(snapshot_path(config_.state_dir, s.config.name));
  log_line(LogLevel::Info, s.session->label(), "guest connected on " + s.config.socket + " (" + who + ")");
}

std::string Server::record_peer(const Slot& s) {
  PeerRecord p;
  p.socket = s.config.socket;
  p.connected_unix = std::int64_t(::time(nullptr));
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(s.conn->fd(), SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
    p.pid = cred.pid;
    p.uid = cred.uid;
    p.gid = cred.gid;
  }
  if (auto st = write_peer(peer_path(config_.state_dir, s.config.name), p); !st)
    log_line(LogLevel::Warn, s.config.name, "cannot record the peer for xoffload status: " + st.error().message);
  return "pid " + std::to_string(p.pid) + ", uid " + std::to_string(p.uid);
}

void Server::drop(Slot& s, const std::string& why) {
  if (!s.conn && !s.session) return;
  if (s.conn) (void)s.conn->flush();  // best effort: e.g. the framing-error reply
  if (s.session) s.session->reset(why);
  log_line(LogLevel::Info, s.session ? s.session->label() : s.config.name, "guest disconnected: " + why);
  s.session.reset();  // backend: detach, unpin, remove the session directory
  if (s.conn) remove_snapshot(peer_path(config_.state_dir, s.config.name));
  s.conn.reset();
}

bool Server::serve(Slot& s, short revents) {
  Connection& c = *s.conn;
  Session& session = *s.session;
  // A guest that hung up reads no replies: what it left is dropped
  // unanswered, and a load in flight is cancelled (its worker frees the
  // result). Answering it would cost every other VM the verifications the
  // guest queued before leaving.
  bool gone = revents & (POLLHUP | POLLERR);
  // What the peer wrote before leaving is read (bounded) only to say in the
  // log whether it left mid-frame; its frames are dropped with the rest.
  if (gone) (void)c.read_some(kReadBudget);
  if (!gone && (revents & POLLIN)) {
    const bool room = c.pending().size() < kMaxPendingFrames && c.queued_bytes() < kMaxQueuedReplyBytes;
    if (room) gone = !c.read_some(kReadBudget);
  }
  if (gone) {
    const std::size_t dropped = c.pending().size();
    c.pending().clear();
    std::string why = c.mid_frame() ? "connection closed mid-frame (truncated frame)" : "connection closed";
    if (dropped) why += ", " + std::to_string(dropped) + " queued request(s) dropped";
    if (session.busy()) why += ", its load in flight cancelled";
    drop(s, why);
    return false;
  }
  if (session.busy())
    if (auto reply = session.poll_load()) c.queue(std::move(*reply));
  for (std::size_t i = 0; i < kFramesPerTurn && !c.pending().empty() && !session.busy(); ++i) {
    if (c.queued_bytes() >= kMaxQueuedReplyBytes) break;  // peer is not reading its replies
    auto reply = session.handle_frame(c.pending().front());
    c.pending().pop_front();
    if (reply) c.queue(std::move(*reply));
  }
  if (c.closing() && c.pending().empty() && !session.busy()) c.queue_close_reply();
  if (!c.flush()) {
    drop(s, "write error");
    return false;
  }
  if (c.closing() && !c.wants_write() && !session.busy()) {
    drop(s, c.close_reason());
    return false;
  }
  return !c.pending().empty() && !session.busy() && c.queued_bytes() < kMaxQueuedReplyBytes;
}

void Server::queue_events(Slot& s, std::vector<ts::Event> events) {
  if (events.empty() || !s.conn) return;  // an adopted session with no guest yet: nobody to tell
  for (auto& e : events)
    if (auto bytes = ts::encode(0, e)) s.conn->queue(std::move(*bytes));
  if (!s.conn->flush()) drop(s, "write error");
}

void Server::check_tap(Slot& s) {
  if (!s.session || s.session->object_count() == 0 || s.session->tap_alive()) return;
  log_line(LogLevel::Warn, s.session->label(), "tap '" + s.config.tap + "' disappeared: offload lost");
  queue_events(s, s.session->tap_lost());
  if (!s.conn) s.session.reset();  // adopted and never reconnected: nothing left to resume
}

void Server::check_runtime(Slot& s) {
  if (!s.session) return;
  queue_events(s, s.session->check_runtime());
}

void Server::run() {
  auto next_tap_check = Clock::now();
  auto next_watchdog = Clock::now() + kWatchdogInterval;
  bool busy = false;
  for (;;) {
    std::vector<pollfd> fds;
    fds.push_back({stop_fd_.get(), POLLIN, 0});
    fds.push_back({pool_->completion_fd(), POLLIN, 0});
    fds.push_back({reload_fd_.get(), POLLIN, 0});
    for (auto& s : slots_) {
      fds.push_back({s->listener.fd(), POLLIN, 0});
      short ev = 0;
      if (s->conn) {
        const bool room = s->conn->pending().size() < kMaxPendingFrames &&
                          s->conn->queued_bytes() < kMaxQueuedReplyBytes && !s->conn->closing();
        if (room) ev |= POLLIN;
        if (s->conn->wants_write()) ev |= POLLOUT;
      }
      fds.push_back({s->conn ? s->conn->fd() : -1, ev, 0});
    }
    int timeout = busy ? 0 : int(std::min(kTapCheckInterval, kWatchdogInterval).count());
    int n = ::poll(fds.data(), fds.size(), timeout);
    if (n < 0 && errno != EINTR) {
      log_line(LogLevel::Error, "", std::string("poll: ") + std::strerror(errno));
      break;
    }
    if (fds[0].revents & POLLIN) {
      log_line(LogLevel::Info, "", "stopping: freeing every session");
      break;
    }
    if (fds[1].revents & POLLIN) pool_->acknowledge();  // serve() takes each finished load's reply
    if (fds[2].revents & POLLIN) {
      reload();
      continue;  // slots changed: the pollfd table is stale
    }
    busy = false;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      Slot& s = *slots_[i];
      const pollfd& lfd = fds[3 + 2 * i];
      const pollfd& cfd = fds[4 + 2 * i];
      if (s.conn && cfd.fd == s.conn->fd()) busy |= serve(s, cfd.revents);
      if (lfd.revents & POLLIN) accept(s);
    }
    if (Clock::now() >= next_tap_check) {
      for (auto& s : slots_) check_tap(*s);
      next_tap_check = Clock::now() + kTapCheckInterval;
    }
    if (Clock::now() >= next_watchdog) {
      for (auto& s : slots_) check_runtime(*s);
      next_watchdog = Clock::now() + kWatchdogInterval;
    }
  }
  for (auto& s : slots_) drop(*s, "daemon shutting down");
}

}  // namespace xo::daemon
