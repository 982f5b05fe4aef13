#include "host/daemon/server.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "host/session/log.hpp"

namespace xo::daemon {

using namespace xo::session;

namespace ts = xo::transport;

Result<std::unique_ptr<Server>> Server::create(DaemonConfig config, BackendFactory factory) {
  if (auto v = validate_config(config); !v) return v.error();
  std::unique_ptr<Server> server(new Server(std::move(config), std::move(factory)));
  server->stop_fd_ = UniqueFd(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  if (!server->stop_fd_) return err(std::string("eventfd: ") + std::strerror(errno));
  server->pool_ = std::make_shared<session::LoadPool>(server->config_.load_threads,
                                                       int(server->config_.load_nice));
  if (server->pool_->completion_fd() < 0) return err(std::string("eventfd: ") + std::strerror(errno));
  for (const auto& c : server->config_.sessions) {
    auto l = ts::UnixListener::listen(c.socket);
    if (!l) return err("session '" + c.name + "': " + l.error().message);
    // QEMU (often another user) must be able to connect; the socket's
    // directory is what restricts access.
    ::chmod(c.socket.c_str(), 0660);
    server->slots_.push_back(std::make_unique<Slot>(Slot{c, std::move(*l), nullptr, nullptr, {}}));
    log_line(LogLevel::Info, c.name + "/" + c.tap,
             "listening on " + c.socket + " (flavor " + std::string(flavor_name(c.flavor)) + ", max " +
                 std::to_string(c.quotas.max_maps) + " maps / " + std::to_string(c.quotas.max_map_bytes) +
                 " map bytes / " + std::to_string(c.quotas.max_progs) + " progs / " +
                 std::to_string(c.quotas.max_insns) + " insns, " + std::to_string(c.quotas.requests_per_sec) +
                 " req/s)");
  }
  return server;
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
  s.session = std::make_unique<Session>(s.config, factory_(s.config), Clock::now(), pool_);
  log_line(LogLevel::Info, s.session->label(), "guest connected on " + s.config.socket);
}

void Server::drop(Slot& s, const std::string& why) {
  if (!s.conn && !s.session) return;
  if (s.conn) (void)s.conn->flush();  // best effort: e.g. the framing-error reply
  if (s.session) s.session->reset(why);
  log_line(LogLevel::Info, s.session ? s.session->label() : s.config.name, "guest disconnected: " + why);
  s.session.reset();  // backend: detach, unpin, remove the session directory
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

void Server::check_tap(Slot& s) {
  if (!s.session || s.session->object_count() == 0 || s.session->tap_alive()) return;
  log_line(LogLevel::Warn, s.session->label(), "tap '" + s.config.tap + "' disappeared: offload lost");
  for (auto& e : s.session->tap_lost())
    if (auto bytes = ts::encode(0, e)) s.conn->queue(std::move(*bytes));
  if (!s.conn->flush()) drop(s, "write error");
}

void Server::check_runtime(Slot& s) {
  if (!s.session || !s.conn) return;
  auto events = s.session->check_runtime();
  if (events.empty()) return;
  for (auto& e : events)
    if (auto bytes = ts::encode(0, e)) s.conn->queue(std::move(*bytes));
  if (!s.conn->flush()) drop(s, "write error");
}

void Server::run() {
  auto next_tap_check = Clock::now();
  auto next_watchdog = Clock::now() + kWatchdogInterval;
  bool busy = false;
  for (;;) {
    std::vector<pollfd> fds;
    fds.push_back({stop_fd_.get(), POLLIN, 0});
    fds.push_back({pool_->completion_fd(), POLLIN, 0});
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
    busy = false;
    for (std::size_t i = 0; i < slots_.size(); ++i) {
      Slot& s = *slots_[i];
      const pollfd& lfd = fds[2 + 2 * i];
      const pollfd& cfd = fds[3 + 2 * i];
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
